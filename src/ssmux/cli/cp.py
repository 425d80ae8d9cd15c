"""``ssmux cp SRC DST``: copy files and directories to or from an instance (no S3, no SSH keys).

How: :mod:`ssmux.sessions.copy`. This module parses the command line, shows the progress bar (bytes, rate,
ETA) on a terminal, and prints one summary line.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any

import click

from ssmux.cli.connect import _checked
from ssmux.core.validation import validate_aws_profile_name, validate_region


@click.command("cp")
@click.argument("source", metavar="SRC")
@click.argument("dest", metavar="DST")
@click.option("-r", "--recursive", is_flag=True, help="Copy directories and everything in them.")
@click.option("-p", "--preserve", is_flag=True, help="Keep permissions and modification times.")
@click.option(
    "--parallel",
    type=click.IntRange(1, 64),
    metavar="N",
    help="Download over N sessions at once (default: by size, 1 below 4 MiB, at most 8).",
)
@click.option(
    "--aws-profile",
    "aws_profile",
    metavar="P",
    callback=_checked(validate_aws_profile_name),
    help="AWS CLI profile (default: resolved).",
)
@click.option(
    "--region", metavar="R", callback=_checked(validate_region), help="AWS region (default: resolved)."
)
@click.option("--reason", metavar="R", help="Reason recorded with the sessions.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary line.")
def cp(
    source: str,
    dest: str,
    recursive: bool,
    preserve: bool,
    parallel: int | None,
    aws_profile: str | None,
    region: str | None,
    reason: str | None,
    quiet: bool,
) -> None:
    """Copy SRC to DST; one of them is TARGET:PATH, the other a local path.

    TARGET is resolved as for 'ssmux connect'. The bytes arrive exactly, and every file is checked by
    sha256 on both sides. Interrupted? Run the same command again: it continues where it stopped. Nothing
    is installed on the target: it needs a POSIX shell and coreutils. Downloads are striped over several
    sessions at once (--parallel).

    \b
      ssmux cp web-1:/var/log/syslog .
      ssmux cp -r ./site web-1:/srv/
      ssmux cp --parallel 8 web-1:/data/dump.sql.gz /tmp/
    """
    from ssmux.sessions.copy import CopyOptions, copy, parse_endpoint

    options = CopyOptions(recursive=recursive, preserve=preserve, parallel=parallel, reason=reason)
    progress = _Bar() if not quiet and sys.stderr.isatty() else None
    try:
        with progress or contextlib.nullcontext():
            result = asyncio.run(
                copy(parse_endpoint(source), parse_endpoint(dest), options, progress,
                     aws_profile=aws_profile, region=region)
            )  # fmt: skip
    except KeyboardInterrupt:
        click.echo("ssmux: interrupted: run the same command again to continue where it stopped", err=True)
        sys.exit(130)
    if not quiet:
        rate = result.bytes / result.seconds / 1e6 if result.seconds > 0 else 0.0
        files = "1 file" if result.files == 1 else f"{result.files} files"
        sessions = "1 session" if result.sessions == 1 else f"{result.sessions} sessions"
        click.echo(
            f"copied {files} to {result.destination}: {result.bytes / 1e6:.1f} MB in {result.seconds:.1f} s "
            f"({rate:.2f} MB/s, {sessions}), sha256 checked"
        )


class _Bar:
    """The rich progress bar on stderr: bytes done of total, rate, ETA; removed when the copy ends."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        from ssmux.cli.output import console

        self.live: Any = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console(stderr=True),
            transient=True,
        )
        self.task: Any = None

    def __enter__(self) -> _Bar:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.stop()

    def start(self, total: int, done: int, label: str) -> None:
        self.task = self.live.add_task(label[-40:], total=max(total, 1), completed=done)

    def advance(self, count: int) -> None:
        if self.task is not None:
            self.live.advance(self.task, count)

    def finish(self) -> None:
        if self.task is not None:
            task = self.live.tasks[0]
            self.live.update(self.task, completed=task.total)
