"""The local end of port sessions (docs/ssm-protocol.md §8): a listener, and the bytes of its connections.

The mode follows the session's properties and the agent's version (``ClientSession.port_mode``):

``mux``
    Every accepted connection is a smux stream (client role, :class:`ssmux.protocol.smux.SmuxSession`)
    inside the session's Output bytes: many connections at once. The agent dials the destination once per
    stream; a ConnectToPortError flag means that dial failed.
``basic``
    One connection at a time. Until one exists, output is left unacked (the agent resends it); when it
    closes, the DisconnectToPort flag tells the agent to close its side, and the next connection is taken.
``stream``
    Not a LocalPortForwarding session (``AWS-StartSSHSession`` as an ssh ProxyCommand): stdin and stdout are
    the connection; the end of stdin ends the session.

The lines tools scrape are printed as the plugin prints them: ``Port N opened for sessionId ID.``,
``Waiting for connections...``, ``Connection accepted for session [ID]``. Ctrl-C ends the session: with the
TerminateSession flag when the agent understands it, else with the TerminateSession API.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ssmux.protocol.smux import KEEPALIVE_INTERVAL

if TYPE_CHECKING:
    from ssmux.protocol.events import ClientEvent
    from ssmux.protocol.smux import SmuxSession
    from ssmux.sessions.native import NativeSession

#: Local reads per connection; the session cuts them into 1024-byte messages.
READ_SIZE = 32768
#: Bytes waiting for a slow local reader above which the session stops taking output (the agent resends).
HIGH_WATER = 1 << 20


def check_local_port(bind: str, port: int) -> None:
    """Fail now if ``bind:port`` cannot be listened on: before a session is started for it, not after.

    A probe socket is bound as the listener will be (``SO_REUSEADDR`` on POSIX, as asyncio does) and closed
    again. Port 0 always works (the system picks).

    Raises:
        SessionError: the address is not of this machine, or the port is taken (or not allowed).
    """
    import socket

    from ssmux.errors import SessionError

    if port == 0:
        return
    try:
        found = socket.getaddrinfo(bind, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise SessionError(
            f"cannot listen on {bind}:{port}: {error.strerror}: give --bind an address of this machine"
        ) from None
    for family, kind, proto, _, address in found:
        with socket.socket(family, kind, proto) as probe:
            if os.name == "posix":
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as error:
                raise SessionError(listen_failure(f"{bind}:{port}", error)) from None


def listen_failure(where: str, error: OSError) -> str:
    """One line for a listener that could not be opened: the address, why (no Python tuple), the fix."""
    reason = os.strerror(error.errno).lower() if error.errno else str(error)
    return f"cannot listen on {where}: {reason}: choose another local port (0: any free port)"


class LineSink(Protocol):
    """Where the plugin-style lines go: a text file (stdout) or the app's forward."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


def port_frontend(
    session: NativeSession,
    properties: Mapping[str, Any],
    *,
    bind: str = "127.0.0.1",
    local_port: int | None = None,
    out: LineSink | None = None,
) -> PortFrontend:
    """The local end of a Port session, not started yet: the one place a :class:`PortFrontend` is made.

    The CLI's :class:`~ssmux.sessions.runner.Router` and the app's :class:`~ssmux.sessions.launch.PortForward`
    both call it when the agent says the session type (its ``properties`` are copied).
    """
    return PortFrontend(session, dict(properties), bind=bind, local_port=local_port, out=out)


class PortFrontend:
    """Port forwarding for one session (made by :func:`port_frontend`).

    Args:
        session: the native session.
        properties: the Port session's properties (``localPortNumber``, ``type``, ...).
        bind: local address to listen on.
        local_port: overrides ``localPortNumber`` when given (0: the system picks).
        out: where the plugin-style lines go (stdout by default).
    """

    def __init__(
        self,
        session: NativeSession,
        properties: dict[str, Any],
        *,
        bind: str = "127.0.0.1",
        local_port: int | None = None,
        out: LineSink | None = None,
    ) -> None:
        self.session = session
        self.properties = properties
        self.bind = bind
        self.local_port = local_port
        self.out = out
        self.mode = session.client.port_mode or "basic"
        self.port: int | None = None
        self.listening = asyncio.Event()
        self.accepted = 0
        self._loop = asyncio.get_running_loop()
        self._server: asyncio.AbstractServer | None = None
        self._writers: dict[int, asyncio.StreamWriter] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._smux_session: SmuxSession | None = None  # made when the agent speaks smux
        self._basic_lock = asyncio.Lock()
        self._basic_writer: asyncio.StreamWriter | None = None
        self._resumed = asyncio.Event()
        self._resumed.set()
        self._stop_stdin: Callable[[], None] | None = None
        self.error: BaseException | None = None
        #: The command's exit status when the forward failed here (the listener could not open), else None.
        self.exit_code: int | None = None

    @property
    def _smux(self) -> SmuxSession:
        """The smux session of a multiplexed forward (only smux mode reaches the code that uses it)."""
        assert self._smux_session is not None, "smux mode starts its SmuxSession first"
        return self._smux_session

    @property
    def open_connections(self) -> int:
        """Local connections open now (one per smux stream, or the one of basic mode)."""
        return len(self._writers) + (1 if self._basic_writer is not None else 0)

    # ------------------------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Start listening (or relaying stdio in stream mode)."""
        if self.mode == "mux":
            from ssmux.protocol.smux import SmuxSession

            self._smux_session = SmuxSession(client=True)
            if self.session.client.smux_keepalive:
                self._spawn(self._keepalive())
        if self.mode == "basic":
            # No local connection yet: output must wait, unacked (the plugin drops it before parsing).
            self.session.set_ready(False)
        if self.mode == "stream":
            self._start_stdio()
        else:
            self._spawn(self._listen())

    def close(self) -> None:
        """Stop listening and close every local connection."""
        if self._stop_stdin is not None:
            self._stop_stdin()
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers.values()):
            writer.close()
        if self._basic_writer is not None:
            self._basic_writer.close()
        for task in self._tasks:
            task.cancel()

    def interrupt(self) -> None:
        """Ctrl-C: end the session (flag when the agent understands it, else the API), as the plugin does."""
        self._print("Terminate signal received, exiting.")
        if self.session.client.supports_terminate_flag:
            from ssmux.protocol.messages import PortFlag

            self.session.send_flag(PortFlag.TERMINATE_SESSION)
        self._spawn(self._terminate_soon())

    async def _terminate_soon(self) -> None:
        # Give the flag a moment to reach the agent, then make sure the service ends the session too.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.session.wait_closed(), 1.0)
        await self.session.terminate()

    # ---------------------------------------------------------------------------------- events

    def handle(self, event: ClientEvent) -> None:
        """Take one event of the session."""
        from ssmux.protocol.client import FlagReceived, Output, PublicationPaused, PublicationStarted
        from ssmux.protocol.messages import PortFlag

        if isinstance(event, Output):
            self._on_output(event.data)
        elif isinstance(event, FlagReceived) and event.flag == PortFlag.CONNECT_TO_PORT_ERROR:
            self._print("Connection to destination port failed, check SSM Agent logs.")
        elif isinstance(event, PublicationPaused):
            self._resumed.clear()
        elif isinstance(event, PublicationStarted):
            self._resumed.set()

    def _on_output(self, data: bytes) -> None:
        if self.mode == "stream":
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        elif self.mode == "basic":
            if self._basic_writer is not None:
                self._basic_writer.write(data)
                self._throttle(self._basic_writer)
        else:
            self._on_smux(data)

    def _on_smux(self, data: bytes) -> None:
        from ssmux.protocol.errors import SmuxError
        from ssmux.protocol.smux import StreamClosed, StreamData

        try:
            self._smux.receive(data)
        except SmuxError as error:
            self.error = error
            self._spawn(self.session.terminate())
            return
        for event in self._smux.events():
            writer = self._writers.get(event.stream_id)
            if isinstance(event, StreamData) and writer is not None:
                writer.write(event.data)
                self._throttle(writer)
            elif isinstance(event, StreamClosed):
                # The destination closed: no more data will come. Close ours; its reader task then ends.
                self._smux.close_stream(event.stream_id)
                self._flush_smux()
                if writer is not None:
                    writer.close()

    def _throttle(self, writer: asyncio.StreamWriter) -> None:
        # A slow local reader: stop taking output (unacked, resent later) until its buffer drains.
        if writer.transport.get_write_buffer_size() > HIGH_WATER and self.session.client.ready:
            self.session.set_ready(False)
            self._spawn(self._drain(writer))

    async def _drain(self, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            await writer.drain()
        if self.mode == "mux" or self._basic_writer is not None:
            self.session.set_ready(True)

    # -------------------------------------------------------------------------------- listening

    async def _listen(self) -> None:
        wanted = self.local_port
        if wanted is None:
            text = str(self.properties.get("localPortNumber") or "0")
            wanted = int(text) if text.isdigit() else 0
        unix_path = (
            self.properties.get("localUnixSocket")
            if self.properties.get("localConnectionType") == "unix"
            else None
        )
        try:
            if unix_path:
                self._server = await asyncio.start_unix_server(self._accept, path=str(unix_path))
            else:
                self._server = await asyncio.start_server(self._accept, self.bind, wanted)
        except OSError as error:
            self.error = error
            self.exit_code = 1
            self._print_error(listen_failure(str(unix_path or f"{self.bind}:{wanted}"), error))
            await self.session.terminate()
            return
        if unix_path:
            self._print(f"Unix socket {unix_path} opened for sessionId {self.session.session_id}.")
        else:
            self.port = self._server.sockets[0].getsockname()[1]
            self._print(f"Port {self.port} opened for sessionId {self.session.session_id}.")
        if self.mode == "mux":
            self._print("Waiting for connections...")
        self.listening.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            if self.mode == "mux":
                await self._relay_mux(reader, writer)
            else:
                async with self._basic_lock:  # basic mode: one connection at a time, the others wait
                    await self._relay_basic(reader, writer)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _relay_mux(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stream_id = self._smux.open_stream()
        self._writers[stream_id] = writer
        self._flush_smux()
        self._print(f"Connection accepted for session [{self.session.session_id}]")
        try:
            while data := await reader.read(READ_SIZE):
                await self._resumed.wait()
                if not self._smux.is_open(stream_id):
                    break
                self._smux.send(stream_id, data)
                self._flush_smux()
        finally:
            self._writers.pop(stream_id, None)
            self._smux.close_stream(stream_id)
            self._flush_smux()

    async def _relay_basic(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        from ssmux.protocol.messages import PortFlag

        self._basic_writer = writer
        self.session.set_ready(True)
        self._print(f"Connection accepted for session {self.session.session_id}.")
        try:
            while data := await reader.read(READ_SIZE):
                await self._resumed.wait()
                self.session.send_input(data)
        finally:
            self._basic_writer = None
            self.session.set_ready(False)
            if not self.session.closed:
                self.session.send_flag(PortFlag.DISCONNECT_TO_PORT)

    def _flush_smux(self) -> None:
        data = self._smux.data_to_send()
        if data:
            self.session.send_input(data)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_INTERVAL)
            self._smux.send_nop()
            self._flush_smux()

    # -------------------------------------------------------------------------------- stdio mode

    def _start_stdio(self) -> None:
        from ssmux.sessions import platform

        def on_eof() -> None:
            self._spawn(self.session.terminate())

        self._stop_stdin = platform.current().read_input(
            self._loop, sys.stdin.fileno(), self.session.send_input, on_eof
        )

    # ------------------------------------------------------------------------------------ helpers

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _print_error(self, line: str) -> None:
        # An error is no line a tool scrapes: on the CLI it goes to stderr, as ssmux's other errors.
        if self.out is not None:
            self._print(line)
            return
        sys.stderr.write(f"ssmux: error: {line}\n")
        sys.stderr.flush()

    def _print(self, line: str) -> None:
        # stdout, like the plugin (tools scrape these lines); in stream mode stdout is the connection.
        out = self.out or (sys.stderr if self.mode == "stream" else sys.stdout)
        out.write(line + "\n")
        out.flush()
