"""After a reconnect the client resends what was not acked at once, not at the next timer tick (§3.1, §5.4).

The retransmission timer would deliver the same bytes a little later, so a client that forgets to resend on
reconnect passes every test that lets the timer run. Here the clock stands still, or the timer is stopped.
"""

from __future__ import annotations

import json

from ssmux.protocol.messages import ClientMessage, MessageType, PayloadType
from tests.protocol.pair import Pair, Resize, id_factory, make_pair


def established() -> Pair:
    pair = make_pair()
    pair.agent.send_output(b"$ ", pair.now)
    pair.run_until(lambda: pair.client.established)
    pair.settle()
    return pair


def ack(sequence: int, message_id: object) -> bytes:
    """An acknowledge for one of the client's messages, built from §5.1 (not by our agent)."""
    body = {
        "AcknowledgedMessageType": "input_stream_data",
        "AcknowledgedMessageId": str(message_id),
        "AcknowledgedMessageSequenceNumber": sequence,
        "IsSequentialMessage": True,
    }
    return ClientMessage(
        message_type=MessageType.ACKNOWLEDGE,
        payload=json.dumps(body).encode(),
        message_id=id_factory(9_000_000)(),
        created_date=1_700_000_000_000,
        flags=3,
    ).serialize()


def test_reconnected_resends_every_unacked_message_at_once_in_order() -> None:
    """reconnected(now) with the clock unchanged: data_to_send() is every unacked message, oldest first.

    The frames are the very bytes sent before the drop (same MessageId and sequence number); acked ones are
    not repeated, and nothing else is sent.
    """
    pair = established()
    client, now = pair.client, pair.now
    client.send_input(b"one", now)
    client.send_input(b"two", now)
    client.resize(100, 30, now)
    client.send_input(b"three", now)
    client.send_input(b"four", now)
    sent = client.data_to_send()  # written to a socket that is about to die
    messages = [ClientMessage.parse(frame) for frame in sent]
    assert [m.payload for m in messages] == [b"one", b"two", b'{"cols":100,"rows":30}', b"three", b"four"]
    # The agent got and acked the first and the third before the drop; the acks arrive.
    for message in (messages[0], messages[2]):
        client.receive(ack(message.sequence_number, message.message_id), now)
    assert client.data_to_send() == []
    client.tick(now)  # the timer at this instant has nothing due yet: only a reconnect can resend now
    assert client.data_to_send() == []

    client.reconnected(now)

    assert client.data_to_send() == [sent[1], sent[3], sent[4]]


def test_resent_messages_reach_the_agent_in_order_without_a_timer() -> None:
    """Keys typed just before a drop arrive once, in order, after the reconnect, with the timer stopped."""
    pair = established()
    pair._next_tick = float("inf")  # the 100 ms timer never fires again on either side
    pair.client.send_input(b"echo ", pair.now)
    pair.client.resize(120, 40, pair.now)
    pair.client.send_input(b"still here\r", pair.now)
    pair.agent.send_output(b"output before the drop", pair.now)
    pair.flush()  # on the wire ...
    pair.disconnect()  # ... and lost with the websocket
    for _ in range(50):
        pair.step()
    pair.reconnect()
    pair.settle(limit=30.0)
    assert bytes(pair.received_input) == b"echo still here\r"
    assert pair.events_of("agent", Resize) == [Resize(120, 40)]
    assert bytes(pair.output).endswith(b"output before the drop")


def test_messages_sent_while_disconnected_go_out_on_reconnect() -> None:
    """Keys given while the socket is down (flushed into nothing) are sent as soon as the new one is up."""
    pair = established()
    client, now = pair.client, pair.now
    pair.disconnect()
    client.send_input(b"typed while away", now)
    lost = client.data_to_send()  # the transport had no socket to write them to
    assert [ClientMessage.parse(frame).payload_type for frame in lost] == [PayloadType.OUTPUT]
    client.reconnected(now)
    assert client.data_to_send() == lost
