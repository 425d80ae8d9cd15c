"""Errors of the SSM data channel protocol core.

Only these exceptions leave ``parse``/``receive`` calls of this package, whatever bytes come in. They are
deliberately not :class:`ssmux.errors.SsmuxError`: the transport that drives a session turns them into a
user-facing ``SessionError`` with context (which session, what to do).

::

    ProtocolError                 anything the peer (or a caller) did that the protocol does not allow
    ├── MalformedMessage          bytes that are not a valid binary ClientMessage (§4)
    ├── MalformedPayload          a payload that does not fit its PayloadType (JSON, flag, exit code, ...)
    ├── HandshakeError            the handshake cannot go on (§6): no session type, bad action, ...
    ├── CryptoError               AES-GCM failure or a bad data key (§9)
    ├── SmuxError                 a bad smux v1 frame or a misuse of a smux stream (§8.4)
    └── LocalProtocolError        the caller used the API wrongly (send before start, closed stream, ...)
"""

from __future__ import annotations

__all__ = [
    "CryptoError",
    "HandshakeError",
    "LocalProtocolError",
    "MalformedMessage",
    "MalformedPayload",
    "ProtocolError",
    "SmuxError",
]


class ProtocolError(Exception):
    """Base of every error raised by :mod:`ssmux.protocol`; ``str(error)`` says what was wrong."""


class MalformedMessage(ProtocolError):
    """A frame is not a valid ClientMessage: too short, bad header length, bad digest, missing fields."""


class MalformedPayload(ProtocolError):
    """A payload does not match its PayloadType: invalid JSON, missing field, wrong flag size, ..."""


class HandshakeError(ProtocolError):
    """The handshake cannot continue: unknown session type, no SessionType action, failed action."""


class CryptoError(ProtocolError):
    """Encryption or decryption failed: wrong key size, or a payload whose GCM tag does not verify."""


class SmuxError(ProtocolError):
    """A smux v1 frame is invalid (bad version, unknown command) or a stream was misused."""


class LocalProtocolError(ProtocolError):
    """The caller asked for something the protocol state does not allow (e.g. data on a closed stream)."""
