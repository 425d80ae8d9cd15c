"""Hostile input: random, truncated and mutated frames and payloads only ever raise ProtocolError."""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssmux.protocol.agent import AgentSession
from ssmux.protocol.client import ClientSession
from ssmux.protocol.errors import ProtocolError
from ssmux.protocol.messages import ClientMessage, MessageFramer, MessageType
from ssmux.protocol.payloads import (
    AcknowledgeContent,
    ChannelClosedContent,
    EncryptionChallenge,
    HandshakeComplete,
    HandshakeRequest,
    HandshakeResponse,
    OpenDataChannelInput,
    SizeData,
    decode_exit_code,
    decode_flag,
)
from ssmux.protocol.smux import SmuxSession
from tests.protocol.pair import FakeKms, id_factory, make_pair

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
# Protocol field names with arbitrary values, so fuzzing reaches past "missing field" checks.
PROTOCOL_KEYS = [
    "AgentVersion", "RequestedClientActions", "ActionType", "ActionParameters", "SessionType", "Properties",
    "KMSKeyId", "Challenge", "ClientVersion", "ProcessedClientActions", "ActionStatus", "ActionResult",
    "KMSCipherTextKey", "ChallengeAcknowledgement", "Errors", "HandshakeTimeToComplete", "CustomerMessage",
    "AcknowledgedMessageSequenceNumber", "AcknowledgedMessageType", "cols", "rows", "Output", "TokenValue",
]  # fmt: skip
protocol_values = st.one_of(
    json_values,
    st.sampled_from(
        ["SessionType", "KMSEncryption", "Standard_Stream", "Port", "NonInteractiveCommands", "AAAA"]
    ),
    st.integers(min_value=-2, max_value=4),
)
protocol_objects = st.recursive(
    st.dictionaries(st.sampled_from(PROTOCOL_KEYS), protocol_values, max_size=6),
    lambda children: st.dictionaries(
        st.sampled_from(PROTOCOL_KEYS), st.one_of(protocol_values, children, st.lists(children, max_size=3))
    ),
    max_leaves=10,
)
payloads = st.one_of(
    st.binary(max_size=300),
    protocol_objects.map(lambda obj: json.dumps(obj).encode()),
    st.integers(min_value=0, max_value=2**32 - 1).map(lambda n: n.to_bytes(4, "big")),
    st.from_regex(rb"\AEXIT_CODE: -?[0-9]{1,30}\Z"),
)
message_types = st.one_of(
    st.sampled_from(list(MessageType)), st.text(alphabet="abcdefghijklmnop_", max_size=32)
)


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    """Well-framed messages with a correct digest, so they reach the state machines' logic."""
    message_type = draw(message_types) or "x"
    return ClientMessage(
        message_type=message_type,
        payload=draw(payloads),
        message_id=uuid.UUID(int=draw(st.integers(min_value=0, max_value=2**128 - 1))),
        created_date=draw(st.integers(min_value=0, max_value=2**64 - 1)),
        payload_type=draw(st.integers(min_value=0, max_value=14)),
        sequence_number=draw(st.integers(min_value=-3, max_value=6)),
        flags=draw(st.integers(min_value=0, max_value=3)),
    ).serialize()


@st.composite
def mutated(draw: st.DrawFn, frame: bytes) -> bytes:
    """A frame with a few bytes changed, cut short or extended, then the digest fixed up (sometimes)."""
    data = bytearray(frame)
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        if data:
            data[draw(st.integers(min_value=0, max_value=len(data) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.integers(min_value=0, max_value=len(data) + 10))
    data = data[:cut] + draw(st.binary(max_size=10))
    if draw(st.booleans()) and len(data) >= 120:
        length = int.from_bytes(data[116:120], "big")
        data[80:112] = hashlib.sha256(bytes(data[120 : 120 + length])).digest()
    return bytes(data)


def expect_only_protocol_errors(call: Any, *args: Any, **kwargs: Any) -> None:
    with contextlib.suppress(ProtocolError):
        call(*args, **kwargs)


@FUZZ
@given(st.binary(max_size=400) | st.binary(max_size=400).map(lambda tail: b"\x00\x00\x00\x74" + tail))
def test_random_bytes_never_crash_the_parser(data: bytes) -> None:
    """Random bytes given to ClientMessage.parse raise ProtocolError or parse; nothing else."""
    expect_only_protocol_errors(ClientMessage.parse, data)
    expect_only_protocol_errors(ClientMessage.parse, data, check_digest=False)


@FUZZ
@given(st.lists(st.binary(max_size=200), max_size=8))
def test_random_chunks_never_crash_the_framer(chunks: list[bytes]) -> None:
    """A stream framer fed random chunks raises only ProtocolError and never holds more than it was given."""
    framer = MessageFramer()
    total = 0
    for chunk in chunks:
        total += len(chunk)
        expect_only_protocol_errors(framer.feed, chunk)
        assert framer.buffered <= total


def fresh_sessions() -> list[Any]:
    """Sessions in different states: fresh client, established shell, KMS handshake, port agent."""
    client = ClientSession("s", "i-1", "t", "c", "1.2.0.0", 0.0, id_factory())
    agent = AgentSession("s", "i-1", "Standard_Stream", None, "3.3.987.0", None, None, 0.0, id_factory())
    kms_agent = AgentSession(
        "s", "i-1", "Standard_Stream", None, "3.3.987.0", FakeKms(), None, 0.0, id_factory()
    )
    port_agent = AgentSession(
        "s", "i-1", "Port", {"portNumber": "80"}, "3.3.987.0", None, None, 0.0, id_factory()
    )
    pair = make_pair(kms=True)
    pair.run_until(lambda: pair.client.established)
    return [client, agent, kms_agent, port_agent, pair.client, pair.agent]


@FUZZ
@given(st.lists(messages(), min_size=1, max_size=6))
def test_well_framed_hostile_messages_only_raise_protocol_errors(frames: list[bytes]) -> None:
    """Valid frames with hostile payloads, fed to sessions in every state, raise only ProtocolError."""
    for session in fresh_sessions():
        for frame in frames:
            expect_only_protocol_errors(session.receive, frame, 1.0)
        session.tick(100.0)
        session.data_to_send()
        while session.next_event() is not None:
            pass


def record_session(kms: bool) -> tuple[list[bytes], list[bytes]]:
    """Every frame of a clean session (handshake, data, exit code), per direction."""
    session_type = "Standard_Stream" if kms else "NonInteractiveCommands"
    pair = make_pair(session_type, kms=kms)
    to_client = [frame for _, _, frame in pair.to_client._queue]
    to_agent: list[bytes] = []
    put_client, put_agent = pair.to_client.put, pair.to_agent.put

    def record_client(frame: bytes, now: float) -> None:
        to_client.append(frame)
        put_client(frame, now)

    def record_agent(frame: bytes, now: float) -> None:
        to_agent.append(frame)
        put_agent(frame, now)

    pair.to_client.put = record_client  # type: ignore[method-assign]
    pair.to_agent.put = record_agent  # type: ignore[method-assign]
    pair.run_until(lambda: pair.client.established)
    pair.client.resize(80, 24, pair.now)
    pair.client.send_input(b"typed", pair.now)
    pair.agent.send_output("output é".encode(), pair.now)
    pair.agent.send_stderr(b"oops", pair.now)
    pair.agent.send_exit_code(2, pair.now)
    pair.settle()
    to_client.append(pair.agent.close_message("done"))
    return to_client, to_agent


RECORDED = {kms: record_session(kms) for kms in (False, True)}


@FUZZ
@given(st.booleans(), st.data())
def test_mutated_real_frames_only_raise_protocol_errors(kms: bool, data: st.DataObject) -> None:
    """Frames of a real session with bytes changed, cut or extended raise only ProtocolError at either end."""
    to_client, to_agent = RECORDED[kms]
    pair = make_pair("Standard_Stream" if kms else "NonInteractiveCommands", kms=kms)
    for frame in to_client:
        expect_only_protocol_errors(pair.client.receive, data.draw(mutated(frame)), 0.5)
    for frame in to_agent:
        expect_only_protocol_errors(pair.agent.receive, data.draw(mutated(frame)), 0.5)
    pair.client.tick(30.0)
    pair.agent.tick(30.0)


@FUZZ
@given(protocol_objects.map(lambda obj: json.dumps(obj).encode()) | st.binary(max_size=200))
def test_payload_readers_only_raise_malformed_payload(payload: bytes) -> None:
    """Every payload reader turns nonsense into ProtocolError, never KeyError/TypeError/ValueError."""
    readers = [
        AcknowledgeContent.from_json,
        HandshakeRequest.from_json,
        HandshakeResponse.from_json,
        HandshakeComplete.from_json,
        EncryptionChallenge.from_json,
        SizeData.from_json,
        ChannelClosedContent.from_json,
        decode_flag,
        decode_exit_code,
    ]
    for reader in readers:
        expect_only_protocol_errors(reader, payload)
    try:
        request = HandshakeRequest.from_json(payload)
    except ProtocolError:
        return
    expect_only_protocol_errors(request.session_type)
    expect_only_protocol_errors(request.kms_encryption)


@FUZZ
@given(st.text(max_size=200) | protocol_objects.map(json.dumps))
def test_token_message_reader_only_raises_malformed_payload(text: str) -> None:
    """The emulator's token-message reader raises only ProtocolError on any text."""
    expect_only_protocol_errors(OpenDataChannelInput.from_text, text)


@FUZZ
@given(st.lists(st.binary(max_size=100), max_size=8))
def test_smux_receive_only_raises_smux_errors(chunks: list[bytes]) -> None:
    """Random bytes into a smux session raise only SmuxError (a ProtocolError)."""
    for client in (True, False):
        session = SmuxSession(client=client)
        for chunk in chunks:
            expect_only_protocol_errors(session.receive, chunk)
        session.events()
