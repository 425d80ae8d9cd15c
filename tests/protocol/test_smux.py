"""smux v1 (§8.4): frame bytes, stream ids, open/data/close, many streams, protocol errors."""

from __future__ import annotations

import random

import pytest

from ssmux.protocol.errors import LocalProtocolError, SmuxError
from ssmux.protocol.smux import (
    CMD_FIN,
    CMD_NOP,
    CMD_PSH,
    CMD_SYN,
    MAX_FRAME_SIZE,
    SmuxFrame,
    SmuxSession,
    StreamClosed,
    StreamData,
    StreamOpened,
)


def feed_in_pieces(session: SmuxSession, data: bytes, rng: random.Random) -> None:
    position = 0
    while position < len(data):
        step = rng.randint(1, 50_000)
        session.receive(data[position : position + step])
        position += step


def test_frame_layout_is_version_cmd_le_length_le_stream_id() -> None:
    """A PSH frame is ver 1, cmd 2, little-endian length and stream id, then the data."""
    assert SmuxFrame(CMD_PSH, 3, b"hi").serialize() == bytes([1, 2, 2, 0, 3, 0, 0, 0]) + b"hi"
    assert SmuxFrame(CMD_SYN, 0x01020304).serialize() == bytes([1, 0, 0, 0, 4, 3, 2, 1])


def test_client_stream_ids_are_odd_from_3_and_server_ids_even_from_2() -> None:
    """The client's counter starts at 1 and adds 2 before each use (3, 5, 7); the server's 2, 4, 6."""
    client, server = SmuxSession(client=True), SmuxSession(client=False)
    assert [client.open_stream() for _ in range(3)] == [3, 5, 7]
    assert [server.open_stream() for _ in range(3)] == [2, 4, 6]
    assert client.data_to_send() == b"".join(SmuxFrame(CMD_SYN, i).serialize() for i in (3, 5, 7))


def test_open_send_close_between_client_and_server() -> None:
    """SYN opens a stream on the server, PSH carries bytes, FIN closes it; each is one event."""
    client, server = SmuxSession(client=True), SmuxSession(client=False)
    stream = client.open_stream()
    client.send(stream, b"hello")
    client.close_stream(stream)
    server.receive(client.data_to_send())
    assert server.events() == [StreamOpened(3), StreamData(3, b"hello"), StreamClosed(3)]
    assert client.streams == []


def test_large_writes_are_split_at_the_max_frame_size() -> None:
    """Data over 32768 bytes goes out as several PSH frames that the peer joins back."""
    client, server = SmuxSession(client=True), SmuxSession(client=False)
    stream = client.open_stream()
    data = random.Random(1).randbytes(100_000)
    client.send(stream, data)
    wire = client.data_to_send()
    assert len(wire) == 8 + 100_000 + 4 * 8  # SYN + 4 PSH headers (32768 * 3 + 1696)
    server.receive(wire)
    chunks = [e.data for e in server.events() if isinstance(e, StreamData)]
    assert [len(c) for c in chunks] == [MAX_FRAME_SIZE] * 3 + [100_000 - 3 * MAX_FRAME_SIZE]
    assert b"".join(chunks) == data


def test_many_streams_round_trip_in_random_pieces() -> None:
    """100 interleaved streams echoed by a server arrive intact, each on its own stream, any cut of bytes."""
    rng = random.Random(2)
    client, server = SmuxSession(client=True), SmuxSession(client=False)
    sent: dict[int, bytearray] = {}
    for _ in range(100):
        sent[client.open_stream()] = bytearray()
    for _ in range(600):
        stream = rng.choice(list(sent))
        data = rng.randbytes(rng.randint(1, 3000))
        sent[stream] += data
        client.send(stream, data)
    feed_in_pieces(server, client.data_to_send(), rng)
    for event in server.events():
        if isinstance(event, StreamData):
            server.send(event.stream_id, event.data)
    echoed: dict[int, bytearray] = {}
    feed_in_pieces(client, server.data_to_send(), rng)
    for event in client.events():
        assert isinstance(event, StreamData)
        echoed.setdefault(event.stream_id, bytearray()).extend(event.data)
    assert echoed == {stream: data for stream, data in sent.items() if data}


def test_peer_fin_is_half_close_until_we_close() -> None:
    """After the peer's FIN we may still send; data after that FIN is dropped; our close sends FIN."""
    client, server = SmuxSession(client=True), SmuxSession(client=False)
    stream = client.open_stream()
    server.receive(client.data_to_send())
    server.receive(SmuxFrame(CMD_FIN, stream).serialize() + SmuxFrame(CMD_PSH, stream, b"late").serialize())
    assert server.events() == [StreamOpened(stream), StreamClosed(stream)]
    server.send(stream, b"still allowed")
    server.close_stream(stream)
    server.close_stream(stream)  # closing twice is harmless
    client.receive(server.data_to_send())
    assert client.events() == [StreamData(stream, b"still allowed"), StreamClosed(stream)]


def test_frames_for_unknown_or_closed_streams_are_ignored() -> None:
    """Data or FIN for a stream we do not have is dropped silently, as xtaci/smux does."""
    server = SmuxSession(client=False)
    server.receive(SmuxFrame(CMD_PSH, 9, b"stray").serialize() + SmuxFrame(CMD_FIN, 9).serialize())
    assert server.events() == []
    server.receive(SmuxFrame(CMD_SYN, 9).serialize() + SmuxFrame(CMD_SYN, 9).serialize())
    assert server.events() == [StreamOpened(9)]  # a repeated SYN is ignored


def test_nop_and_v2_window_updates_are_skipped() -> None:
    """NOP keepalives and UPD frames (8 bytes of window data) produce no events."""
    server = SmuxSession(client=False)
    upd = bytes([1, 4, 8, 0, 3, 0, 0, 0]) + bytes(8)
    server.receive(SmuxFrame(CMD_NOP, 0).serialize() + upd + SmuxFrame(CMD_SYN, 3).serialize())
    assert server.events() == [StreamOpened(3)]
    client = SmuxSession(client=True)
    client.send_nop()
    assert client.data_to_send() == bytes([1, 3, 0, 0, 0, 0, 0, 0])


@pytest.mark.parametrize(
    ("frame", "message"),
    [(bytes([2, 2, 0, 0, 3, 0, 0, 0]), "version 2"), (bytes([1, 9, 0, 0, 3, 0, 0, 0]), "unknown command 9")],
)
def test_bad_frames_break_the_session(frame: bytes, message: str) -> None:
    """Another version or an unknown command raises SmuxError, and the session stays broken."""
    server = SmuxSession(client=False)
    with pytest.raises(SmuxError, match=message):
        server.receive(frame)
    with pytest.raises(SmuxError):
        server.receive(SmuxFrame(CMD_SYN, 3).serialize())


def test_sending_on_a_closed_stream_is_a_local_error() -> None:
    """send() on a stream that is not open raises LocalProtocolError."""
    client = SmuxSession(client=True)
    stream = client.open_stream()
    client.close_stream(stream)
    with pytest.raises(LocalProtocolError, match="not open"):
        client.send(stream, b"x")
