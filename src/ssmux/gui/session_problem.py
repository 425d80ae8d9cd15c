"""What a failed session tab says, and which button fixes it: the typed session end read for an app user.

The sessions layer ends every session with a :class:`~ssmux.sessions.ending.SessionEnd` that carries the
error it ran into (an :class:`~ssmux.errors.AwsError` with its code, a missing backend, a dropped data
channel). Its messages are written for the CLI and name ``ssmux`` commands; a tab instead says what happened
in the app's words and offers the one action that helps here: sync the pair (the target is offline or gone,
so the panel should show its real state), reconnect (the connection dropped or timed out), or open the
settings (the backend or the AWS profile is misconfigured).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from ssmux.errors import AwsError, BackendUnavailable, ErrorCode, NotFound, SessionError
from ssmux.sessions.ending import EndReason, SessionEnd

if TYPE_CHECKING:
    from ssmux.gui.session_manager import SessionTarget


class Fix(StrEnum):
    """The action a failed tab offers (the button's text is its value, capitalized)."""

    SYNC = "sync"
    RECONNECT = "reconnect"
    SETTINGS = "settings"

    @property
    def label(self) -> str:
        return self.value.capitalize()


@dataclass(frozen=True)
class Problem:
    """One failed session, as its tab's error card shows it.

    Attributes:
        title: What happened, in one short sentence.
        detail: Why, and what the button will do.
        fix: The button.
        code: The AWS or ssmux error code behind it (shown small), or ``""``.
    """

    title: str
    detail: str
    fix: Fix
    code: str = ""


# AWS error codes that mean the target is not there to talk to: a sync shows its real state.
_TARGET_GONE = frozenset({"TargetNotConnected", "InvalidInstanceId", "InvalidTarget"})
# Codes a setting fixes: the AWS profile or region the target uses.
_SETTINGS = frozenset(
    {
        ErrorCode.PROFILE_NOT_FOUND,
        ErrorCode.NO_CREDENTIALS,
        ErrorCode.PARTIAL_CREDENTIALS,
        ErrorCode.INVALID_CONFIG,
        ErrorCode.NO_REGION,
        ErrorCode.INVALID_REGION,
    }
)
# Codes of a sign-in that ran out: sign in again, then reconnect.
_SIGN_IN = frozenset({ErrorCode.SSO_TOKEN_EXPIRED, ErrorCode.LOGIN_EXPIRED, ErrorCode.MFA_REQUIRED})
# The network between here and AWS.
_NETWORK = frozenset({ErrorCode.TIMEOUT, ErrorCode.ENDPOINT_UNREACHABLE, ErrorCode.SSL_ERROR})


def pair_text(target: SessionTarget) -> str:
    """``profile/region`` of a target, with the defaults named."""
    return f"{target.aws_profile or 'default profile'}/{target.region or 'default region'}"


def problem_of(end: SessionEnd | None, target: SessionTarget) -> Problem | None:
    """The error card for a session that ended with ``end`` (``None``: it did not fail)."""
    if end is None or not end.failed:
        return None
    name, pair = target.title, pair_text(target)
    error = end.error
    if isinstance(error, BackendUnavailable):
        return Problem(
            "The session program is not available",
            f"{_cause(error)}. Choose the native backend, or set the program's path, in Settings.",
            Fix.SETTINGS,
        )
    if isinstance(error, AwsError):
        return _aws_problem(error, name, pair)
    if isinstance(error, NotFound):
        return Problem(
            f"{name} was not found in {pair}",
            "Sync the pair to refresh its list of instances.",
            Fix.SYNC,
        )
    if end.reason is EndReason.TIMED_OUT:
        return Problem(
            f"The session to {name} timed out",
            "The connection was down longer than Session Manager keeps a session. "
            "Reconnect to start a new one.",
            Fix.RECONNECT,
        )
    if end.reason is EndReason.CLOSED:
        return Problem(
            f"The session to {name} ended with exit code {end.exit_code}",
            "Reconnect to start a new session.",
            Fix.RECONNECT,
        )
    # A dropped or refused data channel (SessionError), or anything else that went wrong.
    cause = _cause(error) if error is not None else _cause(SessionError(end.message or "no reason given"))
    return Problem(
        f"The session to {name} failed", f"{cause}. Reconnect to start a new session.", Fix.RECONNECT
    )


def _aws_problem(error: AwsError, name: str, pair: str) -> Problem:
    code = error.code
    if code == "TargetNotConnected":
        return Problem(
            f"{name} is not connected to Session Manager",
            f"Its SSM agent is offline, the instance is stopped, or it is not managed by SSM ({pair}). "
            "Sync to see its current state.",
            Fix.SYNC,
            code,
        )
    if code in _TARGET_GONE:
        return Problem(
            f"{name} is not an instance Session Manager knows in {pair}",
            "It may have been terminated, or it belongs to another account or region. "
            "Sync to refresh the list.",
            Fix.SYNC,
            code,
        )
    if code in _SETTINGS:
        return Problem(
            f"The AWS profile or region of {name} does not work",
            f"{_cause(error)}. Check the AWS profile and region in Settings.",
            Fix.SETTINGS,
            code,
        )
    if code in _SIGN_IN:
        return Problem(
            f"The AWS sign-in for {pair} has expired",
            f"{_cause(error)}. Sign in again, then reconnect.",
            Fix.RECONNECT,
            code,
        )
    if code in _NETWORK:
        return Problem(
            "AWS could not be reached",
            f"{_cause(error)}. Check the network, then reconnect.",
            Fix.RECONNECT,
            code,
        )
    return Problem(f"AWS refused the session to {name}", f"{_cause(error)}.", Fix.RECONNECT, code)


def _cause(error: Exception) -> str:
    """An error message without the CLI's advice (``'ssmux settings set ...'``, ``--backend native``).

    ssmux's messages read ``what happened: what to do``; in the app the button is the what-to-do, so the
    message is cut before the first part that gives advice.
    """
    parts = str(error).strip().rstrip(".").split(": ")
    kept = next((parts[:index] for index in range(1, len(parts)) if _is_advice(parts[index])), parts)
    text = ": ".join(kept)
    return text[:1].upper() + text[1:]


def _is_advice(text: str) -> bool:
    words = text.lower().split()
    return bool(words) and (
        words[0] in {"check", "run", "fix", "use", "install", "set", "see", "configure", "choose"}
        or "ssmux " in text
        or "--" in text
    )
