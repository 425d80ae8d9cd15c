"""The local end of shell-like sessions (Standard_Stream, InteractiveCommands, NonInteractiveCommands).

:class:`ShellFrontend` joins a :class:`~ssmux.sessions.native.NativeSession` to this process's terminal:

* on a terminal: raw mode (restored on every exit), the window size sent at start and on every resize,
  keystrokes passed on as raw bytes except the ``~.`` escape, which ends the session locally
  (``TerminateSession``);
* in pipe mode: stdin sent as typed input; output to stdout. At the end of stdin, once everything sent is
  acknowledged and the remote side has been quiet for a moment (a shell waiting at its prompt), one Ctrl-D
  (EOT) is typed, which ends a shell just as it would for a person. Sent earlier, while the remote terminal
  is still in line mode before the shell reads it, the EOF would turn into a NUL for the shell's line
  editor and be lost.

:class:`CommandFrontend` is ``ssmux exec``: remote stdout to stdout, remote stderr to stderr, the remote
exit code as the result; Ctrl-C interrupts the remote command (0x03), a second one ends the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from typing import TYPE_CHECKING

from ssmux.sessions.remote_exec import ExitMarker
from ssmux.sessions.terminal import ESCAPE_HELP, EscapeCommand, EscapeScanner, LocalTerminal

if TYPE_CHECKING:
    from ssmux.protocol.events import ClientEvent
    from ssmux.sessions.native import NativeSession

#: The size the plugin sends when the terminal size cannot be read (§7.1).
FALLBACK_SIZE = (300, 100)
EOT = b"\x04"
#: Output is gathered while frames keep coming and written when they pause, or at this size.
WRITE_BATCH = 64 * 1024
#: How long the remote side must be quiet, after the end of piped input, before Ctrl-D is typed.
QUIET_BEFORE_EOT = 0.3


class ShellFrontend:
    """A shell session on this terminal (or pipes).

    Args:
        session: the native session (its handler is set to :meth:`handle`).
        terminal: this process's terminal.
    """

    def __init__(self, session: NativeSession, terminal: LocalTerminal) -> None:
        self.session = session
        self.terminal = terminal
        self.exit_code: int | None = None
        self._loop = asyncio.get_running_loop()
        self._stack = contextlib.ExitStack()
        self._scanner = EscapeScanner() if terminal.interactive else None
        self._last_size: tuple[int, int] | None = None
        self._started = False
        self._last_output = self._loop.time()
        self._pending = bytearray()
        self._flush_scheduled = False
        self.disconnected = False

    def start(self) -> None:
        """Enter raw mode (on a terminal), send the size, start reading input and watching resizes."""
        if self._started:
            return
        self._started = True
        self._stack.enter_context(self.terminal.session_mode())
        self.send_size()
        if self.terminal.interactive:
            self._stack.callback(self.terminal.watch_resize(self._loop, self.send_size))
        self._stack.callback(self.terminal.read_input(self._loop, self._on_input, self._on_eof))

    def close(self) -> None:
        """Write what is pending, stop reading and restore the terminal."""
        self._flush_output()
        self._stack.close()

    def send_size(self) -> None:
        """Send the window size if it changed since last sent (the plugin's fallback when unknown)."""
        size = self.terminal.size() or FALLBACK_SIZE
        if size != self._last_size:
            self._last_size = size
            self.session.resize(*size)

    def handle(self, event: ClientEvent) -> None:
        """Take one event of the session."""
        from ssmux.protocol.client import ExitCode, HandshakeCompleted, Output, StdErr

        if isinstance(event, Output):
            self._last_output = self._loop.time()
            self._write(event.data)
        elif isinstance(event, StdErr):
            self._last_output = self._loop.time()
            if self.terminal.interactive:
                self._write(event.data)
            else:
                self._flush_output()  # keep the order of stdout and stderr
                _write_fd(2, event.data)
        elif isinstance(event, ExitCode):
            self.exit_code = event.code
        elif isinstance(event, HandshakeCompleted) and event.customer_message:
            self._flush_output()
            self.terminal.notice(event.customer_message + "\n")

    def _write(self, data: bytes) -> None:
        # One write per burst of frames rather than per 1 KB frame; a pause in the frames flushes it.
        self._pending += data
        if len(self._pending) >= WRITE_BATCH:
            self._flush_output()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush_output)

    def _flush_output(self) -> None:
        self._flush_scheduled = False
        if not self._pending:
            return
        data, self._pending = bytes(self._pending), bytearray()
        try:
            self.terminal.write(data)
        except BrokenPipeError:
            # stdout was closed (``| head``): nobody reads the output any more; end the session.
            self._loop.create_task(self.session.terminate())

    def _on_input(self, data: bytes) -> None:
        if self._scanner is None:
            self.session.send_input(data)
            return
        scanned = self._scanner.feed(data)
        if scanned.data:
            self.session.send_input(scanned.data)
        if scanned.command is EscapeCommand.DISCONNECT:
            self.disconnected = True
            self._loop.create_task(self.session.terminate())
        elif scanned.command is EscapeCommand.HELP:
            self.terminal.notice(ESCAPE_HELP)

    def _on_eof(self) -> None:
        if not self.terminal.interactive:
            task = self._loop.create_task(self._type_eot_when_quiet())
            self._stack.callback(task.cancel)

    async def _type_eot_when_quiet(self) -> None:
        # A shell at its prompt ends at Ctrl-D: the pipe has ended, so has the "typing".
        channel = self.session.client.channel
        while not self.session.closed:
            await asyncio.sleep(QUIET_BEFORE_EOT / 3)
            if channel.all_acked and self._loop.time() - self._last_output >= QUIET_BEFORE_EOT:
                self.session.send_input(EOT)
                return


class CommandFrontend:
    """``ssmux exec``: stdout and stderr apart, the exit code kept, Ctrl-C passed to the remote command.

    Args:
        session: the native session.
        marker: removes ssmux's exit-status marker from the end of stdout and reads the status from it
            (:mod:`ssmux.sessions.remote_exec`); None for a session that has none.
    """

    def __init__(self, session: NativeSession, marker: ExitMarker | None = None) -> None:
        self.session = session
        self.marker = marker
        self.exit_code: int | None = None
        self.interrupts = 0
        self._loop = asyncio.get_running_loop()
        self._closed = False

    def start(self) -> None:
        """Nothing to set up: non-interactive commands read no input."""

    def close(self) -> None:
        """The output has ended: print what the marker held back; take its status if the agent sent none."""
        if self._closed or self.marker is None:
            return
        self._closed = True
        _write_fd(1, self.marker.finish())
        if self.exit_code is None:
            self.exit_code = self.marker.code

    def handle(self, event: ClientEvent) -> None:
        """Take one event of the session."""
        from ssmux.protocol.client import ExitCode, HandshakeCompleted, Output, StdErr

        if isinstance(event, Output):
            _write_fd(1, self.marker.feed(event.data) if self.marker is not None else event.data)
        elif isinstance(event, StdErr):
            _write_fd(2, event.data)
        elif isinstance(event, ExitCode):
            self.exit_code = event.code
        elif isinstance(event, HandshakeCompleted) and event.customer_message:
            sys.stderr.write(event.customer_message + "\n")

    def interrupt(self) -> None:
        """Ctrl-C here: the first interrupts the remote command (0x03), the next ends the session."""
        self.interrupts += 1
        if self.interrupts == 1:
            self.session.send_input(b"\x03")
        else:
            self._loop.create_task(self.session.terminate())


def _write_fd(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            import select

            select.select([], [fd], [], 1.0)
