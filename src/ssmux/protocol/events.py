"""Events the state machines hand out (``next_event()``), as small frozen dataclasses.

Shared by both ends (made by the reliability layer): :class:`PublicationPaused`, :class:`PublicationStarted`,
:class:`ChannelClosed`, :class:`FlagReceived`, :class:`ResendLimitReached`. Client only
(:class:`~ssmux.protocol.client.ClientSession`): :data:`ClientEvent`. Agent only
(:class:`~ssmux.protocol.agent.AgentSession`): :data:`AgentEvent`. Each is also importable from the
module of the session that emits it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AgentEvent",
    "ChannelClosed",
    "ChannelEvent",
    "ClientEvent",
    "ExitCode",
    "FlagReceived",
    "HandshakeCompleted",
    "HandshakeDone",
    "HandshakeFailed",
    "HandshakeRequested",
    "Input",
    "KmsKeyRequested",
    "Output",
    "PublicationPaused",
    "PublicationStarted",
    "ResendLimitReached",
    "Resize",
    "SessionTypeKnown",
    "StdErr",
]

# ------------------------------------------------------------------------------------- both ends


@dataclass(frozen=True, slots=True)
class PublicationPaused:
    """MGS sent ``pause_publication``: the other end is away; new stream data is only buffered."""


@dataclass(frozen=True, slots=True)
class PublicationStarted:
    """MGS sent ``start_publication``: the other end is back; buffered stream data is being sent."""


@dataclass(frozen=True, slots=True)
class ChannelClosed:
    """MGS sent ``channel_closed``: the session is over. ``output`` is its reason text, often empty."""

    output: str = ""
    session_id: str = ""


@dataclass(frozen=True, slots=True)
class FlagReceived:
    """A Flag payload (PayloadType 10) from the peer; a ``PortFlag`` when the value is known."""

    flag: int


@dataclass(frozen=True, slots=True)
class ResendLimitReached:
    """One message was resent ``max_resends`` times without an ack; the transport should end the session."""

    sequence_number: int


ChannelEvent = PublicationPaused | PublicationStarted | ChannelClosed | ResendLimitReached

# ------------------------------------------------------------------------------------------ client


@dataclass(frozen=True, slots=True)
class HandshakeRequested:
    """The agent sent a HandshakeRequest; the session type and KMS key it asks for, if any."""

    agent_version: str
    session_type: str | None
    kms_key_id: str | None = None


@dataclass(frozen=True, slots=True)
class KmsKeyRequested:
    """Call ``kms:GenerateDataKey(KeyId=key_id, NumberOfBytes=64, EncryptionContext=...)``, then
    :meth:`ClientSession.provide_data_key` (or :meth:`ClientSession.kms_failed`)."""

    key_id: str
    encryption_context: dict[str, str] = field(hash=False)


@dataclass(frozen=True, slots=True)
class HandshakeCompleted:
    """The agent sent HandshakeComplete; print ``customer_message`` (plus a newline) if not empty."""

    customer_message: str


@dataclass(frozen=True, slots=True)
class SessionTypeKnown:
    """The session type is set; start the shell or port handler. ``properties`` is {} when none."""

    session_type: str
    properties: dict[str, Any] = field(hash=False)


@dataclass(frozen=True, slots=True)
class Output:
    """Output bytes (PayloadType 1) from the agent, decrypted."""

    data: bytes


@dataclass(frozen=True, slots=True)
class StdErr:
    """Standard-error bytes (PayloadType 11) from the agent, decrypted."""

    data: bytes


@dataclass(frozen=True, slots=True)
class ExitCode:
    """The remote command's exit code (PayloadType 12, ``EXIT_CODE: n``)."""

    code: int


ClientEvent = (
    HandshakeRequested
    | KmsKeyRequested
    | HandshakeCompleted
    | SessionTypeKnown
    | Output
    | StdErr
    | ExitCode
    | FlagReceived
    | ChannelClosed
    | PublicationPaused
    | PublicationStarted
    | ResendLimitReached
)

# ------------------------------------------------------------------------------------------- agent


@dataclass(frozen=True, slots=True)
class HandshakeDone:
    """The handshake succeeded; start the session's handler (pty, command, port)."""

    client_version: str
    encrypted: bool


@dataclass(frozen=True, slots=True)
class HandshakeFailed:
    """The handshake failed or timed out; end the session (send channel_closed)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Input:
    """Output bytes from the client (keystrokes or port data), decrypted; write them to the pty/port."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Resize:
    """The client's terminal size; apply with TIOCSWINSZ (rows, cols)."""

    cols: int
    rows: int


AgentEvent = (
    HandshakeDone
    | HandshakeFailed
    | Input
    | Resize
    | FlagReceived
    | ChannelClosed
    | PublicationPaused
    | PublicationStarted
    | ResendLimitReached
)
