"""What a tab says about how its session ended, and the error card of one that failed."""

from __future__ import annotations

import pytest

from ssmux.errors import AwsError, BackendUnavailable, NotFound, SessionError, SsmuxError
from ssmux.gui.session_manager import SessionTarget, describe_end
from ssmux.gui.session_problem import Fix, problem_of
from ssmux.sessions.ending import EndReason, SessionEnd


@pytest.mark.parametrize(
    ("end", "text"),
    [
        (SessionEnd(EndReason.CLOSED), "session ended"),
        (SessionEnd(EndReason.CLOSED, exit_code=2), "session ended (exit code 2)"),
        (SessionEnd(EndReason.CLOSED, " bye \n", exit_code=0), "session ended (exit code 0): bye"),
        (SessionEnd(EndReason.TIMED_OUT), "session timed out"),
        (SessionEnd(EndReason.TERMINATED), "session terminated"),
        (SessionEnd(EndReason.ERROR, "TargetNotConnected"), "TargetNotConnected"),
        (SessionEnd(EndReason.ERROR), "session failed"),
    ],
)
def test_the_tab_names_how_the_session_ended(end: SessionEnd, text: str) -> None:
    """Every end reason has its line; an exit code and the service's message are shown when there are."""
    assert describe_end(end) == text


TARGET = SessionTarget(
    title="web-2", instance_id="i-0123456789abcdef0", aws_profile="prod", region="us-east-1"
)


def failed(error: SsmuxError) -> SessionEnd:
    return SessionEnd(EndReason.ERROR, str(error), error)


@pytest.mark.parametrize(
    ("end", "fix", "title"),
    [
        (
            failed(
                AwsError("i-0123456789abcdef0 is not connected ...: check 'ssmux ls'", "TargetNotConnected")
            ),
            Fix.SYNC,
            "web-2 is not connected to Session Manager",
        ),
        (
            failed(AwsError("not an instance SSM knows", "InvalidInstanceId")),
            Fix.SYNC,
            "web-2 is not an instance Session Manager knows in prod/us-east-1",
        ),
        (failed(NotFound("no target named 'web-2'")), Fix.SYNC, "web-2 was not found in prod/us-east-1"),
        (
            failed(BackendUnavailable("session-manager-plugin not found on PATH: install the AWS plugin")),
            Fix.SETTINGS,
            "The session program is not available",
        ),
        (
            failed(AwsError("unknown AWS CLI profile 'prod': see ssmux aws-profiles", "ProfileNotFound")),
            Fix.SETTINGS,
            "The AWS profile or region of web-2 does not work",
        ),
        (
            failed(
                SessionError(
                    "session s-1 ended: the other side stopped acknowledging data; it was terminated"
                )
            ),
            Fix.RECONNECT,
            "The session to web-2 failed",
        ),
        (
            SessionEnd(EndReason.TIMED_OUT, "Session: s-1 timed out."),
            Fix.RECONNECT,
            "The session to web-2 timed out",
        ),
        (
            failed(
                AwsError("prod: the endpoint cannot be reached: check the network", "EndpointUnreachable")
            ),
            Fix.RECONNECT,
            "AWS could not be reached",
        ),
    ],
)
def test_a_failed_session_names_its_cause_and_fix(end: SessionEnd, fix: Fix, title: str) -> None:
    """Each cause has its own title and the button that helps; no text tells an app user to run ssmux."""
    problem = problem_of(end, TARGET)
    assert problem is not None
    assert (problem.fix, problem.title) == (fix, title)
    assert "ssmux " not in problem.detail and "--backend" not in problem.detail


def test_the_advice_for_the_cli_is_left_out() -> None:
    """The cause is kept, the CLI's advice (settings commands, --backend) is not."""
    error = BackendUnavailable(
        "setting plugin_path is '/nope', which is not an executable file: fix it with "
        "'ssmux settings set plugin_path PATH' (or '' to search PATH)"
    )
    problem = problem_of(failed(error), TARGET)
    assert problem is not None
    assert problem.detail.startswith("Setting plugin_path is '/nope', which is not an executable file. ")


@pytest.mark.parametrize(
    "end",
    [
        None,
        SessionEnd(EndReason.CLOSED),
        SessionEnd(EndReason.CLOSED, exit_code=0),
        SessionEnd(EndReason.TERMINATED),
    ],
)
def test_a_normal_end_is_no_problem(end: SessionEnd | None) -> None:
    """Sessions that ended normally get no error card."""
    assert problem_of(end, TARGET) is None
