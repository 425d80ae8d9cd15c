"""Port forwards started from the app: the native client's port sessions, kept in the server.

A forward is a port session (``AWS-StartPortForwardingSession``, or ``...ToRemoteHost`` with a remote host)
run by :class:`ssmux.sessions.native.NativeSession` with the CLI's own local end,
:class:`ssmux.sessions.forward.PortFrontend` (smux when the agent supports it: many connections at once). The
lines the plugin would print ("Port N opened...", "Connection accepted...") are kept per forward and shown on
the forwards page with the number of connections. Stopping a forward closes its listener and connections and
ends the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from ssmux.errors import SsmuxError
from ssmux.gui.hub import Hub
from ssmux.sessions.ending import EndReason

log = logging.getLogger(__name__)

ForwardState = Literal["starting", "listening", "ended", "error"]
LINES_KEPT = 50
LISTEN_TIMEOUT = 60.0


@dataclass(frozen=True)
class ForwardSpec:
    """What to forward: ``127.0.0.1:local_port`` to ``remote_port`` on the target (or on ``remote_host``)."""

    instance_id: str
    local_port: int
    remote_port: int
    remote_host: str | None = None
    aws_profile: str | None = None
    region: str | None = None

    @property
    def label(self) -> str:
        where = (
            f"{self.remote_host}:{self.remote_port} via {self.instance_id}"
            if self.remote_host
            else (f"{self.instance_id}:{self.remote_port}")
        )
        return f"localhost:{self.local_port or '?'} → {where}"


class _Lines:
    """A file-like sink for the plugin-style lines of a forward."""

    def __init__(self, forward: RunningForward) -> None:
        self.forward = forward

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                self.forward.lines.append(line.strip())
        self.forward.manager.changed.emit(self.forward)
        return len(text)

    def flush(self) -> None:
        """Nothing buffered."""


class RunningForward:
    """One forward and its port session."""

    def __init__(self, manager: ForwardManager, spec: ForwardSpec) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.manager = manager
        self.spec = spec
        self.state: ForwardState = "starting"
        self.message = ""
        self.lines: deque[str] = deque(maxlen=LINES_KEPT)
        self.session: Any = None
        self.frontend: Any = None
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int | None:
        """The local port listened on, once listening."""
        return getattr(self.frontend, "port", None)

    @property
    def accepted(self) -> int:
        """Connections accepted so far."""
        return int(getattr(self.frontend, "accepted", 0))

    @property
    def active(self) -> int:
        """Connections open now."""
        frontend = self.frontend
        if frontend is None:
            return 0
        # PortFrontend keeps its open connections per smux stream, or one in basic mode.
        return len(getattr(frontend, "_writers", {})) + (1 if getattr(frontend, "_basic_writer", None) else 0)

    def _set(self, state: ForwardState, message: str = "") -> None:
        self.state = state
        self.message = message
        self.manager.changed.emit(self)

    async def run(self) -> None:
        from ssmux.sessions.native import NativeSession
        from ssmux.sessions.runner import Kind, build_request

        spec = self.spec
        request = build_request(
            Kind.FORWARD,
            spec.instance_id,
            spec.aws_profile,
            spec.region,
            local_port=spec.local_port,
            remote_port=spec.remote_port,
            remote_host=spec.remote_host,
        )
        try:
            session = await NativeSession.start(request, on_started=self._started)
        except SsmuxError as error:
            self._set("error", str(error))
            return
        end = await session.wait_closed()
        if self.frontend is not None:
            self.frontend.close()
        await session.close()
        if self.state != "ended":
            if end.reason is EndReason.ERROR:
                self._set("error", end.message)
            else:
                self._set("ended", end.message or "session ended")

    def _started(self, session: Any) -> None:
        self.session = session
        session.handler = self._handle
        self.lines.append(f"Starting session with SessionId: {session.session_id}")
        self.manager.changed.emit(self)

    def _handle(self, event: Any) -> None:
        from ssmux.protocol.client import SessionTypeKnown
        from ssmux.protocol.handshake import SessionType
        from ssmux.sessions.forward import PortFrontend

        if self.frontend is None and isinstance(event, SessionTypeKnown):
            if event.session_type != SessionType.PORT:
                self._set("error", f"the agent opened a {event.session_type} session, not a port session")
                asyncio.get_running_loop().create_task(self.session.terminate())
                return
            self.frontend = PortFrontend(
                self.session, dict(event.properties), local_port=self.spec.local_port, out=_Lines(self)
            )
            self.frontend.start()
            asyncio.get_running_loop().create_task(self._watch_listening())
        elif self.frontend is not None:
            self.frontend.handle(event)

    async def _watch_listening(self) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.frontend.listening.wait(), LISTEN_TIMEOUT)
        if self.frontend.listening.is_set() and self.state == "starting":
            self._set("listening")

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(), name=f"ssmux-forward-{self.id}")

    async def stop(self) -> None:
        """Close the listener and connections, end the session."""
        self._set("ended", "stopped")
        if self.frontend is not None:
            self.frontend.close()
        if self.session is not None:
            await self.session.terminate()
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


class ForwardManager:
    """Every forward of the app; :attr:`changed` tells the forwards page to redraw."""

    def __init__(self) -> None:
        self.forwards: dict[str, RunningForward] = {}
        self.changed = Hub()

    def start(self, spec: ForwardSpec) -> RunningForward:
        forward = RunningForward(self, spec)
        self.forwards[forward.id] = forward
        forward.start()
        self.changed.emit(forward)
        return forward

    async def stop(self, forward_id: str) -> None:
        forward = self.forwards.pop(forward_id, None)
        if forward is not None:
            await forward.stop()
            self.changed.emit(forward)

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(forward_id) for forward_id in list(self.forwards)))
