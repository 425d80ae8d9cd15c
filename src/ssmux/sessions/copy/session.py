"""Sessions as ``ssmux cp`` uses them: a command whose stdout is read as bytes, and a pty fed with bytes.

Both are native sessions started from the same requests as ``ssmux exec`` (:func:`~ssmux.sessions.runner.
build_request`, :meth:`~ssmux.sessions.native.NativeSession.start`); only the local end differs: instead of
this terminal, a callback takes the output. Every session is closed when its run ends, and terminated on
the service when the run is cancelled or fails, so an interrupted copy leaves nothing running there.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ssmux.errors import SessionError

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients
    from ssmux.protocol.events import ClientEvent
    from ssmux.sessions.api import SessionApi
    from ssmux.sessions.native import NativeSession
    from ssmux.sessions.resolve_target import ResolvedTarget

__all__ = ["CommandResult", "Remote"]

INTERACTIVE_DOCUMENT = "AWS-StartInteractiveCommand"
#: Bytes of remote stderr kept for an error message.
STDERR_LIMIT = 4096
#: Unacknowledged input messages (1 KiB each) in flight before feeding waits: far below the client's
#: outgoing buffer (10 000, past which it drops its oldest), and below what an agent holds for a slow pty
#: (the emulator: 256 KiB), past which it answers "not ready" and the messages wait for the resend timer,
#: one per 100 ms.
INPUT_WINDOW = 224


@dataclass(frozen=True)
class CommandResult:
    """How a command ended: its exit code (None when the agent sent none) and the start of its stderr."""

    exit_code: int | None
    stderr: str


class Remote:
    """One resolved target and the AWS calls its sessions make (shared by parallel sessions).

    Args:
        target: where the sessions go.
        clients: the caller's AWS sessions and clients (the app's); None makes new ones.
        reason: the StartSession Reason.
    """

    def __init__(
        self, target: ResolvedTarget, clients: AwsClients | None = None, reason: str | None = None
    ) -> None:
        from ssmux.sessions.api import SessionApi

        self.target = target
        self.reason = reason
        self.api: SessionApi = SessionApi(target.aws_profile, target.region, clients=clients)

    async def run(self, line: str, on_output: Callable[[bytes], None]) -> CommandResult:
        """Run ``line`` (a ``command`` parameter) with NonInteractiveCommands; its stdout to ``on_output``.

        Raises:
            AwsError: StartSession failed.
            SessionError: the data channel failed.
        """
        from ssmux.protocol.client import ExitCode, Output, StdErr
        from ssmux.sessions.remote_exec import SEPARATE_OUTPUT
        from ssmux.sessions.runner import NON_INTERACTIVE_DOCUMENT

        stderr = bytearray()
        code: list[int] = []

        def handle(event: ClientEvent) -> None:
            if isinstance(event, Output):
                on_output(event.data)
            elif isinstance(event, StdErr):
                stderr.extend(event.data[: max(0, STDERR_LIMIT - len(stderr))])
            elif isinstance(event, ExitCode):
                code.append(event.code)

        params = {"command": [line], SEPARATE_OUTPUT: ["true"]}
        async with self._session(NON_INTERACTIVE_DOCUMENT, params, handle):
            pass
        return CommandResult(code[-1] if code else None, stderr.decode("utf-8", "replace").strip())

    @contextlib.asynccontextmanager
    async def interactive(
        self, line: str, on_output: Callable[[bytes], None]
    ) -> AsyncIterator[NativeSession]:
        """A pty session running ``sh -c line`` (InteractiveCommands), open while the block runs."""
        from ssmux.protocol.client import Output

        def handle(event: ClientEvent) -> None:
            if isinstance(event, Output):
                on_output(event.data)

        async with self._session(INTERACTIVE_DOCUMENT, {"command": [line]}, handle, wait=False) as session:
            yield session

    @contextlib.asynccontextmanager
    async def _session(
        self,
        document: str,
        params: dict[str, list[str]],
        handle: Callable[[ClientEvent], None],
        *,
        wait: bool = True,
    ) -> AsyncIterator[NativeSession]:
        from ssmux.sessions.ending import EndReason
        from ssmux.sessions.native import NativeSession
        from ssmux.sessions.runner import Kind, build_request

        request = build_request(
            Kind.SHELL, self.target.instance_id, self.target.aws_profile, self.target.region,
            reason=self.reason, document=document, parameters=params,
        )  # fmt: skip

        def attach(session: NativeSession) -> None:
            session.handler = handle

        session = await NativeSession.start(request, self.api, on_started=attach)
        finished = False
        try:
            yield session
            if wait:
                end = await session.wait_closed()
                if end.reason is EndReason.ERROR:
                    raise end.error or SessionError(end.message or "the session failed")
                finished = True
        finally:
            if finished or session.closed:
                await session.close()
            else:
                with contextlib.suppress(Exception):
                    await asyncio.shield(session.terminate())

    @staticmethod
    async def feed(session: NativeSession, data: bytes, on_sent: Callable[[int], None] | None = None) -> None:
        """Send ``data`` as input, a window at a time, so the client never holds more than it can resend."""
        view = memoryview(data)
        step = 64 * 1024
        channel = session.client.channel
        while view:
            if session.closed:
                raise SessionError(f"session {session.session_id} ended while sending")
            if channel.unacked_count >= INPUT_WINDOW or channel.paused:
                await asyncio.sleep(0.002)
                continue
            chunk = view[:step]
            session.send_input(bytes(chunk))
            view = view[step:]
            if on_sent is not None:
                on_sent(len(chunk))
            await asyncio.sleep(0)
