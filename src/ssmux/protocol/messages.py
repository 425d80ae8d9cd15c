"""The binary ClientMessage codec (``docs/ssm-protocol.md`` §4).

Every websocket BINARY frame of the data channel carries one ClientMessage (the agent calls it
AgentMessage; same layout). All integers are big-endian::

    0        4                                  36       40             48             56             64
    +--------+----------------------------------+--------+--------------+--------------+--------------+
    | HdrLen |  MessageType (32 ASCII, padded)  | Schema | CreatedDate  | SequenceNum  |    Flags     |
    | u32=116|                                  |  u32   |  u64 (ms)    |   i64        |     u64      |
    +--------+----------------------------------+--------+--------------+--------------+--------------+
    64                        80                                  112      116      120
    +-------------------------+-----------------------------------+--------+--------+---------------+
    | MessageId (UUID, halves | PayloadDigest (SHA-256 of payload)| PayType| PayLen | Payload ...   |
    |  swapped: U[8:16]U[0:8])|                                   |  u32   |  u32   | (PayLen bytes)|
    +-------------------------+-----------------------------------+--------+--------+---------------+

HeaderLength is the offset of PayloadLength (116), so the payload starts at HeaderLength + 4.

Parsing is as lenient as the real peers and no more (§4 "How lenient the parsers are"):

* MessageType may be padded with spaces (Go senders) or NULs on either side (the JS client); NULs are
  stripped, then whitespace.
* PayloadLength is honoured; bytes after the payload are tolerated and ignored (§11).
* HeaderLength 112 (no PayloadType field, a legacy variant some clients accept) is read as PayloadType 0.
* The SHA-256 digest is checked when the payload is not empty, like the plugin; the agent and MGS do not
  check it, so :meth:`ClientMessage.parse` takes ``check_digest=False`` for the agent side.
* CreatedDate 0 and an empty MessageType are rejected, except for start/pause_publication, which no
  receiver validates.

Serialization always writes the canonical form: HeaderLength 116, MessageType right-padded with spaces,
the correct digest.
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from ssmux.protocol.errors import LocalProtocolError, MalformedMessage

__all__ = [
    "ACK_FLAGS",
    "FLAG_FIN",
    "FLAG_SYN",
    "HEADER_LENGTH",
    "MAX_MESSAGE_SIZE",
    "MESSAGE_TYPE_LENGTH",
    "MESSAGE_TYPE_OFFSET",
    "PAYLOAD_OFFSET",
    "SEQUENCE_NUMBER_OFFSET",
    "ClientMessage",
    "MessageFramer",
    "MessageType",
    "PayloadType",
    "PortFlag",
]

# Field offsets and lengths (see the diagram above).
HEADER_LENGTH_OFFSET = 0
MESSAGE_TYPE_OFFSET = 4
MESSAGE_TYPE_LENGTH = 32
SCHEMA_VERSION_OFFSET = 36
CREATED_DATE_OFFSET = 40
SEQUENCE_NUMBER_OFFSET = 48
FLAGS_OFFSET = 56
MESSAGE_ID_OFFSET = 64
MESSAGE_ID_LENGTH = 16
PAYLOAD_DIGEST_OFFSET = 80
PAYLOAD_DIGEST_LENGTH = 32
PAYLOAD_TYPE_OFFSET = 112
PAYLOAD_LENGTH_OFFSET = 116
PAYLOAD_OFFSET = 120

#: The HeaderLength field of every message we send: the offset of PayloadLength.
HEADER_LENGTH = PAYLOAD_LENGTH_OFFSET
#: HeaderLength of the legacy variant without a PayloadType field (read, never written).
LEGACY_HEADER_LENGTH = PAYLOAD_TYPE_OFFSET

#: Flags bit 0: first message of a stream (the agent sets it on its output with sequence 0).
FLAG_SYN = 1
#: Flags bit 1: last message of a stream.
FLAG_FIN = 2
#: Flags of acknowledge and channel_closed messages (SYN|FIN), as every real sender writes them.
ACK_FLAGS = FLAG_SYN | FLAG_FIN

#: A framer refuses a message announcing more than this many bytes rather than wait for them forever.
MAX_MESSAGE_SIZE = 16 * 1024 * 1024

_U32 = struct.Struct(">I")
# The whole 120-byte header: HeaderLength, MessageType, SchemaVersion, CreatedDate, SequenceNumber, Flags,
# MessageId, PayloadDigest, PayloadType, PayloadLength.
_HEADER = struct.Struct(">I32sIQqQ16s32sII")
# The legacy 116-byte header has no PayloadType.
_LEGACY_HEADER = struct.Struct(">I32sIQqQ16s32sI")
_HEADER_LENGTH_BYTES = _U32.pack(PAYLOAD_LENGTH_OFFSET)
_U32_MAX = 2**32 - 1
_U64_MAX = 2**64 - 1


class MessageType(StrEnum):
    """The MessageType header field (§4.1)."""

    INPUT_STREAM_DATA = "input_stream_data"
    OUTPUT_STREAM_DATA = "output_stream_data"
    ACKNOWLEDGE = "acknowledge"
    CHANNEL_CLOSED = "channel_closed"
    START_PUBLICATION = "start_publication"
    PAUSE_PUBLICATION = "pause_publication"
    AGENT_SESSION_STATE = "agent_session_state"


class PayloadType(IntEnum):
    """The PayloadType header field (§4.2); 0 when unused, e.g. in acks."""

    UNDEFINED = 0
    OUTPUT = 1
    ERROR = 2
    SIZE = 3
    PARAMETER = 4
    HANDSHAKE_REQUEST = 5
    HANDSHAKE_RESPONSE = 6
    HANDSHAKE_COMPLETE = 7
    ENC_CHALLENGE_REQUEST = 8
    ENC_CHALLENGE_RESPONSE = 9
    FLAG = 10
    STDERR = 11
    EXIT_CODE = 12


class PortFlag(IntEnum):
    """Values of a Flag payload (PayloadType 10), a 4-byte big-endian uint32 (§4.2)."""

    DISCONNECT_TO_PORT = 1
    TERMINATE_SESSION = 2
    CONNECT_TO_PORT_ERROR = 3


_UNVALIDATED_TYPES = frozenset({MessageType.START_PUBLICATION, MessageType.PAUSE_PUBLICATION})


_MESSAGE_TYPES: dict[str, str] = {member.value: member for member in MessageType}
_PAYLOAD_TYPES: dict[int, int] = {member.value: member for member in PayloadType}


def encode_message_id(message_id: uuid.UUID) -> bytes:
    """Return the 16 wire bytes of a MessageId: the UUID's last 8 bytes first, then its first 8."""
    raw = message_id.bytes
    return raw[8:] + raw[:8]


def decode_message_id(wire: bytes) -> uuid.UUID:
    """Return the UUID whose wire form (halves swapped) is ``wire`` (16 bytes)."""
    return uuid.UUID(bytes=wire[8:16] + wire[0:8])


@dataclass(frozen=True, kw_only=True, slots=True)
class ClientMessage:
    """One binary data-channel message (§4).

    Attributes:
        message_type: a :class:`MessageType` when known; any other ASCII name is kept as a plain ``str``.
        payload: the payload bytes exactly as on the wire (ciphertext when KMS encryption is on).
        payload_type: a :class:`PayloadType` when known, else the raw uint32.
        sequence_number: the sender's stream counter (0 for acks, channel_closed, publication messages).
        flags: SYN/FIN bits; see :data:`FLAG_SYN`, :data:`ACK_FLAGS`.
        message_id: the MessageId; written with its halves swapped.
        created_date: Unix epoch milliseconds.
        schema_version: always 1 in practice.
    """

    message_type: str
    payload: bytes
    message_id: uuid.UUID
    created_date: int
    payload_type: int = PayloadType.UNDEFINED
    sequence_number: int = 0
    flags: int = 0
    schema_version: int = 1

    @classmethod
    def parse(cls, data: bytes, *, check_digest: bool = True) -> ClientMessage:
        """Decode one message from ``data``; bytes after its payload are ignored.

        Args:
            data: the bytes of one websocket binary frame.
            check_digest: verify the SHA-256 PayloadDigest of a non-empty payload (the plugin does, the
                agent and MGS do not).

        Raises:
            MalformedMessage: the bytes are not a valid ClientMessage; says which field is wrong.
        """
        data = bytes(data)
        size = len(data)
        if size >= PAYLOAD_OFFSET and data[:4] == _HEADER_LENGTH_BYTES:
            # The usual case, unpacked in one go.
            (
                _,
                raw_type,
                schema_version,
                created_date,
                sequence_number,
                flags,
                wire_id,
                digest,
                payload_type,
                payload_length,
            ) = _HEADER.unpack_from(data)
            start = PAYLOAD_OFFSET
        else:
            if size < 4:
                raise MalformedMessage(f"message is {size} bytes, too short for its HeaderLength field")
            (header_length,) = _U32.unpack_from(data, HEADER_LENGTH_OFFSET)
            if header_length == HEADER_LENGTH:
                raise MalformedMessage(f"message is {size} bytes, shorter than the 120-byte header")
            if header_length != LEGACY_HEADER_LENGTH:
                raise MalformedMessage(f"HeaderLength is {header_length}, expected 116")
            if size < LEGACY_HEADER_LENGTH + 4:
                raise MalformedMessage(f"message is {size} bytes, shorter than the 116-byte header")
            (
                _,
                raw_type,
                schema_version,
                created_date,
                sequence_number,
                flags,
                wire_id,
                digest,
                payload_length,
            ) = _LEGACY_HEADER.unpack_from(data)
            payload_type = PayloadType.UNDEFINED
            start = LEGACY_HEADER_LENGTH + 4
        if size - start < payload_length:
            raise MalformedMessage(
                f"payload is truncated: PayloadLength is {payload_length}, {size - start} bytes present"
            )
        payload = data[start : start + payload_length]

        try:
            type_name = raw_type.strip(b"\x00").decode("ascii").strip()
        except UnicodeDecodeError:
            raise MalformedMessage(f"MessageType is not ASCII: {raw_type!r}") from None
        if not type_name:
            raise MalformedMessage("MessageType is empty")
        message_type = _MESSAGE_TYPES.get(type_name, type_name)

        if message_type not in _UNVALIDATED_TYPES:
            if created_date == 0:
                raise MalformedMessage(f"{type_name} message has CreatedDate 0")
            if check_digest and payload_length and hashlib.sha256(payload).digest() != digest:
                raise MalformedMessage(f"{type_name} message has a PayloadDigest that does not match")

        return cls(
            message_type=message_type,
            payload=payload,
            message_id=uuid.UUID(bytes=wire_id[8:] + wire_id[:8]),
            created_date=created_date,
            payload_type=_PAYLOAD_TYPES.get(payload_type, payload_type),
            sequence_number=sequence_number,
            flags=flags,
            schema_version=schema_version,
        )

    def serialize(self) -> bytes:
        """Encode the message in its canonical wire form (HeaderLength 116, space padding, digest).

        Raises:
            LocalProtocolError: a field does not fit its wire width (name longer than 32 ASCII bytes, a
                negative or too large integer).
        """
        try:
            type_bytes = str(self.message_type).encode("ascii")
        except UnicodeEncodeError:
            raise LocalProtocolError(f"MessageType {self.message_type!r} is not ASCII") from None
        if not type_bytes or len(type_bytes) > MESSAGE_TYPE_LENGTH:
            raise LocalProtocolError(f"MessageType {self.message_type!r} must be 1 to 32 ASCII bytes")
        payload = self.payload
        try:
            header = _HEADER.pack(
                HEADER_LENGTH,
                type_bytes.ljust(MESSAGE_TYPE_LENGTH, b" "),
                self.schema_version,
                self.created_date,
                self.sequence_number,
                self.flags,
                encode_message_id(self.message_id),
                hashlib.sha256(payload).digest(),
                self.payload_type,
                len(payload),
            )
        except struct.error as error:
            self._explain_range_error()
            raise LocalProtocolError(f"message fields do not fit the header: {error}") from None
        return header + payload

    def _explain_range_error(self) -> None:
        _check_range("SchemaVersion", self.schema_version, 0, _U32_MAX)
        _check_range("CreatedDate", self.created_date, 0, _U64_MAX)
        _check_range("SequenceNumber", self.sequence_number, -(2**63), 2**63 - 1)
        _check_range("Flags", self.flags, 0, _U64_MAX)
        _check_range("PayloadType", self.payload_type, 0, _U32_MAX)
        _check_range("PayloadLength", len(self.payload), 0, _U32_MAX)


def _check_range(field: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise LocalProtocolError(f"{field} {value} does not fit its field ({low}..{high})")


class MessageFramer:
    """Split a byte stream of back-to-back ClientMessages into messages.

    The websocket already frames messages, so sessions parse one frame at a time; this framer serves
    byte-stream transports and tests that feed a message in arbitrary pieces.
    """

    def __init__(self, *, check_digest: bool = True) -> None:
        """Start with an empty buffer; ``check_digest`` is passed on to :meth:`ClientMessage.parse`."""
        self._buffer = bytearray()
        self._check_digest = check_digest
        self._pending_error: MalformedMessage | None = None

    @property
    def buffered(self) -> int:
        """Number of bytes held that do not yet form a whole message."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[ClientMessage]:
        """Add ``data`` and return every message now complete, in order.

        Raises:
            MalformedMessage: the next message in the stream cannot be framed or parsed (raised once the
                good messages before it have been returned). A message whose length is known is skipped,
                so the stream goes on; otherwise the buffer is cleared.
        """
        self._buffer += data
        if self._pending_error is not None:
            error, self._pending_error = self._pending_error, None
            raise error
        messages: list[ClientMessage] = []
        while len(self._buffer) >= 4:
            try:
                message = self._next_message()
            except MalformedMessage as error:
                if messages:
                    # Hand out the good messages first; the bad one raises on the next call.
                    self._pending_error = error
                    break
                raise
            if message is None:
                break
            messages.append(message)
        return messages

    def _next_message(self) -> ClientMessage | None:
        (header_length,) = _U32.unpack_from(self._buffer, 0)
        if header_length not in (HEADER_LENGTH, LEGACY_HEADER_LENGTH):
            self._buffer.clear()
            raise MalformedMessage(f"HeaderLength is {header_length}, expected 116")
        if len(self._buffer) < header_length + 4:
            return None
        (payload_length,) = _U32.unpack_from(self._buffer, header_length)
        total = header_length + 4 + payload_length
        if total > MAX_MESSAGE_SIZE:
            self._buffer.clear()
            raise MalformedMessage(f"message of {total} bytes is larger than {MAX_MESSAGE_SIZE} bytes")
        if len(self._buffer) < total:
            return None
        chunk = bytes(self._buffer[:total])
        del self._buffer[:total]
        return ClientMessage.parse(chunk, check_digest=self._check_digest)
