"""``ssmux ssh-config``: ssh Host entries for saved and synced targets, printed or kept in ``~/.ssh/config``.

Each entry names the target as ``ssh`` users type it and routes it through ``ssmux proxy``::

    Host web-1 i-0123456789abcdef0
        HostName i-0123456789abcdef0
        HostKeyAlias i-0123456789abcdef0
        ProxyCommand /usr/bin/python3 -m ssmux proxy i-0123456789abcdef0 --aws-profile dev --region R %p

so ``ssh web-1``, ``scp f web-1:``, ``rsync`` and VS Code Remote-SSH reach it by name. Names are made safe for
ssh's Host patterns: ssh lower-cases the host it is given before matching, and ``*``, ``?``, ``!``, ``,``,
quotes and spaces mean something there, so a name is lower-cased and any other character than letters,
digits, ``.``, ``_`` and ``-`` becomes ``-``. A name that two instances would share is left out (``ssh`` would
take the first), and said so; the instance id always works. Windows instances and containers get no entry
(no sshd to reach).

``--write`` keeps the entries between two marker lines of the file and, on later runs, replaces only what is
between them: every other byte of the file stays as it was. The file is replaced atomically, keeping its
permissions (``0600`` when new, as ssh wants it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ssmux.core import marked_block
from ssmux.sessions.ssh import SshTarget, proxy_command

if TYPE_CHECKING:
    from ssmux.sync.targets import Target

BEGIN = "# >>> ssmux: Host entries written by `ssmux ssh-config --write`; edits inside are replaced >>>"
END = "# <<< ssmux <<<"
_UNSAFE = re.compile(r"[^a-z0-9._-]+")


@dataclass(frozen=True)
class HostEntry:
    """One ``Host`` block: the names it answers to (the instance id last) and where it goes."""

    names: tuple[str, ...]
    target: SshTarget

    def render(self) -> str:
        """The block's lines, each ending in a newline."""
        instance_id = self.target.instance_id
        return (
            f"Host {' '.join(self.names)}\n"
            f"    HostName {instance_id}\n"
            f"    HostKeyAlias {instance_id}\n"
            f"    ProxyCommand {proxy_command(self.target)}\n"
        )


@dataclass(frozen=True)
class HostEntries:
    """The entries to write, and the names left out because more than one instance has them."""

    entries: tuple[HostEntry, ...]
    ambiguous: tuple[str, ...]

    def block(self) -> str:
        """The marked block: both markers and every entry."""
        return BEGIN + "\n" + "".join(entry.render() for entry in self.entries) + END + "\n"


def host_name(text: str) -> str:
    """``text`` as a safe ssh Host name (empty when nothing of it is left)."""
    return _UNSAFE.sub("-", text.lower()).strip("-.")


def host_entries(targets: Iterable[Target]) -> HostEntries:
    """The Host entries of ``targets`` (as :func:`ssmux.sync.targets.load_targets` returns them), in order."""
    places: dict[tuple[str, str | None, str | None], list[str]] = {}
    for target in targets:
        if target.container is not None or target.platform == "windows":
            continue
        key = (target.instance_id, target.aws_profile, target.region)
        names = places.setdefault(key, [])
        for text in (target.short_name, target.name_tag or ""):
            name = host_name(text)
            if name and name != target.instance_id.lower() and name not in names:
                names.append(name)
    owners: dict[str, set[str]] = {}
    for (instance_id, _, _), names in places.items():
        for name in names:
            owners.setdefault(name, set()).add(instance_id)
    ids = {instance_id for instance_id, _, _ in places}
    shared = {name for name, found in owners.items() if len(found) > 1 or name in ids}
    entries: list[HostEntry] = []
    seen_ids: set[str] = set()
    for (instance_id, aws_profile, region), names in places.items():
        if instance_id in seen_ids:
            continue  # one instance seen through two pairs: the first pair's profile is used, as ls shows it
        seen_ids.add(instance_id)
        kept = tuple(name for name in names if name not in shared)
        entries.append(HostEntry((*kept, instance_id), SshTarget(instance_id, aws_profile, region)))
    return HostEntries(tuple(entries), tuple(sorted(shared - ids)))


def write_block(config_file: Path, block: str) -> None:
    """Put ``block`` between the markers of ``config_file`` (appended when it has none; the file is made).

    Raises:
        StoreError: the file cannot be read or written, or holds only one of the two markers.
    """
    around = marked_block.read_around(config_file, BEGIN, END, what="ssmux")
    marked_block.write_block(around, block)


def default_config_file() -> Path:
    """``~/.ssh/config``: where OpenSSH reads a user's configuration, on every platform."""
    return Path.home() / ".ssh" / "config"


def names_of(entries: Sequence[HostEntry]) -> list[str]:
    """The first name of each entry (the one a user would type), for the summary line."""
    return [entry.names[0] for entry in entries]
