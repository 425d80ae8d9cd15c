"""How a tab's session connects: the native client, or the plugin / aws CLI running in a pty.

:func:`default_factory` picks the backend as ``ssmux connect`` does (the tab's own choice, else the
``backend`` setting; ``auto`` = the plugin when installed, else native) and returns a transport that does
so. Every blocking step (settings, ``StartSession``, ``--version``, ``TerminateSession``) runs in a worker
thread; the pty is read with the event loop's reader callbacks, so nothing blocks the loop.

Plugin and aws CLI sessions run in a pseudo-terminal as they would in a terminal window (on Windows through
pywinpty); the tab's keystrokes are written to it and its output is the tab's output. Closing the tab hangs
up the pty, reaps every process of the session and calls ``TerminateSession`` (for the aws CLI backend with
the session id the plugin printed), so the remote shell ends too.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import Callable
from typing import Any

from ssmux.errors import SessionError, SsmuxError
from ssmux.gui.session_manager import Ended, SessionTarget, Transport

log = logging.getLogger(__name__)

READ_SIZE = 65536
_SESSION_ID = re.compile(rb"Starting session with SessionId: ([A-Za-z0-9_.@:+=-]+)")


def default_factory(target: SessionTarget, on_output: Callable[[bytes], None]) -> BackendTransport:
    """The transport for ``target`` with the backend the settings (or the tab) ask for."""
    return BackendTransport(target, on_output)


def _request(target: SessionTarget) -> Any:
    from ssmux.sessions.backends import SessionRequest

    return SessionRequest(target=target.instance_id, aws_profile=target.aws_profile, region=target.region)


def _record_recent(target: SessionTarget) -> None:
    from ssmux.core import store

    try:
        store.record_recent(target.instance_id, target.aws_profile, target.region)
    except SsmuxError as error:  # the session matters more than the history list
        log.warning("could not update the recent lists: %s", error)


class BackendTransport:
    """Chooses the backend when started, then delegates to the native or the pty transport."""

    def __init__(self, target: SessionTarget, on_output: Callable[[bytes], None]) -> None:
        self.target = target
        self.on_output = on_output
        self.inner: Transport | None = None
        self.backend = ""

    @property
    def session_id(self) -> str | None:
        return self.inner.session_id if self.inner is not None else None

    async def start(self, cols: int, rows: int) -> None:
        choice = await asyncio.to_thread(self._choose)
        self.backend = choice.backend.value
        if choice.backend.value == "native":
            from ssmux.gui.native_transport import NativeTransport

            self.inner = NativeTransport(_request(self.target), self.on_output)
        else:
            self.inner = PtyTransport(self.target, self.on_output, choice)
        await self.inner.start(cols, rows)
        await asyncio.to_thread(_record_recent, self.target)

    def _choose(self) -> Any:
        from ssmux.core import store
        from ssmux.sessions.backends import choose

        return choose(self.target.backend, store.load_settings())

    def send(self, data: bytes) -> None:
        if self.inner is not None:
            self.inner.send(data)

    def resize(self, cols: int, rows: int) -> None:
        if self.inner is not None:
            self.inner.resize(cols, rows)

    async def wait(self) -> Ended:
        assert self.inner is not None
        return await self.inner.wait()

    async def close(self) -> None:
        if self.inner is not None:
            await self.inner.close()


class PtyTransport:
    """The plugin or the aws CLI in a pseudo-terminal.

    Args:
        target: What to connect to.
        on_output: Gets the pty's output, on the event loop.
        choice: The backend choice (:class:`ssmux.sessions.backends.Choice`).
    """

    def __init__(self, target: SessionTarget, on_output: Callable[[bytes], None], choice: Any) -> None:
        self.target = target
        self.on_output = on_output
        self.choice = choice
        self.session_id: str | None = None
        self._api: Any = None
        self._process: Any = None
        self._ended: asyncio.Future[None] | None = None
        self._pending = bytearray()
        self._seen = bytearray()  # the first output, scanned for the session id the plugin prints
        self._closed = False

    async def start(self, cols: int, rows: int) -> None:
        loop = asyncio.get_running_loop()
        self._ended = loop.create_future()
        launch = await asyncio.to_thread(self._prepare)
        try:
            self._process = await asyncio.to_thread(_spawn, launch.argv, launch.full_env(), cols, rows)
        except SsmuxError:
            await self._terminate_remote()
            raise
        self._process.start_reading(loop, self._readable)

    def _prepare(self) -> Any:
        """StartSession (plugin backend) and the argv to run, in a worker thread."""
        from ssmux.sessions.awscli import awscli_launch
        from ssmux.sessions.plugin import plugin_launch, plugin_version, takes_env_var

        request = _request(self.target)
        if self.choice.backend.value == "aws-cli":
            return awscli_launch(self.choice.executable, request, self.choice.plugin)
        from ssmux.sessions.api import SessionApi

        use_env_var = takes_env_var(plugin_version(self.choice.executable))
        self._api = SessionApi(request.aws_profile, request.region)
        params = request.start_session_params()
        started = self._api.start_session(params)
        self.session_id = started.session_id
        return plugin_launch(
            self.choice.executable,
            {"SessionId": started.session_id, "TokenValue": started.token, "StreamUrl": started.stream_url},
            region=self._api.region_name,
            aws_profile=request.aws_profile,
            request_params=params,
            endpoint_url=self._api.endpoint_url,
            use_env_var=use_env_var,
        )

    def _readable(self, data: bytes) -> None:
        if data:
            if self.session_id is None and len(self._seen) < 4096:
                self._seen += data
                found = _SESSION_ID.search(self._seen)
                if found:
                    self.session_id = found.group(1).decode()
            self.on_output(data)
        elif self._ended is not None and not self._ended.done():
            self._ended.set_result(None)

    def send(self, data: bytes) -> None:
        if self._process is not None and not self._closed:
            self._process.write(data)

    def resize(self, cols: int, rows: int) -> None:
        if self._process is not None and not self._closed:
            self._process.resize(cols, rows)

    async def wait(self) -> Ended:
        assert self._ended is not None
        await self._ended
        code = await asyncio.to_thread(self._process.finish)
        return Ended(f"session ended (exit code {code})", error=code not in (0, None), exit_code=code)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._process is not None:
            self._process.stop_reading()  # on the loop, before the pty's descriptor is closed
            await asyncio.to_thread(self._process.close)
        await self._terminate_remote()

    async def _terminate_remote(self) -> None:
        if self.session_id is None:
            return
        if self._api is None:
            from ssmux.sessions.api import SessionApi

            self._api = SessionApi(self.target.aws_profile, self.target.region)
        await asyncio.to_thread(self._api.terminate_session, self.session_id, quiet=True)


def _spawn(argv: list[str], env: dict[str, str], cols: int, rows: int) -> Any:
    if sys.platform == "win32":
        return _WinPty.spawn(argv, env, cols, rows)
    return _PosixPty.spawn(argv, env, cols, rows)


class _PosixPty:
    """A :class:`ssmux.sessions.ptyproc.PtyProcess` read through the event loop's reader callbacks."""

    def __init__(self, process: Any) -> None:
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

    def __init__(self, process: Any) -> None:
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
