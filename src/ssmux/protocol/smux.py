"""Sans-I/O smux v1: many TCP streams over one byte stream (``docs/ssm-protocol.md`` §8.4).

In mux port forwarding the Output payloads of both directions, concatenated, form one byte stream that
carries the xtaci/smux protocol (version 1). The client is the smux client (opens streams), the agent the
smux server (accepts them). Frames::

    0      1      2             4                           8
    +------+------+-------------+---------------------------+----------------+
    | ver  | cmd  | length u16  | stream id u32             | data (length)  |
    | =1   |      | little-end. | little-endian             |                |
    +------+------+-------------+---------------------------+----------------+

Commands: SYN 0 (open), FIN 1 (close, an EOF mark), PSH 2 (data), NOP 3 (keepalive), UPD 4 (v2 window
update; its 8 bytes are skipped). Data frames carry at most 32768 bytes (MaxFrameSize).

Stream semantics follow xtaci/smux v1: the client's stream ids are odd and start at 3 (counter 1, +2
before each use), the server's even from 2; a SYN for a known id is ignored; data for an unknown or
locally closed stream is dropped; FIN from the peer means no more data will come (:class:`StreamClosed`),
but we may still send until we close; :meth:`SmuxSession.close_stream` sends FIN and forgets the stream.
A frame with another version or an unknown command is a protocol error that ends the smux session.
There is no flow control in v1; back-pressure is the transport's business (stop reading).
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

from ssmux.protocol.errors import LocalProtocolError, SmuxError

__all__ = [
    "CMD_FIN",
    "CMD_NOP",
    "CMD_PSH",
    "CMD_SYN",
    "CMD_UPD",
    "KEEPALIVE_INTERVAL",
    "MAX_FRAME_SIZE",
    "SMUX_VERSION",
    "SmuxEvent",
    "SmuxFrame",
    "SmuxSession",
    "StreamClosed",
    "StreamData",
    "StreamOpened",
]

SMUX_VERSION = 1
CMD_SYN = 0
CMD_FIN = 1
CMD_PSH = 2
CMD_NOP = 3
CMD_UPD = 4
#: Largest data part of one frame (the plugin's and agent's MaxFrameSize).
MAX_FRAME_SIZE = 32768
HEADER_SIZE = 8
#: Seconds between keepalive NOPs, when keepalive is on (xtaci/smux KeepAliveInterval; §8.4).
KEEPALIVE_INTERVAL = 10.0
_UPD_SIZE = 8
_HEADER = struct.Struct("<BBHI")


@dataclass(frozen=True, slots=True)
class SmuxFrame:
    """One smux frame."""

    cmd: int
    stream_id: int
    data: bytes = b""
    version: int = SMUX_VERSION

    def serialize(self) -> bytes:
        """Encode header and data.

        Raises:
            LocalProtocolError: data longer than 65535 bytes or a field out of range.
        """
        if len(self.data) > 0xFFFF or not 0 <= self.stream_id <= 0xFFFFFFFF or not 0 <= self.cmd <= 0xFF:
            raise LocalProtocolError(f"smux frame does not fit: cmd {self.cmd}, {len(self.data)} bytes")
        return _HEADER.pack(self.version, self.cmd, len(self.data), self.stream_id) + self.data


@dataclass(frozen=True, slots=True)
class StreamOpened:
    """The peer opened stream ``stream_id`` (server role: accept it and dial the destination)."""

    stream_id: int


@dataclass(frozen=True, slots=True)
class StreamData:
    """Bytes the peer sent on ``stream_id``."""

    stream_id: int
    data: bytes


@dataclass(frozen=True, slots=True)
class StreamClosed:
    """The peer closed ``stream_id`` (FIN): no more data will come; close it on our side too."""

    stream_id: int


SmuxEvent = StreamOpened | StreamData | StreamClosed


class SmuxSession:
    """One end of a smux v1 session, without I/O: bytes in (:meth:`receive`), events and bytes out."""

    def __init__(self, client: bool, *, max_frame_size: int = MAX_FRAME_SIZE) -> None:
        """Create a session.

        Args:
            client: True for the client role (stream ids 3, 5, 7, ...), False for the server (2, 4, ...).
            max_frame_size: largest data part of a PSH frame we send.
        """
        self.client = client
        self._next_id = 1 if client else 0
        self._max_frame = max_frame_size
        self._streams: dict[int, bool] = {}  # stream id -> the peer has sent FIN
        self._inbox = bytearray()
        self._outbox = bytearray()
        self._events: deque[SmuxEvent] = deque()
        self._broken: SmuxError | None = None

    @property
    def streams(self) -> list[int]:
        """Ids of the streams open on our side."""
        return list(self._streams)

    def is_open(self, stream_id: int) -> bool:
        """True if ``stream_id`` is open on our side (we may send on it)."""
        return stream_id in self._streams

    def open_stream(self) -> int:
        """Open a new stream (sends SYN) and return its id."""
        self._next_id += 2
        stream_id = self._next_id
        self._streams[stream_id] = False
        self._outbox += SmuxFrame(CMD_SYN, stream_id).serialize()
        return stream_id

    def send(self, stream_id: int, data: bytes) -> None:
        """Send bytes on an open stream, in PSH frames of at most ``max_frame_size`` bytes.

        Raises:
            LocalProtocolError: the stream is not open on our side.
        """
        if stream_id not in self._streams:
            raise LocalProtocolError(f"smux stream {stream_id} is not open")
        view = memoryview(bytes(data))
        for start in range(0, len(view), self._max_frame):
            self._outbox += SmuxFrame(
                CMD_PSH, stream_id, bytes(view[start : start + self._max_frame])
            ).serialize()

    def close_stream(self, stream_id: int) -> None:
        """Close a stream (sends FIN) and forget it; closing an unknown or closed stream does nothing."""
        if self._streams.pop(stream_id, None) is not None:
            self._outbox += SmuxFrame(CMD_FIN, stream_id).serialize()

    def send_nop(self) -> None:
        """Send a keepalive NOP frame (only when keepalive is on, see ``smux_keepalive`` properties)."""
        self._outbox += SmuxFrame(CMD_NOP, 0).serialize()

    def data_to_send(self) -> bytes:
        """Bytes to send to the peer (as Output payloads), then cleared."""
        out = bytes(self._outbox)
        self._outbox.clear()
        return out

    def next_event(self) -> SmuxEvent | None:
        """The next event, or None."""
        return self._events.popleft() if self._events else None

    def events(self) -> list[SmuxEvent]:
        """Pop every pending event."""
        out = list(self._events)
        self._events.clear()
        return out

    def receive(self, data: bytes) -> None:
        """Take bytes from the peer, in any split; complete frames become events.

        Raises:
            SmuxError: a frame has another version or an unknown command. The smux session is then
                broken and every later call raises the same error (as xtaci/smux closes the session).
        """
        if self._broken is not None:
            raise self._broken
        self._inbox += data
        offset = 0
        try:
            while len(self._inbox) - offset >= HEADER_SIZE:
                version, cmd, length, stream_id = _HEADER.unpack_from(self._inbox, offset)
                if version != SMUX_VERSION:
                    raise SmuxError(f"smux frame has version {version}, expected {SMUX_VERSION}")
                if cmd == CMD_UPD:
                    # The v2 window update carries 8 bytes whatever its length says; skip them.
                    if len(self._inbox) - offset < HEADER_SIZE + _UPD_SIZE:
                        break
                    offset += HEADER_SIZE + _UPD_SIZE
                    continue
                if cmd == CMD_PSH:
                    if len(self._inbox) - offset < HEADER_SIZE + length:
                        break
                    body = bytes(self._inbox[offset + HEADER_SIZE : offset + HEADER_SIZE + length])
                    offset += HEADER_SIZE + length
                    if body and self._streams.get(stream_id) is False:
                        self._events.append(StreamData(stream_id, body))
                    continue
                # SYN, FIN and NOP carry no data in smux: their length field is not read.
                offset += HEADER_SIZE
                if cmd == CMD_SYN:
                    if stream_id not in self._streams:
                        self._streams[stream_id] = False
                        self._events.append(StreamOpened(stream_id))
                elif cmd == CMD_FIN:
                    if self._streams.get(stream_id) is False:
                        self._streams[stream_id] = True
                        self._events.append(StreamClosed(stream_id))
                elif cmd != CMD_NOP:
                    raise SmuxError(f"smux frame has unknown command {cmd}")
        except SmuxError as error:
            self._broken = error
            self._inbox.clear()
            raise
        finally:
            if self._broken is None:
                del self._inbox[:offset]
