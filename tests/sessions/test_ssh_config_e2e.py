"""`ssmux ssh-config`: Host entries for synced targets, kept in a marked block of an ssh config (issue 14)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ssmux.sessions.ssh_config import BEGIN, END, host_name
from tests.sessions.conftest import demo_instance, run_ssmux
from tests.sessions.sshd import make_key, run_sshd
from tests.support.emulator import RunningEmulator

pytestmark = pytest.mark.e2e

WEB1 = demo_instance("web-1")
#: A user's file: comments, a Host of its own, odd spacing, a CRLF line, and no newline at the end.
USER_CONFIG = (
    b"# my settings\n"
    b"Host *\n    ServerAliveInterval 30\n\n"
    b"Host gitlab  \r\n\tUser git   # keep\n"
    b"Host web-1-old\n    HostName 192.0.2.1"
)


@pytest.fixture
def synced(demo_env: RunningEmulator) -> RunningEmulator:
    """The demo's dev account in eu-central-1, synced into this test's inventory."""
    assert run_ssmux("pair", "add", "dev", "eu-central-1").returncode == 0
    assert run_ssmux("sync").returncode == 0
    return demo_env


def test_write_keeps_every_other_byte_and_replaces_its_block(synced: RunningEmulator, tmp_path: Path) -> None:
    """The block goes after the user's lines, which stay byte for byte; a second run changes nothing else."""
    config = tmp_path / "config"
    config.write_bytes(USER_CONFIG)
    config.chmod(0o640)
    first = run_ssmux("ssh-config", "--write", "--file", str(config))
    assert first.returncode == 0, first.stderr
    assert first.stderr.decode().startswith("wrote ")
    text = config.read_bytes()
    assert text.startswith(USER_CONFIG + b"\n\n" + BEGIN.encode() + b"\n")
    assert text.endswith(END.encode() + b"\n")
    assert f"Host web-1 {WEB1}\n".encode() in text
    assert config.stat().st_mode & 0o777 == 0o640

    # Lines added after the block by hand stay too; the block itself is replaced in place.
    config.write_bytes(
        text.replace(b"    HostName " + WEB1.encode(), b"    HostName edited") + b"Host later\n"
    )
    second = run_ssmux("ssh-config", "--write", "--file", str(config))
    assert second.returncode == 0
    assert config.read_bytes() == text + b"Host later\n"


def test_printed_entries_match_the_written_block(synced: RunningEmulator, tmp_path: Path) -> None:
    """Without --write the same block goes to stdout; stopped and unnamed instances are listed by id."""
    printed = run_ssmux("ssh-config")
    assert printed.returncode == 0
    assert run_ssmux("ssh-config", "--write", "--file", str(tmp_path / "new" / "config")).returncode == 0
    assert (tmp_path / "new" / "config").read_bytes() == printed.stdout
    assert (tmp_path / "new" / "config").stat().st_mode & 0o777 == 0o600
    hosts = [line for line in printed.stdout.decode().splitlines() if line.startswith("Host ")]
    assert f"Host worker-1 {demo_instance('worker-1')}" in hosts
    assert all(line.count(" i-") == 1 for line in hosts)


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs OpenSSH's client (apt install openssh-client)")
def test_plain_ssh_reaches_a_target_by_name(synced: RunningEmulator, tmp_path: Path) -> None:
    """`ssh -F CONFIG web-1 'echo ok'` with the written entries: no ssmux on the command line at all."""
    config = tmp_path / "config"
    assert run_ssmux("ssh-config", "--write", "--file", str(config)).returncode == 0
    public = make_key(tmp_path / "id_ed25519")
    import subprocess

    with run_sshd(authorized=(public,)) as sshd:
        known = tmp_path / "known_hosts"
        known.write_text(f"{WEB1} {sshd.host_key}\n")
        result = subprocess.run(
            ["ssh", "-F", str(config), "-p", str(sshd.port), "-i", str(tmp_path / "id_ed25519"),
             "-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
             "tester@web-1", "echo ok"],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
    assert (result.returncode, result.stdout) == (0, b"ok\n"), result.stderr


def test_host_names_are_safe_for_ssh_patterns() -> None:
    """Pattern characters, spaces and capitals become what ssh matches literally."""
    assert host_name("Web *prod*, EU!") == "web-prod-eu"
    assert host_name("db_1.internal") == "db_1.internal"
    assert host_name("-x-") == "x"
    assert host_name("日本") == ""


def test_broken_block_is_refused_and_the_file_kept(synced: RunningEmulator, tmp_path: Path) -> None:
    """A file with only the first marker: one line saying what to fix, exit 1, the file unchanged."""
    config = tmp_path / "config"
    config.write_bytes(USER_CONFIG + b"\n" + BEGIN.encode() + b"\nHost x\n")
    before = config.read_bytes()
    result = run_ssmux("ssh-config", "--write", "--file", str(config))
    assert result.returncode == 1
    assert result.stderr.decode().startswith(f"ssmux: error: {config} holds a broken ssmux block")
    assert config.read_bytes() == before
