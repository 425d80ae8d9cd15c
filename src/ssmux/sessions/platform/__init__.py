"""The local terminal, per operating system, behind one small interface.

Only this package touches the console: raw mode, the window size, resize notifications and reading
keystrokes. :func:`current` imports the module for the running platform on first use, so importing
``ssmux.sessions`` never imports ``termios``/``tty``/``fcntl`` (missing on Windows) or ``msvcrt``/``ctypes``
console calls (missing elsewhere).

Each platform module provides the same functions:

``raw_mode(fd) -> ContextManager[None]``
    Put the terminal in raw mode (no echo, no line editing, no local signals, no CR/NL translation on
    input) and restore the saved mode on *every* exit from the ``with`` block.
``terminal_size(fd) -> tuple[int, int] | None``
    ``(cols, rows)`` of the terminal, or ``None`` when it cannot be read.
``watch_resize(loop, callback) -> Callable[[], None]``
    Call ``callback()`` on the event loop whenever the window may have changed size (SIGWINCH on POSIX,
    polling every 500 ms on Windows, as the plugin does); returns a function that stops watching.
``watch_exit_signals(loop, callback) -> Callable[[], None]``
    Call ``callback()`` on the loop when the process is asked to end (SIGTERM/SIGHUP, Ctrl-Break), so
    the session can end through its cleanup (terminal restored, session terminated).
``watch_interrupt(loop, callback) -> Callable[[], None]``
    Call ``callback()`` on the loop on Ctrl-C outside raw mode (pipe mode, ``exec``, ``forward``)
    instead of raising ``KeyboardInterrupt``.
``read_input(loop, fd, on_data, on_eof) -> Callable[[], None]``
    Deliver the bytes read from ``fd`` (keystrokes as UTF-8, or a pipe/file) to ``on_data`` on the event
    loop, then ``on_eof()`` once; returns a function that stops reading.
``open_tty() -> ContextManager[tuple[int, int] | None]``
    File descriptors ``(input, output)`` of the controlling terminal for an interactive prompt (the
    picker) while the block runs, or ``None`` when there is none.
``user_signals() -> ContextManager[None]``
    Ignore the signals a user types (Ctrl-C, Ctrl-\\, Ctrl-Z) in this process while a child (the plugin,
    the aws CLI) owns the terminal, as the aws CLI does, so they reach only the child.
"""

from __future__ import annotations

import sys
from types import ModuleType

_module: ModuleType | None = None


def current() -> ModuleType:
    """The terminal module of the running platform (``_windows`` or ``_posix``), imported on first use."""
    global _module
    if _module is None:
        if sys.platform == "win32":
            from ssmux.sessions.platform import _windows as module
        else:
            from ssmux.sessions.platform import _posix as module
        _module = module
    return _module
