"""What a tab says about how its session ended."""

from __future__ import annotations

import pytest

from ssmux.gui.session_manager import describe_end
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
