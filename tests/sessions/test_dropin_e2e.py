"""The drop-in plugin: the installed aws CLI runs ssmux's launcher as ``session-manager-plugin``.

Needs the ``aws`` CLI on PATH (``pip install awscli`` gives v1); without it these tests are skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest

from ssmux.sessions import PLUGIN_VERSION
from ssmux.sessions.shim import INSTALLED_MESSAGE, install_shim
from tests.support.emulator import RunningEmulator

from .conftest import demo_instance

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("aws") is None, reason="the aws CLI is not installed (pip install awscli)"
    ),
]

WEB1 = demo_instance("web-1")
PROMPT = r"web-1:~\$ "


@pytest.fixture
def shim_env(demo_env: RunningEmulator, tmp_path: Path) -> dict[str, str]:
    """The environment of a user who ran ``ssmux install-plugin-shim DIR``, DIR on PATH, no AWS plugin."""
    folder = tmp_path / "shim-bin"
    install_shim(folder)
    path = os.pathsep.join(
        [str(folder)]
        + [
            entry
            for entry in os.environ.get("PATH", "").split(os.pathsep)
            if entry and not _has_real_plugin(entry)
        ]
    )
    return {**os.environ, "PATH": path, "TERM": "xterm"}


def _has_real_plugin(folder: str) -> bool:
    return (Path(folder) / "session-manager-plugin").exists()


def test_launcher_answers_like_the_plugin(shim_env: dict[str, str]) -> None:
    """``session-manager-plugin`` from PATH prints the plugin's messages: installed, and its version."""
    plain = subprocess.run(
        ["session-manager-plugin"], env=shim_env, capture_output=True, text=True, timeout=60
    )
    version = subprocess.run(
        ["session-manager-plugin", "--version"], env=shim_env, capture_output=True, text=True, timeout=60
    )
    assert plain.stdout == INSTALLED_MESSAGE
    assert version.stdout == PLUGIN_VERSION + "\n"


def test_aws_ssm_start_session_opens_a_shell_through_the_shim(shim_env: dict[str, str]) -> None:
    """``aws ssm start-session`` with only the shim installed opens a shell on the emulator."""
    child = pexpect.spawn("aws", ["ssm", "start-session", "--target", WEB1, "--profile", "dev"], env=shim_env,
                          timeout=60, dimensions=(30, 90))  # fmt: skip
    try:
        child.expect("Starting session with SessionId: ")
        child.expect(PROMPT)
        child.sendline("echo via-aws-$((5*5)); stty size")
        child.expect("via-aws-25")
        child.expect("30 90")
        child.sendline("exit")
        child.expect(r"Exiting session with sessionId: \S+\.")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
    finally:
        child.close(force=True)


def test_aws_cli_kms_session_through_the_shim(shim_env: dict[str, str]) -> None:
    """The profile the aws CLI passes reaches the drop-in, which uses it for the KMS data key."""
    target = demo_instance("web-1", "prod")
    argv = ["ssm", "start-session", "--target", target, "--profile", "prod"]
    child = pexpect.spawn("aws", argv, env=shim_env, timeout=60)
    try:
        child.expect("This session is encrypted using AWS KMS.")
        child.expect(PROMPT)
        child.sendline("echo kms-$((7*6))")
        child.expect("kms-42")
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


def test_aws_cli_pipe_mode_through_the_shim(shim_env: dict[str, str]) -> None:
    """Piped into ``aws ssm start-session``, commands run and their output comes out on stdout."""
    result = subprocess.run(
        ["aws", "ssm", "start-session", "--target", WEB1, "--profile", "dev"],
        input=b"echo piped-through-aws\n", env=shim_env, capture_output=True, timeout=90, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert b"piped-through-aws" in result.stdout


def test_ssmux_aws_cli_backend_end_to_end(shim_env: dict[str, str], spawn: Any) -> None:
    """``ssmux connect --backend aws-cli`` -> aws CLI -> the shim -> the emulator's shell."""
    child = spawn("connect", WEB1, "--aws-profile", "dev", "--backend", "aws-cli", env=shim_env)
    child.expect(PROMPT)
    child.sendline("echo chain-$((1+1))")
    child.expect("chain-2")
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_ssmux_plugin_backend_with_the_shim_as_plugin(shim_env: dict[str, str], spawn: Any) -> None:
    """``--backend plugin`` with the shim as the plugin: the argv contract read by our own drop-in."""
    child = spawn("connect", WEB1, "--aws-profile", "dev", "--backend", "plugin", env=shim_env)
    child.expect(PROMPT)
    child.sendline("echo plugin-$((2+2))")
    child.expect("plugin-4")
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_install_plugin_shim_command(tmp_path: Path) -> None:
    """``ssmux install-plugin-shim DIR`` writes the launcher and says where; a DIR off PATH gets a note."""
    result = subprocess.run([sys.executable, "-m", "ssmux", "install-plugin-shim", str(tmp_path / "b")],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Installed {tmp_path / 'b' / 'session-manager-plugin'}\n"
    assert "is not on PATH" in result.stderr
