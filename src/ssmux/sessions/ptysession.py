"""The plugin or the aws CLI in a pseudo-terminal, feeding a frontend (the app's terminal tab).

The program runs in a pty as it would in a terminal window (on Windows through pywinpty); the frontend's
keystrokes are written to it and its output goes to :meth:`Frontend.output
<ssmux.sessions.launch.Frontend.output>`. The pty is read with the event loop's reader callbacks, and every
blocking step (``--version``, ``StartSession``, the spawn, ``TerminateSession``) runs in a worker thread, so
nothing blocks the loop. Closing hangs up the pty, reaps every process of the session and calls
``TerminateSession`` (for the aws CLI backend with the session id the plugin printed), so the remote shell
ends too.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ssmux.errors import SessionError, SsmuxError
from ssmux.sessions.backends import Choice, Launch, SessionRequest
from ssmux.sessions.ending import EndReason, SessionEnd

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients
    from ssmux.sessions.api import SessionApi
    from ssmux.sessions.launch import Frontend
    from ssmux.sessions.ptyproc import PtyProcess

READ_SIZE = 65536
#: The line the plugin prints first; the aws-cli backend learns its session id only from it.
SESSION_ID_LINE = re.compile(rb"Starting session with SessionId: ([A-Za-z0-9_.@:+=-]+)")


class Pty(Protocol):
    """A program in a pty, read through the event loop (:class:`_PosixPty`, :class:`_WinPty`)."""

    def start_reading(self, loop: asyncio.AbstractEventLoop, callback: Callable[[bytes], None]) -> None:
        """Call ``callback`` with output on the loop, then once with ``b""`` at the end."""

    def stop_reading(self) -> None:
        """Stop watching the pty (on the loop)."""

    def write(self, data: bytes) -> None:
        """Type ``data``."""

    def resize(self, cols: int, rows: int) -> None:
        """Set the window size."""

    def finish(self) -> int | None:
        """The exit status once the program ended (blocking)."""

    def close(self) -> None:
        """Hang up and reap every process (blocking)."""


class PtySession:
    """The plugin or the aws CLI of ``choice`` in a pseudo-terminal.

    Args:
        request: What to open.
        frontend: Gets the pty's output, on the event loop.
        choice: The plugin or aws-cli backend and its executable.
        clients: The caller's AWS sessions and clients for the plugin backend's ``StartSession`` (``None``:
            the session makes its own).
    """

    def __init__(
        self,
        request: SessionRequest,
        frontend: Frontend,
        choice: Choice,
        *,
        clients: AwsClients | None = None,
    ) -> None:
        self.request = request
        self.frontend = frontend
        self.choice = choice
        self.clients = clients
        self.backend = choice.backend
        self.session_id: str | None = None
        self._api: SessionApi | None = None
        self.pty: Pty | None = None
        self._ended: asyncio.Future[None] | None = None
        self._seen = bytearray()  # the first output, scanned for the session id the plugin prints
        self._closed = False

    async def start(self, cols: int, rows: int) -> None:
        loop = asyncio.get_running_loop()
        self._ended = loop.create_future()
        launch = await asyncio.to_thread(self._prepare)
        try:
            self.pty = await asyncio.to_thread(spawn, launch.argv, launch.full_env(), cols, rows)
        except SsmuxError:
            await self._terminate_remote()
            raise
        self.pty.start_reading(loop, self._readable)

    def _prepare(self) -> Launch:
        """StartSession (plugin backend) and the argv to run, in a worker thread."""
        from ssmux.sessions.launch import program_launch

        launch, self.session_id = program_launch(self.choice, self.request, self._session_api)
        return launch

    def _session_api(self) -> SessionApi:
        if self._api is None:
            from ssmux.sessions.api import SessionApi

            self._api = SessionApi(self.request.aws_profile, self.request.region, clients=self.clients)
        return self._api

    def _readable(self, data: bytes) -> None:
        if data:
            if self.session_id is None and len(self._seen) < 4096:
                self._seen += data
                found = SESSION_ID_LINE.search(self._seen)
                if found:
                    self.session_id = found.group(1).decode()
            self.frontend.output(data)
        elif self._ended is not None and not self._ended.done():
            self._ended.set_result(None)

    def send(self, data: bytes) -> None:
        if self.pty is not None and not self._closed:
            self.pty.write(data)

    def resize(self, cols: int, rows: int) -> None:
        if self.pty is not None and not self._closed:
            self.pty.resize(cols, rows)

    async def wait(self) -> SessionEnd:
        assert self._ended is not None and self.pty is not None
        await self._ended
        code = await asyncio.to_thread(self.pty.finish)
        return SessionEnd(EndReason.CLOSED, exit_code=code)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.pty is not None:
            self.pty.stop_reading()  # on the loop, before the pty's descriptor is closed
            await asyncio.to_thread(self.pty.close)
        await self._terminate_remote()

    async def _terminate_remote(self) -> None:
        if self.session_id is None:
            return
        await asyncio.to_thread(self._session_api().terminate_session, self.session_id, quiet=True)


def spawn(argv: list[str], env: dict[str, str], cols: int, rows: int) -> Pty:
    """Start ``argv`` in a new pty of ``cols`` x ``rows`` (blocking).

    Raises:
        SessionError: the program cannot be started (or pywinpty is missing on Windows).
    """
    if sys.platform == "win32":
        return _WinPty.spawn(argv, env, cols, rows)
    return _PosixPty.spawn(argv, env, cols, rows)


class _PosixPty:
    """A :class:`ssmux.sessions.ptyproc.PtyProcess` read through the event loop's reader callbacks."""

    def __init__(self, process: PtyProcess) -> None:
        self.process = process
        self._loop: asyncio.AbstractEventLoop | None = None
        self._out = bytearray()

    @classmethod
    def spawn(cls, argv: list[str], env: dict[str, str], cols: int, rows: int) -> _PosixPty:
        from ssmux.sessions.ptyproc import PtyProcess  # POSIX only; imported on POSIX only

        return cls(PtyProcess.spawn(argv, env=env, cols=cols, rows=rows))

    def start_reading(self, loop: asyncio.AbstractEventLoop, callback: Callable[[bytes], None]) -> None:
        self._loop = loop

        def readable() -> None:
            chunks: list[bytes] = []
            while True:
                try:
                    data = self.process.read(READ_SIZE)
                except BlockingIOError:
                    break
                except OSError:
                    data = b""
                if not data:
                    if chunks:
                        callback(b"".join(chunks))
                    self.stop_reading()
                    callback(b"")
                    return
                chunks.append(data)
                if sum(map(len, chunks)) >= 4 * READ_SIZE:
                    break  # let other sessions have the loop; the reader fires again at once
            if chunks:
                callback(b"".join(chunks))

        loop.add_reader(self.process.fd, readable)

    def stop_reading(self) -> None:
        """Stop watching the pty (on the event loop)."""
        if self._loop is not None and self.process.fd >= 0:
            self._loop.remove_reader(self.process.fd)
            self._loop.remove_writer(self.process.fd)
            self._out.clear()

    def write(self, data: bytes) -> None:
        # The pty takes a few KiB at a time; keep the rest and write it when the pty has room again.
        if self._out:
            self._out += data
            return
        taken = self.process.write(data)
        if taken < len(data) and self._loop is not None:
            self._out += data[taken:]
            self._loop.add_writer(self.process.fd, self._drain)

    def _drain(self) -> None:
        taken = self.process.write(bytes(self._out))
        del self._out[:taken]
        if not self._out and self._loop is not None:
            self._loop.remove_writer(self.process.fd)

    def resize(self, cols: int, rows: int) -> None:
        self.process.resize(cols, rows)

    def finish(self) -> int | None:
        """Collect the exit status once the pty has closed (the child exited)."""
        code: int = self.process.close(grace=2.0)
        return code

    def close(self) -> None:
        """Hang up, reap every process of the session and release the pty (blocking)."""
        self.process.close(grace=1.0)


class _WinPty:
    """pywinpty's ``PtyProcess`` with a reader thread (Windows; not exercised by CI)."""

    def __init__(self, process: Any) -> None:  # winpty.PtyProcess: pywinpty ships no type information
        self.process = process

    @classmethod
    def spawn(cls, argv: list[str], env: dict[str, str], cols: int, rows: int) -> _WinPty:
        try:
            from winpty import PtyProcess
        except ImportError as error:
            raise SessionError(
                "plugin and aws-cli sessions in the app need pywinpty: pip install pywinpty"
            ) from error
        try:
            return cls(PtyProcess.spawn(argv, env=env, dimensions=(rows, cols)))
        except OSError as error:
            raise SessionError(f"cannot start {argv[0]}: {error}") from error

    def stop_reading(self) -> None:
        pass  # the reader thread ends when the process does

    def start_reading(self, loop: asyncio.AbstractEventLoop, callback: Callable[[bytes], None]) -> None:
        import threading

        def pump() -> None:
            while True:
                try:
                    text = self.process.read(READ_SIZE)
                except EOFError:
                    text = ""
                data = text.encode("utf-8", "replace") if isinstance(text, str) else text
                loop.call_soon_threadsafe(callback, data)
                if not data:
                    return

        threading.Thread(target=pump, name="ssmux-winpty", daemon=True).start()

    def write(self, data: bytes) -> None:
        self.process.write(data.decode("utf-8", "replace"))

    def resize(self, cols: int, rows: int) -> None:
        self.process.setwinsize(rows, cols)

    def finish(self) -> int | None:
        self.process.wait()
        status: int | None = self.process.exitstatus
        return int(status or 0)

    def close(self) -> None:
        if self.process.isalive():
            self.process.terminate(force=True)
