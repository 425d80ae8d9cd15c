"""Cutting outgoing data into stream payloads (``docs/ssm-protocol.md`` §5.5, §7.2).

Real peers send at most 1024 bytes per message (``StreamDataPayloadSize``). Terminal output is cut so that
no UTF-8 sequence is split across messages, and a sequence split across two pty reads waits for the rest;
port data is cut at the limit as is.
"""

from __future__ import annotations

from ssmux.protocol.errors import LocalProtocolError

__all__ = ["MAX_PAYLOAD_SIZE", "Utf8Chunker", "chunk_payload"]

#: Largest stream payload the real peers send (StreamDataPayloadSize).
MAX_PAYLOAD_SIZE = 1024


def _is_continuation(byte: int) -> bool:
    return byte & 0xC0 == 0x80


def _sequence_length(lead: int) -> int:
    if lead & 0xE0 == 0xC0:
        return 2
    if lead & 0xF0 == 0xE0:
        return 3
    if lead & 0xF8 == 0xF0:
        return 4
    return 1


def chunk_payload(data: bytes, limit: int = MAX_PAYLOAD_SIZE, *, keep_utf8: bool = False) -> list[bytes]:
    """Split ``data`` into pieces of at most ``limit`` bytes (none empty).

    With ``keep_utf8`` a cut never falls inside a UTF-8 sequence (for terminal output); bytes that are
    not UTF-8 are cut at the limit.
    """
    if limit < 4:
        raise LocalProtocolError(f"chunk limit {limit} is too small")
    chunks: list[bytes] = []
    start = 0
    view = memoryview(data)
    while len(data) - start > limit:
        cut = start + limit
        if keep_utf8:
            back = cut
            # Move the cut back to the start of a sequence, at most 3 bytes (the longest tail).
            while back > cut - 3 and _is_continuation(data[back]):
                back -= 1
            if not _is_continuation(data[back]) and back > start:
                cut = back
        chunks.append(bytes(view[start:cut]))
        start = cut
    if start < len(data):
        chunks.append(bytes(view[start:]))
    return chunks


class Utf8Chunker:
    """Chunk a byte stream for sending, holding back a UTF-8 sequence split across reads (§7.2).

    A pty read can end in the middle of a multi-byte character; like the agent, the partial tail waits
    for the next read so each message holds whole characters.
    """

    def __init__(self, limit: int = MAX_PAYLOAD_SIZE) -> None:
        """Chunks will be at most ``limit`` bytes."""
        self._limit = limit
        self._pending = b""

    @property
    def pending(self) -> bytes:
        """Bytes held back (a partial UTF-8 sequence, at most 3 bytes)."""
        return self._pending

    def feed(self, data: bytes) -> list[bytes]:
        """Return the chunks ready to send; a trailing partial sequence is kept for the next call."""
        data = self._pending + bytes(data)
        self._pending = b""
        tail = self._partial_tail(data)
        if tail:
            data, self._pending = data[:-tail], data[-tail:]
        return chunk_payload(data, self._limit, keep_utf8=True) if data else []

    def flush(self) -> list[bytes]:
        """Return whatever is held back (at session end), even if it is not a whole character."""
        pending, self._pending = self._pending, b""
        return [pending] if pending else []

    @staticmethod
    def _partial_tail(data: bytes) -> int:
        # Look at the last 1-3 bytes for a lead byte whose sequence is longer than what follows it.
        for back in range(1, min(3, len(data)) + 1):
            byte = data[-back]
            if _is_continuation(byte):
                continue
            return back if _sequence_length(byte) > back else 0
        return 0
