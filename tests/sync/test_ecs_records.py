"""ECS containers as the sync reads, caches and lists them: reader, inventory, targets and matching."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ssmux.core.models import ProfileBook, Settings
from ssmux.sync.container import Container
from ssmux.sync.ecs import containers_of
from ssmux.sync.inventory import Inventory, PairWrite
from ssmux.sync.targets import MatchKind, TargetKind, load_targets, match_targets, matching, merge

ACCOUNT = "111111111111"
CLUSTER_ARN = f"arn:aws:ecs:eu-central-1:{ACCOUNT}:cluster/shop"


def task(
    task_id: str,
    *,
    group: str = "service:web",
    exec_enabled: bool = True,
    agent: str | None = "RUNNING",
    status: str = "RUNNING",
    containers: tuple[str, ...] = ("app",),
    ip: str = "10.0.1.5",
) -> dict[str, Any]:
    """A DescribeTasks task as the ECS API reference shapes it (awsvpc, with an ENI attachment)."""
    return {
        "taskArn": f"arn:aws:ecs:eu-central-1:{ACCOUNT}:task/shop/{task_id}",
        "clusterArn": CLUSTER_ARN,
        "taskDefinitionArn": f"arn:aws:ecs:eu-central-1:{ACCOUNT}:task-definition/web:3",
        "group": group,
        "launchType": "FARGATE",
        "lastStatus": status,
        "desiredStatus": "RUNNING",
        "enableExecuteCommand": exec_enabled,
        "attachments": [
            {
                "type": "ElasticNetworkInterface",
                "status": "ATTACHED",
                "details": [
                    {"name": "subnetId", "value": "subnet-1"},
                    {"name": "privateIPv4Address", "value": ip},
                ],
            }
        ],
        "containers": [
            {
                "name": name,
                "runtimeId": f"{task_id}-{index}",
                "lastStatus": status,
                "managedAgents": [{"name": "ExecuteCommandAgent", "lastStatus": agent}] if agent else [],
            }
            for index, name in enumerate(containers)
        ],
    }


def read(*tasks: dict[str, Any]) -> list[Container]:
    return containers_of(tasks, aws_profile="dev", region="eu-central-1", now=1.0)


def test_reader_records_where_a_container_runs() -> None:
    """Each container of a task is a record with its cluster, task, service, definition, launch type, IP."""
    app, sidecar = read(task("abc123", containers=("app", "envoy")))
    assert (app.cluster, app.cluster_arn, app.task_id, app.container_name, app.runtime_id) == (
        "shop",
        CLUSTER_ARN,
        "abc123",
        "app",
        "abc123-0",
    )
    assert (app.service, app.task_definition, app.launch_type, app.last_status, app.private_ip) == (
        "web",
        "web:3",
        "FARGATE",
        "RUNNING",
        "10.0.1.5",
    )
    assert app.exec_ready and app.not_ready_reason == ""
    assert app.ssm_target == "ecs:shop_abc123_abc123-0"
    assert app.display_name == "shop/web/app"
    assert sidecar.container_name == "envoy" and sidecar.runtime_id == "abc123-1"


def test_reader_says_why_a_container_is_not_ready() -> None:
    """Exec not enabled names the fix; an agent not running says so; a standalone task has no service."""
    disabled, pending, no_agent = read(
        task("t1", exec_enabled=False),
        task("t2", agent="PENDING"),
        task("t3", group="family:migrate", agent=None),
    )
    assert not disabled.exec_ready
    assert "execute command is not enabled" in disabled.not_ready_reason
    assert "--enable-execute-command" in disabled.not_ready_reason
    assert "ExecuteCommandAgent" in pending.not_ready_reason and "PENDING" in pending.not_ready_reason
    assert no_agent.service == "" and no_agent.display_name == "shop/t3/app"
    assert "missing" in no_agent.not_ready_reason


def write(inventory: Inventory, containers: tuple[Container, ...] | None, **ecs_error: str) -> None:
    inventory.write_pairs([PairWrite("dev", "eu-central-1", (), containers=containers, **ecs_error)])


def test_inventory_keeps_containers_and_their_last_good_listing(tmp_path: Path) -> None:
    """Containers round-trip; an ECS failure keeps the last good ones, marked stale; ECS off drops them."""
    inventory = Inventory(tmp_path / "inv.sqlite3")
    found = tuple(read(task("t1"), task("t2", exec_enabled=False)))
    write(inventory, found)
    assert inventory.containers() == list(found)
    assert [c.task_id for c in inventory.containers(["T2"])] == ["t2"]
    (status,) = inventory.pairs()
    assert (status.containers, status.containers_stale, status.stale) == (2, False, False)

    write(
        inventory, None, ecs_error_code="AccessDeniedException", ecs_error_message="denied ecs:ListClusters"
    )
    (status,) = inventory.pairs()
    assert status.containers_stale and not status.stale
    assert status.ecs_error_message == "denied ecs:ListClusters"
    assert len(inventory.containers()) == 2

    write(inventory, None)  # the pair's ECS listing switched off
    (status,) = inventory.pairs()
    assert inventory.containers() == [] and not status.containers_stale


def test_containers_are_targets_found_by_name_task_and_container(tmp_path: Path) -> None:
    """A container target is named cluster/service/container and found by it, its task id or its name."""
    inventory = Inventory(tmp_path / "inv.sqlite3")
    write(inventory, tuple(read(task("t1"), task("t2", containers=("app", "envoy")))))
    targets = load_targets(inventory=inventory, book=ProfileBook(), settings=Settings())
    assert {t.kind for t in targets} == {TargetKind.CONTAINER}
    one = match_targets(targets, "t1")
    assert one.kind is MatchKind.EXACT and [t.instance_id for t in one.targets] == ["ecs:shop_t1_t1-0"]
    envoy = match_targets(targets, "envoy").targets
    assert [t.name for t in envoy] == ["shop/web/envoy"]
    both = match_targets(targets, "shop/web/app")
    assert both.kind is MatchKind.EXACT and len(both.targets) == 2
    ref = envoy[0].container
    assert ref is not None and (ref.cluster, ref.task_id, ref.container_name, ref.service) == (
        "shop",
        "t2",
        "envoy",
        "web",
    )
    data = envoy[0].to_dict()
    assert data["kind"] == "container" and data["container"]["ssm_target"] == "ecs:shop_t2_t2-1"


def test_a_not_ready_container_names_its_problem() -> None:
    """A target whose task has no exec says so, with the fix, before any session is tried."""
    (disabled,) = merge(ProfileBook(), Settings(), (), containers=read(task("t9", exec_enabled=False)))
    assert disabled.container is not None and not disabled.container.exec_ready
    assert disabled.problem is not None and disabled.problem.startswith(
        "shop/web/app is not ready for ECS Exec"
    )
    assert "--enable-execute-command" in disabled.problem
    assert matching([disabled], "web") == [disabled]  # listed (marked), as an offline instance is


@pytest.mark.parametrize("query", ["shop/web", "web:3", "10.0.1.5"])
def test_search_reaches_container_fields(query: str) -> None:
    """A query word matches the container's name, task definition or address."""
    targets = merge(ProfileBook(), Settings(), (), containers=read(task("t1")))
    assert len(matching(targets, query)) == 1


def test_a_schema_1_cache_upgrades_in_place_and_keeps_its_history(tmp_path: Path) -> None:
    """An older cache (instances only) gains the containers table; its pairs' last success stays."""
    import sqlite3
    from contextlib import closing

    from .test_inventory import SCHEMA_1_INSTANCES

    path = tmp_path / "inventory.sqlite3"
    with closing(sqlite3.connect(path)) as db:
        db.execute(SCHEMA_1_INSTANCES)
        db.execute(
            """CREATE TABLE pairs (
                aws_profile TEXT NOT NULL, region TEXT NOT NULL, last_attempt REAL NOT NULL,
                last_success REAL, error_code TEXT, error_message TEXT, instances INTEGER NOT NULL DEFAULT 0,
                pages INTEGER NOT NULL DEFAULT 0, seconds REAL NOT NULL DEFAULT 0,
                PRIMARY KEY (aws_profile, region))"""
        )
        db.execute(
            "INSERT INTO pairs VALUES ('dev', 'eu-central-1', 9.0, 7.0, 'Throttling', 'slow', 0, 1, 0.5)"
        )
        db.execute("PRAGMA user_version = 1")
        db.commit()
    inventory = Inventory(path)
    (status,) = inventory.pairs()
    assert (status.last_success, status.error_code, status.containers, status.containers_stale) == (
        7.0,
        "Throttling",
        0,
        False,
    )
    write(inventory, tuple(read(task("t1"))))
    assert [c.task_id for c in inventory.containers()] == ["t1"]
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2


class FakeEcs:
    """ECS's three listing calls over ``clusters`` (name -> task count): ListTasks pages as ``maxResults``
    asks, ListClusters by ``page`` (to see the paging)."""

    def __init__(self, clusters: dict[str, int], *, fail: str = "", page: int = 100) -> None:
        self.clusters, self.fail, self.page = clusters, fail, page
        self.calls: list[tuple[str, Any]] = []

    async def send(self, action: str, params: dict[str, Any]) -> bytes:
        import asyncio
        import json

        await asyncio.sleep(0)
        self.calls.append((action, params))
        if action == self.fail:
            from ssmux.errors import AwsError

            raise AwsError(f"access denied to ecs:{action}", "AccessDeniedException")
        start = int(params.get("nextToken") or 0)
        if action == "ListClusters":
            names = list(self.clusters)
            arns = [f"arn:aws:ecs:eu-central-1:{ACCOUNT}:cluster/{name}" for name in names]
            key = "clusterArns"
        elif action == "ListTasks":
            name = params["cluster"].rpartition("/")[2]
            arns = [
                f"arn:aws:ecs:eu-central-1:{ACCOUNT}:task/{name}/t{n}" for n in range(self.clusters[name])
            ]
            key = "taskArns"
        else:
            assert len(params["tasks"]) <= 100  # the API's limit
            described = []
            for arn in params["tasks"]:
                one = task(arn.rpartition("/")[2])
                described.append({**one, "taskArn": arn, "clusterArn": params["cluster"]})
            return json.dumps({"tasks": described, "failures": []}).encode()
        end = start + (self.page if action == "ListClusters" else params["maxResults"])
        answer: dict[str, Any] = {key: arns[start:end]}
        if end < len(arns):
            answer["nextToken"] = str(end)
        return json.dumps(answer).encode()


def list_all(fake: FakeEcs) -> list[Container]:
    import asyncio

    from ssmux.sync.ecs import list_containers, parse

    return asyncio.run(
        list_containers(
            fake.send, lambda body, _: parse(body), aws_profile="dev", region="eu-central-1", now=1.0
        )
    )


def test_listing_pages_and_describes_in_batches_of_100() -> None:
    """Clusters and tasks are read page by page; DescribeTasks gets at most 100 tasks per call."""
    fake = FakeEcs({"a": 230, "b": 0, "c": 3}, page=2)
    found = list_all(fake)
    assert len(found) == 233 and {c.cluster for c in found} == {"a", "c"}
    actions = [action for action, _ in fake.calls]
    assert actions.count("ListClusters") == 2  # 3 clusters, 2 per page
    assert actions.count("ListTasks") == 3 + 1 + 1  # a: 3 pages of 100, b and c: one each
    assert actions.count("DescribeTasks") == 3 + 1  # a page of tasks each (b has none)
    describes = sorted(len(params["tasks"]) for action, params in fake.calls if action == "DescribeTasks")
    assert describes == [3, 30, 100, 100]
    assert all(params["desiredStatus"] == "RUNNING" for action, params in fake.calls if action == "ListTasks")


def test_a_failing_call_fails_the_listing_and_stops_the_rest() -> None:
    """A denied DescribeTasks fails the whole ECS listing of the pair (its instances are listed apart)."""
    from ssmux.errors import AwsError

    fake = FakeEcs({f"c{n}": 5 for n in range(8)}, fail="DescribeTasks")
    with pytest.raises(AwsError, match="ecs:DescribeTasks"):
        list_all(fake)
