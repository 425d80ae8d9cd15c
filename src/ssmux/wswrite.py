"""Batched writes of binary websocket messages, shared by the native client and the emulator.

Both ends of a data channel send one small binary message per SSM message (1 KB of output, or an ack), so
a ``websocket.send`` per message spends most of its time in one ``send`` system call each. This module
writes a batch of messages with one call; it is imported lazily by the transports (websockets is heavy).
"""

from __future__ import annotations

from typing import Any

#: Bytes queued in the transport above which a batched write waits for the socket to drain.
WRITE_HIGH_WATER = 1 << 16


async def send_frames(ws: Any, frames: list[bytes]) -> None:
    """Write ``frames`` as binary websocket messages, in order, with one socket write for all of them.

    ``ws.send`` costs a system call per message, the largest part of a client's time per message when
    thousands of acks go out each second. The frames are put through the connection's own sans-I/O
    protocol (``ws.protocol``), which frames and masks them as ``send`` would, then written at once. A
    connection that is not open takes the ordinary path, which raises ``ConnectionClosed``.
    """
    from websockets.protocol import State

    if not frames:
        return
    if len(frames) == 1 or ws.protocol.state is not State.OPEN:
        for frame in frames:
            await ws.send(frame)
        return
    protocol = ws.protocol
    for frame in frames:
        protocol.send_binary(frame)
    # Nothing awaits between queueing and writing, so a keepalive ping cannot land inside a frame.
    ws.transport.write(b"".join(protocol.data_to_send()))
    if ws.transport.get_write_buffer_size() > WRITE_HIGH_WATER:
        await ws.drain()
