"""Sessions that feed a frontend: the app's terminal tabs and its port forwards.

:func:`launch` is a terminal tab's whole API: a :class:`~ssmux.sessions.backends.SessionRequest`, a
:class:`Frontend` that shows the output, and the backend asked for (``None``: the ``backend`` setting). It
returns a :class:`RunningSession`; :meth:`~RunningSession.start` chooses the backend as ``ssmux connect`` does
(:func:`ssmux.sessions.backends.choose`: ``auto`` is the plugin when installed, else native), starts it with
the frontend's window size and records the recent lists; :meth:`~RunningSession.wait` says how it ended, as a
typed :class:`~ssmux.sessions.ending.SessionEnd`. The native backend runs on the event loop
(:class:`NativeFeed`); the plugin and the aws CLI run in a pty
(:class:`ssmux.sessions.ptysession.PtySession`). Every blocking step runs in a worker thread.

:class:`PortForward` runs a port session for a :class:`ForwardFrontend` (the app's forwards page).

The third way to run a session is on this terminal, the CLI's: :func:`ssmux.sessions.runner.open_session`.
Both the tabs and the CLI choose with :func:`~ssmux.sessions.backends.choose` and start the chosen backend
with :func:`start_chosen`, the one dispatch over backends; the :class:`Mode` passed in says where the session
runs (:class:`Feed`: a frontend; :class:`ssmux.sessions.runner.Attached`: this terminal). The plugin's and the
aws CLI's run is :func:`program_launch`, the native client's start :meth:`NativeSession.start
<ssmux.sessions.native.NativeSession.start>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, TypeVar

from ssmux.sessions.backends import Backend, Choice, Launch, SessionRequest, choose
from ssmux.sessions.ending import EndReason, SessionEnd

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients
    from ssmux.protocol.events import ClientEvent
    from ssmux.sessions.api import SessionApi
    from ssmux.sessions.forward import PortFrontend
    from ssmux.sessions.native import NativeSession

log = logging.getLogger(__name__)

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Frontend(Protocol):
    """What shows a session: gets its output (stdout and stderr alike, as a terminal shows them)."""

    def output(self, data: bytes) -> None:
        """New output, on the event loop."""


class RunningSession(Protocol):
    """One session of any backend, fed to a :class:`Frontend`."""

    @property
    def session_id(self) -> str | None:
        """The SSM session id once known."""

    async def start(self, cols: int, rows: int) -> None:
        """Open the session with this window size; raises :class:`~ssmux.errors.SsmuxError` on failure."""

    def send(self, data: bytes) -> None:
        """Pass keystrokes (or pasted text) to the remote side as they are."""

    def resize(self, cols: int, rows: int) -> None:
        """Tell the remote pty its new size."""

    async def wait(self) -> SessionEnd:
        """Return when the session has ended, saying how."""

    async def close(self) -> None:
        """End the session for good (``TerminateSession``, stop and reap processes); safe to call twice."""


class Mode(Protocol[T_co]):
    """Where the session of a chosen backend runs: :func:`start_chosen` hands it the backend's session.

    :class:`Feed` feeds a :class:`Frontend` (the app); :class:`ssmux.sessions.runner.Attached` runs on this
    terminal (the CLI).
    """

    def native(self, request: SessionRequest) -> T_co:
        """Run ``request`` with the native client."""

    def program(self, request: SessionRequest, choice: Choice) -> T_co:
        """Run ``request`` with the plugin or the aws CLI of ``choice`` (its run: :func:`program_launch`)."""


def start_chosen(choice: Choice, request: SessionRequest, mode: Mode[T]) -> T:
    """The one dispatch over backends: the session of ``choice`` for ``request``, run the way of ``mode``."""
    if choice.backend is Backend.NATIVE:
        return mode.native(request)
    return mode.program(request, choice)


def program_launch(
    choice: Choice, request: SessionRequest, api: Callable[[], SessionApi]
) -> tuple[Launch, str | None]:
    """The run of the plugin or the aws CLI of ``choice`` for ``request`` (blocking).

    The plugin backend calls ``StartSession`` through ``api()`` first and returns the id of the session the
    plugin joins (whoever runs it terminates that session if the plugin cannot be started); the aws CLI
    starts the session itself (``None``).
    """
    from ssmux.sessions.awscli import awscli_launch
    from ssmux.sessions.plugin import start_plugin

    assert choice.executable is not None
    if choice.backend is Backend.AWS_CLI:
        return awscli_launch(choice.executable, request, choice.plugin), None
    if request.container is not None:
        from ssmux.sessions.ecs_api import plugin_launch

        return plugin_launch(choice.executable, request, api())
    return start_plugin(choice.executable, request, api())


async def start_native(
    request: SessionRequest,
    api: SessionApi,
    *,
    on_started: Callable[[NativeSession], None] | None = None,
    open_channel: bool = True,
) -> NativeSession:
    """The native session of ``request``: ``StartSession``, or ``ecs:ExecuteCommand`` for a container
    (:mod:`ssmux.sessions.ecs_api`), then its data channel (unless ``open_channel`` is False).

    Raises:
        AwsError: the start call failed.
        SessionError: the data channel could not be opened (the session is terminated).
    """
    from ssmux.sessions.native import NativeSession

    if request.container is None:
        return await NativeSession.start(request, api, on_started=on_started, open_channel=open_channel)
    from ssmux.sessions.ecs_api import execute_command

    executed = await asyncio.to_thread(execute_command, api.calls, request.container)
    # The session is SSM's from here on: ResumeSession, TerminateSession and KMS through ``api``, the
    # container's ``ecs:`` target in the encryption context, as the plugin has it from the aws CLI.
    session = NativeSession(api, executed.started, request.target)
    if on_started is not None:
        on_started(session)
    if open_channel:
        await session.open()
    return session


class Feed:
    """The :class:`Mode` of the app: the session feeds ``frontend`` (:class:`NativeFeed`, or a pty).

    ``clients`` are the app's AWS sessions and clients: every session it opens shares them (``None``: each
    session makes its own).
    """

    def __init__(self, frontend: Frontend, clients: AwsClients | None = None) -> None:
        self.frontend = frontend
        self.clients = clients

    def native(self, request: SessionRequest) -> RunningSession:
        return NativeFeed(request, self.frontend, clients=self.clients)

    def program(self, request: SessionRequest, choice: Choice) -> RunningSession:
        from ssmux.sessions.ptysession import PtySession

        return PtySession(request, self.frontend, choice, clients=self.clients)


def launch(
    request: SessionRequest,
    frontend: Frontend,
    *,
    backend: Backend | None = None,
    clients: AwsClients | None = None,
) -> RunningSession:
    """The session for ``request`` with ``backend`` (``None``: the settings' choice), not started yet.

    ``clients``: the caller's AWS sessions and clients (``None``: the session makes its own).
    """
    return ChosenSession(request, frontend, backend, clients)


class ChosenSession:
    """Chooses the backend when started, then delegates to :class:`NativeFeed` or a pty session."""

    def __init__(
        self,
        request: SessionRequest,
        frontend: Frontend,
        backend: Backend | None = None,
        clients: AwsClients | None = None,
    ) -> None:
        self.request = request
        self.frontend = frontend
        self.requested = backend
        self.clients = clients
        self.inner: RunningSession | None = None
        self.backend: Backend | None = None

    @property
    def session_id(self) -> str | None:
        return self.inner.session_id if self.inner is not None else None

    async def start(self, cols: int, rows: int) -> None:
        choice = await asyncio.to_thread(self._prepare)
        self.backend = choice.backend
        self.inner = start_chosen(choice, self.request, Feed(self.frontend, self.clients))
        await self.inner.start(cols, rows)
        await asyncio.to_thread(self._record_recent)

    def _prepare(self) -> Choice:
        """The backend; a tab on a container (an ``ecs:`` target) gets its container from the synced cache
        first, and one that cannot take a session is refused here, before any AWS call."""
        from ssmux.core import store
        from ssmux.sessions.resolve_target import container_request

        self.request = container_request(self.request)
        return choose(self.requested, store.load_settings(), self.request)

    def _record_recent(self) -> None:
        from ssmux.sessions.resolve_target import record_recent

        request = self.request
        record_recent(request.target, request.aws_profile, request.region, warn=log.warning)

    def send(self, data: bytes) -> None:
        if self.inner is not None:
            self.inner.send(data)

    def resize(self, cols: int, rows: int) -> None:
        if self.inner is not None:
            self.inner.resize(cols, rows)

    async def wait(self) -> SessionEnd:
        assert self.inner is not None
        return await self.inner.wait()

    async def close(self) -> None:
        if self.inner is not None:
            await self.inner.close()


class NativeFeed:
    """A native session whose output goes to a :class:`Frontend`.

    Output and stderr alike become terminal bytes, the exit code is kept for the end. ``StartSession``
    runs in its own task that is never cancelled halfway: if the session is closed while it is in flight,
    :meth:`close` waits for it and terminates the session it created, so none is left open on the service.

    Args:
        request: What to open.
        frontend: Gets output bytes, on the event loop.
        api: The AWS calls to use (default: one for the request's profile and region, on ``clients``).
        clients: The caller's AWS sessions and clients (``None``: the session makes its own).
    """

    backend = Backend.NATIVE

    def __init__(
        self,
        request: SessionRequest,
        frontend: Frontend,
        api: SessionApi | None = None,
        *,
        clients: AwsClients | None = None,
    ) -> None:
        self.request = request
        self.frontend = frontend
        self.api = api
        self.clients = clients
        self.session_id: str | None = None
        self.exit_code: int | None = None
        self._native: NativeSession | None = None
        self._starting: asyncio.Future[NativeSession] | None = None
        self._closed = False

    async def start(self, cols: int, rows: int) -> None:
        from ssmux.sessions.api import SessionApi

        request = self.request
        api = self.api or SessionApi(request.aws_profile, request.region, clients=self.clients)
        self._starting = asyncio.ensure_future(
            start_native(request, api, on_started=self._started, open_channel=False)
        )
        native = await asyncio.shield(self._starting)
        await native.open()
        native.resize(cols, rows)

    def _started(self, native: NativeSession) -> None:
        self.api = native.api
        self.session_id = native.session_id
        native.handler = self._handle
        self._native = native

    def _handle(self, event: ClientEvent) -> None:
        from ssmux.protocol.client import ExitCode, HandshakeCompleted, Output, StdErr

        if isinstance(event, (Output, StdErr)):
            self.frontend.output(event.data)
        elif isinstance(event, ExitCode):
            self.exit_code = event.code
        elif isinstance(event, HandshakeCompleted) and event.customer_message:
            self.frontend.output(event.customer_message.encode() + b"\r\n")

    def send(self, data: bytes) -> None:
        if self._native is not None:
            self._native.send_input(data)

    def resize(self, cols: int, rows: int) -> None:
        if self._native is not None:
            self._native.resize(cols, rows)

    async def wait(self) -> SessionEnd:
        assert self._native is not None
        end = await self._native.wait_closed()
        await self._native.close()
        return SessionEnd(end.reason, end.message, end.error, self.exit_code)

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
                native = await self._starting
                self.session_id = native.session_id
                await asyncio.to_thread(native.api.terminate_session, native.session_id, quiet=True)


class ForwardState(StrEnum):
    """Where a :class:`PortForward` is."""

    STARTING = "starting"
    LISTENING = "listening"
    ENDED = "ended"
    ERROR = "error"


class ForwardFrontend(Protocol):
    """What shows a port forward: the lines the plugin would print, and when anything changed."""

    def write(self, text: str) -> int:
        """Plugin-style lines ("Port N opened...", "Connection accepted..."), as a text file takes them."""

    def flush(self) -> None:
        """Nothing to do for most frontends; there for file-likes."""

    def changed(self) -> None:
        """The state, the message or the connection counts changed."""


#: Seconds a started port session may take to listen before the forward stops waiting for it.
LISTEN_TIMEOUT = 60.0


class PortForward:
    """A port session run with the native client and the CLI's local end, :class:`~ssmux.sessions.forward.
    PortFrontend` (smux when the agent supports it: many connections at once), for a frontend.

    Args:
        request: The port session to start (:func:`ssmux.sessions.runner.build_request` with
            :attr:`~ssmux.sessions.runner.Kind.FORWARD`).
        frontend: Gets the plugin-style lines and is told of every change.
        local_port: Local port to listen on (0: the system picks; ``None``: the request's).
        clients: The caller's AWS sessions and clients (``None``: the session makes its own).
    """

    def __init__(
        self,
        request: SessionRequest,
        frontend: ForwardFrontend,
        local_port: int | None,
        *,
        clients: AwsClients | None = None,
    ) -> None:
        self.request = request
        self.frontend = frontend
        self.local_port = local_port
        self.clients = clients
        self.state = ForwardState.STARTING
        self.message = ""
        self.session: NativeSession | None = None
        self.ports: PortFrontend | None = None

    @property
    def port(self) -> int | None:
        """The local port listened on, once listening."""
        return self.ports.port if self.ports is not None else None

    @property
    def accepted(self) -> int:
        """Connections accepted so far."""
        return self.ports.accepted if self.ports is not None else 0

    @property
    def active(self) -> int:
        """Connections open now."""
        return self.ports.open_connections if self.ports is not None else 0

    def _set(self, state: ForwardState, message: str = "") -> None:
        self.state = state
        self.message = message
        self.frontend.changed()

    async def run(self) -> None:
        """Start the session and run it to its end; failures end up in :attr:`state` and :attr:`message`."""
        from ssmux.errors import SsmuxError
        from ssmux.sessions.api import SessionApi
        from ssmux.sessions.native import NativeSession
        from ssmux.sessions.resolve_target import refuse_not_ready_id

        request = self.request
        api = SessionApi(request.aws_profile, request.region, clients=self.clients)
        try:
            # A container the last sync saw not ready is refused before StartSession, as the CLI does.
            await asyncio.to_thread(refuse_not_ready_id, request.target)
            session = await NativeSession.start(request, api, on_started=self._started)
        except SsmuxError as error:
            self._set(ForwardState.ERROR, str(error))
            return
        end = await session.wait_closed()
        if self.ports is not None:
            self.ports.close()
        await session.close()
        if self.state is not ForwardState.ENDED:
            if end.reason is EndReason.ERROR:
                self._set(ForwardState.ERROR, end.message)
            else:
                self._set(ForwardState.ENDED, end.message or "session ended")

    def _started(self, session: NativeSession) -> None:
        self.session = session
        session.handler = self._handle
        self.frontend.write(f"Starting session with SessionId: {session.session_id}\n")

    def _handle(self, event: ClientEvent) -> None:
        from ssmux.protocol.client import SessionTypeKnown
        from ssmux.protocol.handshake import SessionType
        from ssmux.sessions.forward import port_frontend

        session = self.session
        assert session is not None
        if self.ports is None and isinstance(event, SessionTypeKnown):
            if event.session_type != SessionType.PORT:
                self._set(
                    ForwardState.ERROR, f"the agent opened a {event.session_type} session, not a port session"
                )
                asyncio.get_running_loop().create_task(session.terminate())
                return
            ports = port_frontend(session, event.properties, local_port=self.local_port, out=self.frontend)
            self.ports = ports
            ports.start()
            asyncio.get_running_loop().create_task(self._watch_listening(ports))
        elif self.ports is not None:
            self.ports.handle(event)

    async def _watch_listening(self, ports: PortFrontend) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(ports.listening.wait(), LISTEN_TIMEOUT)
        if ports.listening.is_set() and self.state is ForwardState.STARTING:
            self._set(ForwardState.LISTENING)

    async def stop(self) -> None:
        """Close the listener and connections, end the session."""
        self._set(ForwardState.ENDED, "stopped")
        if self.ports is not None:
            self.ports.close()
        if self.session is not None:
            await self.session.terminate()
