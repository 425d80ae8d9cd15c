""" "Open RDP" in the app: the forward and the client run by the app, ended together (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ssmux.core.aws import AwsClients
from ssmux.emulator.windows import CONNECTION_CONFIRM, RdpStandIn
from ssmux.gui.panel_model import PanelTarget
from ssmux.gui.rdp import RdpRuns, offered, runs_of
from ssmux.sync.targets import Source
from tests.sessions.conftest import demo_instance
from tests.sessions.test_rdp_e2e import active_sessions, recorder
from tests.support.emulator import RunningEmulator

pytestmark = pytest.mark.e2e

WIN = demo_instance("win-ad", "prod")


def row(platform: str | None = "windows") -> PanelTarget:
    key = f"synced:prod/us-east-1/{WIN}"
    return PanelTarget(key=key, name="win-ad", instance_id=WIN, group="prod", source=Source.SYNCED,
                       aws_profile="prod", region="us-east-1", platform=platform)  # fmt: skip


def test_offered_on_windows_instances_only() -> None:
    """The menu shows "Open RDP" for a Windows row, not for Linux or unknown platforms."""
    assert offered(row("windows"))
    assert not offered(row("linux"))
    assert not offered(row(None))


async def test_open_runs_the_client_through_the_forward(
    demo_env: RunningEmulator, aws_clients: AwsClients, tmp_path: Path
) -> None:
    """The client gets a local port whose bytes reach the instance's RDP port; the session ends with it."""
    client = recorder(tmp_path)
    stand_in = RdpStandIn()
    await stand_in.start()
    notes: list[tuple[str, str]] = []
    try:
        result = await RdpRuns(aws_clients, client=str(client)).open(
            row(), lambda message, kind: notes.append((message, kind)), remote_port=stand_in.port
        )
    finally:
        await stand_in.stop()
    assert result is not None and result.exit_code == 7
    seen = json.loads(Path(str(client) + ".json").read_text())
    assert seen["argv"] == [str(client), f"127.0.0.1:{result.port}"]
    assert bytes.fromhex(seen["confirm"]) == CONNECTION_CONFIRM
    assert notes == [
        (f"RDP to win-ad on 127.0.0.1:{result.port}: it ends when the client is closed", "positive")
    ]
    assert active_sessions(demo_env, WIN) == []


async def test_missing_client_is_notified_before_any_session(
    demo_env: RunningEmulator, aws_clients: AwsClients, tmp_path: Path
) -> None:
    """A client that is not there: one warning saying what to do, no session started."""
    notes: list[tuple[str, str]] = []
    runs = RdpRuns(aws_clients, client=str(tmp_path / "nothing"))
    assert await runs.open(row(), lambda message, kind: notes.append((message, kind))) is None
    missing = tmp_path / "nothing"
    message = f"Open RDP: RDP client {missing} is not found or not executable: give the path of an RDP client"
    assert notes == [(message, "warning")]
    assert active_sessions(demo_env, WIN) == []


def test_runs_are_kept_per_app(aws_clients: AwsClients) -> None:
    """One RdpRuns per app's services, made on first use."""

    class Services:
        aws = aws_clients
        extras: dict[str, object] = {}

    services = Services()
    assert runs_of(services) is runs_of(services)
