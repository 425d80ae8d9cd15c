"""The scenario's ``ecs`` block: parsing, derived ids, generated clusters, and the errors bad input gets."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ssmux.emulator.ecs_scenario import expand_tasks
from ssmux.emulator.scenario import load_scenario, parse_scenario
from ssmux.errors import InvalidValue

PROFILES = [{"name": "dev", "account_id": "111111111111", "region": "eu-central-1"}]


def scenario(ecs: Any, profiles: list[dict[str, Any]] | None = None) -> Any:
    return parse_scenario({"profiles": profiles or PROFILES, "ecs": ecs}, source="test")


def test_demo_has_a_cluster_with_two_services() -> None:
    """The demo's dev account has cluster shop: web (2 tasks, exec), worker (exec off), a PENDING task."""
    demo = load_scenario("demo")
    dev = demo.profile("dev")
    assert dev is not None
    (shop,) = demo.ecs.clusters_in(dev, "eu-central-1", demo.regions(dev))
    assert shop.name == "shop"
    services = {g.service: g for g in shop.groups if g.service}
    assert services["web"].count == 2 and services["web"].exec_enabled
    assert not services["worker"].exec_enabled
    assert [g.agent for g in shop.groups if not g.service] == ["PENDING"]


def test_ids_are_derived_and_stable() -> None:
    """Task ids are 32 hex digits, the same in every load; Fargate runtime ids are <task id>-<10 digits>."""
    ecs = {"clusters": [{"profile": "dev", "name": "c", "services": [
        {"name": "s", "count": 3, "containers": [{"name": "a"}]},
        {"name": "e", "launch_type": "EC2", "containers": [{"name": "b"}]}]}]}  # fmt: skip
    first, second = (expand_tasks(list(scenario(ecs).ecs.clusters)) for _ in range(2))
    assert [t.task_id for t in first] == [t.task_id for t in second]
    assert len({t.task_id for t in first}) == 4 and all(len(t.task_id) == 32 for t in first)
    fargate, ec2 = first[0], first[3]
    prefix, digits = fargate.runtime_id(0).rsplit("-", 1)
    assert prefix == fargate.task_id and len(digits) == 10 and digits.isdigit()
    assert len(ec2.runtime_id(0)) == 64
    assert len({t.private_ip for t in first}) == 4


def test_generate_applies_to_matching_profiles_and_regions() -> None:
    """generate: N clusters per matching pair (a profile's regions by default), made on request."""
    profiles = [*PROFILES, {"name": "ops", "account_id": "222222222222", "region": "us-east-1"}]
    parsed = scenario({"generate": {"profiles": ["de*"], "clusters": 3, "tasks": 4}}, profiles)
    dev, ops = parsed.profile("dev"), parsed.profile("ops")
    assert dev is not None and ops is not None
    clusters = parsed.ecs.clusters_in(dev, "eu-central-1", parsed.regions(dev))
    assert [c.name for c in clusters] == ["cluster-01", "cluster-02", "cluster-03"]
    assert len(expand_tasks(clusters)) == 12
    assert parsed.ecs.clusters_in(dev, "us-west-2", parsed.regions(dev)) == []
    assert parsed.ecs.clusters_in(ops, "us-east-1", parsed.regions(ops)) == []


def test_twenty_pairs_of_ten_clusters_of_fifty_tasks_expand_fast() -> None:
    """10,000 generated tasks (20 pairs x 10 x 50) are derived in well under a second of CPU."""
    profiles = [{"name": f"p{n}", "account_id": f"{n:012d}", "region": "eu-west-1"} for n in range(1, 21)]
    parsed = scenario({"generate": {"clusters": 10, "tasks": 50}}, profiles)
    started = time.process_time()
    total = sum(
        len(expand_tasks(parsed.ecs.clusters_in(p, "eu-west-1", parsed.regions(p)))) for p in parsed.profiles
    )
    assert total == 10_000
    print(f"expanded {total} tasks in {time.process_time() - started:.3f} s of CPU")  # a figure, not a bound


@pytest.mark.parametrize(
    ("ecs", "message"),
    [
        ([], "ecs must be a JSON object"),
        ({"cluster": []}, "ecs has unknown key 'cluster'"),
        ({"clusters": [{"profile": "nope", "name": "c"}]},
         "ecs.clusters[0].profile 'nope' is not one of dev"),
        ({"clusters": [{"profile": "dev", "name": "bad name"}]},
         "ecs.clusters[0].name 'bad name' is not valid"),
        ({"clusters": [{"profile": "dev", "name": "c", "services": [{"name": "s"}]}]},
         "ecs.clusters[0].services[0].containers must be a non-empty list"),
        ({"clusters": [{"profile": "dev", "name": "c", "tasks": [
            {"agent": "UP", "containers": [{"name": "a"}]}]}]},
         "ecs.clusters[0].tasks[0].agent 'UP' must be one of RUNNING, PENDING, STOPPED"),
        ({"clusters": [{"profile": "dev", "name": "c", "tasks": [
            {"exec": "yes", "containers": [{"name": "a"}]}]}]},
         "ecs.clusters[0].tasks[0].exec must be true or false"),
        ({"clusters": [{"profile": "dev", "name": "c", "tasks": [
            {"containers": [{"name": "a", "environment": {"A": 1}}]}]}]},
         "ecs.clusters[0].tasks[0].containers[0].environment must be an object of strings"),
        ({"clusters": [{"profile": "dev", "name": "c"}, {"profile": "dev", "name": "c"}]},
         "ecs: duplicate cluster 'c' in dev/eu-central-1"),
        ({"generate": {"clusters": 0}}, "ecs.generate.clusters must be an integer >= 1"),
    ],
)  # fmt: skip
def test_bad_ecs_blocks_say_where_and_what(ecs: Any, message: str) -> None:
    """Each mistake is one InvalidValue naming the place in the file and what is expected."""
    with pytest.raises(InvalidValue) as caught:
        scenario(ecs)
    assert str(caught.value).startswith("test: " + message)
