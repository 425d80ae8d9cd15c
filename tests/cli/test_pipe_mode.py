"""Pipe mode: `... | ssmux connect TARGET` gives the commands' output alone, and their exit status.

Issue 11, item 14. End to end against the demo emulator, with stdin and stdout pipes as a script has them.
"""

from __future__ import annotations

import pytest

from tests.sessions.conftest import demo_instance, run_ssmux
from tests.support.emulator import RunningEmulator

pytestmark = pytest.mark.e2e

WEB1 = demo_instance("web-1")


def test_piped_commands_give_exactly_their_output(demo_env: RunningEmulator) -> None:
    """No prompt, no echo of the commands, no escape sequence, no line of ssmux's own: just the output."""
    result = run_ssmux("connect", WEB1, "--aws-profile", "dev", input=b"echo hi\nuname\n")
    # WEB1 is given by id, with no sync: a session that works says nothing about the synced pairs.
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b"hi\nLinux\n"
    assert result.stderr == b""


def test_piped_script_keeps_stderr_apart_and_its_exit_status(demo_env: RunningEmulator) -> None:
    """The script's stderr goes to stderr, and the command exits with the script's status."""
    script = b"echo out\necho err >&2\nexit 3\n"
    result = run_ssmux("connect", WEB1, "--aws-profile", "dev", input=script)
    assert (result.returncode, result.stdout, result.stderr) == (3, b"out\n", b"err\n")


def test_windows_instance_keeps_typed_input(demo_env: RunningEmulator) -> None:
    """A synced Windows instance has no sh for a command session: its piped input is typed into its shell."""
    from click.testing import CliRunner

    from ssmux.cli.main import cli

    runner = CliRunner()
    for args in (["pair", "add", "prod/us-east-1"], ["sync", "--pair", "prod/us-east-1"]):
        assert runner.invoke(cli, args).exit_code == 0, args
    result = run_ssmux("connect", "win-ad", input=b"hostname\n")
    assert result.returncode == 0, result.stderr.decode()
    assert b"PS C:\\Users" in result.stdout  # the shell's prompt: typed input, not a command session
    assert b"Starting session with SessionId" in result.stderr
