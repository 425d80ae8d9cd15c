"""Blocks of a download: how files are cut, shared between parallel sessions, and read back (sans-I/O).

A file is cut into :data:`BLOCK_SIZE` blocks at fixed offsets, so a resumed copy asks again for exactly the
blocks it lacks. The missing blocks of every file, in order, are split into N contiguous runs of about the
same number of bytes, one per session (:func:`stripes`); a run becomes ranges (adjacent blocks of one file
merged) and the ranges become one or more command lines, each short enough for a StartSession parameter
(:func:`batches`). The remote :data:`~ssmux.sessions.copy.remote.STREAM_SCRIPT` sends each block followed by
a token; :class:`BlockReader` takes the stream back apart.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

__all__ = ["BLOCK_SIZE", "MAX_LINE", "Block", "BlockReader", "Range", "batches", "blocks_of", "stripes"]

#: Bytes per block: about one second of one session at the agent's pace, so an interruption costs little.
BLOCK_SIZE = 1 << 20
#: Longest command line sent (the script and its arguments); AWS documents no limit for the ``command``
#: parameter, and the plugin's own examples stay far below this.
MAX_LINE = 3500


@dataclass(frozen=True)
class Block:
    """One block of one source file.

    Attributes:
        file: index of the file in the transfer.
        offset: its first byte (a multiple of :data:`BLOCK_SIZE`).
        length: bytes (:data:`BLOCK_SIZE`, less for a file's last block).
    """

    file: int
    offset: int
    length: int


@dataclass(frozen=True)
class Range:
    """Contiguous blocks of one file, as the stream script takes them: ``OFFSET LENGTH PATH``."""

    path: str
    offset: int
    length: int
    blocks: tuple[Block, ...]


def blocks_of(file: int, size: int, block_size: int = BLOCK_SIZE) -> list[Block]:
    """Every block of file ``file`` of ``size`` bytes (none for an empty file)."""
    return [Block(file, offset, min(block_size, size - offset)) for offset in range(0, size, block_size)]


def stripes(blocks: Sequence[Block], count: int) -> list[list[Block]]:
    """``blocks`` cut into at most ``count`` contiguous runs of about the same number of bytes."""
    total = sum(block.length for block in blocks)
    count = max(1, min(count, len(blocks)))
    runs: list[list[Block]] = [[] for _ in range(count)]
    done = 0
    for block in blocks:
        # The run a block goes to is where the middle of its bytes falls in the whole.
        index = min(count - 1, (done + block.length // 2) * count // max(total, 1))
        runs[index].append(block)
        done += block.length
    return [run for run in runs if run]


def ranges(blocks: Sequence[Block], paths: Sequence[str]) -> list[Range]:
    """Adjacent blocks of the same file merged into ranges."""
    merged: list[Range] = []
    for block in blocks:
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.blocks[-1].file == block.file
            and last.offset + last.length == block.offset
        ):
            merged[-1] = Range(last.path, last.offset, last.length + block.length, (*last.blocks, block))
        else:
            merged.append(Range(paths[block.file], block.offset, block.length, (block,)))
    return merged


def batches(
    run: Sequence[Block], paths: Sequence[str], fixed: int, limit: int = MAX_LINE
) -> Iterator[list[Range]]:
    """The ranges of ``run`` in groups whose arguments, with ``fixed`` characters more, fit in ``limit``.

    A range whose path alone is too long still goes, alone: the service will say if it is too long.
    """
    group: list[Range] = []
    size = fixed
    for item in ranges(run, paths):
        cost = len(item.path) * 2 + 40  # quoted path (worst case) and two numbers
        if group and size + cost > limit:
            yield group
            group, size = [], fixed
        group.append(item)
        size += cost
    if group:
        yield group


class BlockReader:
    """Takes a stream script's output apart into blocks (sans-I/O).

    Each block is followed by ``token``; in raw mode a block is good when exactly its length came before
    the token (the agent can only shorten data), in encoded mode when its base64 decodes to its length.

    Args:
        token: the block separator (random ASCII, never in base64's alphabet).
        blocks: the blocks the stream carries, in order.
        encoded: the blocks come base64-encoded.
    """

    def __init__(self, token: bytes, blocks: Sequence[Block], *, encoded: bool = False) -> None:
        self._token = token
        self._blocks = list(blocks)
        self._next = 0
        self._encoded = encoded
        self._buffer = bytearray()
        self._scanned = 0

    @property
    def remaining(self) -> list[Block]:
        """Blocks not seen yet (all of them after a stream that ended early)."""
        return self._blocks[self._next :]

    def feed(self, data: bytes) -> list[tuple[Block, bytes | None]]:
        """Take output; the blocks it completed, each with its bytes or None when it came damaged."""
        self._buffer += data
        done: list[tuple[Block, bytes | None]] = []
        while self._next < len(self._blocks):
            found = self._buffer.find(self._token, self._scanned)
            if found < 0:
                self._scanned = max(0, len(self._buffer) - len(self._token) + 1)
                break
            block = self._blocks[self._next]
            self._next += 1
            done.append((block, self._check(block, bytes(self._buffer[:found]))))
            del self._buffer[: found + len(self._token)]
            self._scanned = 0
        return done

    def _check(self, block: Block, body: bytes) -> bytes | None:
        if self._encoded:
            try:
                body = base64.b64decode(body.replace(b"\n", b"").replace(b"\r", b""), validate=True)
            except (binascii.Error, ValueError):
                return None
        return body if len(body) == block.length else None
