"""TARGET by synced name: the picker on a terminal, the candidates listed elsewhere, warnings first."""

from __future__ import annotations

from typing import Any

import pexpect
import pytest

from tests.support.emulator import RunningEmulator

from .conftest import demo_instance, run_ssmux

pytestmark = pytest.mark.e2e


@pytest.fixture
def synced(demo_env: RunningEmulator) -> RunningEmulator:
    """The demo fleet synced into this test's cache (dev/eu-central-1, dev/eu-west-1, prod/us-east-1)."""
    from click.testing import CliRunner

    from ssmux.cli.main import cli

    runner = CliRunner()
    for args in (
        ["pair", "add", "dev", "eu-central-1"],
        ["pair", "add", "dev", "eu-west-1"],
        ["pair", "add", "prod", "us-east-1"],
        ["settings", "set", "sync_enabled", "true"],
        ["sync"],
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, (args, result.output)
    return demo_env


def test_picker_chooses_among_same_named_instances(synced: RunningEmulator, spawn: Any) -> None:
    """Two instances are called web-1: the picker lists both; typing filters, Enter connects to the choice."""
    child = spawn("connect", "web-1")
    child.expect(r"Choose a target \(2/2\) >")
    child.expect("prod/us-east-1")
    child.send("prod")
    child.expect(r"\(1/2\) > prod")
    child.send("\r")
    child.expect("This session is encrypted using AWS KMS.")  # prod's KMS: the prod instance was chosen
    child.expect(r"web-1:~\$ ")
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_picker_arrows_and_escape(synced: RunningEmulator, spawn: Any) -> None:
    """Arrow keys move; Esc cancels with status 130 and no session."""
    child = spawn("connect", "web-1")
    child.expect(r"Choose a target \(2/2\) >")
    child.send("\x1b[B")
    child.send("\x1b")
    child.expect("no target chosen")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130


def test_ambiguous_name_without_terminal_lists_the_candidates(synced: RunningEmulator) -> None:
    """With no terminal to ask on, an ambiguous name fails with both candidates named."""
    result = run_ssmux("connect", "web-1", "--backend", "native", input=b"")
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert "'web-1' matches 2 targets" in stderr
    assert demo_instance("web-1") in stderr and demo_instance("web-1", "prod") in stderr


def test_synced_name_connects_with_its_pair(synced: RunningEmulator) -> None:
    """A unique Name tag connects with its pair's profile and region, no options needed."""
    result = run_ssmux("connect", "bastion", "--backend", "native", input=b"echo at-$((10+1))\n")
    assert result.returncode == 0, result.stderr.decode()
    assert b"at-11" in result.stdout


def test_unmanaged_instance_is_named_before_trying(synced: RunningEmulator) -> None:
    """The sync knows legacy-app has no SSM agent: that is said first, then the attempt fails clearly."""
    result = run_ssmux("connect", "legacy-app", "--backend", "native")
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 1
    assert lines[0].startswith("ssmux: warning: legacy-app") and "not managed by SSM" in lines[0]
    assert lines[1].startswith("ssmux: error: ") and "not connected to Session Manager" in lines[1]
