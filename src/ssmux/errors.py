"""The user-facing error tree.

Every error a user can cause or meet derives from :class:`SsmuxError`. Its message is one line that names
the thing and says what to do (``profile 'prod' not found: see 'ssmux profile ls'``); the CLI prints it as
``ssmux: error: <message>`` and exits with :attr:`SsmuxError.exit_status`. Anything that is not an
``SsmuxError`` is a bug and is shown with a traceback under ``--debug`` only.

::

    SsmuxError
    ├── InvalidValue          a value fails validation (instance id, region, name, ...)
    ├── NotFound              a profile, group, pair or target does not exist
    │   └── NoPairEnabled     a sync of the enabled pairs, but none is enabled
    ├── AlreadyExists         a unique name is taken
    ├── StoreError            a file of ours cannot be read, parsed or written
    ├── AwsError              an AWS call failed; carries the AWS error code (or an ErrorCode of ours)
    ├── BackendUnavailable    an executable a backend needs is missing
    ├── SyncDisabled          a sync of the enabled pairs, but sync is turned off in the settings
    └── SessionError          a session could not start or ended abnormally
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


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


class NoPairEnabled(NotFound):
    """A sync of the enabled pairs was asked for, but no sync pair is enabled."""


class AlreadyExists(SsmuxError):
    """A unique name is already taken."""


class StoreError(SsmuxError):
    """One of ssmux's files cannot be read, parsed, validated or written."""


class ErrorCode(StrEnum):
    """ssmux's own error codes, where AWS sent none: what the credentials, the network or a sync ran into.

    An :attr:`AwsError.code` and a sync pair's ``error_code`` are one of these or the code AWS sent
    (``AccessDeniedException``), kept as AWS spells it. The values are what ``ssmux sync --json`` shows
    and the sync cache records, so they never change.
    """

    # From the AWS SDK's own errors (ssmux.core.aws.translate).
    PROFILE_NOT_FOUND = "ProfileNotFound"
    SSO_TOKEN_EXPIRED = "SSOTokenExpired"  # noqa: S105 - an error code, not a secret
    LOGIN_EXPIRED = "LoginExpired"
    NO_CREDENTIALS = "NoCredentials"
    PARTIAL_CREDENTIALS = "PartialCredentials"
    MFA_REQUIRED = "MFARequired"
    CREDENTIAL_RETRIEVAL = "CredentialRetrieval"
    INVALID_CONFIG = "InvalidConfig"
    NO_REGION = "NoRegion"
    INVALID_REGION = "InvalidRegion"
    TIMEOUT = "Timeout"
    ENDPOINT_UNREACHABLE = "EndpointUnreachable"
    SSL_ERROR = "SSLError"
    UNKNOWN = "Unknown"  # AWS answered with an error but no code
    UNEXPECTED = "Unexpected"  # not an error we know: a bug, reported with its type
    # From a sync pair (ssmux.sync).
    CANCELLED = "Cancelled"
    ERROR = "Error"  # an SsmuxError that carried no code
    CACHE_WRITE_FAILED = "CacheWriteFailed"


class AwsError(SsmuxError):
    """An AWS call failed; ``code`` is the AWS error code (``AccessDenied``...) or an :class:`ErrorCode`."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class BackendUnavailable(SsmuxError):
    """A session backend cannot run here (an executable is missing or too old)."""


class SyncDisabled(SsmuxError):
    """A sync of the enabled pairs was asked for, but sync is turned off in the settings."""


class SessionError(SsmuxError):
    """A session could not be started, or ended abnormally."""
