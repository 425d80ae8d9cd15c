"""``ssmux demo`` stopped by any signal leaves nothing: no process, no listening port, no temporary folder.

Each test runs the real demo as a user does (``python -m ssmux demo --no-show``), opens a real shell through
its emulator with a background job in it, signals the demo, and then looks at what is left on the machine.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.demo import GONE_TIMEOUT, running_demo
from tests.support.wsclient import first_instance, numbers, open_session, wait_gone

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals (SIGHUP, SIGKILL) and `ps`"),
]


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, grandchildren, ...), from `ps` (Linux and macOS)."""
    table = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True, check=True)
    children: dict[int, list[int]] = {}
    for line in table.stdout.splitlines():
        child, parent = map(int, line.split())
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def accepts(port: int) -> bool:
    """Whether something listens on 127.0.0.1 ``port``."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP", "SIGKILL", "SIGINT"])
async def test_a_signal_to_the_demo_leaves_nothing_behind(signame: str, tmp_path: Path) -> None:
    """SIGTERM, SIGHUP, SIGKILL or SIGINT to the demo: its emulator, shells, ports and folder all go."""
    with running_demo(tmp_path, "--no-show") as demo:
        emulator = demo.emulator()
        ports = demo.ports()
        assert all(accepts(port) for port in ports)
        ssm = emulator.client("ssm", "dev")
        async with open_session(ssm, target=first_instance(emulator)) as session:
            await session.wait_for(b"$ ")
            shell_pids = await numbers(session, b"sleep 300 & echo pids=$$,$!", rb"pids=(\d+),(\d+)\r\n")
            tree = descendants(demo.process.pid)
            assert set(shell_pids) <= set(tree)  # the shells run below the demo (in its emulator)
            demo.process.send_signal(getattr(signal, signame))
            await asyncio.to_thread(demo.process.wait, GONE_TIMEOUT)
            left = await wait_gone(tree, timeout=GONE_TIMEOUT)
        assert left == [], f"still running after {signame}: {left}"
        assert [port for port in ports if accepts(port)] == []
        assert list(demo.tmp.iterdir()) == [], "the demo's temporary folder is left behind"
        if signame != "SIGKILL":
            assert "nothing is left running" in demo.stderr.read_text()
