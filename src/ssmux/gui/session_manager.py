"""Sessions that live in the server, so a tab survives a browser reload.

A :class:`ManagedSession` owns one connection (a :class:`~ssmux.sessions.launch.RunningSession` from
:func:`ssmux.sessions.launch.launch`: the native client, or the plugin / aws CLI in a pty), is its
:class:`~ssmux.sessions.launch.Frontend`, and keeps a bounded history of what it printed. Browser tabs are
only *views*: a terminal attaches, gets the history to repaint its screen, then every new byte; a reload drops
the view and the next page attaches a new one. Closing a tab is what ends the session (``TerminateSession``
and the processes). This module only shows sessions: choosing the backend, starting, ending are
:mod:`ssmux.sessions.launch`'s.

Everything here runs on the event loop. Sessions deliver output on the loop too, so attaching (history
snapshot + subscription) is atomic: a view never misses or repeats a byte. Keystrokes pass straight to the
transport and are never logged or kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from ssmux.errors import SsmuxError
from ssmux.gui.hub import Hub
from ssmux.sessions.backends import Backend, SessionRequest
from ssmux.sessions.ending import EndReason, SessionEnd
from ssmux.sessions.launch import Frontend, RunningSession

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients

log = logging.getLogger(__name__)

#: Bytes of output kept per session for repainting a re-attached terminal.
HISTORY_LIMIT = 512 * 1024


class Change(StrEnum):
    """What :attr:`SessionManager.changed` reports about a session."""

    ADDED = "added"
    REMOVED = "removed"
    STATUS = "status"


class Status(StrEnum):
    """The status dot of a tab."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    ENDED = "ended"
    ERROR = "error"


@dataclass(frozen=True)
class SessionTarget:
    """What a tab connects to.

    Attributes:
        title: Tab title: the profile name, or the instance id for an ad-hoc connection.
        instance_id: ``i-...`` or ``mi-...``; a container's SSM target ``ecs:<cluster>_<task>_<runtime>``
            (its session is ECS Exec of ``/bin/sh``, the container found in the synced cache when the
            session starts: :func:`ssmux.sessions.resolve_target.container_request`).
        aws_profile: AWS CLI profile, ``None`` for the SDK's default chain.
        region: Region, ``None`` for the profile's own.
        profile_name: The saved profile this came from, if any.
        backend: Backend asked for (``None``: the settings' choice).
    """

    title: str
    instance_id: str
    aws_profile: str | None = None
    region: str | None = None
    profile_name: str | None = None
    backend: Backend | None = None

    @property
    def is_container(self) -> bool:
        """The tab is on an ECS container (ECS Exec), not an instance."""
        return self.instance_id.startswith("ecs:")


def describe_end(end: SessionEnd) -> str:
    """The line a tab shows for how its session ended."""
    if end.reason is EndReason.CLOSED:
        text = "session ended" + (f" (exit code {end.exit_code})" if end.exit_code is not None else "")
        if end.message.strip():
            text += f": {end.message.strip()}"
        return text
    if end.reason is EndReason.TIMED_OUT:
        return end.message or "session timed out"
    if end.reason is EndReason.TERMINATED:
        return "session terminated"
    return end.message or "session failed"


#: Makes the (not yet started) session of a tab; it feeds the tab's output to the frontend, on the loop.
TransportFactory = Callable[[SessionTarget, Frontend], RunningSession]


def default_factory(
    target: SessionTarget, frontend: Frontend, *, clients: AwsClients | None = None
) -> RunningSession:
    """The session for ``target`` with the backend the tab (or else the settings) asks for, on ``clients``."""
    from ssmux.sessions.launch import launch

    request = SessionRequest(target=target.instance_id, aws_profile=target.aws_profile, region=target.region)
    return launch(request, frontend, backend=target.backend, clients=clients)


class View(Protocol):
    """A terminal showing a session."""

    def feed(self, data: bytes) -> None:
        """New output to draw."""

    def status_changed(self) -> None:
        """The session's status or reason changed."""


class OutputHistory:
    """The last ``limit`` bytes a session printed, in chunks (no copying on every write)."""

    def __init__(self, limit: int = HISTORY_LIMIT) -> None:
        self.limit = limit
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self.truncated = False

    def append(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)
        while self._size - len(self._chunks[0]) >= self.limit:
            self._size -= len(self._chunks.popleft())
            self.truncated = True

    def snapshot(self) -> bytes:
        """What to replay into a fresh terminal: the history, starting at a line boundary if it was cut."""
        data = b"".join(self._chunks)
        if len(data) > self.limit:
            data = data[-self.limit :]
            self.truncated = True
        if self.truncated:
            # The cut may fall inside an escape sequence or a UTF-8 character: start at the next line.
            newline = data.find(b"\n")
            data = data[newline + 1 :] if newline >= 0 else b""
        return data

    def __len__(self) -> int:
        return self._size


class ManagedSession:
    """One tab's session: connect, reconnect, output history, views, close."""

    def __init__(self, manager: SessionManager, target: SessionTarget) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.manager = manager
        self.target = target
        self.status = Status.CONNECTING
        self.reason = ""
        #: How the last connection ended (``None`` while it runs): what the tab's error card reads.
        self.end: SessionEnd | None = None
        self.history = OutputHistory(manager.history_limit)
        self.cols, self.rows = 80, 24
        self.changed = Hub()
        self._views: list[View] = []
        self._transport: RunningSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    # Properties ----------------------------------------------------------------------------------------
    @property
    def title(self) -> str:
        return self.target.title

    @property
    def session_id(self) -> str | None:
        """The SSM session id of the current connection, once known."""
        return self._transport.session_id if self._transport is not None else None

    @property
    def closed(self) -> bool:
        return self._closed

    # Views ---------------------------------------------------------------------------------------------
    def attach(self, view: View) -> bytes:
        """Add a view; returns the history to draw first (every later byte goes to ``view.feed``)."""
        self._views.append(view)
        return self.history.snapshot()

    def detach(self, view: View) -> None:
        if view in self._views:
            self._views.remove(view)

    @property
    def view_count(self) -> int:
        return len(self._views)

    def output(self, data: bytes) -> None:
        """Output of the session (:class:`~ssmux.sessions.launch.Frontend`): kept, and drawn by every view."""
        if not data:
            return
        self.history.append(data)
        for view in list(self._views):
            try:
                view.feed(data)
            except Exception:  # one broken browser tab must not starve the others
                log.exception("a terminal view failed; detaching it")
                self.detach(view)

    def _set_status(self, status: Status, reason: str = "") -> None:
        self.status = status
        self.reason = reason
        for view in list(self._views):
            try:
                view.status_changed()
            except Exception:
                log.exception("a terminal view failed to show a status change")
        self.changed.emit(self)
        self.manager.changed.emit(Change.STATUS, self)

    # Input ---------------------------------------------------------------------------------------------
    def input(self, text: str) -> None:
        """Keystrokes or pasted text from a terminal, passed on unchanged (and never logged)."""
        if self._transport is not None and self.status is Status.CONNECTED:
            self._transport.send(text.encode("utf-8", "surrogateescape"))

    def resize(self, cols: int, rows: int) -> None:
        """The terminal was fitted to its tab: pass the size to the remote pty."""
        if cols < 2 or rows < 1 or (cols, rows) == (self.cols, self.rows):
            return
        self.cols, self.rows = cols, rows
        if self._transport is not None and self.status is Status.CONNECTED:
            self._transport.resize(cols, rows)

    # Lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"ssmux-session-{self.id}")

    async def _run(self) -> None:
        self.end = None
        self._set_status(Status.CONNECTING)
        try:
            transport = self.manager.transport_factory(self.target, self)
            self._transport = transport
            size = (self.cols, self.rows)
            await transport.start(*size)
            if (self.cols, self.rows) != size:  # the terminal was fitted while we connected
                transport.resize(self.cols, self.rows)
        except SsmuxError as error:
            self._fail(str(error), error)
            return
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a bug in a transport: show it in the tab, keep the app running
            log.exception("session %s failed to start", self.id)
            self._fail(f"unexpected {type(error).__name__}: {error}")
            return
        self._set_status(Status.CONNECTED)
        try:
            end = await transport.wait()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.exception("session %s failed", self.id)
            end = SessionEnd(EndReason.ERROR, f"unexpected {type(error).__name__}: {error}")
        if self._closed:
            return
        reason = describe_end(end)
        self.end = end
        # A failure is told once, by the tab's error card; the scrollback only marks where it happened.
        self.output(f"\r\n\x1b[2m[{'session failed' if end.failed else reason}]\x1b[0m\r\n".encode())
        self._set_status(Status.ERROR if end.failed else Status.ENDED, reason)

    def _fail(self, message: str, error: SsmuxError | None = None) -> None:
        # Shown by the tab's error card (not in the terminal: dark red on black, wrapped at its width).
        self.end = SessionEnd(EndReason.ERROR, message, error)
        self._set_status(Status.ERROR, message)

    async def reconnect(self) -> None:
        """End the current connection (if any) and connect again in the same tab."""
        if self._closed:
            return
        await self._stop()
        self.output(b"\r\n\x1b[2m[reconnecting]\x1b[0m\r\n")
        self.start()

    async def close(self) -> None:
        """End the session for good: TerminateSession and every process; the tab goes away."""
        if self._closed:
            return
        self._closed = True
        await self._stop()
        self._views.clear()

    async def _stop(self) -> None:
        task, transport = self._task, self._transport
        self._task = None
        self._transport = None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # it is being stopped on purpose
                await task
        if transport is not None:
            try:
                await transport.close()
            except SsmuxError as error:
                log.warning("closing session %s: %s", self.id, error)
            except Exception:
                log.exception("closing session %s failed", self.id)


class SessionManager:
    """Every open session of the app, in tab order.

    Args:
        transport_factory: How a session connects (default: :func:`default_factory`, the backend chosen in
            the settings).
        history_limit: Bytes of output kept per session.
        clients: The app's AWS sessions and clients, shared by the sessions :func:`default_factory` makes.
    """

    def __init__(
        self,
        transport_factory: TransportFactory | None = None,
        history_limit: int = HISTORY_LIMIT,
        *,
        clients: AwsClients | None = None,
    ) -> None:
        self.transport_factory: TransportFactory = transport_factory or functools.partial(
            default_factory, clients=clients
        )
        self.history_limit = history_limit
        self.sessions: dict[str, ManagedSession] = {}
        self.changed = Hub()  # (Change, session)

    def open(self, target: SessionTarget) -> ManagedSession:
        """Open a new session in a new tab (connects in the background)."""
        session = ManagedSession(self, target)
        self.sessions[session.id] = session
        self.changed.emit(Change.ADDED, session)
        session.start()
        return session

    def get(self, session_id: str) -> ManagedSession | None:
        return self.sessions.get(session_id)

    def duplicate(self, session_id: str) -> ManagedSession | None:
        """Open another session to the same target."""
        session = self.sessions.get(session_id)
        return self.open(session.target) if session is not None else None

    async def close(self, session_id: str) -> None:
        """Close a tab: end its session and remove it."""
        session = self.sessions.pop(session_id, None)
        if session is None:
            return
        self.changed.emit(Change.REMOVED, session)
        await session.close()

    async def close_all(self) -> None:
        """End every session (app shutdown)."""
        await asyncio.gather(*(self.close(session_id) for session_id in list(self.sessions)))
