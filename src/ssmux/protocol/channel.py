"""Reliability shared by both ends of the data channel: sequence numbers, acks, ordering, retransmission.

Theory of operation (``docs/ssm-protocol.md`` §5; the client and the agent behave the same here):

* **Sequence numbers** (§5.1). Each end numbers its own stream messages (``input_stream_data`` from the
  client, ``output_stream_data`` from the agent) from 0, one per message, handshake, size and flag
  messages included. Acks, ``channel_closed`` and publication messages carry 0 and are not sequenced.
* **Acks** (§5.1). Every stream message received is answered with an ``acknowledge`` (SequenceNumber 0,
  Flags 3, PayloadType 0) naming its type, MessageId and sequence number. Senders match acks by
  sequence number only; unknown numbers are ignored.
* **In-order delivery** (§5.2). With ``E`` the next expected number and ``s`` the received one:
  ``s == E`` is handed to the session only if its handler is *ready*; otherwise it is dropped without an
  ack so the peer sends it again. Once handed over it is acked, ``E`` advances and buffered successors
  are delivered. ``s > E`` is acked at once and kept in a reorder buffer, bounded in messages and in
  payload bytes; one that does not fit is dropped without an ack, so a peer that really sent it sends it
  again, and a peer that skips far ahead cannot grow our memory past the byte bound. ``s < E`` is a
  duplicate: it is **acked again** (the agent's rule, and the spec's advice for a native client, since a
  lost ack would otherwise make the peer resend forever) and not delivered.
* **Outgoing buffer and retransmission** (§5.3, §5.4). Each stream message is kept, serialized, until
  acked. Every ack updates an RFC 6298-style estimate (SRTT 100 ms, RTTVAR 0, RTO 200 ms at start;
  RTO = SRTT + max(10 ms, 4·RTTVAR), at most 1 s). On each :meth:`Channel.tick` (the transport calls it
  every 100 ms) only the *oldest* unacked message is looked at and resent, byte for byte, when it was
  last sent more than RTO ago. ``LastSentTime`` is updated on resend (the agent's behaviour; the plugin's
  copy bug is not reproduced). After ``max_resends`` attempts of one message a
  :class:`ResendLimitReached` event tells the transport to give up (the plugin then calls
  TerminateSession).
* **Pause/start publication** (§5.5). ``pause_publication`` stops sending new stream data and resending;
  new messages are only buffered. ``start_publication``, and any incoming stream data or ack, resume:
  messages never sent go out at once, in order. Acks always go out.
* **Reconnect** (§3.1). Numbers, buffers and the reorder buffer live in this object, not in the socket:
  after a new websocket is up, :meth:`Channel.reconnected` sends every unacked message again.

No clock and no randomness live here: ``now`` (seconds, any monotonic origin) comes into each call,
message ids come from ``new_id`` and CreatedDate from ``wall_ms``, so tests are deterministic.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ssmux.protocol.chunking import MAX_PAYLOAD_SIZE, Utf8Chunker, chunk_payload
from ssmux.protocol.errors import LocalProtocolError, MalformedPayload, ProtocolError
from ssmux.protocol.events import (
    ChannelClosed,
    FlagReceived,
    PublicationPaused,
    PublicationStarted,
    ResendLimitReached,
)
from ssmux.protocol.messages import ACK_FLAGS, FLAG_SYN, ClientMessage, MessageType, PayloadType
from ssmux.protocol.payloads import AcknowledgeContent, ChannelClosedContent

__all__ = [
    "CLOCK_GRANULARITY",
    "INITIAL_RTO",
    "MAX_PAYLOAD_SIZE",
    "MAX_RTO",
    "REORDER_MAX_BYTES",
    "RESEND_INTERVAL",
    "Channel",
    "ChannelClosed",
    "FlagReceived",
    "PublicationPaused",
    "PublicationStarted",
    "ResendLimitReached",
    "Utf8Chunker",
    "chunk_payload",
    "epoch_ms",
]

#: How often the transport should call :meth:`Channel.tick` (the resend scheduler's period).
RESEND_INTERVAL = 0.1
INITIAL_SRTT = 0.1
INITIAL_RTO = 0.2
CLOCK_GRANULARITY = 0.01
MAX_RTO = 1.0
#: Payload bytes kept out of order at most: 4096 full 1 KiB messages, far more than any real reordering.
REORDER_MAX_BYTES = 4 << 20


def epoch_ms() -> int:
    """The wall clock in Unix epoch milliseconds (CreatedDate of outgoing messages)."""
    return int(time.time() * 1000)


# ------------------------------------------------------------------------------------------- channel


@dataclass(slots=True)
class _Unacked:
    data: bytes
    last_sent: float | None
    attempts: int = 0


class Channel:
    """The reliability engine of one end of a session (see the module docstring for the rules).

    A session (client or agent) owns one Channel and gives it two callbacks: ``ready(message)`` says
    whether the handler can take an in-order stream message now (False: no ack, the peer resends), and
    ``deliver(message)`` hands it over. A ``ProtocolError`` raised by ``deliver`` does not stop the
    channel: it finishes what it was doing, then :meth:`receive` re-raises the first such error.
    """

    def __init__(
        self,
        *,
        send_type: MessageType,
        receive_type: MessageType,
        now: float,
        new_id: Callable[[], uuid.UUID],
        ready: Callable[[ClientMessage], bool],
        deliver: Callable[[ClientMessage], None],
        wall_ms: Callable[[], int] = epoch_ms,
        check_digest: bool = True,
        syn_on_first: bool = False,
        reorder_capacity: int = 10_000,
        reorder_max_bytes: int = REORDER_MAX_BYTES,
        outgoing_capacity: int = 10_000,
        drop_oldest_when_full: bool = True,
        max_resends: int | None = 3000,
    ) -> None:
        """Create the channel.

        Args:
            send_type: MessageType of our stream messages (``input_stream_data`` for the client).
            receive_type: MessageType of the peer's stream messages.
            now: the current time in seconds.
            new_id: returns a fresh MessageId for each message.
            ready: whether an in-order stream message can be handled now.
            deliver: takes an in-order stream message (after it has been acked).
            wall_ms: Unix epoch milliseconds for CreatedDate.
            check_digest: verify payload digests (the plugin does; the agent does not).
            syn_on_first: set the SYN flag on our message 0 (the agent does).
            reorder_capacity: most out-of-order messages kept (plugin 10 000, agent 100 000).
            reorder_max_bytes: most payload bytes kept out of order (a real peer's messages carry at
                most 1 KiB each, so the message bound alone would let 1 MiB frames take gigabytes).
            outgoing_capacity: most unacked messages kept (plugin 10 000, agent 100 000).
            drop_oldest_when_full: when the outgoing buffer is full, drop its oldest (plugin) instead of
                not keeping the new message (agent).
            max_resends: resends of one message before :class:`ResendLimitReached`; None for no limit.
        """
        self._send_type = send_type
        self._receive_type = receive_type
        self._new_id = new_id
        self._wall_ms = wall_ms
        self._ready = ready
        self._deliver = deliver
        self._check_digest = check_digest
        self._syn_on_first = syn_on_first
        self._reorder_capacity = reorder_capacity
        self._reorder_max_bytes = reorder_max_bytes
        self._reorder_bytes = 0
        self._outgoing_capacity = outgoing_capacity
        self._drop_oldest = drop_oldest_when_full
        self._max_resends = max_resends

        self._next_sequence = 0
        self._expected = 0
        self._unacked: dict[int, _Unacked] = {}
        self._reorder: dict[int, ClientMessage] = {}
        self._outbox: list[bytes] = []
        self._events: deque[object] = deque()
        self._paused = False
        self._srtt = INITIAL_SRTT
        self._rttvar = 0.0
        self._rto = INITIAL_RTO
        self._limit_reported: set[int] = set()
        self._errors: list[ProtocolError] = []
        self._created = now

    # ---------------------------------------------------------------------------------- state

    @property
    def next_sequence_number(self) -> int:
        """Sequence number our next stream message will carry."""
        return self._next_sequence

    @property
    def expected_sequence_number(self) -> int:
        """Sequence number of the next in-order message we expect from the peer."""
        return self._expected

    @property
    def unacked_count(self) -> int:
        """Number of our stream messages not yet acked."""
        return len(self._unacked)

    @property
    def all_acked(self) -> bool:
        """True when every stream message we sent has been acked."""
        return not self._unacked

    @property
    def reorder_count(self) -> int:
        """Number of out-of-order messages waiting for a gap to fill."""
        return len(self._reorder)

    @property
    def reorder_bytes(self) -> int:
        """Payload bytes of the out-of-order messages waiting for a gap to fill."""
        return self._reorder_bytes

    @property
    def paused(self) -> bool:
        """True between ``pause_publication`` and the next start/stream data/ack."""
        return self._paused

    @property
    def rto(self) -> float:
        """The current retransmission timeout in seconds."""
        return self._rto

    # ---------------------------------------------------------------------------------- events

    def emit(self, event: object) -> None:
        """Queue an event for :meth:`next_event` (sessions put their own events here too)."""
        self._events.append(event)

    def next_event(self) -> object | None:
        """Pop the oldest pending event, or None."""
        return self._events.popleft() if self._events else None

    def data_to_send(self) -> list[bytes]:
        """Pop the frames to write to the websocket, in order (one binary frame each)."""
        out, self._outbox = self._outbox, []
        return out

    # -------------------------------------------------------------------------------- sending

    def build(self, message_type: str, payload: bytes, payload_type: int = 0, flags: int = 0) -> bytes:
        """Serialize an unsequenced message (ack, channel_closed, publication) with a fresh id and date."""
        return ClientMessage(
            message_type=message_type,
            payload=payload,
            message_id=self._new_id(),
            created_date=self._wall_ms(),
            payload_type=payload_type,
            sequence_number=0,
            flags=flags,
        ).serialize()

    def send_control(self, message_type: str, payload: bytes, *, flags: int = ACK_FLAGS) -> None:
        """Queue an unsequenced message; it is sent even while paused and never retransmitted."""
        self._outbox.append(self.build(message_type, payload, flags=flags))

    def send_stream(self, payload_type: int, payload: bytes, now: float) -> int:
        """Send one stream message and keep it until acked; returns its sequence number.

        The payload is sent as given (already encrypted if it must be, at most one chunk).

        Raises:
            LocalProtocolError: ``payload`` is empty (no real peer can take an empty payload).
        """
        if not payload:
            raise LocalProtocolError("stream payloads must not be empty")
        sequence = self._next_sequence
        self._next_sequence += 1
        flags = FLAG_SYN if self._syn_on_first and sequence == 0 else 0
        data = ClientMessage(
            message_type=self._send_type,
            payload=bytes(payload),
            message_id=self._new_id(),
            created_date=self._wall_ms(),
            payload_type=payload_type,
            sequence_number=sequence,
            flags=flags,
        ).serialize()
        entry = _Unacked(data, None if self._paused else now)
        if len(self._unacked) >= self._outgoing_capacity:
            if self._drop_oldest:
                del self._unacked[next(iter(self._unacked))]
                self._unacked[sequence] = entry
        else:
            self._unacked[sequence] = entry
        if not self._paused:
            self._outbox.append(data)
        return sequence

    def tick(self, now: float) -> None:
        """Resend the oldest unacked message if its RTO has passed (call every ~100 ms)."""
        if self._paused or not self._unacked:
            return
        sequence, entry = next(iter(self._unacked.items()))
        if entry.last_sent is not None and now - entry.last_sent <= self._rto:
            return
        entry.last_sent = now
        entry.attempts += 1
        self._outbox.append(entry.data)
        if (
            self._max_resends is not None
            and entry.attempts >= self._max_resends
            and sequence not in self._limit_reported
        ):
            self._limit_reported.add(sequence)
            self.emit(ResendLimitReached(sequence))

    def next_deadline(self) -> float | None:
        """When :meth:`tick` will next have something to resend, or None if nothing is pending."""
        if self._paused or not self._unacked:
            return None
        entry = next(iter(self._unacked.values()))
        return (entry.last_sent or self._created) + self._rto

    def reconnected(self, now: float) -> None:
        """A new websocket is up: send every unacked message again, oldest first, and stop pausing."""
        self._paused = False
        for entry in self._unacked.values():
            entry.last_sent = now
            self._outbox.append(entry.data)

    def pause(self) -> None:
        """Stop sending new stream data and resending (what ``pause_publication`` does)."""
        self._paused = True

    def resume(self, now: float) -> None:
        """Undo :meth:`pause`: messages never sent go out now, in order."""
        if not self._paused:
            return
        self._paused = False
        for entry in self._unacked.values():
            if entry.last_sent is None:
                entry.last_sent = now
                self._outbox.append(entry.data)

    # ------------------------------------------------------------------------------ receiving

    def receive(self, data: bytes, now: float) -> ClientMessage:
        """Take one binary frame from the peer; returns the parsed message.

        Raises:
            ProtocolError: the frame is malformed (nothing changed), or the session's handler rejected
                a delivered payload (the channel state is consistent; see the class docstring).
        """
        message = ClientMessage.parse(data, check_digest=self._check_digest)
        kind = message.message_type
        if kind == self._receive_type:
            self.resume(now)
            self._receive_stream(message)
        elif kind == MessageType.ACKNOWLEDGE:
            ack = AcknowledgeContent.from_json(message.payload)
            self.resume(now)
            self._acknowledged(ack.sequence_number, now)
        elif kind == MessageType.CHANNEL_CLOSED:
            try:
                content = ChannelClosedContent.from_json(message.payload)
                self.emit(ChannelClosed(content.output, content.session_id))
            except MalformedPayload:
                # The session is over whatever the payload says; do not lose the close over its text.
                self.emit(ChannelClosed())
        elif kind == MessageType.PAUSE_PUBLICATION:
            self.pause()
            self.emit(PublicationPaused())
        elif kind == MessageType.START_PUBLICATION:
            self.resume(now)
            self.emit(PublicationStarted())
        # Anything else (our own stream type echoed, agent_session_state, unknown types) is ignored,
        # as the real peers log and drop it.
        if self._errors:
            error, self._errors = self._errors[0], []
            raise error
        return message

    def redeliver(self) -> None:
        """Deliver buffered in-order messages after the handler became ready again.

        An error raised while delivering them is kept and raised by the next :meth:`receive`.
        """
        self._drain()

    def _receive_stream(self, message: ClientMessage) -> None:
        sequence = message.sequence_number
        if sequence == self._expected:
            if not self._ready(message):
                return
            self._ack(message)
            self._expected += 1
            self._hand_over(message)
            self._drain()
        elif sequence > self._expected:
            if sequence in self._reorder:
                self._ack(message)
            elif (
                len(self._reorder) < self._reorder_capacity
                and self._reorder_bytes + len(message.payload) <= self._reorder_max_bytes
            ):
                self._reorder[sequence] = message
                self._reorder_bytes += len(message.payload)
                self._ack(message)
        else:
            self._ack(message)

    def _drain(self) -> None:
        while self._expected in self._reorder:
            message = self._reorder[self._expected]
            if not self._ready(message):
                return
            del self._reorder[self._expected]
            self._reorder_bytes -= len(message.payload)
            self._expected += 1
            self._hand_over(message)

    def _hand_over(self, message: ClientMessage) -> None:
        try:
            self._deliver(message)
        except ProtocolError as error:
            self._errors.append(error)

    def _ack(self, message: ClientMessage) -> None:
        # Acks are the most frequent message: format the fixed-shape JSON directly. These are the same
        # bytes as AcknowledgeContent.to_json, as the type is one of our enum names and the id a UUID.
        payload = (
            f'{{"AcknowledgedMessageType":"{message.message_type}",'
            f'"AcknowledgedMessageId":"{message.message_id}",'
            f'"AcknowledgedMessageSequenceNumber":{message.sequence_number},"IsSequentialMessage":true}}'
        ).encode("ascii")
        self._outbox.append(self.build(MessageType.ACKNOWLEDGE, payload, PayloadType.UNDEFINED, ACK_FLAGS))

    def _acknowledged(self, sequence: int, now: float) -> None:
        entry = self._unacked.pop(sequence, None)
        if entry is None or entry.last_sent is None:
            return
        sample = max(0.0, now - entry.last_sent)
        self._rttvar = 0.75 * self._rttvar + 0.25 * abs(self._srtt - sample)
        self._srtt = 0.875 * self._srtt + 0.125 * sample
        self._rto = min(MAX_RTO, self._srtt + max(CLOCK_GRANULARITY, 4 * self._rttvar))
