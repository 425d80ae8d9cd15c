"""`ssmux sync` with containers: cached for `ls`, an ECS failure shown on its own, ECS switched off."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
from click.testing import CliRunner, Result

from ssmux.cli.main import cli
from ssmux.core import store
from ssmux.core.models import SyncPair
from tests.support.emulator import RunningEmulator, start_emulator

from .test_ecs_sync_e2e import SCENARIO

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def ecs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(SCENARIO, tmp_dir=tmp_path_factory.mktemp("ecs-cli-emulator")) as running:
        yield running


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def pairs(*entries: SyncPair) -> None:
    store.update_settings(lambda s: replace(s, sync_enabled=True, sync_pairs=entries))


def test_sync_caches_containers_and_reports_an_ecs_failure_apart(
    ecs_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The denied pair's instances are synced; its ECS error is its own entry; exit 1 says so."""
    ecs_emulator.apply(monkeypatch)
    pairs(SyncPair("dev", "eu-central-1"), SyncPair("noecs", "eu-central-1"))
    result = run("sync", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    dev, noecs = data["pairs"]
    assert (dev["status"], dev["instances"], dev["containers"], dev["ecs_error"]) == ("ok", 1, 6, None)
    assert (noecs["status"], noecs["instances"], noecs["error"]) == ("ok", 2, None)
    assert "ecs:ListClusters" in noecs["ecs_error"]["message"]
    assert data["containers"] == 6
    listed = json.loads(run("ls", "shop/web/app", "--json").stdout)
    assert [t["kind"] for t in listed] == ["container", "container"]
    table = run("sync")
    assert "ecs:ListClusters" in table.stdout and "CONTAINERS" in table.stdout
    assert "the containers of 1 pair could not be listed" in table.stderr


def test_a_pair_with_containers_off_never_calls_ecs(
    ecs_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """containers = false: no ECS error for the denied pair, no containers for the other, exit 0."""
    ecs_emulator.apply(monkeypatch)
    pairs(
        SyncPair("dev", "eu-central-1", containers=False),
        SyncPair("noecs", "eu-central-1", containers=False),
    )
    result = run("sync", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(p["containers"], p["ecs_error"]) for p in data["pairs"]] == [(0, None), (0, None)]
    assert json.loads(run("ls", "shop/", "--json").stdout) == []
