"""Uploads: one InteractiveCommands pty on the target runs the receiver; files go through it one by one.

The dialogue is :data:`~ssmux.sessions.copy.remote.RECEIVE_SCRIPT`'s: the client asks, the receiver
answers a token-marked line, and the next request is sent only after the answer, so the pty never holds
bytes meant for a later command. For each file the receiver says how much of ``NAME.part`` a previous run
left (and its sha256): when that is a prefix of this file, only the rest is sent. The receiver renames the
part only when the whole part's sha256 is the one sent with the header.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ssmux.errors import InvalidValue, NotFound, SessionError
from ssmux.sessions.copy.remote import RECEIVE_SCRIPT, encode_name, script_line

if TYPE_CHECKING:
    from ssmux.sessions.copy import CopyOptions, Progress
    from ssmux.sessions.copy.session import Remote
    from ssmux.sessions.native import NativeSession

__all__ = ["LocalEntry", "Replies", "download_stamp", "local_entries", "upload"]

#: Seconds to wait for an answer that needs no work on the target (the first waits for the pty's start).
REPLY_TIMEOUT = 60.0
#: Bytes per second the target is assumed to hash and write at least, for the timeout after a file.
SLOWEST_TARGET = 5 << 20
#: Bytes of a file read and sent at once.
CHUNK = 1 << 20


@dataclass(frozen=True)
class LocalEntry:
    """One local file or directory to send."""

    kind: str  # "F" or "D"
    path: Path
    relative: str  # POSIX, "" for the source itself
    mode: int
    size: int
    mtime: int


def local_entries(source: Path) -> list[LocalEntry]:
    """``source`` and, for a directory, everything below it (symlinked directories skipped), parents first.

    Raises:
        NotFound: ``source`` does not exist.
        InvalidValue: it is neither a file nor a directory.
    """
    if not source.exists():
        raise NotFound(f"{source}: no such file or directory: check the path")
    if not (source.is_file() or source.is_dir()):
        raise InvalidValue(f"{source} is neither a regular file nor a directory: cp copies only those")
    entries = [_entry(source, "")]
    if source.is_dir():
        for folder, dirs, names in os.walk(source):
            here = Path(folder)
            dirs[:] = sorted(name for name in dirs if not (here / name).is_symlink())
            for name in [*dirs, *sorted(names)]:
                path = here / name
                if path.is_dir() or path.is_file():
                    entries.append(_entry(path, path.relative_to(source).as_posix()))
    return entries


def _entry(path: Path, relative: str) -> LocalEntry:
    info = path.stat()
    kind = "D" if stat.S_ISDIR(info.st_mode) else "F"
    return LocalEntry(kind, path, relative, stat.S_IMODE(info.st_mode), info.st_size if kind == "F" else 0,
                      int(info.st_mtime))  # fmt: skip


def download_stamp(mtime: int) -> str:
    """``touch -t`` form of ``mtime`` in UTC (``CCYYMMDDhhmm.SS``), as the receiver runs it with TZ=UTC0."""
    return time.strftime("%Y%m%d%H%M.%S", time.gmtime(mtime))


class Replies:
    """The receiver's token-marked answer lines, out of the pty's output (sans-I/O but for the queue).

    Args:
        token: the marker that starts each answer (the receiver's first argument).
    """

    def __init__(self, token: str) -> None:
        self._token = token.encode() + b" "
        self._buffer = bytearray()
        self.lines: asyncio.Queue[list[str]] = asyncio.Queue()
        self.noise = bytearray()  # the first bytes that were not answers (an error from sh, for the user)

    def feed(self, data: bytes) -> None:
        """Take pty output; queue each complete answer as its words."""
        self._buffer += data
        while True:
            start = self._buffer.find(self._token)
            if start < 0:
                keep = len(self._token) - 1
                self._note(self._buffer[: max(0, len(self._buffer) - keep)])
                del self._buffer[: max(0, len(self._buffer) - keep)]
                return
            end = self._buffer.find(b"\n", start)
            if end < 0:
                self._note(self._buffer[:start])
                del self._buffer[:start]
                return
            self._note(self._buffer[:start])
            line = bytes(self._buffer[start + len(self._token) : end]).decode("utf-8", "replace")
            del self._buffer[: end + 1]
            self.lines.put_nowait(line.strip().split())

    def _note(self, data: bytes | bytearray) -> None:
        if len(self.noise) < 2048:
            self.noise += data[: 2048 - len(self.noise)]


async def upload(
    remote: Remote, source: str, dest: str, options: CopyOptions, progress: Progress
) -> tuple[int, int, int, str]:
    """Copy local ``source`` to ``TARGET:dest``; (files, bytes moved, sessions, destination)."""
    root = Path(source)
    entries = await asyncio.to_thread(local_entries, root)
    if entries[0].kind == "D" and not options.recursive:
        raise InvalidValue(f"{source} is a directory: use -r to copy it")
    token = f"ssmux-{secrets.token_hex(10)}"
    replies = Replies(token)
    async with remote.interactive(script_line(RECEIVE_SCRIPT, [token]), replies.feed) as session:
        talk = _Talk(session, replies, remote.target.label)
        await talk.expect("READY")
        base = await _remote_base(talk, root, dest)
        sender = _Sender(talk, base, options, progress)
        moved = await sender.send(entries)
        await talk.ask("Q", "BYE")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(session.wait_closed(), 10)
    return sum(1 for entry in entries if entry.kind == "F"), moved, 1, base


async def _remote_base(talk: _Talk, root: Path, dest: str) -> str:
    """Where the source goes: into ``dest`` when it is a directory there (or ends with /), else ``dest``."""
    kind = (await talk.ask(f"S {encode_name(dest)}", "IS"))[1]
    if kind == "D" or dest.endswith("/"):
        name = root.resolve().name
        if not name:
            raise InvalidValue(f"cannot name a copy of {root} inside {dest}: give the destination's name")
        return str(PurePosixPath(dest) / name)
    return dest


class _Talk:
    def __init__(self, session: NativeSession, replies: Replies, label: str) -> None:
        self.session = session
        self.replies = replies
        self.label = label

    async def expect(self, word: str | None = None, timeout: float = REPLY_TIMEOUT) -> list[str]:
        """The next answer's words; with ``word``, it must start with it."""
        ended = asyncio.ensure_future(self.session.wait_closed())
        got = asyncio.ensure_future(self.replies.lines.get())
        try:
            done, _ = await asyncio.wait({ended, got}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
            if not got.done():
                got.cancel()
        if got in done:
            words = got.result()
            if word is None or words[:1] == [word]:
                return words
            if words[:2] == ["ERR", "stty"]:
                raise SessionError(f"{self.label} has no stty: cp needs a POSIX system with coreutils")
            raise SessionError(f"{self.label} answered {' '.join(words)!r} instead of {word}")
        said = " ".join(bytes(self.replies.noise).decode("utf-8", "replace").split())[:300]
        why = "the session ended" if ended in done else f"no answer within {timeout:.0f} s"
        raise SessionError(f"the receiver on {self.label} stopped ({why}){': ' + said if said else ''}")

    async def ask(self, line: str, word: str | None = None, timeout: float = REPLY_TIMEOUT) -> list[str]:
        """Send one request line; its answer."""
        self.session.send_input(line.encode() + b"\n")
        return await self.expect(word, timeout)

    async def feed(self, data: bytes, on_sent: Callable[[int], None]) -> None:
        """Send raw bytes (a file's body), a window at a time."""
        from ssmux.sessions.copy.session import Remote

        await Remote.feed(self.session, data, on_sent)


class _Sender:
    def __init__(self, talk: _Talk, base: str, options: CopyOptions, progress: Progress) -> None:
        self.talk = talk
        self.base = base
        self.options = options
        self.progress = progress

    def remote(self, entry: LocalEntry) -> str:
        return f"{self.base.rstrip('/') or '/'}/{entry.relative}" if entry.relative else self.base

    async def send(self, entries: list[LocalEntry]) -> int:
        files = [entry for entry in entries if entry.kind == "F"]
        digests = await asyncio.to_thread(lambda: [_sha256(entry.path) for entry in files])
        self.progress.start(sum(entry.size for entry in files), 0, self.base)
        for entry in entries:
            if entry.kind == "D":
                await self._ok(f"D {encode_name(self.remote(entry))}", f"cannot create {self.remote(entry)}")
        moved = 0
        for entry, digest in zip(files, digests, strict=True):
            moved += await self._file(entry, digest)
        self.progress.finish()
        if self.options.preserve:
            for entry in [*files, *reversed([e for e in entries if e.kind == "D"])]:
                line = f"M {entry.mode:o} {download_stamp(entry.mtime)} {encode_name(self.remote(entry))}"
                await self._ok(line, f"cannot set the mode and time of {self.remote(entry)}")
        return moved

    async def _ok(self, line: str, failure: str) -> None:
        words = await self.talk.ask(line)
        if words[:1] != ["OK"]:
            raise SessionError(f"{failure} on {self.talk.label}: check the path and its permissions")

    async def _file(self, entry: LocalEntry, digest: str) -> int:
        name = self.remote(entry)
        words = await self.talk.ask(f"F {entry.size} {digest} {encode_name(name)}")
        if words[:1] != ["HAVE"] or len(words) < 3:
            raise SessionError(
                f"cannot write {name}.part on {self.talk.label}: check the path and its permissions"
            )
        have, their = int(words[1]), words[2]
        same = 0 < have <= entry.size and await asyncio.to_thread(_prefix_sha256, entry.path, have) == their
        offset = have if same else 0
        self.progress.advance(offset)
        self.talk.session.send_input(f"{offset}\n".encode())
        with entry.path.open("rb") as handle:
            handle.seek(offset)
            while chunk := handle.read(CHUNK):
                await self.talk.feed(chunk, self.progress.advance)
        timeout = REPLY_TIMEOUT + entry.size / SLOWEST_TARGET
        words = await self.talk.expect(None, timeout)
        if words[:1] != ["OK"]:
            raise SessionError(
                f"{name} on {self.talk.label} has sha256 {words[-1][:12]}..., not {digest[:12]}...: "
                "run the copy again"
            )
        return entry.size - offset


def _prefix_sha256(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        left = size
        while left and (chunk := handle.read(min(left, 1 << 20))):
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    return _prefix_sha256(path, path.stat().st_size)
