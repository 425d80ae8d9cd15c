"""The app's "Run command…" on several targets, and broadcast input into several tabs, against the emulator.

The runs and sessions are real (native client, the demo emulator's agents); only the browser is simulated.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from ssmux.core import store
from ssmux.gui.components.terminal import SessionTerminal
from ssmux.gui.session_manager import SessionTarget, Status
from tests.support.emulator import RunningEmulator

from .conftest import Gui, add_synced, eventually

pytestmark = pytest.mark.e2e


def demo_id(name: str, profile: str = "dev") -> str:
    from ssmux.emulator.scenario import load_scenario

    return next(
        i.instance_id for i in load_scenario("demo").instances if i.name == name and i.profile == profile
    )


def demo_fleet() -> None:
    """The demo's dev web servers and api-1 as synced, and prod's batch-1, whose agent is offline."""
    online = {"state": "running", "ping_status": "Online", "platform": "linux", "ssm_managed": True}
    add_synced(
        "dev",
        "eu-central-1",
        [
            {"instance_id": demo_id(name), "name": name, **online}
            for name in ("web-1", "web-2", "web-3", "api-1")
        ],
    )
    offline = {**online, "ping_status": "ConnectionLost"}
    add_synced(
        "prod", "us-west-2", [{"instance_id": demo_id("batch-1", "prod"), "name": "batch-1", **offline}]
    )


async def test_run_a_command_on_several_targets(gui: Gui, demo_env: RunningEmulator) -> None:
    """Filter, check, run: each target's row shows its outcome, exit code and output; an offline agent's
    target is unreachable; the summary counts them."""
    demo_fleet()
    await gui.services.panel.reload()
    await gui.user.open("/")
    gui.user.find(marker="run-command-button").click()
    await gui.user.should_see(marker="multirun-dialog", retries=50)
    await gui.user.should_see("0 of 5 targets chosen")
    gui.user.find(marker="multirun-search").type("web")
    await gui.user.should_not_see(marker="multirun-target-api-1")
    gui.user.find(marker="multirun-check-all").click()
    await gui.user.should_see("3 of 5 targets chosen")
    gui.user.find(marker="multirun-search").clear()
    gui.user.find(marker="multirun-target-batch-1").click()
    await gui.user.should_see("4 of 5 targets chosen")
    command = 'n=${SSMUX_TARGET#web-}; echo "hello $n"; echo "warn $n" >&2; exit $((n - 1))'
    gui.user.find(marker="multirun-command").type(command)
    gui.user.find(marker="multirun-run").click()
    await gui.user.should_see("4 targets: 1 ok, 2 failed, 1 unreachable", retries=300)
    for name, outcome in (
        ("web-1", "ok · exit 0"),
        ("web-2", "failed · exit 1"),
        ("web-3", "failed · exit 2"),
    ):
        await gui.user.should_see(marker=f"multirun-outcome-{name}", content=outcome)
        n = name[4:]
        await gui.user.should_see(marker=f"multirun-stdout-{name}", content=f"hello {n}")
        await gui.user.should_see(marker=f"multirun-stderr-{name}", content=f"warn {n}")
    await gui.user.should_see(marker="multirun-outcome-batch-1", content="unreachable · ")
    await gui.user.should_see(marker="multirun-stderr-batch-1", content="not connected to Session Manager")
    gui.user.find(marker="multirun-close").click()
    await gui.user.should_not_see(marker="multirun-dialog")


def terminals(gui: Gui) -> list[SessionTerminal]:
    return [t for t in gui.user.find(kind=SessionTerminal).elements if not t.is_deleted]


async def test_broadcast_types_into_the_chosen_tabs_until_stopped(
    gui: Gui, demo_env: RunningEmulator
) -> None:
    """Broadcast on: a banner on each chosen tab, and a line typed in one runs in both; Stop ends it."""
    store.update_settings(lambda settings: replace(settings, backend="native"))
    await gui.user.open("/")
    sessions = [
        gui.services.sessions.open(SessionTarget(name, demo_id(name), "dev", "eu-central-1"))
        for name in ("web-1", "web-2")
    ]
    for session in sessions:
        await eventually(lambda s=session: s.status is Status.CONNECTED, timeout=30)
    first, second = await eventually(lambda: len(terminals(gui)) == 2 and terminals(gui))
    for terminal in (first, second):
        gui.user.find(marker=terminal._markers[0]).trigger("ready", {"cols": 80, "rows": 24})

    gui.user.find(marker="broadcast-button").click()
    await gui.user.should_see(marker="broadcast-dialog", retries=50)
    gui.user.find(marker="broadcast-start").click()
    for session, other in ((sessions[0], "web-2"), (sessions[1], "web-1")):
        await gui.user.should_see(
            marker=f"broadcast-text-{session.id}",
            content=f"Broadcast on: keys typed here also go to 1 other tab ({other})",
        )
    gui.user.find(marker=first._markers[0]).trigger("data", "echo both-$((6*7))\r")
    for terminal in (first, second):
        await eventually(lambda t=terminal: "both-42" in gui.terminal_text(t.id), timeout=20)

    gui.user.find(marker=f"broadcast-stop-{sessions[1].id}").click()
    await gui.user.should_not_see(marker=f"broadcast-banner-{sessions[0].id}")
    await gui.user.should_not_see(marker=f"broadcast-banner-{sessions[1].id}")
    gui.user.find(marker=first._markers[0]).trigger("data", "echo solo-$((2*3))\r")
    await eventually(lambda: "solo-6" in gui.terminal_text(first.id), timeout=20)
    # A line typed into the second tab after it comes back alone: the first tab's line never reached it.
    gui.user.find(marker=second._markers[0]).trigger("data", "echo own-$((3*3))\r")
    await eventually(lambda: "own-9" in gui.terminal_text(second.id), timeout=20)
    assert "solo" not in gui.terminal_text(second.id)
    assert "own" not in gui.terminal_text(first.id)
