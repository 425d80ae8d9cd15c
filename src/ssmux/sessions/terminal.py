"""This process's own terminal (or pipes) as the local end of a shell session.

:class:`LocalTerminal` holds what a session needs from the local side: is it interactive, raw mode while the
session runs, the window size, resize and exit notifications, keystrokes, and writing output. The OS-specific
parts live in :mod:`ssmux.sessions.platform`; nothing here imports a POSIX-only module.

:class:`EscapeScanner` is the ssh-style escape: ``~.`` typed at the start of a line (after Enter) ends the
session locally; ``~~`` sends one ``~``; ``~?`` lists the escapes. Every other byte, Ctrl-C, Ctrl-Z and
Ctrl-\\ included, goes to the remote side unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum

from ssmux.sessions import platform

ESCAPE_CHAR = ord("~")
ESCAPE_HELP = (
    "Supported escape sequences (after Enter):\r\n"
    "  ~.  end the session\r\n"
    "  ~~  send ~\r\n"
    "  ~?  this message\r\n"
)


class EscapeCommand(Enum):
    """What an escape sequence asked for."""

    DISCONNECT = "disconnect"
    HELP = "help"


@dataclass(frozen=True)
class Scanned:
    """Result of :meth:`EscapeScanner.feed`: bytes to send on, and the escape command seen, if any.

    After ``DISCONNECT`` the rest of the input is discarded.
    """

    data: bytes
    command: EscapeCommand | None = None


class EscapeScanner:
    """Finds ``~.``, ``~~`` and ``~?`` at the start of a line in keystrokes, like ssh does.

    A ``~`` at the start of a line is held back until the next byte shows whether it starts an escape; a
    lone held ``~`` followed by anything else is sent on together with that byte.
    """

    def __init__(self) -> None:
        self._line_start = True  # the session starts at the start of a line
        self._held = False

    def feed(self, data: bytes) -> Scanned:
        """Scan keystrokes; returns what to send on and the escape command, if one was typed."""
        out = bytearray()
        for index, byte in enumerate(data):
            if self._held:
                self._held = False
                if byte == ord("."):
                    return Scanned(bytes(out), EscapeCommand.DISCONNECT)
                if byte == ESCAPE_CHAR:
                    out.append(ESCAPE_CHAR)
                    self._line_start = False
                    continue
                if byte == ord("?"):
                    rest = self.feed(data[index + 1 :])
                    return Scanned(bytes(out) + rest.data, rest.command or EscapeCommand.HELP)
                out.append(ESCAPE_CHAR)
            elif self._line_start and byte == ESCAPE_CHAR:
                self._held = True
                self._line_start = False
                continue
            out.append(byte)
            self._line_start = byte in (0x0D, 0x0A)
        return Scanned(bytes(out))


class LocalTerminal:
    """stdin/stdout of this process as a session's local end.

    ``interactive`` is true when stdin is a terminal: the session then runs in raw mode, sends the window
    size and watches for resizes and escapes. Otherwise (pipe mode) stdin is passed on as typed input and
    only output is written.

    Args:
        stdin_fd: the descriptor keystrokes or piped input come from.
        stdout_fd: the descriptor session output goes to.
    """

    def __init__(self, stdin_fd: int = 0, stdout_fd: int = 1) -> None:
        self.stdin_fd = stdin_fd
        self.stdout_fd = stdout_fd
        self.interactive = _isatty(stdin_fd)
        self._raw = False

    @contextlib.contextmanager
    def session_mode(self) -> Iterator[None]:
        """Raw mode while the block runs on a terminal (restored on every exit); nothing in pipe mode."""
        if not self.interactive:
            yield
            return
        with platform.current().raw_mode(self.stdin_fd):
            self._raw = True
            try:
                yield
            finally:
                self._raw = False

    def size(self) -> tuple[int, int] | None:
        """``(cols, rows)`` of the terminal, or ``None`` when neither stdout nor stdin is one."""
        module = platform.current()
        return module.terminal_size(self.stdout_fd) or module.terminal_size(self.stdin_fd)  # type: ignore[no-any-return]

    def watch_resize(
        self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]
    ) -> Callable[[], None]:
        """Call ``callback`` when the window may have been resized; returns a stop function."""
        return platform.current().watch_resize(loop, callback)  # type: ignore[no-any-return]

    def watch_exit_signals(
        self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]
    ) -> Callable[[], None]:
        """Call ``callback`` when this process is asked to end; returns a stop function."""
        return platform.current().watch_exit_signals(loop, callback)  # type: ignore[no-any-return]

    def read_input(
        self,
        loop: asyncio.AbstractEventLoop,
        on_data: Callable[[bytes], None],
        on_eof: Callable[[], None],
    ) -> Callable[[], None]:
        """Deliver keystrokes (or piped input) to ``on_data``, then ``on_eof()``; returns a stop function."""
        return platform.current().read_input(loop, self.stdin_fd, on_data, on_eof)  # type: ignore[no-any-return]

    def write(self, data: bytes) -> None:
        """Write session output as it came, whole (a slow terminal makes this wait, as it should)."""
        view = memoryview(data)
        while view:
            try:
                written = os.write(self.stdout_fd, view)
            except BlockingIOError:
                _wait_writable(self.stdout_fd)
                continue
            view = view[written:]

    def notice(self, text: str) -> None:
        """A line from ssmux itself (not the remote side): to the terminal, or to stderr in pipe mode.

        In pipe mode stdout carries only session output, so scripts can use it as is.
        """
        if self._raw:
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        if self.interactive:
            self.write(text.encode("utf-8", "replace"))
        else:
            sys.stderr.write(text)
            sys.stderr.flush()


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def _wait_writable(fd: int) -> None:
    import select

    with contextlib.suppress(OSError, ValueError):
        select.select([], [fd], [], 1.0)
