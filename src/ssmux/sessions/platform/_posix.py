"""The local terminal on Linux and macOS: termios raw mode, SIGWINCH, non-blocking reads on the loop.

Imported only through :func:`ssmux.sessions.platform.current` on POSIX systems, so the POSIX-only imports at
the top of this module never run on Windows.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import struct
import termios
import threading
import tty
from collections.abc import Callable, Iterator

# Big enough to take a paste in one read, small enough to keep keystroke latency low.
READ_SIZE = 16384


@contextlib.contextmanager
def raw_mode(fd: int) -> Iterator[None]:
    """Raw mode on ``fd`` for the duration of the block; the saved mode is restored on every exit."""
    saved = termios.tcgetattr(fd)
    try:
        # Raw, like ssh: Ctrl-C/Ctrl-Z/Ctrl-\ arrive as bytes and go to the remote side, not to us.
        tty.setraw(fd, termios.TCSANOW)
        yield
    finally:
        # TCSADRAIN: let what we printed reach the screen before the mode changes back.
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def terminal_size(fd: int) -> tuple[int, int] | None:
    """``(cols, rows)`` of the terminal on ``fd``, or ``None`` when ``fd`` is not a terminal."""
    try:
        packed = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
    except OSError:
        return None
    rows, cols = struct.unpack("HHHH", packed)[:2]
    if rows == 0 or cols == 0:
        return None
    return cols, rows


def watch_resize(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` on SIGWINCH; returns a function that removes the handler."""
    loop.add_signal_handler(signal.SIGWINCH, callback)

    def stop() -> None:
        with contextlib.suppress(Exception):
            loop.remove_signal_handler(signal.SIGWINCH)

    return stop


def watch_exit_signals(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` on SIGTERM or SIGHUP (the window closed) so the session ends through its cleanup."""
    numbers = (signal.SIGTERM, signal.SIGHUP)
    for number in numbers:
        loop.add_signal_handler(number, callback)

    def stop() -> None:
        for number in numbers:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(number)

    return stop


def watch_interrupt(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` on SIGINT (Ctrl-C when the terminal is not in raw mode) instead of raising."""
    loop.add_signal_handler(signal.SIGINT, callback)

    def stop() -> None:
        with contextlib.suppress(Exception):
            loop.remove_signal_handler(signal.SIGINT)

    return stop


def read_input(
    loop: asyncio.AbstractEventLoop,
    fd: int,
    on_data: Callable[[bytes], None],
    on_eof: Callable[[], None],
) -> Callable[[], None]:
    """Deliver what ``fd`` yields to ``on_data`` on the loop, then ``on_eof()``; returns a stop function.

    Terminals, pipes and sockets are watched by the loop itself. Regular files cannot be (epoll refuses
    them), so they are read by a thread, which always ends because a file ends.
    """
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            with contextlib.suppress(Exception):  # the loop may be closed already
                loop.remove_reader(fd)

    def readable() -> None:
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:  # EIO when the terminal went away: the same as end of input
            data = b""
        if data:
            on_data(data)
        elif not stopped:
            stop()
            on_eof()

    try:
        loop.add_reader(fd, readable)
    except (PermissionError, OSError, ValueError):
        return _read_in_thread(loop, fd, on_data, on_eof)
    return stop


def _read_in_thread(
    loop: asyncio.AbstractEventLoop,
    fd: int,
    on_data: Callable[[bytes], None],
    on_eof: Callable[[], None],
) -> Callable[[], None]:
    stopped = threading.Event()

    def run() -> None:
        while not stopped.is_set():
            try:
                data = os.read(fd, READ_SIZE)
            except OSError:
                data = b""
            if stopped.is_set():
                return
            if not data:
                with contextlib.suppress(RuntimeError):  # the loop may be closed already
                    loop.call_soon_threadsafe(on_eof)
                return
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(on_data, data)

    threading.Thread(target=run, name="ssmux-stdin", daemon=True).start()
    return stopped.set


@contextlib.contextmanager
def open_tty() -> Iterator[tuple[int, int] | None]:
    """The controlling terminal, opened for reading and writing while the block runs, or ``None``."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        yield None
        return
    try:
        yield fd, fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def user_signals() -> Iterator[None]:
    """Ignore SIGINT, SIGQUIT and SIGTSTP here while a child process owns the terminal.

    A do-nothing handler rather than ``SIG_IGN``: handlers are reset by ``exec``, ignored signals are
    inherited, and the child must still get its Ctrl-C.
    """
    names = ("SIGINT", "SIGQUIT", "SIGTSTP")
    saved: list[tuple[signal.Signals, object]] = []
    try:
        for name in names:
            number = getattr(signal, name)
            saved.append((number, signal.signal(number, _ignore)))
        yield
    finally:
        for number, handler in saved:
            signal.signal(number, handler)  # type: ignore[arg-type]


def _ignore(signum: int, frame: object) -> None:
    """A handler that does nothing, so the signal reaches only the foreground child."""
