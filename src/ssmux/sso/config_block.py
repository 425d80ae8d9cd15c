"""AWS CLI profiles for discovered roles, kept in one marked block of the user's AWS config file.

``ssmux sso discover --write-aws-config`` writes one ``[profile …]`` per (account, role) of an sso-session
between two marker lines of its own, and on later runs replaces only what is between them: every other byte
of the file (comments, order, blank lines, other profiles) stays as it was. A profile name already used
outside the block is left alone and reported, never overwritten. The file is replaced atomically, keeping
its permissions.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ssmux.errors import StoreError
from ssmux.sso.discover import AccountRole

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_SECTION = re.compile(r"^\s*\[\s*(?:profile\s+)?([^\]]+?)\s*\]\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Written:
    """What a write did: the profiles in the block, and the names skipped because they exist elsewhere."""

    profiles: tuple[str, ...]
    skipped: tuple[str, ...]


def profile_name(session: str, role: AccountRole) -> str:
    """``<session>-<account name>-<role>``, with characters a profile name should not hold replaced."""
    account = _UNSAFE.sub("-", role.account_name or role.account_id).strip("-") or role.account_id
    return f"{session}-{account}-{role.role_name}"


def markers(session: str) -> tuple[str, str]:
    """The first and last line of the block of ``session``."""
    return (
        f"# >>> ssmux sso {session}: profiles written by `ssmux sso discover`; edits inside are replaced >>>",
        f"# <<< ssmux sso {session} <<<",
    )


def write_block(
    config_file: Path,
    session: str,
    roles: Sequence[AccountRole],
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
) -> Written:
    """Write the block of ``session`` into ``config_file`` (made if missing) with a profile per role.

    Raises:
        StoreError: the file cannot be read or written, or holds a broken block (one marker, not both).
    """
    try:
        text = config_file.read_text(encoding="utf-8") if config_file.exists() else ""
    except (OSError, UnicodeDecodeError) as error:
        raise StoreError(f"cannot read {config_file}: {error}") from None
    begin, end = markers(session)
    before, after, found = _split(text, begin, end, config_file)
    taken = set(_SECTION.findall(before + after))
    lines = [begin]
    written: list[str] = []
    skipped: list[str] = []
    for role in roles:
        name = profile_name(session, role)
        if name in taken:
            skipped.append(name)
            continue
        taken.add(name)
        written.append(name)
        lines += [
            f"[profile {name}]",
            f"sso_session = {session}",
            f"sso_account_id = {role.account_id}",
            f"sso_role_name = {role.role_name}",
        ]
        if region:
            lines.append(f"region = {region}")
        if endpoint_url:
            lines.append(f"endpoint_url = {endpoint_url}")
    lines.append(end)
    block = "\n".join(lines) + "\n"
    if not found and before:
        # A new block goes at the end, after a blank line; the file's own last line gets its newline.
        before += ("" if before.endswith("\n") else "\n") + "\n"
    _replace(config_file, before + block + after)
    return Written(tuple(written), tuple(skipped))


def _split(text: str, begin: str, end: str, path: Path) -> tuple[str, str, bool]:
    """The text before and after the block, and whether there was one (a new block goes at the end)."""
    first = re.search(rf"^{re.escape(begin)}[ \t]*(\r?\n|$)", text, re.MULTILINE)
    last = re.search(rf"^{re.escape(end)}[ \t]*(\r?\n|$)", text, re.MULTILINE)
    if first is None and last is None:
        return text, "", False
    if first is None or last is None or last.start() < first.start():
        raise StoreError(
            f"{path} holds a broken ssmux block (a marker line is missing): remove the other marker line of "
            "'ssmux sso' and run again"
        )
    return text[: first.start()], text[last.end() :], True


def _replace(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
                file.write(text)
            Path(temp).chmod(mode)
            Path(temp).replace(path)
        except BaseException:
            with contextlib.suppress(OSError):
                Path(temp).unlink()
            raise
    except OSError as error:
        raise StoreError(f"cannot write {path}: {error.strerror}") from None
