"""The drop-in reads the plugin's argv contract as the plugin does, and installs a launcher that runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ssmux.errors import InvalidValue, SessionError
from ssmux.sessions import PLUGIN_VERSION
from ssmux.sessions.plugin import takes_env_var
from ssmux.sessions.shim import (
    INSTALLED_MESSAGE,
    PluginCall,
    Reply,
    install_shim,
    parse_plugin_args,
    shim_script,
)

RESPONSE = {
    "SessionId": "dev-0abc",
    "TokenValue": "tok",
    "StreamUrl": "ws://127.0.0.1:1/v1/data-channel/dev-0abc",
}
REQUEST = {"Target": "i-0123456789abcdef0", "DocumentName": "SSM-SessionManagerRunShell"}


def full_args(first: str) -> list[str]:
    return [first, "eu-central-1", "StartSession", "dev", json.dumps(REQUEST), "http://127.0.0.1:9/"]


def test_no_arguments_says_installed() -> None:
    """No arguments: the plugin's "installed successfully" message, no session."""
    assert parse_plugin_args([], {}) == Reply(INSTALLED_MESSAGE)


def test_version_is_one_the_aws_cli_passes_the_token_to_by_environment() -> None:
    """--version prints a version above 1.2.497.0, so the token never appears in a process list."""
    reply = parse_plugin_args(["--version"], {})
    assert reply == Reply(PLUGIN_VERSION + "\n")
    assert takes_env_var(PLUGIN_VERSION)


def test_two_arguments_are_an_unknown_operation() -> None:
    """Two or three arguments other than --version: "Unknown operation"."""
    reply = parse_plugin_args(["--help", "x"], {})
    assert isinstance(reply, Reply) and "Unknown operation --help" in reply.text


def test_response_in_argv() -> None:
    """The six-argument form with the JSON in argv: every field lands where the contract puts it."""
    call = parse_plugin_args(full_args(json.dumps(RESPONSE)), {})
    assert call == PluginCall(
        session_id="dev-0abc",
        token="tok",
        stream_url=RESPONSE["StreamUrl"],
        region="eu-central-1",
        operation="StartSession",
        aws_profile="dev",
        target="i-0123456789abcdef0",
        request=REQUEST,
        endpoint_url="http://127.0.0.1:9/",
    )


def test_response_in_environment_is_read_and_removed() -> None:
    """argv[1] naming AWS_SSM_START_SESSION_RESPONSE*: the JSON comes from that variable, which is removed."""
    environ = {"AWS_SSM_START_SESSION_RESPONSE": json.dumps(RESPONSE), "OTHER": "1"}
    call = parse_plugin_args(full_args("AWS_SSM_START_SESSION_RESPONSE"), environ)
    assert isinstance(call, PluginCall) and call.token == "tok"
    assert environ == {"OTHER": "1"}


def test_empty_profile_means_the_default_chain() -> None:
    """An empty profile argument (no --profile given to aws) means the SDK's default credentials."""
    args = full_args(json.dumps(RESPONSE))
    args[3] = ""
    call = parse_plugin_args(args, {})
    assert isinstance(call, PluginCall) and call.aws_profile is None


def test_legacy_four_argument_form_refuses_kms() -> None:
    """The old aws CLI form without profile: the session can run, marked so KMS is refused."""
    call = parse_plugin_args([json.dumps(RESPONSE), "us-east-1", "StartSession"], {})
    assert isinstance(call, PluginCall) and call.old_cli and call.target == ""


def test_other_operations_are_invalid() -> None:
    """Only StartSession is an operation."""
    reply = parse_plugin_args([json.dumps(RESPONSE), "us-east-1", "Bogus", "", "{}", ""], {})
    assert reply == Reply("Invalid Operation", 1)


def test_bad_response_is_one_clear_line() -> None:
    """A response that is not the StartSession JSON names the argument and the fix."""
    with pytest.raises(InvalidValue, match="argument 1 is not a StartSession response"):
        parse_plugin_args(full_args("{not json"), {})
    with pytest.raises(InvalidValue, match="environment variable AWS_SSM_START_SESSION_RESPONSE is not"):
        parse_plugin_args(full_args("AWS_SSM_START_SESSION_RESPONSE"), {})


def test_launcher_runs_ssmux_with_every_argument_verbatim(tmp_path: Path) -> None:
    """The installed launcher passes arguments with spaces, quotes and $ through unchanged."""
    # A stand-in "python" that prints its argv shows exactly what the launcher runs.
    fake_python = tmp_path / "py dir" / "it's $python"
    fake_python.parent.mkdir()
    fake_python.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    fake_python.chmod(0o755)
    shim = install_shim(tmp_path / "bin", str(fake_python), windows=False)
    assert shim.name == "session-manager-plugin" and os.access(shim, os.X_OK)
    args = ["a b", "'q'", '"dq"', "$(id)", "`x`", "; &"]
    output = subprocess.run([str(shim), *args], capture_output=True, text=True, check=True, timeout=30).stdout
    assert json.loads(output) == ["-m", "ssmux.cli.dropin", *args]
    # A single argument that is not --version goes to Python too (the plugin says "Unknown operation").
    output = subprocess.run([str(shim), "--help"], capture_output=True, text=True, check=True, timeout=30)
    assert json.loads(output.stdout) == ["-m", "ssmux.cli.dropin", "--help"]


def test_launcher_answers_version_and_no_arguments_without_python(tmp_path: Path) -> None:
    """--version and the bare call print exactly what the plugin prints, without starting Python."""
    never = tmp_path / "no-such-python"
    shim = install_shim(tmp_path / "bin", str(never), windows=False)
    version = subprocess.run([str(shim), "--version"], capture_output=True, timeout=30, check=True)
    assert version.stdout.decode() == PLUGIN_VERSION + "\n" and version.stderr == b""
    bare = subprocess.run([str(shim)], capture_output=True, timeout=30, check=True)
    assert bare.stdout.decode() == INSTALLED_MESSAGE and bare.stderr == b""


def test_windows_launcher_text() -> None:
    """On Windows the launcher is a .cmd passing %* to python -m ssmux.cli.dropin."""
    text = shim_script(r"C:\Program Files\Python\python.exe", windows=True)
    assert '"C:\\Program Files\\Python\\python.exe" -m ssmux.cli.dropin %*' in text


def test_install_into_unwritable_folder_is_one_line(tmp_path: Path) -> None:
    """A folder that cannot be written gives an error naming the file, and leaves nothing behind."""
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    with pytest.raises(SessionError, match=r"cannot write .*session-manager-plugin"):
        install_shim(blocked / "bin", sys.executable, windows=False)


ECS_SESSION = {
    "sessionId": "ecs-execute-command-0abc",
    "streamUrl": "wss://ssmmessages.eu-central-1.amazonaws.com/v1/data-channel/ecs-execute-command-0abc",
    "tokenValue": "ecs-tok",
}
ECS_TARGET = "ecs:demo_5f6c3f6fd1e14e0b8b2c4c3a1d2e3f40_5f6c3f6fd1e14e0b8b2c4c3a1d2e3f40-1234567890"
ECS_ENDPOINT = "https://ecs.eu-central-1.amazonaws.com"


def ecs_args(session: object) -> list[str]:
    """argv[1:] as aws-cli's ExecuteCommandCaller passes it (awscli/customizations/ecs/executecommand.py)."""
    return [json.dumps(session), "eu-central-1", "StartSession", "", json.dumps({"Target": ECS_TARGET}),
            ECS_ENDPOINT]  # fmt: skip


def test_ecs_execute_command_arguments() -> None:
    """aws ecs execute-command's call: lower-case session keys, the ecs: target and the ECS endpoint."""
    call = parse_plugin_args(ecs_args(ECS_SESSION), {})
    assert call == PluginCall(
        session_id="ecs-execute-command-0abc",
        token="ecs-tok",
        stream_url=ECS_SESSION["streamUrl"],
        region="eu-central-1",
        operation="StartSession",
        aws_profile=None,
        target=ECS_TARGET,
        request={"Target": ECS_TARGET},
        endpoint_url=ECS_ENDPOINT,
    )


def test_session_keys_match_without_regard_to_case_and_the_last_wins() -> None:
    """Keys match the fields as Go's json.Unmarshal matches them: any case, a later key over an earlier."""
    session = {"SESSIONID": "first", "sessionid": "last", "TokenValue": "t", "STREAMURL": "ws://h/x"}
    call = parse_plugin_args(ecs_args(session), {})
    assert isinstance(call, PluginCall)
    assert (call.session_id, call.token, call.stream_url) == ("last", "t", "ws://h/x")


@pytest.mark.parametrize(
    "session",
    [
        {"sessionId": "s", "streamUrl": "ws://h/x"},  # no token
        {"sessionId": "s", "streamUrl": "ws://h/x", "tokenValue": None},
        {"sessionId": 7, "streamUrl": "ws://h/x", "tokenValue": "t"},
        ["sessionId", "s"],
    ],
)
def test_incomplete_ecs_session_is_one_clear_line(session: object) -> None:
    """A session object without its three strings names argument 1 and both commands that make one."""
    with pytest.raises(InvalidValue, match=r"argument 1 is not a StartSession .*ecs execute-command"):
        parse_plugin_args(ecs_args(session), {})
