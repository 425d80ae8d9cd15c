"""Downloads: list the source on the target, fetch the missing blocks over parallel sessions, check, rename.

1. One session runs :data:`~ssmux.sessions.copy.remote.LIST_SCRIPT`: every file with its mode, size, mtime
   and sha256 (the source side of the check).
2. Each file gets a :class:`~ssmux.sessions.copy.state.PartFile`; what a previous run left of the same
   source is kept, and only the missing blocks are fetched, striped over N sessions.
3. Blocks that came damaged (see :mod:`ssmux.sessions.copy.remote`) are fetched again, base64-encoded.
4. Each part's sha256 must equal the source's; then it is renamed to its name (with ``-p``, its mode and
   mtime set). A part whose digest differs is removed, and the error says to run the copy again.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ssmux.errors import InvalidValue, NotFound, SessionError
from ssmux.sessions.copy.blocks import BLOCK_SIZE, Block, BlockReader, Range, batches, blocks_of, stripes
from ssmux.sessions.copy.remote import LIST_SCRIPT, STREAM_SCRIPT, script_line
from ssmux.sessions.copy.state import PartFile, SourceId

if TYPE_CHECKING:
    from ssmux.sessions.copy import CopyOptions, Progress
    from ssmux.sessions.copy.session import Remote

__all__ = ["RemoteEntry", "download", "parse_listing"]

#: Seconds between saves of the resume records while blocks arrive.
SAVE_INTERVAL = 0.5
#: Bytes of a listing kept (a tree of a million names fits).
LISTING_LIMIT = 256 << 20


@dataclass(frozen=True)
class RemoteEntry:
    """One file or directory of the source, as the listing gave it."""

    kind: str  # "F" or "D"
    mode: int
    size: int
    mtime: int
    sha256: str
    relative: str  # "" for the source itself


def parse_listing(data: bytes) -> list[RemoteEntry]:
    """The records of :data:`~ssmux.sessions.copy.remote.LIST_SCRIPT`'s output.

    Raises:
        SessionError: the output is not a listing.
    """
    fields = data.split(b"\0")
    if fields and fields[-1] == b"":
        fields.pop()
    if not fields or len(fields) % 4:
        raise SessionError("the target's file listing came back damaged: run the copy again")
    entries = []
    for index in range(0, len(fields), 4):
        kind, meta, digest, relative = fields[index : index + 4]
        try:
            mode, size, mtime = (int(word, 8 if n == 0 else 10) for n, word in enumerate(meta.split()))
        except ValueError:
            raise SessionError(
                f"cannot read the target's file listing ({meta!r}): is it a POSIX system?"
            ) from None
        entries.append(RemoteEntry(kind.decode(), mode, size, mtime, digest.decode(), _text(relative)))
    return entries


async def download(
    remote: Remote, source: str, dest: str, options: CopyOptions, progress: Progress
) -> tuple[int, int, int, str]:
    """Copy ``TARGET:source`` to local ``dest``; (files, bytes moved, sessions, destination)."""
    entries = await _list(remote, source)
    root = entries[0]
    if root.kind == "D" and not options.recursive:
        raise InvalidValue(f"{remote.target.label}:{source} is a directory: use -r to copy it")
    base = _destination(source, Path(dest))
    run = _Download(remote, source, base, entries, options, progress)
    return await run.run()


async def _list(remote: Remote, source: str) -> list[RemoteEntry]:
    listing = bytearray()

    def take(data: bytes) -> None:
        if len(listing) < LISTING_LIMIT:
            listing.extend(data)

    result = await remote.run(script_line(LIST_SCRIPT, [source]), take)
    where = f"{remote.target.label}:{source}"
    if result.exit_code == 2:
        raise NotFound(f"{where}: no such file or directory on the target: check the path")
    if result.exit_code == 3:
        raise InvalidValue(f"{where} is neither a regular file nor a directory: cp copies only those")
    if result.exit_code != 0:
        detail = f": {result.stderr}" if result.stderr else ""
        raise SessionError(
            f"cannot list {where} (exit status {result.exit_code}){detail}: cp needs sh and coreutils on the "
            "target (Windows targets are not supported yet)"
        )
    return parse_listing(bytes(listing))


def _destination(source: str, dest: Path) -> Path:
    """Where the source goes: into ``dest`` when it is a directory (named as the source), else ``dest``."""
    if dest.is_dir():
        name = PurePosixPath(source.rstrip("/") or "/").name
        if not name or name in (".", ".."):
            raise InvalidValue(f"cannot name a copy of {source!r} inside {dest}: give the destination's name")
        return dest / name
    if not dest.parent.is_dir():
        raise NotFound(f"{dest.parent} does not exist: create it first or give another destination")
    return dest


class _Download:
    def __init__(
        self, remote: Remote, source: str, base: Path, entries: list[RemoteEntry], options: CopyOptions,
        progress: Progress,
    ) -> None:  # fmt: skip
        self.remote = remote
        self.options = options
        self.progress = progress
        self.base = base
        self.dirs = [entry for entry in entries if entry.kind == "D"]
        self.files = [entry for entry in entries if entry.kind == "F"]
        root = source.rstrip("/") or "/"
        self.paths = [f"{root}/{entry.relative}" if entry.relative else source for entry in self.files]
        self.parts: list[PartFile] = []
        self.damaged: list[Block] = []
        self.moved = 0
        self.sessions = 1  # the listing
        self._dirty: set[int] = set()
        self._saved = time.monotonic()

    def local(self, relative: str) -> Path:
        return self.base / relative if relative else self.base

    async def run(self) -> tuple[int, int, int, str]:
        for entry in self.dirs:
            path = self.local(entry.relative)
            if path.exists() and not path.is_dir():
                raise InvalidValue(f"{path} exists and is not a directory: move it away or copy elsewhere")
            path.mkdir(parents=True, exist_ok=True)
        missing: list[Block] = []
        have = 0
        for index, entry in enumerate(self.files):
            identity = SourceId(self.remote.target.instance_id, self.paths[index], entry.size, entry.mtime,
                                entry.sha256)  # fmt: skip
            part = PartFile(self.local(entry.relative), identity, BLOCK_SIZE)
            done = part.open()
            self.parts.append(part)
            for block in blocks_of(index, entry.size):
                if block.offset in done:
                    have += block.length
                else:
                    missing.append(block)
        total = sum(entry.size for entry in self.files)
        self.progress.start(total, have, str(self.base))
        try:
            await self._fetch(missing, encoded=False)
            if self.damaged:
                again, self.damaged = self.damaged, []
                await self._fetch(again, encoded=True)
            if self.damaged:
                raise SessionError(f"{len(self.damaged)} block(s) kept arriving damaged: run the copy again")
            self.progress.finish()
            self._save(force=True)
            await asyncio.to_thread(self._check_all)
        finally:
            for part in self.parts:
                part.close()
        return len(self.files), self.moved, self.sessions, str(self.base)

    async def _fetch(self, blocks: list[Block], *, encoded: bool) -> None:
        if not blocks:
            return
        size = sum(block.length for block in blocks)
        from ssmux.sessions.copy import default_parallel

        count = self.options.parallel or default_parallel(size)
        runs = stripes(blocks, 1 if encoded else count)
        tasks = [asyncio.ensure_future(self._worker(run, encoded)) for run in runs]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _worker(self, run: list[Block], encoded: bool) -> None:
        fixed = len(STREAM_SCRIPT) + 80
        for group in batches(run, self.paths, fixed):
            await self._stream(group, encoded)

    async def _stream(self, group: list[Range], encoded: bool) -> None:
        token = f"#ssmux-block-{secrets.token_hex(10)}#"
        blocks = [block for item in group for block in item.blocks]
        reader = BlockReader(token.encode(), blocks, encoded=encoded)

        def take(data: bytes) -> None:
            if not encoded:
                self.progress.advance(len(data))
            for block, body in reader.feed(data):
                if body is None:
                    self.damaged.append(block)
                    continue
                self.parts[block.file].write(block.offset, body)
                self.moved += block.length
                if encoded:
                    self.progress.advance(block.length)
                self._dirty.add(block.file)
            self._save()

        args = [token, str(BLOCK_SIZE), "b" if encoded else "r"]
        for item in group:
            args += [str(item.offset), str(item.length), item.path]
        self.sessions += 1
        result = await self.remote.run(script_line(STREAM_SCRIPT, args), take)
        if result.exit_code != 0 or reader.remaining:
            first = reader.remaining[0] if reader.remaining else blocks[0]
            detail = f": {result.stderr}" if result.stderr else ""
            raise SessionError(
                f"reading {self.paths[first.file]} on {self.remote.target.label} stopped (exit status "
                f"{result.exit_code}){detail}: run the copy again to continue"
            )

    def _save(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._saved < SAVE_INTERVAL:
            return
        self._saved = now
        for index in sorted(self._dirty):
            self.parts[index].save()
        self._dirty.clear()

    def _check_all(self) -> None:
        for entry, part in zip(self.files, self.parts, strict=True):
            path = part.finish()
            digest = _sha256(path)
            if digest != entry.sha256 or path.stat().st_size != entry.size:
                part.discard()
                raise SessionError(
                    f"{part.dest}: sha256 {digest[:12]}... differs from the source's {entry.sha256[:12]}... "
                    "(it changed while copying?): run the copy again"
                )
            if part.dest.is_dir():
                raise InvalidValue(f"{part.dest} is a directory: cannot replace it with a file")
            path.replace(part.dest)
            if self.options.preserve:
                _set_meta(part.dest, entry)
        if self.options.preserve:
            for entry in reversed(
                self.dirs
            ):  # deepest last made, so a parent's mtime is set after its child's
                _set_meta(self.local(entry.relative), entry)


def _set_meta(path: Path, entry: RemoteEntry) -> None:
    path.chmod(stat.S_IMODE(entry.mode))
    os.utime(path, (entry.mtime, entry.mtime))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")
