"""The API that runs a session for a frontend (the app's tabs): its end, closing halfway, the pty's id."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from ssmux.sessions.api import StartedSession
from ssmux.sessions.backends import Backend, Choice, SessionRequest
from ssmux.sessions.ending import EndReason, SessionEnd
from ssmux.sessions.launch import NativeFeed, launch
from ssmux.sessions.ptysession import PtySession


class Screen:
    """A frontend that keeps what it is fed."""

    def __init__(self) -> None:
        self.data = bytearray()

    def output(self, data: bytes) -> None:
        self.data += data


class SlowApi:
    """StartSession that waits for a gate; records TerminateSession."""

    region_name = "eu-central-1"
    endpoint_url = "https://ssm.eu-central-1.amazonaws.com"

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.terminated: list[str] = []

    def start_session(self, params: Any) -> StartedSession:
        self.gate.wait(10)
        return StartedSession("s-123", "token", "wss://example.invalid/stream")

    def terminate_session(self, session_id: str, *, quiet: bool = False) -> None:
        self.terminated.append(session_id)


@pytest.mark.parametrize(
    ("end", "failed"),
    [
        (SessionEnd(EndReason.CLOSED), False),
        (SessionEnd(EndReason.CLOSED, exit_code=0), False),
        (SessionEnd(EndReason.CLOSED, exit_code=3), True),
        (SessionEnd(EndReason.TERMINATED), False),
        (SessionEnd(EndReason.TIMED_OUT, "timed out"), True),
        (SessionEnd(EndReason.ERROR, "broken"), True),
    ],
)
def test_a_session_failed_on_error_timeout_or_nonzero_exit(end: SessionEnd, failed: bool) -> None:
    """An error, a timeout or a non-zero exit code is a failure; a clean close or a terminate is not."""
    assert end.failed is failed


async def test_closing_during_start_session_terminates_the_session_it_made() -> None:
    """A native session closed while StartSession is in flight ends the session StartSession then makes."""
    api = SlowApi()
    feed = NativeFeed(SessionRequest("i-0123456789abcdef0"), Screen(), api)  # type: ignore[arg-type]
    starting = asyncio.get_running_loop().create_task(feed.start(80, 24))
    await asyncio.sleep(0.05)
    starting.cancel()
    closing = asyncio.get_running_loop().create_task(feed.close())
    await asyncio.sleep(0.05)
    api.gate.set()
    await asyncio.wait_for(closing, 10)
    assert api.terminated == ["s-123"]


class FakePty:
    """A pty that has printed nothing yet."""

    def __init__(self) -> None:
        self.closed = False

    def stop_reading(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


async def test_the_aws_cli_session_is_terminated_with_the_id_the_plugin_printed() -> None:
    """The aws CLI starts the session itself: its id is read from the plugin's first line; closing ends it."""
    screen = Screen()
    session = PtySession(
        SessionRequest("i-0123456789abcdef0"), screen, Choice(Backend.AWS_CLI, "/usr/bin/aws", None)
    )
    api = SlowApi()
    session._api = api  # type: ignore[assignment]
    session.pty = FakePty()  # type: ignore[assignment]
    session._readable(b"\r\nStarting session with SessionId: botocore-session-1a2b\r\n$ ")
    assert session.session_id == "botocore-session-1a2b"
    assert bytes(screen.data).endswith(b"$ ")
    await session.close()
    assert api.terminated == ["botocore-session-1a2b"]
    assert session.pty.closed  # type: ignore[attr-defined]


def test_launch_leaves_the_backend_to_start() -> None:
    """launch() only prepares: nothing is chosen or started until start()."""
    session = launch(SessionRequest("i-0123456789abcdef0"), Screen(), backend=Backend.NATIVE)
    assert session.session_id is None
