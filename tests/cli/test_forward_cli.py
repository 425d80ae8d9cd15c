"""`ssmux forward` to a local port that is taken fails before any session starts (issue 11, item 4)."""

from __future__ import annotations

import socket

import pytest

from tests.sessions.conftest import demo_instance, run_ssmux
from tests.support.emulator import RunningEmulator

pytestmark = pytest.mark.e2e

WEB1 = demo_instance("web-1")


def session_ids(emulator: RunningEmulator) -> set[str]:
    """Every session the dev account's eu-central-1 has seen, active or ended (DescribeSessions)."""
    ssm = emulator.client("ssm", "dev", "eu-central-1")
    return {
        session["SessionId"]
        for state in ("Active", "History")
        for session in ssm.describe_sessions(State=state)["Sessions"]
    }


def test_taken_local_port_fails_on_stderr_before_a_session(demo_env: RunningEmulator) -> None:
    """A port another socket listens on: one line on stderr naming it and the fix, exit 1, no session."""
    before = session_ids(demo_env)
    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
        result = run_ssmux("forward", WEB1, "--aws-profile", "dev", f"{port}:80")
    assert result.returncode == 1
    assert result.stdout == b""
    assert result.stderr.decode() == (
        f"ssmux: error: cannot listen on 127.0.0.1:{port}: address already in use: choose another local "
        "port (0: any free port)\n"
    )
    assert session_ids(demo_env) == before


def test_unknown_instance_id_error_names_the_pairs_and_what_was_tried(demo_env: RunningEmulator) -> None:
    """An id in no synced pair whose session fails: the AWS error, then the profile and region it tried."""
    result = run_ssmux("forward", WEB1, "--aws-profile", "prod", "--region", "us-east-1", "0:80")
    assert result.returncode == 1
    line = result.stderr.decode()
    assert line.startswith("ssmux: error: ") and line.count("\n") == 1
    assert line.endswith(
        f"({WEB1} is not in any synced pair: it was tried with AWS profile 'prod' in us-east-1)\n"
    )
