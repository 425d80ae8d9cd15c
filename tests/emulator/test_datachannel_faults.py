"""Data-channel fault injection: which frames are touched, what happens to them, and that runs repeat."""

from __future__ import annotations

import uuid

from ssmux.emulator.datachannel_faults import DropCounter, FrameMangler, is_data_frame
from ssmux.emulator.faults import Faults
from ssmux.protocol.messages import ClientMessage, MessageType, PayloadType


def frame(
    kind: MessageType = MessageType.OUTPUT_STREAM_DATA, sequence: int = 0, payload: bytes = b"x"
) -> bytes:
    """A serialized message of ``kind`` with ``sequence``."""
    return ClientMessage(
        message_type=kind, payload=payload, message_id=uuid.uuid4(), created_date=1,
        payload_type=PayloadType.OUTPUT, sequence_number=sequence,
    ).serialize()  # fmt: skip


def mangler(**faults: float) -> FrameMangler:
    """A mangler with the given probabilities and seed 1."""
    options = Faults(seed=1, **faults)  # type: ignore[arg-type]
    return FrameMangler(options, options.dice("test"))


def test_only_stream_data_counts_as_data_frame() -> None:
    """input/output_stream_data are data frames; acks and channel_closed are not."""
    assert is_data_frame(frame(MessageType.OUTPUT_STREAM_DATA))
    assert is_data_frame(frame(MessageType.INPUT_STREAM_DATA))
    assert not is_data_frame(frame(MessageType.ACKNOWLEDGE))
    assert not is_data_frame(frame(MessageType.CHANNEL_CLOSED))
    assert not is_data_frame(b"short")


def test_loss_drops_data_frames_but_never_acks() -> None:
    """With loss 1 every data frame disappears while acks still pass."""
    faults = mangler(loss=1.0)
    assert faults.apply(frame()) == []
    ack = frame(MessageType.ACKNOWLEDGE)
    assert faults.apply(ack) == [ack]


def test_duplicate_sends_twice() -> None:
    """With duplicate 1 each data frame goes out twice."""
    data = frame()
    assert mangler(duplicate=1.0).apply(data) == [data, data]


def test_reorder_holds_a_frame_behind_the_next_and_flush_releases_it() -> None:
    """With reorder 1 a frame waits and goes out after the next one; a tick's flush releases a lone one."""
    faults = mangler(reorder=1.0)
    first, second = frame(sequence=0), frame(sequence=1)
    assert faults.apply(first) == []
    assert faults.apply(second) == [second, first]
    third = frame(sequence=2)
    assert faults.apply(third) == []
    assert faults.flush() == [third]
    assert faults.flush() == []


def test_same_seed_same_decisions() -> None:
    """Two manglers with the same seed and stream name make the same choices (repeatable runs)."""
    frames = [frame(sequence=n) for n in range(300)]

    def run() -> list[bytes]:
        faults = mangler(loss=0.2, duplicate=0.2, reorder=0.2)
        return [out for data in frames for out in faults.apply(data)] + faults.flush()

    first = run()
    assert first == run()
    assert set(frames) - set(first)  # some were lost
    assert len(first) != len(set(first))  # some were doubled


def test_drop_counter_counts_new_frames_per_connection() -> None:
    """drop_after counts only frames not seen before, and starts again on each connection."""
    counter = DropCounter(3)
    assert not counter.passed(frame(sequence=0))
    assert not counter.passed(frame(MessageType.ACKNOWLEDGE))  # not a data frame
    assert not counter.passed(frame(MessageType.INPUT_STREAM_DATA, sequence=0))
    assert not counter.passed(frame(sequence=0))  # a resend: not counted
    assert counter.passed(frame(sequence=1))  # third new data frame: cut here
    counter.reset()
    assert not counter.passed(frame(sequence=1))  # resent after the resume
    assert not counter.passed(frame(sequence=2))
    assert not counter.passed(frame(sequence=3))
    assert counter.passed(frame(sequence=4))
    assert not DropCounter(None).passed(frame(sequence=99))
