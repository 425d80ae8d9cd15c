"""`ssmux ssh` runs the system ssh through `ssmux proxy` (AWS-StartSSHSession) to the target's sshd.

The target's sshd is an asyncssh server on 127.0.0.1; the emulated agent dials it as the instance's own port
(``-p`` passes ssh's port to the ProxyCommand's ``%p``, as for an sshd on a port of its own).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.sessions.conftest import demo_instance, run_ssmux
from tests.sessions.sshd import make_key, run_sshd
from tests.support.emulator import RunningEmulator

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("ssh") is None, reason="needs OpenSSH's client (apt install openssh-client)"
    ),
]

WEB1 = demo_instance("web-1")


def ssh_options(tmp_path: Path, port: int, host_key: str) -> list[str]:
    """ssh options of a user whose known_hosts knows the target's host key under its instance id only."""
    known = tmp_path / "known_hosts"
    known.write_text(f"{WEB1} {host_key}\n")
    empty = tmp_path / "ssh_config"
    empty.write_text("")
    return [
        "-F", str(empty), "-p", str(port), "-o", f"UserKnownHostsFile={known}",
        "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=30",
    ]  # fmt: skip


def test_ssh_runs_a_command_through_the_proxy(demo_env: RunningEmulator, tmp_path: Path) -> None:
    """`ssmux ssh USER@TARGET ... 'echo ok'`: ssh's output and exit status, the host key checked by id."""
    public = make_key(tmp_path / "id_ed25519")
    with run_sshd(authorized=(public,)) as sshd:
        options = ssh_options(tmp_path, sshd.port, sshd.host_key)
        result = run_ssmux(
            "ssh", "--aws-profile", "dev", f"tester@{WEB1}", "-i", str(tmp_path / "id_ed25519"), *options,
            "echo ok; echo to-stderr >&2; exit 3",
        )  # fmt: skip
    assert result.stdout == b"ok\n", result.stderr
    assert b"to-stderr\n" in result.stderr
    assert b"session" not in result.stderr.lower(), result.stderr  # the proxy says nothing of its own
    assert result.returncode == 3
    assert sshd.logins == ["tester"]


def test_ssh_by_name_resolves_to_the_instance(demo_env: RunningEmulator, tmp_path: Path) -> None:
    """A name as `ssmux ls` finds it reaches the same host key alias (the instance id) once synced."""
    assert run_ssmux("pair", "add", "dev", "eu-central-1").returncode == 0
    assert run_ssmux("sync").returncode == 0
    public = make_key(tmp_path / "id_ed25519")
    with run_sshd(authorized=(public,)) as sshd:
        options = ssh_options(tmp_path, sshd.port, sshd.host_key)
        result = run_ssmux(
            "ssh", "tester@web-1", "-i", str(tmp_path / "id_ed25519"), *options, 'printf %s "$((6*7))"'
        )
    assert (result.returncode, result.stdout) == (0, b"42"), result.stderr


def test_proxy_relays_stdio_to_the_port(demo_env: RunningEmulator) -> None:
    """`ssmux proxy TARGET PORT` alone: the sshd's version line comes out on stdout, the stream on stdio."""
    with run_sshd() as sshd:
        result = run_ssmux(
            "proxy", WEB1, str(sshd.port), "--aws-profile", "dev", input=b"SSH-2.0-test\r\n", timeout=30
        )
    assert result.stdout.startswith(b"SSH-2.0-AsyncSSH"), result.stderr
    assert result.returncode == 0


def test_ssh_without_ssh_client_says_what_to_do(demo_env: RunningEmulator, tmp_path: Path) -> None:
    """--ssh naming nothing that runs: one line on stderr, exit 1, nothing started."""
    result = run_ssmux("ssh", "--ssh", str(tmp_path / "no-ssh"), WEB1, "true")
    assert result.returncode == 1
    assert result.stderr.decode().startswith("ssmux: error: --ssh ")
    assert result.stderr.count(b"\n") == 1
