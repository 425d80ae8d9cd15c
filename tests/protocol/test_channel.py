"""The shared reliability engine (§5): acks, ordering, readiness, retransmission, pause, reconnect."""

from __future__ import annotations

import json
import random
import uuid

import pytest

from ssmux.protocol.channel import (
    MAX_PAYLOAD_SIZE,
    Channel,
    ChannelClosed,
    PublicationPaused,
    PublicationStarted,
    ResendLimitReached,
    Utf8Chunker,
    chunk_payload,
)
from ssmux.protocol.errors import LocalProtocolError, MalformedPayload
from ssmux.protocol.messages import ClientMessage, MessageType, PayloadType
from ssmux.protocol.payloads import AcknowledgeContent
from tests.protocol.pair import id_factory


class Harness:
    """A client-side Channel with recording callbacks, and a peer that builds agent frames."""

    def __init__(self, **kwargs: object) -> None:
        self.delivered: list[bytes] = []
        self.ready = True
        self.fail_on: bytes | None = None
        options: dict[str, object] = {
            "send_type": MessageType.INPUT_STREAM_DATA,
            "receive_type": MessageType.OUTPUT_STREAM_DATA,
            "now": 0.0,
            "new_id": id_factory(),
            "ready": lambda message: self.ready,
            "deliver": self._deliver,
            "wall_ms": lambda: 1_700_000_000_000,
        }
        options.update(kwargs)
        self.channel = Channel(**options)  # type: ignore[arg-type]
        self.peer_ids = id_factory(10_000)

    def _deliver(self, message: ClientMessage) -> None:
        if message.payload == self.fail_on:
            raise MalformedPayload("handler refused this payload")
        self.delivered.append(message.payload)

    def frame(
        self, sequence: int, payload: bytes = b"x", kind: str = MessageType.OUTPUT_STREAM_DATA
    ) -> bytes:
        return ClientMessage(
            message_type=kind,
            payload=payload,
            message_id=self.peer_ids(),
            created_date=1,
            payload_type=PayloadType.OUTPUT,
            sequence_number=sequence,
        ).serialize()

    def ack(self, sequence: int) -> bytes:
        body = json.dumps(
            {
                "AcknowledgedMessageType": "input_stream_data",
                "AcknowledgedMessageId": "x",
                "AcknowledgedMessageSequenceNumber": sequence,
                "IsSequentialMessage": True,
            }
        ).encode()
        return ClientMessage(
            message_type=MessageType.ACKNOWLEDGE,
            payload=body,
            message_id=self.peer_ids(),
            created_date=1,
            flags=3,
        ).serialize()

    def control(self, kind: str, payload: bytes = b"{}") -> bytes:
        return ClientMessage(
            message_type=kind, payload=payload, message_id=self.peer_ids(), created_date=1
        ).serialize()

    def sent(self) -> list[ClientMessage]:
        return [ClientMessage.parse(frame) for frame in self.channel.data_to_send()]

    def acked(self) -> list[int]:
        return [
            json.loads(m.payload)["AcknowledgedMessageSequenceNumber"]
            for m in self.sent()
            if m.message_type == MessageType.ACKNOWLEDGE
        ]


def test_every_stream_message_is_acked_duplicates_too() -> None:
    """The client acks every output_stream_data message, duplicates again (§5.2 advice)."""
    h = Harness()
    frame0 = h.frame(0, b"a")
    h.channel.receive(frame0, 0.0)
    h.channel.receive(frame0, 0.0)
    assert h.acked() == [0, 0]
    assert h.delivered == [b"a"]


def test_ack_message_has_the_shape_of_section_5_1() -> None:
    """An ack: acknowledge, SequenceNumber 0, Flags 3, PayloadType 0, naming the acked message."""
    h = Harness()
    frame = h.frame(0, b"a")
    h.channel.receive(frame, 0.0)
    (ack,) = h.sent()
    assert (ack.sequence_number, ack.flags, ack.payload_type) == (0, 3, PayloadType.UNDEFINED)
    expected = AcknowledgeContent("output_stream_data", str(ClientMessage.parse(frame).message_id), 0)
    assert ack.payload == expected.to_json()
    body = json.loads(ack.payload)
    assert body == {
        "AcknowledgedMessageType": "output_stream_data",
        "AcknowledgedMessageId": str(ClientMessage.parse(frame).message_id),
        "AcknowledgedMessageSequenceNumber": 0,
        "IsSequentialMessage": True,
    }


def test_out_of_order_messages_are_acked_at_once_and_delivered_in_order() -> None:
    """Later messages are acked on arrival, buffered, and handed over once the gap is filled."""
    h = Harness()
    for sequence in (2, 1):
        h.channel.receive(h.frame(sequence, bytes([65 + sequence])), 0.0)
    assert h.acked() == [2, 1]
    assert h.delivered == []
    assert h.channel.reorder_count == 2
    h.channel.receive(h.frame(0, b"A"), 0.0)
    assert h.delivered == [b"A", b"B", b"C"]
    assert h.channel.expected_sequence_number == 3


def test_not_ready_handler_means_no_ack_and_no_delivery() -> None:
    """While the handler is not ready the in-order message is dropped unacked, so the peer resends it."""
    h = Harness()
    h.ready = False
    h.channel.receive(h.frame(0, b"early"), 0.0)
    assert h.acked() == []
    assert h.delivered == []
    assert h.channel.expected_sequence_number == 0
    h.ready = True
    h.channel.receive(h.frame(0, b"early"), 0.3)
    assert h.acked() == [0]
    assert h.delivered == [b"early"]


def test_buffered_messages_wait_for_readiness_then_redeliver() -> None:
    """Buffered (already acked) messages stay until the handler is ready; redeliver() hands them over."""
    h = Harness()
    h.channel.receive(h.frame(1, b"B"), 0.0)
    h.channel.receive(h.frame(0, b"A"), 0.0)
    assert h.delivered == [b"A", b"B"]
    h.channel.receive(h.frame(3, b"D"), 0.0)
    h.ready = False
    h.channel.receive(h.frame(2, b"C"), 0.0)  # not ready: dropped unacked
    h.ready = True
    h.channel.redeliver()  # D still waits for C
    assert h.delivered == [b"A", b"B"]
    h.channel.receive(h.frame(2, b"C"), 0.1)
    assert h.delivered == [b"A", b"B", b"C", b"D"]


def test_handler_error_is_raised_after_the_channel_finished() -> None:
    """A payload the handler rejects is raised, but buffered successors are still delivered."""
    h = Harness()
    h.fail_on = b"bad"
    h.channel.receive(h.frame(1, b"after"), 0.0)
    with pytest.raises(MalformedPayload, match="refused"):
        h.channel.receive(h.frame(0, b"bad"), 0.0)
    assert h.delivered == [b"after"]
    assert h.channel.expected_sequence_number == 2


def test_reorder_buffer_full_drops_silently() -> None:
    """Beyond the reorder capacity an early message is dropped without an ack (§5.2)."""
    h = Harness(reorder_capacity=2)
    for sequence in (1, 2, 3):
        h.channel.receive(h.frame(sequence), 0.0)
    assert h.acked() == [1, 2]


def test_sequence_numbers_count_every_stream_message() -> None:
    """Our messages are numbered 0, 1, 2, ... and keep the given payload type."""
    h = Harness()
    assert [h.channel.send_stream(PayloadType.OUTPUT, b"k", 0.0) for _ in range(3)] == [0, 1, 2]
    assert [m.sequence_number for m in h.sent()] == [0, 1, 2]


def test_agent_sets_syn_on_its_first_message_only() -> None:
    """With syn_on_first (the agent), message 0 carries Flags 1 and later ones 0."""
    h = Harness(syn_on_first=True)
    h.channel.send_stream(PayloadType.OUTPUT, b"a", 0.0)
    h.channel.send_stream(PayloadType.OUTPUT, b"b", 0.0)
    assert [m.flags for m in h.sent()] == [1, 0]


def test_empty_stream_payload_is_refused() -> None:
    """No real peer can take an empty payload, so sending one is a local error."""
    with pytest.raises(LocalProtocolError):
        Harness().channel.send_stream(PayloadType.OUTPUT, b"", 0.0)


def test_ack_removes_by_sequence_number_and_ignores_unknown_ones() -> None:
    """Acks match by sequence number; an ack for an unknown number changes nothing."""
    h = Harness()
    for _ in range(3):
        h.channel.send_stream(PayloadType.OUTPUT, b"k", 0.0)
    h.channel.receive(h.ack(1), 0.05)
    h.channel.receive(h.ack(99), 0.05)
    assert h.channel.unacked_count == 2


def test_oldest_unacked_message_is_resent_after_rto_byte_for_byte() -> None:
    """After the initial 200 ms RTO only the oldest unacked message is resent, with the same bytes."""
    h = Harness()
    h.channel.send_stream(PayloadType.OUTPUT, b"first", 0.0)
    h.channel.send_stream(PayloadType.OUTPUT, b"second", 0.0)
    original = h.channel.data_to_send()
    h.channel.tick(0.1)
    h.channel.tick(0.2)
    assert h.channel.data_to_send() == []
    h.channel.tick(0.3)
    assert h.channel.data_to_send() == [original[0]]
    h.channel.tick(0.4)  # resent at 0.3: not due again before 0.5
    assert h.channel.data_to_send() == []


def test_rtt_estimate_updates_rto_like_rfc_6298() -> None:
    """An ack after 50 ms gives SRTT 93.75 ms, RTTVAR 12.5 ms, so RTO 143.75 ms; RTO never exceeds 1 s."""
    h = Harness()
    assert h.channel.rto == pytest.approx(0.2)
    h.channel.send_stream(PayloadType.OUTPUT, b"a", 0.0)
    h.channel.receive(h.ack(0), 0.05)
    assert h.channel.rto == pytest.approx(0.09375 + 4 * 0.0125)
    h.channel.send_stream(PayloadType.OUTPUT, b"b", 1.0)
    h.channel.receive(h.ack(1), 30.0)
    assert h.channel.rto == pytest.approx(1.0)


def test_resend_limit_is_reported_once() -> None:
    """After max_resends attempts of one message, ResendLimitReached is emitted (once)."""
    h = Harness(max_resends=3)
    h.channel.send_stream(PayloadType.OUTPUT, b"lost", 0.0)
    for step in range(1, 20):
        h.channel.tick(step * 0.5)
    events = []
    while (event := h.channel.next_event()) is not None:
        events.append(event)
    assert events == [ResendLimitReached(0)]


def test_pause_buffers_new_data_and_start_sends_it() -> None:
    """pause_publication holds new stream data and resends; acks still go out; start_publication flushes."""
    h = Harness()
    h.channel.receive(h.control(MessageType.PAUSE_PUBLICATION), 0.0)
    assert h.channel.paused
    h.channel.send_stream(PayloadType.OUTPUT, b"held", 0.0)
    h.channel.tick(5.0)
    assert h.sent() == []
    h.channel.receive(h.frame(0, b"in"), 5.0)  # incoming stream data also ends the pause (§5.5)
    kinds = [(m.message_type, m.payload) for m in h.sent()]
    assert kinds[0] == (MessageType.INPUT_STREAM_DATA, b"held")
    assert kinds[1][0] == MessageType.ACKNOWLEDGE
    h.channel.receive(h.control(MessageType.PAUSE_PUBLICATION), 6.0)
    h.channel.send_stream(PayloadType.OUTPUT, b"later", 6.0)
    h.channel.receive(h.control(MessageType.START_PUBLICATION), 7.0)
    assert [m.payload for m in h.sent()] == [b"later"]
    events = []
    while (event := h.channel.next_event()) is not None:
        events.append(type(event))
    assert events == [PublicationPaused, PublicationPaused, PublicationStarted]


def test_reconnected_resends_every_unacked_message_in_order() -> None:
    """After a reconnect all unacked messages go out again at once, oldest first."""
    h = Harness()
    for payload in (b"a", b"b", b"c"):
        h.channel.send_stream(PayloadType.OUTPUT, payload, 0.0)
    first = h.channel.data_to_send()
    h.channel.receive(h.ack(1), 0.1)
    h.channel.reconnected(1.0)
    assert h.channel.data_to_send() == [first[0], first[2]]


def test_outgoing_buffer_policies_when_full() -> None:
    """Full outgoing buffer: the client drops its oldest entry, the agent keeps the old ones."""
    client = Harness(outgoing_capacity=2)
    agent = Harness(outgoing_capacity=2, drop_oldest_when_full=False)
    for h in (client, agent):
        for _ in range(3):
            h.channel.send_stream(PayloadType.OUTPUT, b"k", 0.0)
        h.channel.data_to_send()
        h.channel.tick(1.0)
    assert [m.sequence_number for m in client.sent()] == [1]
    assert [m.sequence_number for m in agent.sent()] == [0]


def test_channel_closed_with_broken_json_still_closes() -> None:
    """channel_closed ends the session even when its payload cannot be read."""
    h = Harness()
    h.channel.receive(h.control(MessageType.CHANNEL_CLOSED, b"{not json"), 0.0)
    h.channel.receive(
        h.control(MessageType.CHANNEL_CLOSED, b'{"Output":"idle timeout","SessionId":"s-1"}'), 0.0
    )
    assert h.channel.next_event() == ChannelClosed("")
    assert h.channel.next_event() == ChannelClosed("idle timeout", "s-1")
    assert h.sent() == []  # never acked


def test_unknown_and_wrong_direction_messages_are_ignored() -> None:
    """agent_session_state, unknown types and our own stream type are dropped without an ack."""
    h = Harness()
    h.channel.receive(h.control(MessageType.AGENT_SESSION_STATE), 0.0)
    h.channel.receive(h.control("agent_job"), 0.0)
    h.channel.receive(h.frame(0, kind=MessageType.INPUT_STREAM_DATA), 0.0)
    assert h.sent() == []
    assert h.delivered == []


def test_chunks_are_at_most_1024_bytes_and_keep_utf8_whole() -> None:
    """Chunked text concatenates back to the input, no chunk over 1024 bytes, each valid UTF-8."""
    text = "".join(random.Random(3).choice(["a", "é", "€", "😀", "\n"]) for _ in range(5000)).encode()
    chunks = chunk_payload(text, keep_utf8=True)
    assert b"".join(chunks) == text
    for chunk in chunks:
        assert 0 < len(chunk) <= MAX_PAYLOAD_SIZE
        chunk.decode("utf-8")


def test_utf8_chunker_holds_a_split_character_for_the_next_read() -> None:
    """A pty read ending mid-character: the partial tail waits for the next read (§7.2)."""
    chunker = Utf8Chunker()
    emoji = "😀".encode()
    assert chunker.feed(b"ab" + emoji[:2]) == [b"ab"]
    assert chunker.pending == emoji[:2]
    assert chunker.feed(emoji[2:] + b"c") == [emoji + b"c"]
    assert chunker.feed(b"\xe2\x82") == []
    assert chunker.flush() == [b"\xe2\x82"]


def test_binary_data_is_chunked_at_the_limit() -> None:
    """Bytes that are not UTF-8 are cut at exactly 1024 bytes; nothing is lost."""
    data = bytes([0x80]) * 3000
    chunks = chunk_payload(data, keep_utf8=True)
    assert [len(chunk) for chunk in chunks] == [1024, 1024, 952]


def test_next_deadline_tracks_the_oldest_unacked_message() -> None:
    """next_deadline() says when tick() will resend, so a transport can sleep until then."""
    h = Harness()
    assert h.channel.next_deadline() is None
    h.channel.send_stream(PayloadType.OUTPUT, b"a", 2.0)
    assert h.channel.next_deadline() == pytest.approx(2.2)
    h.channel.receive(h.ack(0), 2.1)
    assert h.channel.next_deadline() is None


def test_ids_are_fresh_per_message() -> None:
    """Every message gets a new MessageId from new_id."""
    h = Harness()
    h.channel.send_stream(PayloadType.OUTPUT, b"a", 0.0)
    h.channel.send_stream(PayloadType.OUTPUT, b"b", 0.0)
    ids = {m.message_id for m in h.sent()}
    assert len(ids) == 2
    assert all(isinstance(i, uuid.UUID) for i in ids)
