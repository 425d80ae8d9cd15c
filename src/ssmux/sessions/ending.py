"""How a session ended: the typed result every session backend and frontend hands on.

Kept apart from :mod:`ssmux.sessions.native` so that the CLI and the app can name the reasons without
importing the data channel client.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ssmux.errors import SsmuxError


class EndReason(StrEnum):
    """Why a session ended."""

    #: The service sent channel_closed (the shell exited, the command finished, TerminateSession elsewhere).
    CLOSED = "closed"
    #: ResumeSession gave no token: the session timed out or ended while the connection was down.
    TIMED_OUT = "timed_out"
    #: Ended here: TerminateSession, or the TerminateSession flag of a port session.
    TERMINATED = "terminated"
    #: Something went wrong; :attr:`SessionEnd.error` says what.
    ERROR = "error"


@dataclass(frozen=True)
class SessionEnd:
    """How a session ended.

    Attributes:
        reason: why it ended.
        message: the channel_closed Output text, or what went wrong.
        error: the error to report for :attr:`EndReason.ERROR`.
        exit_code: the remote shell's or command's exit code (or the plugin's, in a pty), when reported.
    """

    reason: EndReason
    message: str = ""
    error: SsmuxError | None = None
    exit_code: int | None = None

    @property
    def failed(self) -> bool:
        """True for an error, a timeout, or a non-zero exit code."""
        if self.reason in (EndReason.ERROR, EndReason.TIMED_OUT):
            return True
        return self.reason is EndReason.CLOSED and self.exit_code not in (None, 0)
