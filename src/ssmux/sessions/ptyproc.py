"""A child process in a pseudo-terminal (POSIX only), for the emulator's shells and the app's pty tabs.

This module imports ``fcntl``/``termios`` at import time, so it is only ever imported lazily, on POSIX
systems: by the emulator's shell agent (a shell the way the SSM agent runs one) and by
:mod:`ssmux.sessions.ptysession` (``session-manager-plugin`` or ``aws ssm start-session`` in the app's tab).

Why not :mod:`subprocess`: the child must own the pty as its *controlling terminal* so that the line
discipline turns a received ``0x03`` into SIGINT for the foreground job (spec §7.2), and
``subprocess.Popen`` cannot make a tty the controlling terminal without a ``preexec_fn``. We fork with
:func:`os.fork` and call :func:`os.login_tty` (``setsid`` + ``TIOCSCTTY`` + dup onto 0/1/2) in the child,
then ``execve`` at once. Only those two calls run between fork and exec, which keeps forking from a
threaded process safe in practice (this is what ``pty.fork`` and ``ptyprocess`` do too).

Reaping: :meth:`PtyProcess.close` hangs up the terminal, signals the whole session (the shell and the jobs
it started in their own process groups), waits a short grace period, then SIGKILLs whatever is left and
collects the child's status, so no shell outlives its session.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import signal
import struct
import sys
import termios
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

from ssmux.errors import SessionError

__all__ = ["PtyProcess", "session_members"]

#: Exit status reported when the child could not exec its program (as a shell would).
EXEC_FAILED = 127

try:
    _MAX_FD = max(256, min(os.sysconf("SC_OPEN_MAX"), 1 << 20))
except (ValueError, OSError):  # pragma: no cover - sysconf name missing
    _MAX_FD = 65536


class PtyProcess:
    """A child process whose stdin/stdout/stderr are the slave side of a new pty.

    The master side is non-blocking; the owner reads it with :meth:`read` when the event loop says it is
    readable and writes with :meth:`write`.

    Attributes:
        pid: the child's process id (also its session and process-group id).
        fd: the pty master file descriptor (``-1`` once closed).
        returncode: ``None`` while running, else the exit status (``-N`` when killed by signal N).
    """

    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid
        self.fd = fd
        self.returncode: int | None = None

    @classmethod
    def spawn(
        cls,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        cols: int = 80,
        rows: int = 24,
    ) -> PtyProcess:
        """Start ``argv`` in a new session with a new pty as its controlling terminal.

        Args:
            argv: program and arguments; the program is looked up on ``PATH`` (of ``env``).
            env: the child's whole environment (default: this process's).
            cwd: working directory of the child (default: this process's).
            cols: initial terminal width.
            rows: initial terminal height.

        Returns:
            The running process.

        Raises:
            SessionError: the program does not exist or the pty cannot be created.
        """
        if not argv:
            raise SessionError("cannot start a session: the command to run is empty")
        environ = dict(os.environ if env is None else env)
        program = _which(argv[0], environ.get("PATH", os.defpath))
        if program is None:
            raise SessionError(f"cannot start a session: command not found: {argv[0]!r}")
        if cwd is not None and not Path(cwd).is_dir():
            raise SessionError(f"cannot start a session: working directory {cwd!r} does not exist")
        try:
            master, slave = os.openpty()
        except OSError as error:
            raise SessionError(f"cannot start a session: no pseudo-terminal available ({error})") from error
        try:
            # Set the size on the slave before the child starts, so it never sees 0x0.
            _set_winsize(slave, cols, rows)
            args = [program, *argv[1:]]
            env_bytes = {os.fsencode(k): os.fsencode(v) for k, v in environ.items()}
            with warnings.catch_warnings():
                # Python 3.12+ warns about fork() in a threaded process; the child only calls
                # login_tty/chdir/execve before replacing itself (see the module docstring).
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
            if pid == 0:  # pragma: no cover - the child; replaced by execve or exits
                _child(slave, args, env_bytes, cwd)
        except BaseException:
            os.close(master)
            os.close(slave)
            raise
        os.close(slave)
        os.set_blocking(master, False)
        return cls(pid, master)

    # -- I/O -------------------------------------------------------------------------------------

    def read(self, size: int = 1024) -> bytes:
        """Read up to ``size`` bytes of terminal output.

        Returns:
            The bytes read; ``b""`` at end of output (the child and every other holder of the slave side
            have gone: Linux reports EIO, BSDs report EOF).

        Raises:
            BlockingIOError: nothing to read right now.
        """
        if self.fd < 0:
            return b""
        try:
            return os.read(self.fd, size)
        except OSError as error:
            if error.errno == errno.EIO:
                return b""
            raise

    def write(self, data: bytes) -> int:
        """Write keyboard bytes to the terminal; returns how many were taken (0 if the queue is full)."""
        if self.fd < 0:
            return len(data)  # the terminal is gone: nothing will ever read it
        try:
            return os.write(self.fd, data)
        except BlockingIOError:
            return 0
        except OSError as error:
            if error.errno == errno.EIO:
                return len(data)
            raise

    def resize(self, cols: int, rows: int) -> None:
        """Set the terminal size; the kernel sends SIGWINCH to the foreground job."""
        if self.fd >= 0:
            _set_winsize(self.fd, cols, rows)

    def winsize(self) -> tuple[int, int]:
        """The terminal size as ``(cols, rows)``."""
        packed = fcntl.ioctl(self.fd, termios.TIOCGWINSZ, b"\0" * 8)
        rows, cols, _, _ = struct.unpack("HHHH", packed)
        return cols, rows

    # -- lifetime ----------------------------------------------------------------------------------

    def poll(self) -> int | None:
        """Collect the child's exit status if it has exited; ``None`` while it runs."""
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                # Someone else reaped it (should not happen); report it as gone.
                self.returncode = -signal.SIGKILL
                return self.returncode
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def signal_session(self, signum: int) -> None:
        """Send ``signum`` to every process still in the child's session (the shell and its jobs)."""
        for pid in {self.pid, *session_members(self.pid)}:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                # The shell's own group first: background jobs live in other groups of the same session.
                if pid == self.pid and self.returncode is None:
                    os.killpg(self.pid, signum)
                os.kill(pid, signum)

    def close(self, grace: float = 0.5) -> int:
        """End the child and everything in its session, reap it and release the pty. Idempotent.

        Hangs up the terminal (SIGHUP, like a dropped connection), then after ``grace`` seconds SIGKILLs
        whatever is left. Blocks for at most about ``grace`` + a few milliseconds.

        Returns:
            The child's exit status.
        """
        if self.poll() is None or session_members(self.pid):
            self.signal_session(signal.SIGHUP)
            self.signal_session(signal.SIGCONT)  # stopped jobs must run to see the hangup
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and (self.poll() is None or session_members(self.pid)):
                time.sleep(0.01)
            if self.poll() is None or session_members(self.pid):
                self.signal_session(signal.SIGKILL)
            if self.returncode is None:
                try:
                    _, status = os.waitpid(self.pid, 0)
                    self.returncode = os.waitstatus_to_exitcode(status)
                except ChildProcessError:  # reaped meanwhile by a concurrent poll()
                    self.returncode = self.returncode if self.returncode is not None else -signal.SIGKILL
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1
        assert self.returncode is not None
        return self.returncode


def session_members(sid: int) -> list[int]:
    """Process ids of the live processes in session ``sid`` other than ``sid`` itself (Linux; else ``[]``).

    Used to reach jobs a shell moved into their own process groups, which a signal to the shell's group
    would miss. Zombies are skipped: they are already dead and their parent reaps them.
    """
    if not sys.platform.startswith("linux"):
        return []
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == sid:
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # Fields after the ")" that closes the command name: state ppid pgrp session ...
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 3 and fields[0] not in ("Z", "X") and int(fields[3]) == sid:
            members.append(int(entry.name))
    return members


_RESET_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGQUIT", "SIGPIPE", "SIGTERM", "SIGHUP", "SIGXFSZ", "SIGTSTP", "SIGCHLD")
    if hasattr(signal, name)
)


def _set_winsize(fd: int, cols: int, rows: int) -> None:
    cols = max(0, min(int(cols), 0xFFFF))
    rows = max(0, min(int(rows), 0xFFFF))
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _which(program: str, path: str) -> str | None:
    if os.sep in program:
        return program if os.access(program, os.X_OK) and not Path(program).is_dir() else None
    return shutil.which(program, path=path)


def _child(slave: int, args: list[str], env: dict[bytes, bytes], cwd: str | None) -> None:  # pragma: no cover
    """Runs in the forked child: become a session leader on the pty, then exec. Never returns."""
    try:
        os.login_tty(slave)
        # Descriptors Python made are close-on-exec already; a library's may not be. The shell gets 0-2 only
        # (no API sockets, no other session's pty). closerange uses close_range(2) where it exists.
        os.closerange(3, _MAX_FD)
        if cwd is not None:
            os.chdir(cwd)
        # Python ignores SIGPIPE/SIGXFSZ and the emulator may block or ignore others; dispositions set to
        # "ignore" and the blocked mask survive execve, so give the shell the defaults a login would.
        for signum in _RESET_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        os.execve(args[0], args, env)  # noqa: S606 - an argv list, never a shell string
    finally:
        os._exit(EXEC_FAILED)
