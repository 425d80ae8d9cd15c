"""Port forwards started from the app, kept in the server.

A forward is a port session (``AWS-StartPortForwardingSession``, or ``...ToRemoteHost`` with a remote host)
run by :class:`ssmux.sessions.launch.PortForward` (the native client with the CLI's own local end). The lines
the plugin would print ("Port N opened...", "Connection accepted...") are kept here per forward and shown on
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
from typing import TYPE_CHECKING

from ssmux.gui.hub import Hub
from ssmux.sessions.launch import ForwardState, PortForward

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients

log = logging.getLogger(__name__)

LINES_KEPT = 50


@dataclass(frozen=True)
class ForwardSpec:
    """What to forward: ``127.0.0.1:local_port`` to ``remote_port`` on the target (or on ``remote_host``)."""

    instance_id: str
    local_port: int
    remote_port: int
    remote_host: str | None = None
    aws_profile: str | None = None
    region: str | None = None
    name: str | None = None  # the target's name when it was given by name

    @property
    def label(self) -> str:
        through = f"{self.name} ({self.instance_id})" if self.name else self.instance_id
        where = (
            f"{self.remote_host}:{self.remote_port} via {through}"
            if self.remote_host
            else (f"{through}:{self.remote_port}")
        )
        return f"localhost:{self.local_port or '?'} → {where}"


class RunningForward:
    """One forward on the forwards page: its :class:`~ssmux.sessions.launch.PortForward`, and the lines kept.

    It is the forward's :class:`~ssmux.sessions.launch.ForwardFrontend`.
    """

    def __init__(self, manager: ForwardManager, spec: ForwardSpec) -> None:
        from ssmux.sessions.runner import Kind, build_request

        self.id = uuid.uuid4().hex[:12]
        self.manager = manager
        self.spec = spec
        self.lines: deque[str] = deque(maxlen=LINES_KEPT)
        request = build_request(
            Kind.FORWARD,
            spec.instance_id,
            spec.aws_profile,
            spec.region,
            local_port=spec.local_port,
            remote_port=spec.remote_port,
            remote_host=spec.remote_host,
        )
        self.forward = PortForward(request, self, spec.local_port, clients=manager.clients)
        self._task: asyncio.Task[None] | None = None

    @property
    def state(self) -> ForwardState:
        return self.forward.state

    @property
    def message(self) -> str:
        return self.forward.message

    @property
    def port(self) -> int | None:
        """The local port listened on, once listening."""
        return self.forward.port

    @property
    def accepted(self) -> int:
        """Connections accepted so far."""
        return self.forward.accepted

    @property
    def active(self) -> int:
        """Connections open now."""
        return self.forward.active

    # ForwardFrontend -----------------------------------------------------------------------------------
    def write(self, text: str) -> int:
        """Keep the plugin-style lines for the page."""
        for line in text.splitlines():
            if line.strip():
                self.lines.append(line.strip())
        self.changed()
        return len(text)

    def flush(self) -> None:
        """Nothing buffered."""

    def changed(self) -> None:
        self.manager.changed.emit(self)

    # Lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self.forward.run(), name=f"ssmux-forward-{self.id}"
        )

    async def stop(self) -> None:
        """Close the listener and connections, end the session."""
        await self.forward.stop()
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


class ForwardManager:
    """Every forward of the app; :attr:`changed` tells the forwards page to redraw."""

    def __init__(self, *, clients: AwsClients | None = None) -> None:
        self.clients = clients  # the app's AWS sessions and clients, shared by every forward
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
