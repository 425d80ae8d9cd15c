"""``ssmux emulator`` as a user runs it: refusals, the ready line, clean stops."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ssmux.emulator.app import check_host
from ssmux.errors import InvalidValue
from tests.support.emulator import start_emulator, stop_process
from tests.support.wsclient import alive, first_instance, numbers, open_session, wait_gone

pytestmark = pytest.mark.e2e

EMULATOR = [sys.executable, "-m", "ssmux", "emulator"]
SHELL_SCENARIO = {
    "profiles": [{"name": "dev", "account_id": "111111111111", "region": "eu-central-1"}],
    "instances": [{"profile": "dev", "name": "box", "command": "/bin/sh", "prompt": "box$ "}],
}


def run_emulator(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``ssmux emulator`` expecting it to refuse at once."""
    return subprocess.run(
        [*EMULATOR, "--aws-config-dir", str(tmp_path / "emu-aws"), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rfind(")") + 2 :].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "::"])
def test_non_loopback_host_is_refused(host: str, tmp_path: Path) -> None:
    """--host other than loopback: one error line naming --allow-remote, exit 1, nothing on stdout."""
    result = run_emulator("--host", host, tmp_path=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"ssmux: error: --host {host} would let other machines reach")
    assert "--allow-remote" in result.stderr
    assert not (tmp_path / "emu-aws").exists()


def test_host_check_accepts_loopback_and_explicit_remote() -> None:
    """127.0.0.1, ::1 and localhost pass; a remote address passes only with allow_remote; names do not."""
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        check_host(host, allow_remote=False)
    check_host("0.0.0.0", allow_remote=True)
    with pytest.raises(InvalidValue, match="not an IP address"):
        check_host("example.com", allow_remote=False)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", r"is not valid JSON: .* line 1 column 2"),
        ('{"profiles": [{"name": "dev"}]}', r"profiles\[0\] needs 'account_id'"),
        (
            json.dumps({**SHELL_SCENARIO, "instances": [{"profile": "dev", "state": "sleeping"}]}),
            r"instances\[0\]\.state 'sleeping' must be one of",
        ),
    ],
)
def test_bad_scenario_file_is_one_line_naming_it(content: str, problem: str, tmp_path: Path) -> None:
    """A bad scenario file: exit 1, one line with the file's name and the problem, no traceback."""
    path = tmp_path / "fleet.json"
    path.write_text(content)
    result = run_emulator("--scenario", str(path), tmp_path=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"ssmux: error: scenario file '{path}'")
    assert re.search(problem, line)
    assert not (tmp_path / "emu-aws").exists()


def test_busy_port_is_one_line(tmp_path: Path) -> None:
    """--port already taken: one line naming the port and what to do, exit 1, no shell left behind."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_emulator("--port", str(port), tmp_path=tmp_path)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()[-1:]
    assert line.startswith(f"ssmux: error: cannot listen on 127.0.0.1 port {port}: ")
    assert "pick another --port" in line
    assert "Traceback" not in result.stderr


def test_missing_scenario_file(tmp_path: Path) -> None:
    """A scenario that is neither built in nor a file says so and lists the built-in ones."""
    result = run_emulator("--scenario", "nosuch", tmp_path=tmp_path)
    assert result.returncode == 1
    assert "scenario file 'nosuch' cannot be read" in result.stderr
    assert "built-in scenarios: demo" in result.stderr


def test_stdout_is_exactly_the_ready_line(tmp_path: Path) -> None:
    """stdout carries one JSON line (endpoint and both files), nothing else; SIGTERM ends it with 0."""
    config_dir = tmp_path / "emu-aws"
    process = subprocess.Popen(
        [*EMULATOR, "--scenario", "demo", "--aws-config-dir", str(config_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        assert set(ready) == {"endpoint", "aws_config_file", "aws_shared_credentials_file"}
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", ready["endpoint"])
        assert ready["aws_config_file"] == str(config_dir / "config")
        assert ready["aws_shared_credentials_file"] == str(config_dir / "credentials")
        process.send_signal(signal.SIGTERM)
        assert process.stdout.read() == b""
        assert process.wait(30) == 0
    finally:
        stop_process(process)


def test_temporary_config_dir_is_removed_on_stop(tmp_path: Path) -> None:
    """Without --aws-config-dir the files go to a temporary folder that is gone after the stop."""
    process = subprocess.Popen(
        [*EMULATOR, "--scenario", "demo"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        config = Path(json.loads(process.stdout.readline())["aws_config_file"])
        assert "endpoint_url" in config.read_text()
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
        assert not config.parent.exists()
    finally:
        stop_process(process)


async def test_sigterm_ends_every_shell(tmp_path: Path) -> None:
    """SIGTERM while a shell and its background job run: the emulator exits 0 and leaves no process behind."""
    with start_emulator(SHELL_SCENARIO, tmp_dir=tmp_path) as emulator:
        ssm = emulator.client("ssm", "dev")
        target = first_instance(emulator)
        async with open_session(ssm, target=target) as session:
            await session.wait_for(b"box$ ")
            pids = await numbers(session, b"sleep 300 & echo pids=$$,$!", rb"pids=(\d+),(\d+)\r\n")
            assert all(alive(pid) for pid in pids)
            assert children(emulator.process.pid)  # the shell is the emulator's child
            emulator.process.send_signal(signal.SIGTERM)
            status = await asyncio.to_thread(emulator.process.wait, 30)
        assert status == 0
        assert await wait_gone(pids) == []
