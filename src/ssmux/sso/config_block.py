"""AWS CLI profiles for discovered roles, kept in one marked block of the user's AWS config file.

``ssmux sso discover --write-aws-config`` writes one ``[profile …]`` per (account, role) of an sso-session
between two marker lines of its own, and on later runs replaces only what is between them: every other byte
of the file (comments, order, blank lines, other profiles) stays as it was. A profile name already used
outside the block is left alone and reported, never overwritten (:mod:`ssmux.core.marked_block` keeps the
rest of the file as it was and replaces it atomically).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ssmux.core import marked_block
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
    begin, end = markers(session)
    around = marked_block.read_around(config_file, begin, end, what="ssmux sso")
    taken = set(_SECTION.findall(around.outside()))
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
    marked_block.write_block(around, "\n".join(lines) + "\n")
    return Written(tuple(written), tuple(skipped))
