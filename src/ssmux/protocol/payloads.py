"""JSON and small binary payloads of the data channel (``docs/ssm-protocol.md`` §3, §4.2, §4.4, §5-§9).

Each type is a frozen dataclass with ``to_json() -> bytes`` and ``from_json(bytes)`` (the token message
uses text: ``to_text()``/``from_text()``). Writing follows Go's ``encoding/json`` as the real peers do:
compact separators, field names exactly as in the spec, ``[]byte`` as standard base64, nil as ``null``,
durations as integer nanoseconds. Reading is tolerant like Go: field names match case-insensitively and
unknown fields are ignored. Anything that does not fit raises :class:`MalformedPayload`.

Non-JSON payloads: a Flag is a 4-byte big-endian uint32 (:func:`encode_flag`/:func:`decode_flag`); an
exit code is the ASCII text ``EXIT_CODE: <n>`` (:func:`encode_exit_code`/:func:`decode_exit_code`).
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ssmux.protocol._json import dumps, get_field, int_field, loads_object, str_field
from ssmux.protocol.errors import MalformedPayload

# The handshake payloads live in their own module; they are re-exported here, their historic home.
from ssmux.protocol.handshake import (
    ActionStatus,
    ActionType,
    EncryptionChallenge,
    HandshakeComplete,
    HandshakeRequest,
    HandshakeResponse,
    KmsEncryptionRequest,
    ProcessedClientAction,
    RequestedClientAction,
    SessionType,
    SessionTypeRequest,
)
from ssmux.protocol.messages import MessageType, PortFlag

__all__ = [
    "AGENT_SESSION_TERMINATING",
    "DATA_CHANNEL_PATH",
    "DATA_CHANNEL_SERVICE",
    "AcknowledgeContent",
    "ActionStatus",
    "ActionType",
    "AgentSessionState",
    "ChannelClosedContent",
    "EncryptionChallenge",
    "HandshakeComplete",
    "HandshakeRequest",
    "HandshakeResponse",
    "KmsEncryptionRequest",
    "OpenDataChannelInput",
    "ProcessedClientAction",
    "RequestedClientAction",
    "SessionType",
    "SessionTypeRequest",
    "SizeData",
    "decode_exit_code",
    "decode_flag",
    "encode_exit_code",
    "encode_flag",
    "format_created_date",
]

#: The SigV4 service name a StreamUrl is signed for, and MGS's host prefix (the plugin's
#: ``config.ServiceName``, §1).
DATA_CHANNEL_SERVICE = "ssmmessages"
#: The path of a StreamUrl before the session id: ``/v1/data-channel/<session-id>?...`` (§2).
DATA_CHANNEL_PATH = "/v1/data-channel/"

#: The ``agent_session_state`` SessionState an agent sends as it ends (``mgsContracts.SessionStatus``).
AGENT_SESSION_TERMINATING = "Terminating"

_FLAG = struct.Struct(">I")
_EXIT_CODE = re.compile(rb"\s*EXIT_CODE:\s*(-?\d{1,19})\s*")


def format_created_date(epoch_ms: int) -> str:
    """Format Unix epoch milliseconds as the ISO-8601 UTC string used in channel_closed payloads."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


# --------------------------------------------------------------------------------------- token message


@dataclass(frozen=True, slots=True)
class OpenDataChannelInput:
    """The first (TEXT) websocket frame of a connection: the token message (§3).

    ``client_id`` and ``client_version`` are optional on the wire: old plugins and independent clients
    omit them; ``None`` leaves the field out.
    """

    token_value: str
    request_id: str
    client_id: str | None = None
    client_version: str | None = None
    message_schema_version: str = "1.0"

    def to_text(self) -> str:
        """Return the JSON text in the plugin's field order."""
        obj: dict[str, Any] = {
            "MessageSchemaVersion": self.message_schema_version,
            "RequestId": self.request_id,
            "TokenValue": self.token_value,
        }
        if self.client_id is not None:
            obj["ClientId"] = self.client_id
        if self.client_version is not None:
            obj["ClientVersion"] = self.client_version
        return json.dumps(obj, separators=(",", ":"))

    @classmethod
    def from_text(cls, text: str | bytes) -> OpenDataChannelInput:
        """Parse a token message; only ``TokenValue`` is required.

        Raises:
            MalformedPayload: not a JSON object, or no string TokenValue.
        """
        what = "the token message"
        obj = loads_object(text, what)
        client_id = get_field(obj, "ClientId")
        client_version = get_field(obj, "ClientVersion")
        if client_id is not None and not isinstance(client_id, str):
            raise MalformedPayload(f"{what} field ClientId is not a string")
        if client_version is not None and not isinstance(client_version, str):
            raise MalformedPayload(f"{what} field ClientVersion is not a string")
        return cls(
            token_value=str_field(obj, "TokenValue", what, required=True),
            request_id=str_field(obj, "RequestId", what),
            client_id=client_id,
            client_version=client_version,
            message_schema_version=str_field(obj, "MessageSchemaVersion", what) or "1.0",
        )


# ------------------------------------------------------------------------------------ acknowledgement


@dataclass(frozen=True, slots=True)
class AcknowledgeContent:
    """Payload of an ``acknowledge`` message (§5.1); receivers match acks by sequence number only."""

    message_type: str
    message_id: str
    sequence_number: int
    is_sequential: bool = True

    def to_json(self) -> bytes:
        """Return the ack JSON."""
        return dumps(
            {
                "AcknowledgedMessageType": str(self.message_type),
                "AcknowledgedMessageId": self.message_id,
                "AcknowledgedMessageSequenceNumber": self.sequence_number,
                "IsSequentialMessage": self.is_sequential,
            }
        )

    @classmethod
    def from_json(cls, data: bytes) -> AcknowledgeContent:
        """Parse an ack payload.

        Raises:
            MalformedPayload: not JSON, or no integer AcknowledgedMessageSequenceNumber.
        """
        what = "acknowledge payload"
        obj = loads_object(data, what)
        sequential = get_field(obj, "IsSequentialMessage", True)
        return cls(
            message_type=str_field(obj, "AcknowledgedMessageType", what),
            message_id=str_field(obj, "AcknowledgedMessageId", what),
            sequence_number=int_field(
                obj, "AcknowledgedMessageSequenceNumber", what, low=-(2**63), high=2**63 - 1
            ),
            is_sequential=bool(sequential),
        )


# --------------------------------------------------------------------------------- size, flags, close


@dataclass(frozen=True, slots=True)
class SizeData:
    """Payload of PayloadType 3 (Size): the terminal's columns and rows, uint32 each."""

    cols: int
    rows: int

    def to_json(self) -> bytes:
        """Return ``{"cols":W,"rows":H}``."""
        return dumps({"cols": self.cols, "rows": self.rows})

    @classmethod
    def from_json(cls, data: bytes) -> SizeData:
        """Parse a Size payload.

        Raises:
            MalformedPayload: not JSON, or cols/rows not integers in 0..2**32-1.
        """
        what = "Size payload"
        obj = loads_object(data, what)
        return cls(
            int_field(obj, "cols", what, low=0, high=2**32 - 1),
            int_field(obj, "rows", what, low=0, high=2**32 - 1),
        )


@dataclass(frozen=True, slots=True)
class ChannelClosedContent:
    """Payload of a ``channel_closed`` message (§7.4), made by MGS when a session ends."""

    message_id: str
    created_date: str
    destination_id: str
    session_id: str
    output: str = ""
    schema_version: int = 1

    def to_json(self) -> bytes:
        """Return the JSON in the order of the spec's table."""
        return dumps(
            {
                "MessageId": self.message_id,
                "CreatedDate": self.created_date,
                "DestinationId": self.destination_id,
                "SessionId": self.session_id,
                "MessageType": str(MessageType.CHANNEL_CLOSED),
                "SchemaVersion": self.schema_version,
                "Output": self.output,
            }
        )

    @classmethod
    def from_json(cls, data: bytes) -> ChannelClosedContent:
        """Parse a channel_closed payload; every field is optional, as the client only prints Output.

        Raises:
            MalformedPayload: not a JSON object, or a field of the wrong type.
        """
        what = "channel_closed payload"
        obj = loads_object(data, what)
        return cls(
            message_id=str_field(obj, "MessageId", what),
            created_date=str(get_field(obj, "CreatedDate", "")),
            destination_id=str_field(obj, "DestinationId", what),
            session_id=str_field(obj, "SessionId", what),
            output=str_field(obj, "Output", what),
            schema_version=int_field(
                obj, "SchemaVersion", what, low=-(2**31), high=2**31 - 1, required=False
            ),
        )


@dataclass(frozen=True, slots=True)
class AgentSessionState:
    """Payload of ``agent_session_state`` (agent → MGS only, §4.1); see :data:`AGENT_SESSION_TERMINATING`."""

    session_id: str
    session_state: str
    schema_version: int = 1

    def to_json(self) -> bytes:
        """Return the JSON."""
        return dumps(
            {
                "SchemaVersion": self.schema_version,
                "SessionState": self.session_state,
                "SessionId": self.session_id,
            }
        )


def encode_flag(flag: int) -> bytes:
    """Encode a Flag payload: 4-byte big-endian uint32 (§4.2)."""
    return _FLAG.pack(int(flag))


def decode_flag(payload: bytes) -> int:
    """Decode a Flag payload; returns a :class:`~ssmux.protocol.messages.PortFlag` when known.

    Raises:
        MalformedPayload: the payload is not exactly 4 bytes.
    """
    if len(payload) != _FLAG.size:
        raise MalformedPayload(f"Flag payload is {len(payload)} bytes, expected 4")
    (value,) = _FLAG.unpack(payload)
    try:
        return PortFlag(value)
    except ValueError:
        return int(value)


def encode_exit_code(code: int) -> bytes:
    """Encode an ExitCode payload: ``EXIT_CODE: <n>`` (§7.3)."""
    return f"EXIT_CODE: {int(code)}".encode("ascii")


def decode_exit_code(payload: bytes) -> int:
    """Decode an ExitCode payload.

    Raises:
        MalformedPayload: the payload is not ``EXIT_CODE: <integer>``.
    """
    match = _EXIT_CODE.fullmatch(payload)
    if match is None:
        raise MalformedPayload(f"ExitCode payload {payload[:40]!r} is not 'EXIT_CODE: <n>'")
    return int(match.group(1))
