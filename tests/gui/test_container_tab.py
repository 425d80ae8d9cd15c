"""A tab on an ECS container (ECS Exec) in the app, against the demo emulator's cluster ``shop``.

The demo pair is synced as ``ssmux sync`` does; the tab is opened the way a user does, through the connect
dialog with the container's cluster/service/container name (and its picker); the shell it opens is the
container's (its environment), and closing the tab ends the session on the service. A container the sync
saw not ready gets the error card with the reason, and no session is started.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from ssmux.core import store
from ssmux.gui.session_manager import Status
from tests.sessions.container_cache import sync_pair
from tests.support.emulator import RunningEmulator

from .conftest import Gui, eventually
from .test_sessions import open_via_dialog, terminals, typed

pytestmark = pytest.mark.e2e


def sync_demo_pair(demo_env: RunningEmulator) -> None:
    """The demo's dev/eu-central-1 synced into this test's home (its containers too); the native backend."""
    sync_pair("dev", "eu-central-1")
    store.update_settings(lambda settings: replace(settings, backend="native"))


async def test_a_tab_on_a_container_runs_its_shell(gui: Gui, demo_env: RunningEmulator) -> None:
    """cluster/service/container in the connect dialog: the service's two tasks are offered, the one
    picked opens a tab titled shop/web/app with the container icon, whose shell has the container's
    environment; closing it ends the ECS Exec session."""
    sync_demo_pair(demo_env)
    await gui.user.open("/")
    await open_via_dialog(gui, "shop/web/app", "dev", "eu-central-1")
    await gui.user.should_see("2 targets match: choose one", retries=50)
    gui.user.find(marker="connect-choice-1").click()
    session = await eventually(lambda: next(iter(gui.services.sessions.sessions.values()), None), timeout=20)
    assert session.title == "shop/web/app"
    assert session.target.instance_id.startswith("ecs:shop_")
    await gui.user.should_see(marker=f"tab-container-{session.id}", retries=50)
    await eventually(lambda: session.status is Status.CONNECTED, timeout=30, message=str(session.reason))
    (terminal,) = terminals(gui)
    gui.user.find(marker=terminal._markers[0]).trigger("ready", {"cols": 100, "rows": 30})
    await typed(gui, terminal, 'echo "role=$APP_ROLE env=$APP_ENV"\r', "role=web env=dev")
    await typed(gui, terminal, "echo ${ECS_CONTAINER_METADATA_URI%/*}\r", "http://169.254.170.2/v3")

    session_id = session.session_id
    assert session_id is not None and session_id.startswith("ecs-execute-command")
    ssm = demo_env.client("ssm", "dev", "eu-central-1")
    assert session_id in {s["SessionId"] for s in ssm.describe_sessions(State="Active")["Sessions"]}
    gui.user.find(marker=f"tab-x-{session.id}").click()
    await gui.user.should_not_see(marker="session-tab", retries=50)

    def ended() -> bool:
        return session_id in {s["SessionId"] for s in ssm.describe_sessions(State="History")["Sessions"]}

    await eventually(ended, timeout=20, message="the closed tab's ECS Exec session is still active")


async def test_a_tab_on_a_not_ready_container_says_why(gui: Gui, demo_env: RunningEmulator) -> None:
    """A container whose task runs without exec: the tab fails at once with the reason and the fix."""
    sync_demo_pair(demo_env)
    await gui.user.open("/")
    await open_via_dialog(gui, "shop/worker/worker", "dev", "eu-central-1")
    session = await eventually(lambda: next(iter(gui.services.sessions.sessions.values()), None), timeout=20)
    await eventually(lambda: session.status is Status.ERROR, timeout=20)
    assert "not ready for ECS Exec: execute command is not enabled" in session.reason
    assert "--enable-execute-command" in session.reason
    assert session.session_id is None
