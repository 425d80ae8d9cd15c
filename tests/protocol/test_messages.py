"""The ClientMessage codec: golden bytes both ways, in pieces, truncated, padded, with trailing bytes."""

from __future__ import annotations

import hashlib
import random
import struct
import uuid

import pytest

from ssmux.protocol.errors import LocalProtocolError, MalformedMessage
from ssmux.protocol.messages import ClientMessage, MessageFramer, MessageType, PayloadType

# The worked example of docs/ssm-protocol.md §4.3, made by the plugin's own serializer (hexdump verbatim).
SPEC_EXAMPLE_HEXDUMP = """
00000000  00 00 00 74 69 6e 70 75  74 5f 73 74 72 65 61 6d  |...tinput_stream|
00000010  5f 64 61 74 61 20 20 20  20 20 20 20 20 20 20 20  |_data           |
00000020  20 20 20 20 00 00 00 01  00 00 01 8b cf e5 68 00  |    ..........h.|
00000030  00 00 00 00 00 00 00 05  00 00 00 00 00 00 00 00  |................|
00000040  88 99 aa bb cc dd ee ff  00 11 22 33 44 55 66 77  |.........."3DUfw|
00000050  d5 3c a1 ea 7d ce 87 c1  14 32 05 2a 85 50 ed 26  |.<..}....2.*.P.&|
00000060  15 cf 71 5c a8 43 c8 97  10 ed 83 32 5b 69 1c ba  |..q\\.C.....2[i..|
00000070  00 00 00 03 00 00 00 15  7b 22 63 6f 6c 73 22 3a  |........{"cols":|
00000080  38 30 2c 22 72 6f 77 73  22 3a 32 34 7d           |80,"rows":24}|
"""


def from_hexdump(dump: str) -> bytes:
    """Bytes of an ``hexdump -C`` listing (offset column and ASCII gutter dropped)."""
    out = bytearray()
    for line in dump.strip().splitlines():
        hex_part = line[10:59]
        out += bytes.fromhex(hex_part)
    return bytes(out)


SPEC_EXAMPLE = from_hexdump(SPEC_EXAMPLE_HEXDUMP)
SPEC_MESSAGE = ClientMessage(
    message_type=MessageType.INPUT_STREAM_DATA,
    payload=b'{"cols":80,"rows":24}',
    message_id=uuid.UUID("00112233-4455-6677-8899-aabbccddeeff"),
    created_date=1700000000000,
    payload_type=PayloadType.SIZE,
    sequence_number=5,
    flags=0,
)


def hand_built(
    name: bytes,
    created: int,
    seq: int,
    flags: int,
    message_id: str,
    ptype: int,
    payload: bytes,
    *,
    pad: bytes = b" ",
) -> bytes:
    """An independent, field-by-field construction of the §4 layout to cross-check the codec."""
    raw_id = uuid.UUID(message_id).bytes
    return (
        (116).to_bytes(4, "big")
        + name.ljust(32, pad)
        + (1).to_bytes(4, "big")
        + created.to_bytes(8, "big")
        + seq.to_bytes(8, "big", signed=True)
        + flags.to_bytes(8, "big")
        + raw_id[8:]
        + raw_id[:8]
        + hashlib.sha256(payload).digest()
        + ptype.to_bytes(4, "big")
        + len(payload).to_bytes(4, "big")
        + payload
    )


ACK_PAYLOAD = (
    b'{"AcknowledgedMessageType":"output_stream_data","AcknowledgedMessageId":'
    b'"1210850f-6f1c-4a1e-9c3b-2d1e0f2a3b4c","AcknowledgedMessageSequenceNumber":0,"IsSequentialMessage":true}'
)
CLOSED_PAYLOAD = (
    b'{"MessageId":"5c1a7f2e-0000-4000-8000-000000000001","CreatedDate":"2023-11-14T22:13:20.000Z",'
    b'"DestinationId":"i-0123456789abcdef0","SessionId":"alice-0123","MessageType":"channel_closed",'
    b'"SchemaVersion":1,"Output":""}'
)

GOLDEN = [
    pytest.param(SPEC_MESSAGE, SPEC_EXAMPLE, id="spec-4.3-size"),
    pytest.param(
        ClientMessage(
            message_type=MessageType.OUTPUT_STREAM_DATA,
            payload="héllo €\r\n".encode(),
            message_id=uuid.UUID("0f0e0d0c-0b0a-0908-0706-050403020100"),
            created_date=1700000000123,
            payload_type=PayloadType.OUTPUT,
            sequence_number=0,
            flags=1,
        ),
        hand_built(
            b"output_stream_data",
            1700000000123,
            0,
            1,
            "0f0e0d0c-0b0a-0908-0706-050403020100",
            1,
            "héllo €\r\n".encode(),
        ),
        id="agent-output-syn",
    ),
    pytest.param(
        ClientMessage(
            message_type=MessageType.ACKNOWLEDGE,
            payload=ACK_PAYLOAD,
            message_id=uuid.UUID("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"),
            created_date=1700000000456,
            payload_type=PayloadType.UNDEFINED,
            sequence_number=0,
            flags=3,
        ),
        hand_built(
            b"acknowledge", 1700000000456, 0, 3, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", 0, ACK_PAYLOAD
        ),
        id="acknowledge",
    ),
    pytest.param(
        ClientMessage(
            message_type=MessageType.CHANNEL_CLOSED,
            payload=CLOSED_PAYLOAD,
            message_id=uuid.UUID("5c1a7f2e-0000-4000-8000-000000000001"),
            created_date=1700000000000,
            sequence_number=0,
            flags=3,
        ),
        hand_built(
            b"channel_closed", 1700000000000, 0, 3, "5c1a7f2e-0000-4000-8000-000000000001", 0, CLOSED_PAYLOAD
        ),
        id="channel-closed",
    ),
    pytest.param(
        ClientMessage(
            message_type=MessageType.INPUT_STREAM_DATA,
            payload=b"\x00\x00\x00\x02",
            message_id=uuid.UUID("12345678-9abc-4def-8123-456789abcdef"),
            created_date=2**40,
            payload_type=PayloadType.FLAG,
            sequence_number=2**40 + 7,
        ),
        hand_built(
            b"input_stream_data",
            2**40,
            2**40 + 7,
            0,
            "12345678-9abc-4def-8123-456789abcdef",
            10,
            b"\x00\x00\x00\x02",
        ),
        id="terminate-flag-large-numbers",
    ),
]


def test_spec_hexdump_is_141_bytes() -> None:
    """The §4.3 vector decodes from its hexdump to the 141 bytes the spec announces."""
    assert len(SPEC_EXAMPLE) == 141


@pytest.mark.parametrize(("message", "wire"), GOLDEN)
def test_golden_parse(message: ClientMessage, wire: bytes) -> None:
    """Golden bytes parse to exactly the expected message."""
    assert ClientMessage.parse(wire) == message


@pytest.mark.parametrize(("message", "wire"), GOLDEN)
def test_golden_serialize(message: ClientMessage, wire: bytes) -> None:
    """The expected message serializes to exactly the golden bytes."""
    assert message.serialize() == wire


@pytest.mark.parametrize(("message", "wire"), GOLDEN)
def test_golden_fed_byte_by_byte(message: ClientMessage, wire: bytes) -> None:
    """Fed one byte at a time, the framer yields nothing until the last byte, then the message."""
    framer = MessageFramer()
    for byte in wire[:-1]:
        assert framer.feed(bytes([byte])) == []
    assert framer.feed(wire[-1:]) == [message]
    assert framer.buffered == 0


@pytest.mark.parametrize(("message", "wire"), GOLDEN)
def test_golden_with_trailing_bytes(message: ClientMessage, wire: bytes) -> None:
    """Bytes after the payload are ignored by parse: PayloadLength decides where the payload ends."""
    assert ClientMessage.parse(wire + b"trailing garbage \x00\xff") == message


@pytest.mark.parametrize(("message", "wire"), GOLDEN)
def test_every_truncation_is_rejected(message: ClientMessage, wire: bytes) -> None:
    """Every proper prefix of a message raises MalformedMessage, never another exception."""
    for size in range(len(wire)):
        with pytest.raises(MalformedMessage):
            ClientMessage.parse(wire[:size])


def test_framer_splits_a_stream_cut_anywhere() -> None:
    """All golden messages back to back, cut at random places, come out whole and in order."""
    messages = [param.values[0] for param in GOLDEN]
    stream = b"".join(param.values[1] for param in GOLDEN)
    rng = random.Random(7)
    for _ in range(20):
        framer = MessageFramer()
        got: list[ClientMessage] = []
        position = 0
        while position < len(stream):
            step = rng.randint(1, 200)
            got += framer.feed(stream[position : position + step])
            position += step
        assert got == messages


def test_framer_returns_good_messages_before_raising_on_a_bad_one() -> None:
    """A bad message after good ones: the good ones come out first, the error on the next feed."""
    bad = bytearray(SPEC_EXAMPLE)
    bad[-1] ^= 0xFF  # payload no longer matches its digest
    framer = MessageFramer()
    assert framer.feed(SPEC_EXAMPLE + bytes(bad)) == [SPEC_MESSAGE]
    with pytest.raises(MalformedMessage, match="PayloadDigest"):
        framer.feed(b"")
    assert framer.feed(SPEC_EXAMPLE) == [SPEC_MESSAGE]


def test_message_id_halves_are_swapped_on_the_wire() -> None:
    """Bytes 64..71 hold the UUID's last 8 bytes and 72..79 its first 8 (§4)."""
    assert SPEC_EXAMPLE[64:72] == bytes.fromhex("8899aabbccddeeff")
    assert SPEC_EXAMPLE[72:80] == bytes.fromhex("0011223344556677")
    assert str(ClientMessage.parse(SPEC_EXAMPLE).message_id) == "00112233-4455-6677-8899-aabbccddeeff"


@pytest.mark.parametrize(
    "field",
    [
        b"\x00" * 15 + b"input_stream_data",  # the JS client pads on the left with NULs
        b"input_stream_data" + b"\x00" * 15,
        b"input_stream_data " + b"\x00" * 14,
    ],
    ids=["nul-left", "nul-right", "space-then-nul"],
)
def test_message_type_padding_variants_are_accepted(field: bytes) -> None:
    """MessageType padded with NULs on either side (or mixed) reads as the same type."""
    wire = SPEC_EXAMPLE[:4] + field + SPEC_EXAMPLE[36:]
    assert ClientMessage.parse(wire).message_type == MessageType.INPUT_STREAM_DATA


def test_digest_mismatch_is_rejected_when_checked() -> None:
    """The client (like the plugin) drops a message whose digest does not match its payload."""
    wire = bytearray(SPEC_EXAMPLE)
    wire[85] ^= 0x01
    with pytest.raises(MalformedMessage, match="PayloadDigest"):
        ClientMessage.parse(bytes(wire))


def test_digest_is_not_checked_on_the_agent_side() -> None:
    """The agent and MGS accept a wrong digest (the JS client writes hex text there)."""
    wire = bytearray(SPEC_EXAMPLE)
    wire[80:112] = hashlib.sha256(b'{"cols":80,"rows":24}').hexdigest()[:32].encode()
    assert ClientMessage.parse(bytes(wire), check_digest=False) == SPEC_MESSAGE


def test_empty_payload_skips_the_digest_check() -> None:
    """Like the plugin, the digest is only checked when PayloadLength is not 0."""
    wire = bytearray(hand_built(b"acknowledge", 5, 0, 3, str(uuid.UUID(int=1)), 0, b""))
    wire[80:112] = b"\x00" * 32
    assert ClientMessage.parse(bytes(wire)).payload == b""


def test_created_date_zero_is_rejected_except_for_publication() -> None:
    """CreatedDate 0 is invalid, but start/pause_publication are never validated."""
    with pytest.raises(MalformedMessage, match="CreatedDate"):
        ClientMessage.parse(hand_built(b"input_stream_data", 0, 0, 0, str(uuid.UUID(int=1)), 1, b"x"))
    wire = bytearray(hand_built(b"pause_publication", 0, 0, 0, str(uuid.UUID(int=1)), 0, b"{}"))
    wire[80:112] = b"\x00" * 32
    assert ClientMessage.parse(bytes(wire)).message_type == MessageType.PAUSE_PUBLICATION


def test_bad_header_length_is_rejected() -> None:
    """A HeaderLength other than 116 (or the legacy 112) is a malformed message."""
    with pytest.raises(MalformedMessage, match="HeaderLength"):
        ClientMessage.parse((120).to_bytes(4, "big") + SPEC_EXAMPLE[4:])


def test_legacy_112_byte_header_is_read() -> None:
    """HeaderLength 112 (no PayloadType field) reads as PayloadType 0 with the payload after the length."""
    wire = SPEC_EXAMPLE[:112] + struct.pack(">I", 21) + b'{"cols":80,"rows":24}'
    wire = (112).to_bytes(4, "big") + wire[4:]
    message = ClientMessage.parse(wire)
    assert message.payload == b'{"cols":80,"rows":24}'
    assert message.payload_type == PayloadType.UNDEFINED


def test_empty_and_non_ascii_message_types_are_rejected() -> None:
    """A blank or non-ASCII MessageType is malformed."""
    with pytest.raises(MalformedMessage, match="empty"):
        ClientMessage.parse(SPEC_EXAMPLE[:4] + b" " * 32 + SPEC_EXAMPLE[36:])
    with pytest.raises(MalformedMessage, match="ASCII"):
        ClientMessage.parse(SPEC_EXAMPLE[:4] + "é".encode().ljust(32) + SPEC_EXAMPLE[36:])


def test_unknown_types_are_kept_raw() -> None:
    """An unknown MessageType or PayloadType parses, kept as a plain str / int."""
    wire = hand_built(b"agent_job", 9, 0, 0, str(uuid.UUID(int=1)), 77, b"{}")
    message = ClientMessage.parse(wire)
    assert message.message_type == "agent_job"
    assert message.payload_type == 77
    assert message.serialize() == wire


def test_serialize_refuses_fields_that_do_not_fit() -> None:
    """Names over 32 bytes and negative or oversized integers are refused before any byte is written."""
    base = {"payload": b"x", "message_id": uuid.UUID(int=1), "created_date": 1}
    with pytest.raises(LocalProtocolError, match="MessageType"):
        ClientMessage(message_type="x" * 33, **base).serialize()  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="Flags"):
        ClientMessage(message_type="acknowledge", flags=-1, **base).serialize()  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="SequenceNumber"):
        ClientMessage(message_type="acknowledge", sequence_number=2**63, **base).serialize()  # type: ignore[arg-type]
