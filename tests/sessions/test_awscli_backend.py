"""The aws-cli backend runs ``aws ssm start-session`` as an argv list: checked with a recording stand-in."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ssmux.sessions.awscli import awscli_argv, run_awscli
from ssmux.sessions.backends import SessionRequest

from .recorder import calls, make_recorder

NASTY = "prod;$(touch /tmp/pwned) `id` & 'q' \"dq\" |x"


def test_minimal_command() -> None:
    """Only the target: no profile or region flags, the aws CLI decides as it would for a user."""
    assert awscli_argv("aws", SessionRequest("i-0123456789abcdef0")) == [
        "aws",
        "ssm",
        "start-session",
        "--target",
        "i-0123456789abcdef0",
    ]


def test_every_option_is_one_argument_with_shell_metacharacters_verbatim(tmp_path: Path) -> None:
    """Profile, region, document, parameters and reason reach aws verbatim, each as its own argument."""
    aws = make_recorder(tmp_path / "bin", "aws")
    plugin = make_recorder(tmp_path / "plugin-dir", "session-manager-plugin")
    request = SessionRequest(
        "i-0123456789abcdef0",
        aws_profile=NASTY,
        region="eu-central-1",
        document_name="AWS-StartInteractiveCommand",
        parameters={"command": ["echo $HOME; rm -rf / `x`", "second"]},
        reason="because; $(reboot)",
    )
    status = run_awscli(str(aws), request, str(plugin))
    assert status == 0
    (call,) = calls(aws)
    assert call["argv"][1:] == [
        "ssm",
        "start-session",
        "--target",
        "i-0123456789abcdef0",
        "--profile",
        NASTY,
        "--region",
        "eu-central-1",
        "--document-name",
        "AWS-StartInteractiveCommand",
        "--parameters",
        json.dumps({"command": ["echo $HOME; rm -rf / `x`", "second"]}),
        "--reason",
        "because; $(reboot)",
    ]
    assert json.loads(call["argv"][-3]) == {"command": ["echo $HOME; rm -rf / `x`", "second"]}
    # The aws CLI looks the plugin up on PATH: the configured plugin's folder comes first.
    assert call["env"]["PATH"].split(os.pathsep)[0] == str(plugin.parent)
    assert not Path("/tmp/pwned").exists()


def test_exit_status_of_the_aws_cli_is_returned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever status aws exits with is what the backend reports."""
    aws = make_recorder(tmp_path / "bin", "aws")
    monkeypatch.setenv("RECORDER_STATUS", "255")
    assert run_awscli(str(aws), SessionRequest("i-0123456789abcdef0")) == 255
