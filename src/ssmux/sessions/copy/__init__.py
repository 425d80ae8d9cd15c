"""``ssmux cp SRC DST``: copy files and directories to or from a target, over Session Manager alone.

No S3 bucket, no SSH keys, nothing installed on the target but a POSIX shell and coreutils. Downloads read
byte ranges through NonInteractiveCommands sessions, striped over N of them at once because the agent sends
at most about 1 MB/s per session; uploads write through one InteractiveCommands pty in raw mode (the agent
does not pace what it receives). How the bytes stay exact: :mod:`ssmux.sessions.copy.remote`. Every file is
checked by sha256 on both sides; an interrupted copy continues where it stopped when run again
(:mod:`ssmux.sessions.copy.state` for downloads, ``NAME.part`` on the target for uploads).

The API: :func:`parse_endpoint` for each side, then :func:`copy` (a coroutine) with :class:`CopyOptions` and
a :class:`Progress`; it returns a :class:`CopyResult` and raises :class:`~ssmux.errors.SsmuxError` with one
line for the user.

The package's modules: ``remote`` (the shell scripts run on the target and how names and bytes travel),
``session`` (one session on the target: run a command, or a raw pty), ``blocks`` (byte ranges, stripes and
the framed blocks a download reads), ``state`` (a resumable download's part file), ``download`` and
``upload`` (the two directions).
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ssmux.errors import InvalidValue, NotFound

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients
    from ssmux.sessions.resolve_target import ResolvedTarget

__all__ = [
    "CopyOptions",
    "CopyResult",
    "Endpoint",
    "NoProgress",
    "Progress",
    "copy",
    "default_parallel",
    "parse_endpoint",
]

#: Most parallel sessions (the agent accepts many more; past 8 the emulator and StartSession dominate).
MAX_PARALLEL = 8
#: Below this a single session is quicker than starting several.
PARALLEL_STEP = 4 << 20


@dataclass(frozen=True)
class Endpoint:
    """One side of a copy: a local path (``target`` None) or ``TARGET:PATH``."""

    target: str | None
    path: str

    def __str__(self) -> str:
        return self.path if self.target is None else f"{self.target}:{self.path}"


@dataclass(frozen=True)
class CopyOptions:
    """How to copy.

    Attributes:
        recursive: copy directories (``-r``).
        preserve: keep permissions and modification times (``-p``).
        parallel: download sessions at once; None chooses by size (:func:`default_parallel`).
        reason: the StartSession Reason.
    """

    recursive: bool = False
    preserve: bool = False
    parallel: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class CopyResult:
    """What was copied: files, bytes moved now (not those a resume already had), sessions, seconds."""

    files: int
    bytes: int
    sessions: int
    seconds: float
    destination: str


class Progress(Protocol):
    """Where a copy reports how far it is (the CLI's progress bar, the app's notification)."""

    def start(self, total: int, done: int, label: str) -> None:
        """The copy of ``total`` bytes begins, ``done`` of them already there (a resume)."""

    def advance(self, count: int) -> None:
        """``count`` more bytes moved."""

    def finish(self) -> None:
        """All bytes moved; checks and renames follow."""


class NoProgress:
    """A :class:`Progress` that shows nothing."""

    def start(self, total: int, done: int, label: str) -> None:
        """Nothing to show."""

    def advance(self, count: int) -> None:
        """Nothing to show."""

    def finish(self) -> None:
        """Nothing to show."""


def parse_endpoint(text: str) -> Endpoint:
    """``TARGET:PATH`` or a local path; ``./a:b`` or an absolute path is always local.

    Raises:
        InvalidValue: an empty path, or ``TARGET:`` without a path.
    """
    if not text:
        raise InvalidValue("an empty path: give a local path or TARGET:PATH")
    head, colon, tail = text.partition(":")
    windows_drive = os.name == "nt" and len(head) == 1 and head.isalpha()
    if not colon or not head or "/" in head or "\\" in head or windows_drive:
        return Endpoint(None, text)
    if not tail:
        raise InvalidValue(f"{text!r} has no path after the colon: give TARGET:PATH (TARGET:. for the home)")
    return Endpoint(head, tail)


def default_parallel(size: int) -> int:
    """Sessions for a download of ``size`` bytes: 1 below 4 MiB, one more per 4 MiB, at most 8."""
    return max(1, min(MAX_PARALLEL, math.ceil(size / PARALLEL_STEP)))


async def copy(
    source: Endpoint,
    dest: Endpoint,
    options: CopyOptions,
    progress: Progress | None = None,
    *,
    resolved: ResolvedTarget | None = None,
    clients: AwsClients | None = None,
    aws_profile: str | None = None,
    region: str | None = None,
) -> CopyResult:
    """Copy ``source`` to ``dest``; exactly one of them is on a target.

    Args:
        source: what to copy.
        dest: where to.
        options: ``-r``, ``-p``, ``--parallel``.
        progress: where to report bytes moved.
        resolved: the target, already resolved (the app's tab); None resolves the endpoint's TARGET.
        clients: the caller's AWS sessions and clients.
        aws_profile: ``--aws-profile`` for resolving TARGET.
        region: ``--region`` for resolving TARGET.

    Raises:
        SsmuxError: bad input, a failed session, a checksum that does not match (one line).
    """
    from ssmux.sessions.copy.session import Remote

    if (source.target is None) == (dest.target is None):
        where = "local" if source.target is None else "on targets"
        raise InvalidValue(
            f"both sides are {where}: one of SRC and DST must be TARGET:PATH and the other a local path"
        )
    if options.parallel is not None and not 1 <= options.parallel <= 64:
        raise InvalidValue(f"--parallel {options.parallel} is out of range: give 1 to 64")
    if source.target is None and not os.path.exists(source.path):  # noqa: PTH110 - a str path
        raise NotFound(f"{source.path}: no such file or directory: check the path")
    remote_side = source if source.target is not None else dest
    assert remote_side.target is not None
    if resolved is None:
        resolved = await asyncio.to_thread(_resolve, remote_side.target, aws_profile, region)
    if getattr(resolved, "container", None) is not None:
        raise InvalidValue(f"{resolved.label} is a container: cp copies to and from instances only, for now")
    remote = Remote(resolved, clients, options.reason)
    progress = progress or NoProgress()
    started = time.monotonic()
    if source.target is not None:
        from ssmux.sessions.copy.download import download

        files, moved, sessions, where = await download(remote, source.path, dest.path, options, progress)
    else:
        from ssmux.sessions.copy.upload import upload

        files, moved, sessions, where = await upload(remote, source.path, dest.path, options, progress)
    return CopyResult(files, moved, sessions, time.monotonic() - started, where)


def _resolve(text: str, aws_profile: str | None, region: str | None) -> ResolvedTarget:
    import sys

    from ssmux.core.store import load_settings
    from ssmux.sessions.resolve_target import resolve_target

    resolved = resolve_target(
        text, aws_profile=aws_profile, region=region, settings=load_settings(), interactive=False
    )
    if resolved.problem:
        sys.stderr.write(f"ssmux: warning: {resolved.problem}; trying anyway\n")
    return resolved
