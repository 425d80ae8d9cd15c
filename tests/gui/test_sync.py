"""Sync from the app against the emulator: live progress per pair, cancel, per-pair errors where users see."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace

import pytest

from ssmux.core import store
from ssmux.core.models import SyncPair
from ssmux.gui.components.target_row import TargetRow
from tests.support.emulator import RunningEmulator, start_emulator

from .conftest import Gui, add_synced, eventually, instance_id

pytestmark = pytest.mark.e2e

SCENARIO = {
    "profiles": [
        {"name": "dev", "account_id": "111111111111", "region": "eu-central-1"},
        {"name": "denied", "account_id": "444444444444", "region": "eu-central-1", "deny": True},
        {
            "name": "slow",
            "account_id": "777777777777",
            "region": "eu-central-1",
            "faults": {"latency_ms": 1200},
        },
    ],
    "instances": [
        {"profile": "dev", "region": "eu-central-1", "name": "alpha", "count": 3, "tags": {"team": "web"}},
        {"profile": "denied", "region": "eu-central-1", "name": "secret"},
        {"profile": "slow", "region": "eu-central-1", "name": "far", "count": 2},
    ],
}
PAIRS = (("dev", "eu-central-1"), ("denied", "eu-central-1"), ("slow", "eu-central-1"))


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """An emulator where one account is denied and one is slow."""
    with start_emulator(SCENARIO, tmp_dir=tmp_path_factory.mktemp("gui-fleet")) as running:
        yield running


@pytest.fixture
def fleet_env(fleet: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RunningEmulator:
    fleet.apply(monkeypatch)
    return fleet


def enable_sync(pairs: tuple[tuple[str, str], ...] = PAIRS) -> None:
    store.update_settings(
        lambda s: replace(s, sync_enabled=True, sync_pairs=tuple(SyncPair(p, r, True) for p, r in pairs))
    )


def row_names(gui: Gui) -> set[str]:
    return {row.target.name for row in gui.user.find(kind=TargetRow).elements if not row.is_deleted}


def shown_names(gui: Gui) -> set[str]:
    """The name of every row shown; empty while the panel has no rows."""
    try:
        return set(row_names(gui))
    except AssertionError:  # no row on the page yet
        return set()


async def test_sync_all_shows_progress_then_groups_and_per_pair_errors(
    gui: Gui, fleet_env: RunningEmulator
) -> None:
    """Sync all shows each pair syncing, then the instances by profile/region and a readable error badge."""
    enable_sync()
    await gui.services.panel.reload()
    await gui.user.open("/")
    await gui.user.should_see(marker="group-badge synced:dev/eu-central-1", content="not synced")
    gui.user.find(marker="sync-all").click()
    # The slow pair takes seconds: while it runs its group shows a spinner and the summary counts pairs.
    await gui.user.should_see(marker="group-progress synced:slow/eu-central-1", retries=50)
    await gui.user.should_see(marker="sync-summary", content="syncing:")
    await eventually(lambda: not gui.services.sync.running, timeout=60)
    await gui.user.should_see(marker="sync-summary", content="1 of 3 pairs failed", retries=20)
    # The panel re-reads the cache after the sync ends, off the event loop: wait for its rows.
    await eventually(
        lambda: {"alpha-1", "alpha-2", "alpha-3", "far-1", "far-2"} <= shown_names(gui),
        timeout=10,
        message="the synced instances never showed in the panel",
    )
    with gui.user.scope(marker="group synced:denied/eu-central-1"):
        await gui.user.should_see(marker="group-badge", content="sync failed")
        await gui.user.should_see(marker="group-error", content="denied")
        await gui.user.should_see(marker="group-error", content="ec2:DescribeInstances")
    with gui.user.scope(marker="group synced:dev/eu-central-1"):
        await gui.user.should_not_see(marker="group-badge")
        await gui.user.should_see(marker="group-count", content="(3)")
    progress = gui.services.sync.progress
    assert progress[("dev", "eu-central-1")].state == "ok"
    assert progress[("denied", "eu-central-1")].state == "error"
    assert progress[("denied", "eu-central-1")].code in ("UnauthorizedOperation", "AccessDeniedException")
    await gui.user.should_see(marker="sync-pair-detail denied/eu-central-1", content="denied")


async def test_failed_pair_keeps_last_good_rows_marked_stale(gui: Gui, fleet_env: RunningEmulator) -> None:
    """A pair that fails now keeps the instances of its last good sync, with a "stale" badge and the error."""
    enable_sync((("denied", "eu-central-1"),))
    add_synced(
        "denied", "eu-central-1", [{"instance_id": instance_id(7), "name": "kept", "state": "running"}]
    )
    await gui.services.panel.reload()
    await gui.user.open("/")
    gui.user.find(marker="sync-group synced:denied/eu-central-1").click()
    await eventually(
        lambda: (
            gui.services.sync.progress.get(("denied", "eu-central-1")) is not None
            and not gui.services.sync.running
        ),
        timeout=30,
    )
    with gui.user.scope(marker="group synced:denied/eu-central-1"):
        await gui.user.should_see(marker="group-badge", content="stale", retries=20)
        await gui.user.should_see(kind=TargetRow, content="kept")
        await gui.user.should_see(marker="group-error", content="denied")


async def test_cancel_keeps_finished_pairs(gui: Gui, fleet_env: RunningEmulator) -> None:
    """Cancel during a sync: pairs already done are kept, the slow one ends as cancelled, nothing hangs."""
    enable_sync((("dev", "eu-central-1"), ("slow", "eu-central-1")))
    await gui.services.panel.reload()
    await gui.user.open("/")
    gui.user.find(marker="sync-all").click()
    await eventually(
        lambda: (
            gui.services.sync.progress.get(("dev", "eu-central-1")) is not None
            and gui.services.sync.progress[("dev", "eu-central-1")].state == "ok"
        ),
        timeout=30,
    )
    assert gui.services.sync.running
    await gui.user.should_see(marker="sync-cancel")
    gui.user.find(marker="sync-cancel").click()
    await eventually(lambda: not gui.services.sync.running, timeout=10)
    assert gui.services.sync.progress[("slow", "eu-central-1")].state == "cancelled"
    await gui.user.should_see(marker="sync-summary", content="sync cancelled", retries=20)
    await gui.user.should_see(kind=TargetRow, content="alpha-1", retries=20)
    assert not any(name.startswith("far-") for name in row_names(gui))


async def test_sync_all_when_disabled_says_where_to_enable_it(gui: Gui) -> None:
    """With sync off, Sync all says how to turn it on instead of failing silently."""
    store.update_settings(lambda s: replace(s, sync_enabled=False))
    await gui.user.open("/")
    gui.user.find(marker="sync-all").click()
    await gui.user.should_see("Sync is disabled: turn it on in Settings", retries=30)
    assert not gui.services.sync.running


async def test_two_syncs_at_once_are_refused(gui: Gui, fleet_env: RunningEmulator) -> None:
    """A second sync while one runs is refused with a message; the first one completes."""
    enable_sync((("slow", "eu-central-1"),))
    await gui.services.panel.reload()
    await gui.user.open("/")
    first = asyncio.create_task(gui.services.sync.sync_all())
    await eventually(lambda: gui.services.sync.running, timeout=10)
    gui.user.find(marker="sync-group synced:slow/eu-central-1").click()
    await gui.user.should_see("a sync is already running", retries=30)
    result = await asyncio.wait_for(first, 60)
    assert result is not None and result.ok
