"""The user-facing error tree.

Every error a user can cause or meet derives from :class:`SsmuxError`. Its message is one line that names
the thing and says what to do (``profile 'prod' not found: see 'ssmux profile ls'``); the CLI prints it as
``ssmux: error: <message>`` and exits with :attr:`SsmuxError.exit_status`. Anything that is not an
``SsmuxError`` is a bug and is shown with a traceback under ``--debug`` only.

::

    SsmuxError
    ├── InvalidValue          a value fails validation (instance id, region, name, ...)
    ├── NotFound              a profile, group, pair or target does not exist
    ├── AlreadyExists         a unique name is taken
    ├── StoreError            a file of ours cannot be read, parsed or written
    ├── AwsError              an AWS call failed; carries the AWS error code
    ├── BackendUnavailable    an executable a backend needs is missing
    └── SessionError          a session could not start or ended abnormally
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """Process exit statuses of the ``ssmux`` command."""

    OK = 0
    ERROR = 1
    USAGE = 2
    INTERRUPTED = 130


class SsmuxError(Exception):
    """Base of every error meant for the user; ``str(error)`` is the one-line message."""

    exit_status: ExitStatus = ExitStatus.ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidValue(SsmuxError):
    """A value given by the user (or found in a file) fails validation."""


class NotFound(SsmuxError):
    """A named thing (profile, group, pair, target) does not exist."""


class AlreadyExists(SsmuxError):
    """A unique name is already taken."""


class StoreError(SsmuxError):
    """One of ssmux's files cannot be read, parsed, validated or written."""


class AwsError(SsmuxError):
    """An AWS call failed; ``code`` is the AWS error code (``AccessDeniedException``) or a tag of ours."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class BackendUnavailable(SsmuxError):
    """A session backend cannot run here (an executable is missing or too old)."""


class SessionError(SsmuxError):
    """A session could not be started, or ended abnormally."""
