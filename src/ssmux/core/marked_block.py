"""A block of lines that ssmux owns between two marker lines of a user's text file (AWS config, ssh config).

Writes replace what is between the markers and nothing else: every byte outside the block (comments, order,
blank lines, CRLF line ends, a last line without a newline) stays as it was. A file without the block gets it
at its end, after a blank line. The file is read as bytes (no newline translation) and replaced atomically,
keeping its permissions (0600 when it is new, as the aws CLI and ssh make theirs; a folder made for it is
0700, as ssh-keygen makes ``~/.ssh``), by the store's own atomic write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ssmux.errors import StoreError


@dataclass(frozen=True)
class Surroundings:
    """A file's text around the block: what comes before and after it, and whether it had one."""

    path: Path
    before: str
    after: str
    found: bool

    def outside(self) -> str:
        """Everything of the file but the block."""
        return self.before + self.after


def read_around(path: Path, begin: str, end: str, *, what: str) -> Surroundings:
    """The text of ``path`` (empty if missing) around the block from ``begin`` to ``end``.

    ``what`` names the block in the error of a file that holds only one of the markers.

    Raises:
        StoreError: the file cannot be read, is not UTF-8, or holds a broken block.
    """
    try:
        text = path.read_bytes().decode("utf-8") if path.exists() else ""
    except OSError as error:
        raise StoreError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise StoreError(f"{path} is not UTF-8 text: convert it (iconv -t UTF-8) and run again") from None
    first = re.search(rf"^{re.escape(begin)}[ \t]*(\r?\n|$)", text, re.MULTILINE)
    last = re.search(rf"^{re.escape(end)}[ \t]*(\r?\n|$)", text, re.MULTILINE)
    if first is None and last is None:
        return Surroundings(path, text, "", found=False)
    if first is None or last is None or last.start() < first.start():
        raise StoreError(
            f"{path} holds a broken {what} block (a marker line is missing): remove the other marker "
            "line and run again"
        )
    return Surroundings(path, text[: first.start()], text[last.end() :], found=True)


def write_block(around: Surroundings, block: str) -> None:
    """Write ``block`` (its marker lines included) where the block was, or at the end of the file.

    Raises:
        StoreError: the file cannot be written.
    """
    from ssmux.core.store import write_text_atomic

    before = around.before
    if not around.found and before:
        # A new block goes at the end, after a blank line; the file's own last line gets its newline.
        before += ("" if before.endswith("\n") else "\n") + "\n"
    path = around.path
    try:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    except OSError as error:
        raise StoreError(f"cannot read {path}: {error.strerror}") from None
    write_text_atomic(path, before + block + around.after, mode=mode)
