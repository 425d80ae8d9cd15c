"""What each command asks StartSession for: documents and parameters, and the CLI's option parsing."""

from __future__ import annotations

import click
import pytest

from ssmux.cli.connect import parse_parameters
from ssmux.cli.forward import parse_ports
from ssmux.sessions.runner import Kind, build_request

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
    """exec runs its command line through AWS-StartNonInteractiveCommand."""
    request = build_request(Kind.EXEC, ID, None, None, command="df -h /")
    assert request.start_session_params() == {
        "Target": ID,
        "DocumentName": "AWS-StartNonInteractiveCommand",
        "Parameters": {"command": ["df -h /"]},
    }


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
