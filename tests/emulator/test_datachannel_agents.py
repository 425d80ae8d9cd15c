"""The shell agent's pty process: real ptys, real children, reaped."""

from __future__ import annotations

import os
import re
import select
import sys
import time

import pytest

from ssmux.errors import SessionError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="ptys are POSIX")


def read_all(process: object, timeout: float = 10.0) -> bytes:
    """Read a PtyProcess's output until end of output."""
    out = b""
    deadline = time.monotonic() + timeout
    fd = process.fd  # type: ignore[attr-defined]
    while time.monotonic() < deadline:
        select.select([fd], [], [], 0.5)
        try:
            data = process.read()  # type: ignore[attr-defined]
        except BlockingIOError:
            continue
        if not data:
            return out
        out += data
    raise AssertionError(f"no end of output after {timeout} s: {out!r}")


def test_pty_child_has_a_controlling_terminal_of_the_given_size() -> None:
    """The child runs on a pty it controls (its own session) with the size asked for and TERM passed on."""
    from ssmux.sessions.ptyproc import PtyProcess

    process = PtyProcess.spawn(
        ["/bin/sh", "-c", "stty size; tty; echo sid=$(ps -o sid= -p $$ | tr -d ' ') pid=$$; echo term=$TERM"],
        env={**os.environ, "TERM": "xterm-256color"},
        cols=101,
        rows=33,
    )
    try:
        out = read_all(process).decode()
    finally:
        status = process.close()
    assert "33 101" in out
    assert "/dev/" in out
    assert f"sid={process.pid} pid={process.pid}" in out
    assert "term=xterm-256color" in out
    assert status == 0


def test_pty_close_kills_jobs_in_other_process_groups() -> None:
    """close() reaches a background job the shell put in its own process group, not just the shell."""
    from ssmux.sessions.ptyproc import PtyProcess, session_members

    process = PtyProcess.spawn(["/bin/sh", "-c", "set -m; sleep 300 & echo job=$!; wait"])
    out = b""
    deadline = time.monotonic() + 10
    while (match := re.search(rb"job=(\d+)\r?\n", out)) is None and time.monotonic() < deadline:
        select.select([process.fd], [], [], 0.5)
        try:
            out += process.read()
        except BlockingIOError:
            continue
    assert match is not None, out
    job = int(match.group(1))
    assert os.getpgid(job) != process.pid  # a group of its own: killpg(shell) would miss it
    if sys.platform.startswith("linux"):
        assert job in session_members(process.pid)
    process.close(grace=0.2)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _running(job):
        time.sleep(0.05)
    assert not _running(job)
    assert process.fd == -1


def test_pty_spawn_of_a_missing_program_says_so() -> None:
    """A program that does not exist raises a SessionError naming it; no process or pty is left."""
    from ssmux.sessions.ptyproc import PtyProcess

    before = set(os.listdir("/proc/self/fd")) if sys.platform.startswith("linux") else set()
    with pytest.raises(SessionError, match="command not found: 'no-such-shell-here'"):
        PtyProcess.spawn(["no-such-shell-here"])
    if before:
        assert set(os.listdir("/proc/self/fd")) == before


def test_pty_resize_is_seen_by_the_child() -> None:
    """resize() changes the size the child reads with TIOCGWINSZ."""
    from ssmux.sessions.ptyproc import PtyProcess

    process = PtyProcess.spawn(["/bin/sh", "-c", "read line; stty size"])
    try:
        process.resize(77, 19)
        assert process.winsize() == (77, 19)
        process.write(b"go\n")
        assert b"19 77" in read_all(process)
    finally:
        process.close()


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return not sys.platform.startswith("linux")
    return text[text.rfind(")") + 2] not in "ZX"
