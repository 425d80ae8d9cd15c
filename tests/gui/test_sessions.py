"""Sessions in tabs against the emulator: connect, type, read, reload, reconnect, close, errors.

The sessions are real (native client, emulator process, a shell in a pty); only the browser is simulated:
what the server sends to a terminal is recorded as xterm.js would receive it (see ``conftest.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from ssmux.core import store
from ssmux.errors import SessionError
from ssmux.gui.components.terminal import SessionTerminal
from ssmux.gui.session_manager import ManagedSession, Status
from ssmux.sessions.ending import EndReason, SessionEnd
from tests.support.emulator import RunningEmulator

from .conftest import Gui, eventually

pytestmark = pytest.mark.e2e


def demo_id(name: str, profile: str = "dev") -> str:
    from ssmux.emulator.scenario import load_scenario

    return next(
        i.instance_id for i in load_scenario("demo").instances if i.name == name and i.profile == profile
    )


def native_backend() -> None:
    store.update_settings(lambda settings: replace(settings, backend="native"))


def terminals(gui: Gui) -> list[SessionTerminal]:
    return [t for t in gui.user.find(kind=SessionTerminal).elements if not t.is_deleted]


async def open_via_dialog(gui: Gui, instance: str, aws_profile: str, region: str) -> None:
    gui.user.find(marker="new-tab").click()
    await gui.user.should_see(marker="connect-dialog", retries=50)
    gui.user.find(marker="connect-instance-id").clear().type(instance)
    gui.user.find(marker="connect-aws-profile").clear().type(aws_profile)
    gui.user.find(marker="connect-region").clear().type(region)
    gui.user.find(marker="connect-submit").click()


async def connected_tab(
    gui: Gui, instance: str, aws_profile: str, region: str, cols: int = 80, rows: int = 24
) -> tuple[ManagedSession, SessionTerminal]:
    """Open a tab through the connect dialog; return its session once connected, and its ready terminal."""
    await open_via_dialog(gui, instance, aws_profile, region)
    session = await eventually(lambda: next(iter(gui.services.sessions.sessions.values()), None), timeout=20)
    await eventually(lambda: session.status is Status.CONNECTED, timeout=30)
    (terminal,) = terminals(gui)
    gui.user.find(marker=terminal._markers[0]).trigger("ready", {"cols": cols, "rows": rows})
    return session, terminal


async def typed(gui: Gui, terminal: SessionTerminal, text: str, expect: str, timeout: float = 20) -> str:
    """Type ``text`` into a terminal and wait until ``expect`` shows in what it was sent."""
    gui.user.find(marker=terminal._markers[0]).trigger("data", text)
    return await eventually(
        lambda: expect in gui.terminal_text(terminal.id) and gui.terminal_text(terminal.id),
        timeout=timeout,
        message=f"{expect!r} not seen; terminal got {gui.terminal_text(terminal.id)[-500:]!r}",
    )


async def test_connect_dialog_type_and_read(gui: Gui, demo_env: RunningEmulator) -> None:
    """The connect dialog opens a tab on the instance; what is typed reaches the shell; its output shows."""
    native_backend()
    await gui.user.open("/")
    await open_via_dialog(gui, demo_id("web-2"), "dev", "eu-central-1")
    await gui.user.should_see(marker="session-tab", retries=50)
    (session,) = gui.services.sessions.sessions.values()
    assert session.title == demo_id("web-2")
    await eventually(lambda: session.status is Status.CONNECTED, timeout=20)
    (terminal,) = terminals(gui)
    gui.user.find(marker=terminal._markers[0]).trigger("ready", {"cols": 100, "rows": 30})
    await typed(gui, terminal, "echo $((6*7))\r", "42")
    await typed(gui, terminal, "stty size\r", "30 100")
    settings = store.load_settings()
    assert settings.recent_instance_ids[0] == demo_id("web-2")
    assert settings.recent_aws_profiles[0] == "dev"


async def test_tab_survives_reload_and_close_ends_the_session(gui: Gui, demo_env: RunningEmulator) -> None:
    """A reload re-attaches the tab with its screen; closing the tab terminates the session on the service."""
    native_backend()
    await gui.user.open("/")
    session, terminal = await connected_tab(gui, demo_id("web-3"), "dev", "eu-central-1")
    await typed(gui, terminal, "echo marker-$((40+2))\r", "marker-42")

    await gui.user.open("/")  # a reload: a new page, the same server
    (again,) = terminals(gui)
    assert again.id != terminal.id
    gui.user.find(marker=again._markers[0]).trigger("ready", {"cols": 80, "rows": 24})
    await eventually(lambda: "marker-42" in gui.terminal_text(again.id), timeout=10)
    assert session.status is Status.CONNECTED
    await typed(gui, again, "echo still-$((1+1))\r", "still-2")

    session_id = session.session_id
    ssm = demo_env.client("ssm", "dev", "eu-central-1")
    active = ssm.describe_sessions(State="Active")["Sessions"]
    assert session_id in {s["SessionId"] for s in active}
    gui.user.find(marker=f"tab-x-{session.id}").click()
    await gui.user.should_not_see(marker="session-tab", retries=50)

    def ended() -> bool:
        history = ssm.describe_sessions(State="History")["Sessions"]
        return any(s["SessionId"] == session_id for s in history)

    await eventually(ended, timeout=20, message="the closed tab's session is still active")
    assert gui.services.sessions.sessions == {}


async def test_a_lost_draw_acknowledgement_repaints_and_output_keeps_flowing(
    gui: Gui, demo_env: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The browser's answer to a write is lost (its socket reconnected): the tab repaints and stays live."""
    from ssmux.gui.components import terminal as terminal_module

    from .conftest import _WRITE_CHUNK

    monkeypatch.setattr(terminal_module, "ACK_TIMEOUT", 0.5)
    native_backend()
    await gui.user.open("/")
    session, terminal = await connected_tab(gui, demo_id("web-3"), "dev", "eu-central-1")
    await typed(gui, terminal, "echo first-$((1+1))\r", "first-2")

    # The next answer to a writeChunk never reaches the server (what the browser drew is still recorded).
    record = gui.user.javascript_rules[_WRITE_CHUNK]
    client = gui.user._client
    answer = client.handle_javascript_response
    lose = {"next": False, "left": 1}

    def losing_rule(match: re.Match[str]) -> object:
        if lose["left"]:
            lose["left"] -= 1
            lose["next"] = True
        return record(match)

    def losing_answer(message: dict[str, object]) -> None:
        if lose["next"]:
            lose["next"] = False
            return
        answer(message)

    gui.user.javascript_rules[_WRITE_CHUNK] = losing_rule
    monkeypatch.setattr(client, "handle_javascript_response", losing_answer)
    await typed(gui, terminal, "echo lost-$((2+3))\r", "lost-5")
    assert lose["left"] == 0

    # The tab repaints from the session's history, then later output still arrives.
    await eventually(lambda: "\x1bc" in gui.terminal_text(terminal.id), timeout=10, message="no repaint")
    await typed(gui, terminal, "echo after-$((3+4))\r", "after-7")
    repaint = gui.terminal_text(terminal.id).rsplit("\x1bc", 1)[1]
    assert "lost-5" in repaint and "after-7" in repaint
    assert session.status is Status.CONNECTED


async def test_exit_shows_why_and_reconnect_opens_a_new_session(gui: Gui, demo_env: RunningEmulator) -> None:
    """After `exit` the tab says the session ended (shells report no exit code); Reconnect opens a new one."""
    native_backend()
    await gui.user.open("/")
    session, terminal = await connected_tab(gui, demo_id("api-1"), "dev", "eu-central-1")
    first_id = session.session_id
    gui.user.find(marker=terminal._markers[0]).trigger("data", "exit 3\r")
    await eventually(lambda: session.status is Status.ENDED, timeout=20)
    await gui.user.should_see(marker=f"session-reason-{session.id}", content="Session ended")
    gui.user.find(marker=f"session-reconnect-{session.id}").click()
    await eventually(
        lambda: session.status is Status.CONNECTED and session.session_id != first_id, timeout=20
    )
    await typed(gui, terminal, "echo again-$((2*3))\r", "again-6")
    assert len(gui.services.sessions.sessions) == 1


async def test_duplicate_opens_a_second_tab(gui: Gui, demo_env: RunningEmulator) -> None:
    """Duplicate opens another session to the same target in a new tab; each tab has its own shell."""
    native_backend()
    await gui.user.open("/")
    await open_via_dialog(gui, demo_id("web-1"), "dev", "eu-central-1")
    first = await eventually(lambda: next(iter(gui.services.sessions.sessions.values()), None), timeout=20)
    await eventually(lambda: first.status is Status.CONNECTED, timeout=20)
    gui.user.find(marker=f"tab-duplicate-{first.id}").click()
    await eventually(lambda: len(gui.services.sessions.sessions) == 2, timeout=10)
    second = next(s for s in gui.services.sessions.sessions.values() if s is not first)
    await eventually(lambda: second.status is Status.CONNECTED, timeout=20)
    assert second.target == first.target
    assert second.session_id != first.session_id
    assert len(terminals(gui)) == 2


def card_text(gui: Gui, session: ManagedSession) -> str:
    """What the error card of a tab says (its title and detail)."""
    return " ".join(
        next(iter(gui.user.find(marker=f"session-error-{part}-{session.id}").elements)).text
        for part in ("title", "detail")
    )


async def test_offline_target_shows_one_card_with_sync(gui: Gui, demo_env: RunningEmulator) -> None:
    """A session the service refuses (agent offline) shows one error card saying so, not the terminal too;
    its Sync button syncs the target's pair, so the panel shows the instance's real state."""
    native_backend()
    await gui.user.open("/")
    await open_via_dialog(gui, demo_id("batch-1", "prod"), "prod", "us-west-2")
    session = await eventually(lambda: next(iter(gui.services.sessions.sessions.values()), None), timeout=20)
    await eventually(lambda: session.status is Status.ERROR, timeout=20)
    await gui.user.should_see(marker=f"session-error-{session.id}")
    assert card_text(gui, session).startswith(
        f"{demo_id('batch-1', 'prod')} is not connected to Session Manager"
    )
    assert "ssmux " not in card_text(gui, session)
    await gui.user.should_see(marker=f"session-error-code-{session.id}", content="TargetNotConnected")
    (terminal,) = terminals(gui)
    assert "not connected" not in gui.terminal_text(terminal.id)
    fix = next(iter(gui.user.find(marker=f"session-fix-{session.id}").elements))
    assert fix.text == "Sync"
    await gui.user.should_see(marker=f"session-reconnect-{session.id}")
    assert gui.services.sync.progress == {}
    gui.user.find(marker=f"session-fix-{session.id}").click()
    await gui.user.should_see("Synced prod/us-west-2", retries=100)
    assert [item.label for item in gui.services.sync.progress.values()] == ["prod/us-west-2"]
    batch = await eventually(
        lambda: next(
            (t for t in gui.services.panel.data.targets if t.instance_id == demo_id("batch-1", "prod")), None
        )
    )
    assert batch.ping_status == "ConnectionLost" and batch.problem


async def test_missing_plugin_shows_one_card_with_settings(
    gui: Gui, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plugin backend without its program: the card says the program is missing; Settings opens."""
    monkeypatch.setenv("PATH", str(tmp_path))  # no session-manager-plugin here
    store.update_settings(lambda s: replace(s, backend="plugin", plugin_path=""))
    await gui.user.open("/")
    await open_via_dialog(gui, "i-0123456789abcdef0", "dev", "eu-central-1")
    session = await eventually(lambda: next(iter(gui.services.sessions.sessions.values()), None), timeout=20)
    await eventually(lambda: session.status is Status.ERROR, timeout=20)
    await gui.user.should_see(marker=f"session-error-{session.id}")
    text = card_text(gui, session)
    assert text.startswith("The session program is not available Session-manager-plugin not found on PATH")
    assert "ssmux " not in text and "--backend" not in text
    fix = next(iter(gui.user.find(marker=f"session-fix-{session.id}").elements))
    assert fix.text == "Settings"
    gui.user.find(marker=f"session-fix-{session.id}").click()
    await gui.user.should_see(marker="settings-backend", retries=50)


class Dropping:
    """A transport whose first connection drops (the native client's typed end of that), the next holds."""

    made = 0

    def __init__(self) -> None:
        Dropping.made += 1
        self.number = Dropping.made
        self.session_id = f"s-{self.number}"
        self._closed = asyncio.Event()

    async def start(self, cols: int, rows: int) -> None:
        pass

    def send(self, data: bytes) -> None:
        pass

    def resize(self, cols: int, rows: int) -> None:
        pass

    async def wait(self) -> SessionEnd:
        if self.number == 1:
            why = f"session {self.session_id} ended: the other side stopped acknowledging data; it was "
            why += "terminated"
            return SessionEnd(EndReason.ERROR, why, SessionError(why))
        await self._closed.wait()
        return SessionEnd(EndReason.TERMINATED)

    async def close(self) -> None:
        self._closed.set()


async def test_dropped_session_shows_one_card_with_reconnect(gui: Gui) -> None:
    """A session whose connection dropped: the card says it failed and why; Reconnect connects again."""
    Dropping.made = 0
    gui.services.sessions.transport_factory = lambda target, frontend: Dropping()
    await gui.user.open("/")
    await open_via_dialog(gui, "i-0123456789abcdef0", "dev", "eu-central-1")
    session = await eventually(lambda: next(iter(gui.services.sessions.sessions.values()), None), timeout=20)
    await eventually(lambda: session.status is Status.ERROR, timeout=10)
    await gui.user.should_see(marker=f"session-error-{session.id}")
    assert card_text(gui, session) == (
        "The session to i-0123456789abcdef0 failed Session s-1 ended: the other side stopped acknowledging "
        "data; it was terminated. Reconnect to start a new session."
    )
    fix = next(iter(gui.user.find(marker=f"session-fix-{session.id}").elements))
    assert fix.text == "Reconnect"
    gui.user.find(marker=f"session-fix-{session.id}").click()
    await eventually(lambda: session.status is Status.CONNECTED and session.session_id == "s-2", timeout=10)
    await gui.user.should_not_see(marker=f"session-error-{session.id}")


async def test_connect_dialog_validates_like_the_cli(gui: Gui) -> None:
    """A malformed instance id or unknown region keeps the dialog open with the CLI's message."""
    from ssmux.core.validation import validate_instance_id, validate_region
    from ssmux.errors import InvalidValue

    await gui.user.open("/")
    gui.user.find(marker="new-tab").click()
    await gui.user.should_see(marker="connect-dialog", retries=50)
    gui.user.find(marker="connect-instance-id").type("i-nothex")
    gui.user.find(marker="connect-region").type("us-esat-1")
    gui.user.find(marker="connect-submit").click()
    with pytest.raises(InvalidValue) as bad_id:
        validate_instance_id("i-nothex")
    with pytest.raises(InvalidValue) as bad_region:
        validate_region("us-esat-1")
    field = next(iter(gui.user.find(marker="connect-instance-id").elements))
    assert field.props["error-message"] == str(bad_id.value)
    region = next(iter(gui.user.find(marker="connect-region").elements))
    assert region.props["error-message"] == str(bad_region.value)
    await gui.user.should_see(marker="connect-dialog")
    assert gui.services.sessions.sessions == {}
    gui.user.find(marker="dialog-cancel").click()
    await gui.user.should_not_see(marker="connect-dialog")


async def test_connect_dialog_prefills_defaults_and_recent(gui: Gui) -> None:
    """The dialog starts from the settings' default profile and region and the most recent instance id."""
    store.update_settings(lambda s: replace(s, default_aws_profile="ops", default_region="eu-west-1"))
    store.record_recent("i-0123456789abcdef0", "ops", "eu-west-1")
    await gui.user.open("/")
    gui.user.find(marker="new-tab").click()
    await gui.user.should_see(marker="connect-dialog", retries=50)
    values = {
        marker: next(iter(gui.user.find(marker=marker).elements)).value
        for marker in ("connect-instance-id", "connect-aws-profile", "connect-region")
    }
    assert values == {
        "connect-instance-id": "i-0123456789abcdef0",
        "connect-aws-profile": "ops",
        "connect-region": "eu-west-1",
    }
    gui.user.find(marker="dialog-cancel").click()
    await gui.user.should_not_see(marker="connect-dialog")


@pytest.mark.parametrize("backend", ["plugin", "aws-cli"])
async def test_plugin_and_aws_cli_backends_run_in_a_pty(
    gui: Gui, demo_env: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    """With the plugin (here ssmux's drop-in launcher) or the aws CLI as backend the tab runs it in a pty:
    typing, output and resizes work; closing the tab ends the remote session and reaps the processes."""
    if backend == "aws-cli" and shutil.which("aws") is None:
        pytest.skip("the aws CLI is not installed")
    from ssmux.sessions.shim import install_shim

    plugin = install_shim(tmp_path / "shim-bin")
    path = [str(plugin.parent)] + [
        entry
        for entry in os.environ.get("PATH", "").split(os.pathsep)
        if entry and not (Path(entry) / "session-manager-plugin").exists()
    ]
    monkeypatch.setenv("PATH", os.pathsep.join(path))
    store.update_settings(lambda s: replace(s, backend=backend, plugin_path=str(plugin)))
    await gui.user.open("/")
    session, terminal = await connected_tab(gui, demo_id("web-3"), "dev", "eu-central-1", 90, 30)
    await typed(gui, terminal, "echo pty-$((6*7))\r", "pty-42")
    await typed(gui, terminal, "stty size\r", "30 90")
    gui.user.find(marker=terminal._markers[0]).trigger("resize", {"cols": 101, "rows": 33})
    # The program in the pty learns the size from SIGWINCH, asynchronously to what is typed: as a person
    # would, look again if the first answer still shows the old size.
    for attempt in range(5):
        await asyncio.sleep(0.3)
        with contextlib.suppress(AssertionError):
            await typed(gui, terminal, f"echo try{attempt}-$(stty size)\r", f"try{attempt}-33 101", timeout=5)
            break
    else:
        raise AssertionError(
            f"the new size never reached the remote pty: {gui.terminal_text(terminal.id)[-300:]!r}"
        )
    text = gui.terminal_text(terminal.id)
    session_id = re.search(r"Starting session with SessionId: (\S+)", text).group(1)  # type: ignore[union-attr]
    ssm = demo_env.client("ssm", "dev", "eu-central-1")
    assert session_id in {s["SessionId"] for s in ssm.describe_sessions(State="Active")["Sessions"]}
    process = session._transport.inner.pty.process  # type: ignore[union-attr]
    gui.user.find(marker=f"tab-x-{session.id}").click()
    await gui.user.should_not_see(marker="session-tab", retries=50)

    def ended() -> bool:
        history = ssm.describe_sessions(State="History")["Sessions"]
        return any(s["SessionId"] == session_id for s in history)

    await eventually(ended, timeout=20, message="the closed tab's session is still active")
    await eventually(lambda: process.returncode is not None, timeout=10, message="the plugin was not reaped")
