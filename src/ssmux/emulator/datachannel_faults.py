"""Data-channel faults: lose, duplicate and reorder data frames, and drop the websocket after N of them.

Only stream data frames (``input_stream_data`` / ``output_stream_data``) are touched: acks, channel_closed and
publication messages always pass, so the protocol's own retransmission (spec §5.4) is what repairs the damage,
as it would on a bad network. Decisions are drawn from seeded :class:`~ssmux.emulator.faults.Dice`, one
stream per direction and session, so a run can be repeated.

``drop_after`` counts data frames in both directions on one websocket connection; after the N-th the data
channel aborts the connection (a network drop, no close frame) and the client must resume the session with a
new token. Every new connection counts from zero again. Only frames carried for the first time count:
after a resume each side resends everything unacked at once, and if those resends counted, a backlog larger
than N would be cut off again before its acks came back, on every connection, forever.
"""

from __future__ import annotations

import struct

from ssmux.emulator.faults import Dice, Faults
from ssmux.protocol.messages import MESSAGE_TYPE_LENGTH, MESSAGE_TYPE_OFFSET, MessageType
from ssmux.protocol.messages import SEQUENCE_NUMBER_OFFSET as _SEQUENCE_OFFSET

# The MessageType field of a ClientMessage, padded with spaces (or NULs); the SequenceNumber is a
# big-endian int64 (spec §4; offsets in ssmux.protocol.messages).
_TYPE_START, _TYPE_END = MESSAGE_TYPE_OFFSET, MESSAGE_TYPE_OFFSET + MESSAGE_TYPE_LENGTH
_SEQUENCE = struct.Struct(">q")
_DATA_TYPES = tuple(t.value.encode() for t in (MessageType.INPUT_STREAM_DATA, MessageType.OUTPUT_STREAM_DATA))


def is_data_frame(frame: bytes) -> bool:
    """Whether ``frame`` is a sequenced stream-data message (judged from its MessageType field alone)."""
    kind = frame[_TYPE_START:_TYPE_END].strip(b"\x00 ")
    return kind in _DATA_TYPES


class FrameMangler:
    """Applies loss, duplication and reordering to one direction of one session's frames.

    Args:
        faults: the session's fault options.
        dice: the seeded source of decisions for this direction.
    """

    def __init__(self, faults: Faults, dice: Dice) -> None:
        self.faults = faults
        self.dice = dice
        self._held: bytes | None = None

    @property
    def active(self) -> bool:
        """Whether any of loss/duplicate/reorder is on."""
        return bool(self.faults.loss or self.faults.duplicate or self.faults.reorder)

    def apply(self, frame: bytes) -> list[bytes]:
        """The frames to pass on, in order, when ``frame`` comes through (possibly none, or two)."""
        if not self.active or not is_data_frame(frame):
            return [frame]
        if self.dice.chance(self.faults.loss):
            return self._release([])
        out = [frame, frame] if self.dice.chance(self.faults.duplicate) else [frame]
        if self._held is None and self.dice.chance(self.faults.reorder):
            # Hold this one back: it goes out behind the next data frame (or at the next flush).
            self._held = frame
            return out[1:]
        return self._release(out)

    def flush(self) -> list[bytes]:
        """Release a frame held back for reordering (called on every timer tick so none waits forever)."""
        return self._release([])

    def _release(self, out: list[bytes]) -> list[bytes]:
        if self._held is not None:
            out.append(self._held)
            self._held = None
        return out


class DropCounter:
    """Counts the new data frames of one websocket connection against ``drop_after``.

    One counter serves both directions of a session; it remembers the highest sequence number seen per
    message type across connections, so a resent frame is recognised and not counted.
    """

    def __init__(self, drop_after: int | None) -> None:
        self.drop_after = drop_after
        self.count = 0
        self._highest: dict[bytes, int] = {}

    def reset(self) -> None:
        """A new connection: count from zero."""
        self.count = 0

    def passed(self, frame: bytes) -> bool:
        """Count ``frame``; True when it was the last one this connection may carry."""
        if self.drop_after is None or not is_data_frame(frame) or len(frame) < _SEQUENCE_OFFSET + 8:
            return False
        kind = frame[_TYPE_START:_TYPE_END].strip(b"\x00 ")
        (sequence,) = _SEQUENCE.unpack_from(frame, _SEQUENCE_OFFSET)
        if sequence <= self._highest.get(kind, -1):
            return False  # a resend
        self._highest[kind] = sequence
        self.count += 1
        return self.count >= self.drop_after
