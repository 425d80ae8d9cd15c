"""A tab's session through ssmux's native client (:class:`ssmux.sessions.native.NativeSession`).

The native session already runs on the event loop; this adapter turns its events into terminal bytes
(output and stderr alike, as a terminal shows them), remembers the exit code, and maps how it ended onto the
tab's reason. ``StartSession`` runs in its own task that is never cancelled halfway: if the tab is closed
while it is in flight, :meth:`NativeTransport.close` waits for it and terminates the session it created, so
no session is left open on the service.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from ssmux.gui.session_manager import Ended
from ssmux.sessions.ending import EndReason


class NativeTransport:
    """:class:`~ssmux.gui.session_manager.Transport` over the native client.

    Args:
        request: The :class:`~ssmux.sessions.backends.SessionRequest` to open.
        on_output: Gets output bytes, on the event loop.
        api: The AWS calls to use (default: one for the request's profile and region).
    """

    def __init__(self, request: Any, on_output: Callable[[bytes], None], api: Any = None) -> None:
        self.request = request
        self.on_output = on_output
        self.api = api
        self.session_id: str | None = None
        self.exit_code: int | None = None
        self._native: Any = None
        self._starting: asyncio.Task[Any] | None = None
        self._closed = False

    async def start(self, cols: int, rows: int) -> None:
        from ssmux.sessions.api import SessionApi
        from ssmux.sessions.native import NativeSession

        api = self.api or SessionApi(self.request.aws_profile, self.request.region)
        self.api = api
        self._starting = asyncio.get_running_loop().create_task(
            asyncio.to_thread(api.start_session, self.request.start_session_params())
        )
        started = await asyncio.shield(self._starting)
        self.session_id = started.session_id
        native = NativeSession(api, started, self.request.target)
        native.handler = self._handle
        self._native = native
        await native.open()
        native.resize(cols, rows)

    def _handle(self, event: Any) -> None:
        from ssmux.protocol.client import ExitCode, HandshakeCompleted, Output, StdErr

        if isinstance(event, (Output, StdErr)):
            self.on_output(event.data)
        elif isinstance(event, ExitCode):
            self.exit_code = event.code
        elif isinstance(event, HandshakeCompleted) and event.customer_message:
            self.on_output(event.customer_message.encode() + b"\r\n")

    def send(self, data: bytes) -> None:
        if self._native is not None:
            self._native.send_input(data)

    def resize(self, cols: int, rows: int) -> None:
        if self._native is not None:
            self._native.resize(cols, rows)

    async def wait(self) -> Ended:
        assert self._native is not None
        end = await self._native.wait_closed()
        await self._native.close()
        code = self.exit_code
        if end.reason is EndReason.CLOSED:
            text = "session ended" + (f" (exit code {code})" if code is not None else "")
            if end.message.strip():
                text += f": {end.message.strip()}"
            return Ended(text, error=code not in (None, 0), exit_code=code)
        if end.reason is EndReason.TIMED_OUT:
            return Ended(end.message or "session timed out", error=True)
        if end.reason is EndReason.TERMINATED:
            return Ended("session terminated")
        return Ended(end.message or "session failed", error=True)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._native is not None:
            await self._native.terminate()
            return
        if self._starting is not None:
            # StartSession may still be in flight: let it finish, then end the session it made.
            with contextlib.suppress(Exception):
                started = await self._starting
                self.session_id = started.session_id
                await asyncio.to_thread(self.api.terminate_session, started.session_id, quiet=True)
