"""ECS containers synced from the emulator (real HTTP), cached, listed by ``ssmux ls``, resolved by name."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from ssmux.cli.main import cli
from ssmux.core.aws import AwsClients
from ssmux.sync.inventory import Inventory
from ssmux.sync.pair import fetch_pair
from ssmux.sync.targets import MatchKind, TargetKind, load_targets, match_targets
from tests.support.emulator import RunningEmulator, start_emulator

pytestmark = pytest.mark.e2e

#: dev runs a cluster of two services and a standalone task; noecs may not call ecs:ListClusters.
SCENARIO = {
    "profiles": [
        {"name": "dev", "account_id": "111111111111", "region": "eu-central-1"},
        {
            "name": "noecs",
            "account_id": "222222222222",
            "region": "eu-central-1",
            "deny": ["ecs:ListClusters"],
        },
    ],
    "instances": [
        {"profile": "dev", "region": "eu-central-1", "name": "bastion"},
        {"profile": "noecs", "region": "eu-central-1", "name": "api", "count": 2},
    ],
    "ecs": {
        "clusters": [
            {
                "profile": "dev",
                "region": "eu-central-1",
                "name": "shop",
                "services": [
                    {
                        "name": "web",
                        "family": "shop-web",
                        "revision": 7,
                        "count": 2,
                        "containers": [{"name": "app"}, {"name": "log-router"}],
                    },
                    {"name": "worker", "count": 1, "exec": False, "containers": [{"name": "worker"}]},
                ],
                "tasks": [{"family": "migrate", "agent": "PENDING", "containers": [{"name": "migrate"}]}],
            },
            {"profile": "noecs", "region": "eu-central-1", "name": "hidden", "services": []},
        ]
    },
}


@pytest.fixture(scope="module")
def ecs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(SCENARIO, tmp_dir=tmp_path_factory.mktemp("ecs-emulator")) as running:
        yield running


def sync(emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch, *pairs: tuple[str, str]) -> Inventory:
    """Sync ``pairs`` from the emulator into this test's cache, as the engine does, one pair at a time."""
    emulator.apply(monkeypatch)
    inventory = Inventory()
    for aws_profile, region in pairs:
        outcome = fetch_pair(aws_profile, region, clients=AwsClients())
        assert outcome.ok, outcome.error_message
        inventory.write_pairs([outcome.to_write()])
    return inventory


def ls(*args: str) -> Result:
    return CliRunner().invoke(cli, ["ls", *args], catch_exceptions=False)


def test_sync_lists_containers_with_their_exec_readiness(
    ecs_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every container of the running tasks is synced, with service, definition and why it is not ready."""
    ecs_emulator.apply(monkeypatch)
    outcome = fetch_pair("dev", "eu-central-1", clients=AwsClients())
    assert outcome.ok and outcome.ecs_error_code is None
    assert outcome.instances == 1 and outcome.containers == 6
    found = {(c.display_name, c.task_id): c for c in outcome.container_items or ()}
    migrate_task = next(c.task_id for c in found.values() if c.container_name == "migrate")
    assert sorted(name for name, _ in found) == sorted(
        [
            "shop/web/app",
            "shop/web/app",
            "shop/web/log-router",
            "shop/web/log-router",
            "shop/worker/worker",
            f"shop/{migrate_task}/migrate",
        ]
    )
    web = [c for c in found.values() if c.service == "web"]
    assert all(c.exec_ready and c.runtime_id and c.task_definition == "shop-web:7" for c in web)
    assert all(c.ssm_target == f"ecs:shop_{c.task_id}_{c.runtime_id}" for c in web)
    assert all(c.launch_type == "FARGATE" and c.last_status == "RUNNING" and c.private_ip for c in web)
    (worker,) = (c for c in found.values() if c.service == "worker")
    assert not worker.exec_ready and "execute command is not enabled" in worker.not_ready_reason
    (migrate,) = (c for c in found.values() if c.container_name == "migrate")
    assert migrate.service == "" and "PENDING" in migrate.not_ready_reason


def test_ecs_denied_still_lists_the_instances_and_says_why(
    ecs_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AccessDenied on ecs:ListClusters is the pair's ECS error; its instances are synced all the same."""
    ecs_emulator.apply(monkeypatch)
    outcome = fetch_pair("noecs", "eu-central-1", clients=AwsClients())
    assert outcome.ok and outcome.instances == 2
    assert outcome.container_items is None and outcome.containers == 0
    assert outcome.ecs_error_code is not None and "AccessDenied" in outcome.ecs_error_code
    assert "ecs:ListClusters" in (outcome.ecs_error_message or "")
    (failure,) = outcome.failures()
    assert (failure.aws_profile, failure.error_code) == ("noecs", outcome.ecs_error_code)
    data = outcome.to_dict()
    assert data["status"] == "ok" and data["error"] is None
    assert data["ecs_error"]["code"] == outcome.ecs_error_code

    inventory = Inventory()
    inventory.write_pairs([outcome.to_write()])
    (status,) = inventory.pairs()
    assert status.instances == 2 and not status.stale and status.containers_stale
    result = ls()
    assert result.exit_code == 0
    assert result.stdout.count("noecs/eu-central-1") == 2
    assert "noecs/eu-central-1's containers are stale" in result.stderr
    assert "ecs:ListClusters" in result.stderr


def test_ls_lists_containers_and_json_carries_their_fields(
    ecs_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ls` marks containers (KIND, exec readiness); `--json` carries kind and the container's fields."""
    sync(ecs_emulator, monkeypatch, ("dev", "eu-central-1"))
    monkeypatch.setenv("COLUMNS", "220")
    result = ls("shop/")
    assert result.exit_code == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    assert header.split()[:3] == ["NAME", "KIND", "INSTANCE"]
    assert len(lines) == 6
    worker = next(line for line in lines if line.startswith("shop/worker/worker"))
    assert worker.split()[1] == "container" and "no-exec" in worker.split()
    assert all("exec-ready" in line.split() for line in lines if "/web/" in line)
    migrate = next(line for line in lines if "/migrate " in line)
    assert "no-exec" in migrate.split()  # its agent is PENDING
    task_ids = {target.container.task_id for target in load_targets() if target.container}
    assert {line.split()[2] for line in lines} == task_ids  # the task id, not the long SSM target
    monkeypatch.setenv("COLUMNS", "80")
    narrow = ls("shop/").stdout.splitlines()
    assert len(narrow) == 7 and max(len(line) for line in narrow) <= 80

    listed = json.loads(ls("shop/web/app", "--json").stdout)
    assert len(listed) == 2
    for target in listed:
        assert target["kind"] == "container" and target["name"] == "shop/web/app"
        container = target["container"]
        assert set(container) == {
            "cluster",
            "task_id",
            "container_name",
            "runtime_id",
            "service",
            "task_definition",
            "launch_type",
            "exec_ready",
            "not_ready_reason",
            "ssm_target",
        }
        assert (container["cluster"], container["service"], container["container_name"]) == (
            "shop",
            "web",
            "app",
        )
        assert target["instance_id"] == container["ssm_target"] and container["exec_ready"]
    bastion = json.loads(ls("bastion", "--json").stdout)
    assert [(t["kind"], t["container"]) for t in bastion] == [("instance", None)]


def test_containers_resolve_by_path_task_id_and_name(
    ecs_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cluster/service/container names the service's containers; a task id or a unique name names one."""
    sync(ecs_emulator, monkeypatch, ("dev", "eu-central-1"))
    targets = load_targets()
    by_path = match_targets(targets, "shop/web/log-router")
    assert by_path.kind is MatchKind.EXACT and len(by_path.targets) == 2
    assert {t.kind for t in by_path.targets} == {TargetKind.CONTAINER}
    task_id = by_path.targets[0].container.task_id if by_path.targets[0].container else ""
    by_task = match_targets(targets, task_id)
    assert {t.container.container_name for t in by_task.targets if t.container} == {"app", "log-router"}
    (worker,) = match_targets(targets, "worker").targets
    assert worker.name == "shop/worker/worker" and worker.problem is not None
    assert "execute command is not enabled" in worker.problem
    assert match_targets(targets, "shop/web").kind is MatchKind.SEARCH
