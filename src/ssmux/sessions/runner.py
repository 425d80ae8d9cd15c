"""Open a session for a command: resolve TARGET, choose the backend, run it, and return the exit status.

``ssmux connect``, ``exec`` and ``forward`` call :func:`open_session`; the drop-in plugin calls
:func:`run_plugin_call`. With the native backend, :func:`run_native` starts the session and a
:class:`Router` picks the local end once the session type is known (the agent decides it, §6): a shell on
this terminal, a command with stdout and stderr apart, or port forwarding.

The chosen backend is started by :func:`ssmux.sessions.launch.start_chosen`, the dispatch the app's terminal
tabs use too; :class:`Attached` is the mode that runs it on this terminal.

Lines of ssmux's own ("Starting session with SessionId: ...", "Exiting session with sessionId: ...") are
those of the plugin. They go to the terminal in an interactive session, and to stderr in pipe mode, so that
stdout carries only the session's output.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from ssmux.errors import AwsError, ExitStatus, InvalidValue, SessionError
from ssmux.sessions.ending import EndReason
from ssmux.sessions.terminal import LocalTerminal

if TYPE_CHECKING:
    from ssmux.protocol.events import ClientEvent
    from ssmux.sessions.backends import Choice, SessionRequest
    from ssmux.sessions.ending import SessionEnd
    from ssmux.sessions.native import NativeSession
    from ssmux.sync.targets import ContainerRef

NON_INTERACTIVE_DOCUMENT = "AWS-StartNonInteractiveCommand"
INTERACTIVE_DOCUMENT = "AWS-StartInteractiveCommand"
PORT_DOCUMENT = "AWS-StartPortForwardingSession"
REMOTE_PORT_DOCUMENT = "AWS-StartPortForwardingSessionToRemoteHost"
#: What ``ssmux connect`` runs in a container without ``--command`` (as the ECS Exec guide's examples).
CONTAINER_SHELL = "/bin/sh"


class Kind(Enum):
    """What a command asked for; the session type from the agent has the last word."""

    SHELL = "shell"
    EXEC = "exec"
    FORWARD = "forward"


def build_request(
    kind: Kind,
    instance_id: str,
    aws_profile: str | None,
    region: str | None,
    *,
    reason: str | None = None,
    document: str | None = None,
    parameters: Mapping[str, Sequence[str]] | None = None,
    command: str | None = None,
    local_port: int | None = None,
    remote_port: int | None = None,
    remote_host: str | None = None,
    container: ContainerRef | None = None,
    exit_token: str | None = None,
) -> SessionRequest:
    """The StartSession request of a command: its document and parameters.

    ``exec`` runs ``command`` (a shell command line) with ``document`` (AWS-StartNonInteractiveCommand by
    default) as ``sh -c <command>``, with ``separateOutputStream`` (:mod:`ssmux.sessions.remote_exec`).
    ``connect`` with ``command`` runs it with AWS-StartInteractiveCommand.

    For a ``container`` a shell or ``exec`` is an ``ecs:ExecuteCommand`` of ``command`` (``connect``:
    :data:`CONTAINER_SHELL` by default; ``exec``: ``sh -c <command>``, wrapped to print the exit-status
    marker of ``exit_token`` when given), and a forward a ``StartSession`` to its ``ecs:`` target.

    Raises:
        InvalidValue: ``document`` or ``parameters`` for a container's shell or ``exec`` (ECS Exec runs a
            command, no document), or ``command`` with ``document`` for ``connect``.
    """
    params: dict[str, list[str]] = {key: list(values) for key, values in (parameters or {}).items()}
    if container is not None and kind is not Kind.FORWARD:
        return _container_request(
            kind, instance_id, aws_profile, region, container, document=document, parameters=params,
            command=command, exit_token=exit_token,
        )  # fmt: skip
    if kind is Kind.SHELL and command is not None:
        if document is not None or params:
            raise InvalidValue(
                "--command runs with AWS-StartInteractiveCommand: give either --command, or --document "
                "with --parameter command=..."
            )
        document, params = INTERACTIVE_DOCUMENT, {"command": [command]}
    if kind is Kind.EXEC:
        from ssmux.sessions.remote_exec import exec_parameters

        document = document or NON_INTERACTIVE_DOCUMENT
        params = exec_parameters(command or "")
    elif kind is Kind.FORWARD:
        document = REMOTE_PORT_DOCUMENT if remote_host else PORT_DOCUMENT
        params = {"portNumber": [str(remote_port)], "localPortNumber": [str(local_port or 0)]}
        if remote_host:
            params["host"] = [remote_host]
    from ssmux.sessions.backends import SessionRequest

    return SessionRequest(instance_id, aws_profile, region, document, params, reason)


def _container_request(
    kind: Kind,
    target: str,
    aws_profile: str | None,
    region: str | None,
    container: ContainerRef,
    *,
    document: str | None,
    parameters: Mapping[str, Sequence[str]],
    command: str | None,
    exit_token: str | None,
) -> SessionRequest:
    from ssmux.sessions.backends import ContainerCommand, SessionRequest
    from ssmux.sessions.remote_exec import container_command

    if document is not None or parameters:
        raise InvalidValue(
            f"{container.name} is a container: ECS Exec runs a command, not a document; drop --document and "
            "--parameter (connect takes --command)"
        )
    if kind is Kind.EXEC:
        line = container_command(command or "", exit_token)
    else:
        line = command if command is not None and command.strip() else CONTAINER_SHELL
    ecs = ContainerCommand(container.cluster, container.task_id, container.container_name, line)
    return SessionRequest(target, aws_profile, region, container=ecs)


def open_session(
    text: str,
    kind: Kind,
    *,
    aws_profile: str | None = None,
    region: str | None = None,
    backend: str | None = None,
    reason: str | None = None,
    bind: str = "127.0.0.1",
    **request_options: Any,
) -> int:
    """Resolve TARGET ``text``, start the session with the chosen backend, and return the exit status.

    Raises:
        SsmuxError: the target, backend or session failed (one line for the user).
    """
    from ssmux.core.store import load_settings
    from ssmux.sessions.backends import Backend, choose
    from ssmux.sessions.resolve_target import resolve_target

    settings = load_settings()
    terminal = LocalTerminal()
    resolved = resolve_target(
        text,
        aws_profile=aws_profile,
        region=region,
        interactive=terminal.interactive and _isatty(1),
        settings=settings,
    )
    if resolved.problem:
        sys.stderr.write(f"ssmux: warning: {resolved.problem}; trying anyway\n")
    if resolved.container is not None and reason and kind is not Kind.FORWARD:
        sys.stderr.write("ssmux: warning: ECS ExecuteCommand takes no reason: --reason is not recorded\n")
    requested = backend
    if requested is None and kind is Kind.EXEC and settings.backend == Backend.AUTO:
        requested = Backend.NATIVE  # only the native client keeps stderr apart and knows the exit code
    request = build_request(kind, resolved.instance_id, resolved.aws_profile, resolved.region, reason=reason,
                            container=resolved.container, **request_options)  # fmt: skip
    choice = choose(requested, settings, request)
    command = request_options.get("command") if kind is Kind.EXEC else None
    exit_token = None
    if resolved.container is not None and kind is Kind.EXEC and choice.backend is Backend.NATIVE:
        # ECS Exec is interactive only: no EXIT_CODE, so the status comes back in the marker (remote_exec).
        from ssmux.sessions.remote_exec import new_token

        exit_token = new_token()
        request = build_request(kind, resolved.instance_id, resolved.aws_profile, resolved.region,
                                container=resolved.container, exit_token=exit_token,
                                **request_options)  # fmt: skip
        command = None  # no separateOutputStream to fall back from
    elif resolved.container is not None and kind is Kind.EXEC:
        _note_container_status(choice)
    from ssmux.sessions.launch import start_chosen

    local_port = request_options.get("local_port")
    attached = Attached(
        kind, terminal, bind=bind, local_port=local_port, command=command, exit_token=exit_token
    )
    return start_chosen(choice, request, attached)


def _note_container_status(choice: Choice) -> None:
    sys.stderr.write(
        f"ssmux: note: with the {choice.backend} backend the container command's exit status is not "
        "reported (ECS Exec sends none); the native backend reads it\n"
    )
    sys.stderr.flush()


@dataclasses.dataclass(frozen=True)
class Attached:
    """The :class:`~ssmux.sessions.launch.Mode` of the CLI: the session runs on this terminal to its end.

    :func:`~ssmux.sessions.launch.start_chosen` hands it the chosen backend's session; each run returns the
    exit status.

    Args:
        kind: what the command asked for.
        terminal: this process's terminal.
        bind: local address for port forwarding.
        local_port: local port for port forwarding (``None``: the session's ``localPortNumber``).
        command: the command line of an ``exec`` request (asked again with merged output when the document
            refuses ``separateOutputStream``).
        exit_token: the token of the exit-status marker the request's command prints (a container's
            ``exec``), or ``None``.
    """

    kind: Kind
    terminal: LocalTerminal
    bind: str = "127.0.0.1"
    local_port: int | None = None
    command: str | None = None
    exit_token: str | None = None

    def native(self, request: SessionRequest) -> int:
        return run_native(
            request, self.kind, terminal=self.terminal, bind=self.bind, local_port=self.local_port,
            command=self.command, exit_token=self.exit_token,
        )  # fmt: skip

    def program(self, request: SessionRequest, choice: Choice) -> int:
        """The plugin or the aws CLI in this terminal (the plugin after ``StartSession`` here)."""
        from ssmux.sessions.api import SessionApi
        from ssmux.sessions.backends import run_in_terminal
        from ssmux.sessions.launch import program_launch
        from ssmux.sessions.plugin import run_joined
        from ssmux.sessions.resolve_target import record_recent

        api = SessionApi(request.aws_profile, request.region)
        try:
            launch, session_id = program_launch(choice, request, lambda: api)
        except AwsError as error:
            # StartSession refused separateOutputStream (nothing was launched): once more without it. The
            # plugin prints what comes, so no marker can be removed: the exit status is lost.
            retry = merged_exec_request(request, error, self.command) if self.command is not None else None
            if retry is None:
                raise
            _note_merged(retry)
            launch, session_id = program_launch(choice, retry, lambda: api)
        if session_id is None:  # the aws CLI starts the session itself
            record_recent(request.target, request.aws_profile, request.region)
            return run_in_terminal(launch)
        status = run_joined(launch, session_id, api)
        record_recent(request.target, request.aws_profile, api.region_name)
        return status


def run_native(
    request: SessionRequest,
    kind: Kind,
    *,
    terminal: LocalTerminal | None = None,
    bind: str = "127.0.0.1",
    local_port: int | None = None,
    command: str | None = None,
    exit_token: str | None = None,
    quiet: bool = False,
) -> int:
    """Start ``request`` with the native client and run it to its end here; the exit status.

    ``command``: the command line of an ``exec`` request, to ask again for merged output with an exit-status
    marker when the document refuses ``separateOutputStream`` (:mod:`ssmux.sessions.remote_exec`).
    ``exit_token``: the token of the marker the request's own command prints (a container's ``exec``).
    ``quiet``: no "Starting session" / "Exiting session" lines (``ssmux proxy``: ssh would show them at
    every connection); a session that ends with the service's message still says it.
    """
    from ssmux.sessions.api import SessionApi
    from ssmux.sessions.launch import start_native
    from ssmux.sessions.resolve_target import record_recent

    terminal = terminal or LocalTerminal()
    router = Router(kind, terminal, bind=bind, local_port=local_port, exit_token=exit_token, quiet=quiet)

    async def main() -> int:
        api = SessionApi(request.aws_profile, request.region)
        try:
            session = await start_native(request, api, on_started=router.attach)
        except AwsError as error:
            if kind is not Kind.EXEC or command is None:
                raise
            from ssmux.sessions.remote_exec import new_token

            token = new_token()
            retry = merged_exec_request(request, error, command, token)
            if retry is None:
                raise
            _note_merged(retry)
            router.exit_token = token
            session = await start_native(retry, api, on_started=router.attach)
        # The recent lists are written while the shell starts, not before the websocket is dialled: the
        # settings file's lock, parse and write would otherwise delay the first prompt.
        loop = asyncio.get_running_loop()
        recording = loop.run_in_executor(
            None, record_recent, request.target, request.aws_profile, session.api.region_name
        )
        try:
            return await router.run(session)
        finally:
            await recording

    return _run(main)


def merged_exec_request(
    request: SessionRequest, error: AwsError, command: str, token: str | None = None
) -> SessionRequest | None:
    """The ``exec`` request again without ``separateOutputStream``, when StartSession refused the parameter.

    A document without that parameter (older versions of AWS-StartNonInteractiveCommand, or the account's
    own) answers InvalidParameters; None for any other error, or a request that did not ask for it. With
    ``token`` the command prints the exit-status marker (stdout and stderr now come merged, without
    ``EXIT_CODE``).
    """
    from ssmux.sessions.remote_exec import SEPARATE_OUTPUT, exec_parameters

    if error.code != "InvalidParameters" or SEPARATE_OUTPUT not in request.parameters:
        return None
    parameters = exec_parameters(command, separate=False, token=token)
    return dataclasses.replace(request, parameters=parameters)


def _note_merged(request: SessionRequest) -> None:
    document = request.document_name or NON_INTERACTIVE_DOCUMENT
    sys.stderr.write(
        f"ssmux: note: {document} does not take separateOutputStream: the remote stderr comes merged into "
        "stdout\n"
    )
    sys.stderr.flush()


def run_plugin_call(args: list[str]) -> int:
    """``ssmux session-manager-plugin ARGS...``: the plugin's argv contract, run by the native client."""
    from ssmux.sessions.shim import PluginCall, parse_plugin_args

    call = parse_plugin_args(args, os.environ)
    if not isinstance(call, PluginCall):
        sys.stdout.write(call.text)
        sys.stdout.flush()
        return call.exit_status
    from ssmux.sessions.api import SessionApi, StartedSession
    from ssmux.sessions.native import NativeSession

    api = SessionApi(call.aws_profile, call.region or None, call.endpoint_url)
    started = StartedSession(call.session_id, call.token, call.stream_url)
    router = Router(Kind.SHELL, LocalTerminal(), plugin_mode=True)

    async def main() -> int:
        session = NativeSession(api, started, call.target, kms_allowed=not call.old_cli)
        router.attach(session)
        await session.open()
        return await router.run(session)

    return _run(main)


def _run(main: Callable[[], Coroutine[Any, Any, int]]) -> int:
    try:
        return int(asyncio.run(main()))
    except KeyboardInterrupt:
        return int(ExitStatus.INTERRUPTED)


class LocalEnd(Protocol):
    """This side of a session once its type is known: a terminal shell, a command's output, or local ports."""

    def start(self) -> None:
        """Begin (raw mode, listening sockets)."""

    def handle(self, event: ClientEvent) -> None:
        """Take one event of the session."""

    def close(self) -> None:
        """The session has ended: restore and release what :meth:`start` took."""


class Router:
    """Chooses the local end of a session when its type is known, and runs the session to its end.

    Args:
        kind: what the command asked for (``exec`` gets stdout/stderr apart for NonInteractiveCommands).
        terminal: this process's terminal.
        bind: local address for port forwarding.
        local_port: local port for port forwarding (``None``: the session's ``localPortNumber``).
        plugin_mode: run as the drop-in plugin (exit status 0 at a normal end, as the plugin).
        exit_token: for ``exec``, the token of the exit-status marker to remove from stdout.
    """

    def __init__(
        self,
        kind: Kind,
        terminal: LocalTerminal,
        *,
        bind: str = "127.0.0.1",
        local_port: int | None = None,
        plugin_mode: bool = False,
        exit_token: str | None = None,
        quiet: bool = False,
    ) -> None:
        self.kind = kind
        self.quiet = quiet
        self.exit_token = exit_token
        self.terminal = terminal
        self.bind = bind
        self.local_port = local_port
        self.plugin_mode = plugin_mode
        self._session: NativeSession | None = None
        self.frontend: LocalEnd | None = None
        self.signalled = False

    @property
    def session(self) -> NativeSession:
        """The session :meth:`attach` gave (events come only after it)."""
        assert self._session is not None, "Router.attach comes first"
        return self._session

    def attach(self, session: NativeSession) -> None:
        """Take the session's events from now on, and say it started."""
        self._session = session
        session.handler = self.handle
        if not self.quiet:
            self._notice(f"\nStarting session with SessionId: {session.session_id}\n")

    def handle(self, event: ClientEvent) -> None:
        """Route one event: to the frontend once there is one; the handshake's message is printed here."""
        from ssmux.protocol.client import HandshakeCompleted, SessionTypeKnown

        if self.frontend is None and isinstance(event, SessionTypeKnown):
            self.frontend = self._make_frontend(event.session_type, event.properties)
            self.frontend.start()
        elif self.frontend is None and isinstance(event, HandshakeCompleted):
            if event.customer_message:
                self._notice(event.customer_message + "\n")
        elif self.frontend is not None:
            self.frontend.handle(event)

    def _make_frontend(self, session_type: str, properties: dict[str, Any]) -> LocalEnd:
        from ssmux.protocol.handshake import SessionType
        from ssmux.sessions.shell import CommandFrontend, ShellFrontend

        if session_type == SessionType.PORT:
            from ssmux.sessions.forward import port_frontend

            return port_frontend(self.session, properties, bind=self.bind, local_port=self.local_port)
        # A container's exec is an InteractiveCommands session (ECS Exec has no other; without encryption
        # the agent sends no handshake, so it shows as Standard_Stream, as in the plugin's
        # ProcessFirstMessage) whose command prints the exit-status marker: a command's output all the same.
        marked = self.kind is Kind.EXEC and self.exit_token is not None
        if marked or (session_type == SessionType.NON_INTERACTIVE_COMMANDS and (
            self.kind is Kind.EXEC or not self.terminal.interactive
        )):  # fmt: skip
            from ssmux.sessions.remote_exec import ExitMarker

            marker = ExitMarker(self.exit_token) if self.exit_token else None
            return CommandFrontend(self.session, marker)
        return ShellFrontend(self.session, self.terminal)

    async def run(self, session: NativeSession) -> int:
        """Run until the session ends; restore everything; return the exit status."""
        loop = asyncio.get_running_loop()
        stops = [
            self.terminal.watch_exit_signals(loop, self._on_exit_signal),
            _watch_interrupt(loop, self._on_interrupt),
        ]
        try:
            end = await session.wait_closed()
            if end.reason is EndReason.ERROR:
                # Leave nothing running on the service side of a session that failed here.
                await asyncio.to_thread(session.api.terminate_session, session.session_id, quiet=True)
        finally:
            for stop in stops:
                stop()
            if self.frontend is not None:
                self.frontend.close()
            await session.close()
        return self._finish(end)

    def _finish(self, end: SessionEnd) -> int:
        if end.reason is EndReason.ERROR:
            raise end.error or SessionError(end.message or "the session failed")
        if end.reason is EndReason.TIMED_OUT:
            self._notice(f"\n{end.message}\n")
            return 0
        if end.message:
            self._notice(f"\n\nSessionId: {self.session.session_id} : {end.message}\n\n")
        elif not self.quiet:
            self._notice(f"\n\nExiting session with sessionId: {self.session.session_id}.\n\n")
        if self.signalled:
            return int(ExitStatus.INTERRUPTED)
        code = getattr(self.frontend, "exit_code", None)
        if self.plugin_mode:
            return 0
        if code is None and self.kind is Kind.EXEC:
            # Neither EXIT_CODE nor the marker came (the command was killed, or never ran): say so.
            sys.stderr.write("ssmux: warning: the remote command's exit status was not reported\n")
            return int(ExitStatus.ERROR)
        return 0 if code is None else int(code)

    def _on_exit_signal(self) -> None:
        self.signalled = True
        asyncio.get_running_loop().create_task(self.session.terminate())

    def _on_interrupt(self) -> None:
        interrupt = getattr(self.frontend, "interrupt", None)
        if interrupt is not None:
            interrupt()
            return
        from ssmux.sessions.shell import ShellFrontend

        if isinstance(self.frontend, ShellFrontend):
            # Pipe mode (in raw mode Ctrl-C is a byte, not a signal): pass it on, as the plugin does.
            self.session.send_input(b"\x03")
            return
        self.signalled = True
        asyncio.get_running_loop().create_task(self.session.terminate())

    def _notice(self, text: str) -> None:
        # On a terminal, the terminal (raw mode aware); otherwise stderr, so stdout stays the session's.
        # ``exec`` prints nothing of its own: its stderr is the remote command's.
        if self.kind is Kind.EXEC:
            return
        if self.terminal.interactive:
            with contextlib.suppress(OSError):
                self.terminal.notice(text)
            return
        sys.stderr.write(text)
        sys.stderr.flush()


def _watch_interrupt(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> Callable[[], None]:
    from ssmux.sessions import platform

    stop: Callable[[], None] = platform.current().watch_interrupt(loop, callback)
    return stop


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False
