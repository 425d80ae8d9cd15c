"""The local terminal on Windows: console modes with VT input/output, size polling, a reader thread.

Imported only through :func:`ssmux.sessions.platform.current` on Windows. The console is put in "virtual
terminal input" mode, so arrows, function keys and Ctrl+arrows arrive as the same escape sequences a Linux
terminal sends, and keys are read as UTF-16 with ``ReadConsoleW`` and passed on as UTF-8: AltGr and non-US
layouts (``{ [ @ ? }``, umlauts) come through as the characters they produce, which the plugin's
keyboard handling loses (user pains 1). The window size is polled every 500 ms, as the plugin does, because
Windows has no SIGWINCH.

Not exercised by CI (no Windows runner): see the README.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import ctypes
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

STD_INPUT_HANDLE = -10
STD_OUTPUT_HANDLE = -11
ENABLE_PROCESSED_INPUT = 0x0001
ENABLE_LINE_INPUT = 0x0002
ENABLE_ECHO_INPUT = 0x0004
ENABLE_VIRTUAL_TERMINAL_INPUT = 0x0200
ENABLE_PROCESSED_OUTPUT = 0x0001
ENABLE_VIRTUAL_TERMINAL_PROCESSING = 0x0004
READ_CHARS = 4096
POLL_SECONDS = 0.5


def _kernel32() -> Any:
    return ctypes.windll.kernel32  # type: ignore[attr-defined]


def _console_mode(handle: int) -> int | None:
    mode = ctypes.c_uint32()
    if not _kernel32().GetConsoleMode(handle, ctypes.byref(mode)):
        return None
    return mode.value


@contextlib.contextmanager
def raw_mode(fd: int) -> Iterator[None]:
    """Raw VT mode on the console for the duration of the block; both saved modes restored on every exit."""
    kernel32 = _kernel32()
    handle_in = kernel32.GetStdHandle(STD_INPUT_HANDLE)
    handle_out = kernel32.GetStdHandle(STD_OUTPUT_HANDLE)
    saved_in = _console_mode(handle_in)
    saved_out = _console_mode(handle_out)
    try:
        if saved_in is not None:
            # No line editing, no echo, Ctrl-C as a byte (not a console event): it is for the remote side.
            raw = saved_in & ~(ENABLE_PROCESSED_INPUT | ENABLE_LINE_INPUT | ENABLE_ECHO_INPUT)
            kernel32.SetConsoleMode(handle_in, raw | ENABLE_VIRTUAL_TERMINAL_INPUT)
        if saved_out is not None:
            kernel32.SetConsoleMode(
                handle_out, saved_out | ENABLE_PROCESSED_OUTPUT | ENABLE_VIRTUAL_TERMINAL_PROCESSING
            )
        yield
    finally:
        if saved_in is not None:
            kernel32.SetConsoleMode(handle_in, saved_in)
        if saved_out is not None:
            kernel32.SetConsoleMode(handle_out, saved_out)


def terminal_size(fd: int) -> tuple[int, int] | None:
    """``(cols, rows)`` of the console, or ``None`` when there is none."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    if size.columns == 0 or size.lines == 0:
        return None
    return size.columns, size.lines


def watch_resize(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` every 500 ms (the caller sends a size only if it changed); returns a stopper."""
    handle: asyncio.TimerHandle | None = None

    def tick() -> None:
        nonlocal handle
        callback()
        handle = loop.call_later(POLL_SECONDS, tick)

    handle = loop.call_later(POLL_SECONDS, tick)

    def stop() -> None:
        if handle is not None:
            handle.cancel()

    return stop


def watch_exit_signals(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` on Ctrl-Break or when the console window closes (SIGBREAK, via ``signal``)."""
    import signal

    def handler(signum: int, frame: object) -> None:
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(callback)

    saved = signal.signal(signal.SIGBREAK, handler)  # type: ignore[attr-defined]

    def stop() -> None:
        signal.signal(signal.SIGBREAK, saved)  # type: ignore[attr-defined]

    return stop


def watch_interrupt(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` on Ctrl-C (a console event outside raw mode) instead of raising KeyboardInterrupt."""
    import signal

    def handler(signum: int, frame: object) -> None:
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(callback)

    saved = signal.signal(signal.SIGINT, handler)

    def stop() -> None:
        signal.signal(signal.SIGINT, saved)

    return stop


def read_input(
    loop: asyncio.AbstractEventLoop,
    fd: int,
    on_data: Callable[[bytes], None],
    on_eof: Callable[[], None],
) -> Callable[[], None]:
    """Read keys (console) or bytes (pipe, file) in a thread and deliver them on the loop; returns a stop."""
    stopped = threading.Event()
    handle = _kernel32().GetStdHandle(STD_INPUT_HANDLE) if fd == 0 else None
    console = handle is not None and _console_mode(handle) is not None

    def deliver(data: bytes) -> None:
        if data and not stopped.is_set():
            with contextlib.suppress(RuntimeError):  # the loop may be closed already
                loop.call_soon_threadsafe(on_data, data)

    def run() -> None:
        # Surrogate pairs (emoji) can be split across two reads: the incremental decoder joins them.
        decoder = codecs.getincrementaldecoder("utf-16-le")(errors="replace")
        buffer = ctypes.create_string_buffer(READ_CHARS * 2)
        count = ctypes.c_uint32()
        while not stopped.is_set():
            if console:
                ok = _kernel32().ReadConsoleW(handle, buffer, READ_CHARS, ctypes.byref(count), None)
                data = decoder.decode(buffer.raw[: count.value * 2]).encode("utf-8") if ok else b""
                if ok and count.value:
                    deliver(data)
                    continue
            else:
                try:
                    data = os.read(fd, READ_CHARS)
                except OSError:
                    data = b""
                if data:
                    deliver(data)
                    continue
            if not stopped.is_set():
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(on_eof)
            return

    threading.Thread(target=run, name="ssmux-stdin", daemon=True).start()
    return stopped.set


@contextlib.contextmanager
def open_tty() -> Iterator[tuple[int, int] | None]:
    """Standard input and output when both are the console (for an interactive prompt), else ``None``."""
    yield (0, 1) if os.isatty(0) and os.isatty(1) else None


@contextlib.contextmanager
def user_signals() -> Iterator[None]:
    """Windows delivers Ctrl-C to every process on the console; the child handles it, the parent waits.

    Python turns the console event into ``KeyboardInterrupt`` in the parent, so it is swallowed here while
    the child runs.
    """
    import signal

    saved = signal.signal(signal.SIGINT, lambda signum, frame: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, saved)
