"""What a download leaves behind to be resumed: ``DEST.part`` and ``DEST.part.json``.

The ``.part`` file holds the blocks received so far at their offsets; the JSON file next to it says which
blocks those are and which source they came from (target, path, size, mtime, sha256). Running the same
copy again continues when the source is the same; otherwise it starts over. The JSON is written to a
temporary file and renamed, so an interruption at any moment leaves either the old or the new record; a
block is recorded only after it was written, so the record never claims bytes the part lacks.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["PART_SUFFIX", "PartFile", "SourceId"]

PART_SUFFIX = ".part"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class SourceId:
    """What names one version of a source file."""

    target: str
    path: str
    size: int
    mtime: int
    sha256: str


class PartFile:
    """The partial download of one file: the ``.part`` data and its record.

    Args:
        dest: the final local path.
        source: the source being copied.
        block_size: the block size the record counts in.
    """

    def __init__(self, dest: Path, source: SourceId, block_size: int) -> None:
        self.dest = dest
        self.source = source
        self.block_size = block_size
        self.part = dest.with_name(dest.name + PART_SUFFIX)
        self.record = dest.with_name(dest.name + PART_SUFFIX + ".json")
        self.done: set[int] = set()
        self._handle: Any = None

    def open(self) -> set[int]:
        """Open the part (resuming when its record names this source); the offsets already received."""
        self.done = self._load()
        if not self.done:
            with contextlib.suppress(FileNotFoundError):
                self.record.unlink()
        mode = "r+b" if self.done and self.part.exists() else "w+b"
        if mode == "w+b":
            self.done = set()
        self._handle = self.part.open(mode)
        return set(self.done)

    def write(self, offset: int, data: bytes) -> None:
        """Write a received block at its offset and count it as done (saved at the next :meth:`save`)."""
        self._handle.seek(offset)
        self._handle.write(data)
        self.done.add(offset)

    def save(self) -> None:
        """Flush the data, then record which blocks it holds."""
        if self._handle is None:
            return
        self._handle.flush()
        body = {
            "schema_version": SCHEMA_VERSION,
            "source": asdict(self.source),
            "block_size": self.block_size,
            "done": sorted(self.done),
        }
        temporary = self.record.with_name(self.record.name + ".tmp")
        temporary.write_text(json.dumps(body), encoding="utf-8")
        temporary.replace(self.record)

    def close(self) -> None:
        """Close the part file (kept with its record for a later resume)."""
        if self._handle is not None:
            self.save()
            self._handle.close()
            self._handle = None

    def finish(self) -> Path:
        """Close and return the part's path (the caller checks it, then renames it); the record goes."""
        if self._handle is not None:
            self._handle.flush()
            self._handle.close()
            self._handle = None
        with contextlib.suppress(FileNotFoundError):
            self.record.unlink()
        return self.part

    def discard(self) -> None:
        """Remove the part and its record (the data was wrong)."""
        self.finish()
        with contextlib.suppress(FileNotFoundError):
            self.part.unlink()

    def _load(self) -> set[int]:
        try:
            body = json.loads(self.record.read_text(encoding="utf-8"))
            same = (
                body.get("schema_version") == SCHEMA_VERSION
                and body.get("source") == asdict(self.source)
                and body.get("block_size") == self.block_size
            )
            return {int(offset) for offset in body.get("done", [])} if same else set()
        except (OSError, ValueError, TypeError, AttributeError):
            return set()
