"""What each command asks StartSession for: documents and parameters, and the CLI's option parsing."""

from __future__ import annotations

import shlex

import click
import pytest

from ssmux.cli.connect import parse_parameters
from ssmux.cli.forward import parse_ports
from ssmux.emulator.agents.goshlex import split
from ssmux.errors import AwsError
from ssmux.sessions.remote_exec import WRAPPER, ExitMarker
from ssmux.sessions.runner import Kind, build_request, merged_exec_request

ID = "i-0123456789abcdef0"


def test_shell_request_carries_the_given_document_and_parameters() -> None:
    """connect passes --document and --parameter through as they were given."""
    request = build_request(
        Kind.SHELL, ID, "dev", "eu-west-1", document="My-Doc", parameters={"a": ["1", "2"]}
    )
    assert request.start_session_params() == {
        "Target": ID,
        "DocumentName": "My-Doc",
        "Parameters": {"a": ["1", "2"]},
    }
    assert (request.aws_profile, request.region) == ("dev", "eu-west-1")


def test_exec_request_uses_the_non_interactive_document() -> None:
    """exec asks AWS-StartNonInteractiveCommand (or --document) for `sh -c <line>`, as the agent runs no
    shell itself, with separateOutputStream."""
    request = build_request(Kind.EXEC, ID, None, None, command="df -h /; uptime")
    assert request.start_session_params() == {
        "Target": ID,
        "DocumentName": "AWS-StartNonInteractiveCommand",
        "Parameters": {"command": ["sh -c 'df -h /; uptime'"], "separateOutputStream": ["true"]},
    }
    assert split(request.parameters["command"][0]) == [
        "sh",
        "-c",
        "df -h /; uptime",
    ]  # as the agent splits it
    mine = build_request(Kind.EXEC, ID, None, None, command="id", document="Team-Exec")
    assert mine.start_session_params()["DocumentName"] == "Team-Exec"


def test_exec_falls_back_to_merged_output_with_a_marker_on_invalid_parameters() -> None:
    """Only InvalidParameters to a request that asked for separateOutputStream is asked again: without it,
    the line wrapped to print the exit-status marker."""
    line = "echo 'hi'; exit 3"
    request = build_request(Kind.EXEC, ID, None, None, command=line)
    retry = merged_exec_request(request, AwsError("refused", "InvalidParameters"), line, "ssmux-exit-T=")
    assert retry is not None
    assert set(retry.parameters) == {"command"}
    assert split(retry.parameters["command"][0]) == ["sh", "-c", WRAPPER, "sh", line, "ssmux-exit-T="]
    plain = merged_exec_request(request, AwsError("refused", "InvalidParameters"), line)
    assert plain is not None and plain.parameters == {"command": [shlex.join(["sh", "-c", line])]}
    assert merged_exec_request(request, AwsError("no", "AccessDeniedException"), line, "t") is None
    assert merged_exec_request(retry, AwsError("refused", "InvalidParameters"), line, "t") is None


def test_exit_marker_is_removed_and_read_however_the_output_is_cut() -> None:
    """The marker never reaches stdout, whatever the chunks; output that only looks like it passes whole."""
    token = "ssmux-exit-0123abcd="
    stream = b"line\nssmux-exit-0123 is not it\nno newline" + token.encode() + b"42\n"
    for size in (1, 2, 7, 64, len(stream)):
        marker = ExitMarker(token)
        out = b"".join(marker.feed(stream[i : i + size]) for i in range(0, len(stream), size))
        out += marker.finish()
        assert out == b"line\nssmux-exit-0123 is not it\nno newline"
        assert marker.code == 42
    plain = ExitMarker(token)
    assert plain.feed(b"just output\n") == b"just output\n"  # nothing held back at a line end
    assert plain.feed(b"ends with ssmux-ex") == b"ends with "
    assert plain.finish() == b"ssmux-ex"
    assert plain.code is None


def test_forward_requests() -> None:
    """forward asks for port forwarding, to the instance or through it to --host."""
    plain = build_request(Kind.FORWARD, ID, None, None, local_port=0, remote_port=80)
    assert plain.start_session_params()["DocumentName"] == "AWS-StartPortForwardingSession"
    assert plain.start_session_params()["Parameters"] == {"portNumber": ["80"], "localPortNumber": ["0"]}
    remote = build_request(
        Kind.FORWARD, ID, None, None, local_port=15432, remote_port=5432, remote_host="db.internal"
    )
    assert remote.start_session_params()["DocumentName"] == "AWS-StartPortForwardingSessionToRemoteHost"
    assert remote.start_session_params()["Parameters"] == {
        "portNumber": ["5432"],
        "localPortNumber": ["15432"],
        "host": ["db.internal"],
    }


def test_parameters_parse_key_value_and_repeat() -> None:
    """--parameter K=V splits at the first '=', a repeated key keeps every value in order."""
    assert parse_parameters(("command=a=b; c", "x=", "command=second")) == {
        "command": ["a=b; c", "second"],
        "x": [""],
    }
    with pytest.raises(click.BadParameter, match="is not KEY=VALUE"):
        parse_parameters(("novalue",))


def test_ports_parse() -> None:
    """LOCAL:REMOTE, or one port for both; out-of-range ports are refused."""
    assert parse_ports("8080:80") == (8080, 80)
    assert parse_ports("5432") == (5432, 5432)
    assert parse_ports("0:22") == (0, 22)
    for bad in ("80:0", "70000:80", "a:b", "80:"):
        with pytest.raises(click.BadParameter):
            parse_ports(bad)
