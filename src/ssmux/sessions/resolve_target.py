"""TARGET on the command line -> the instance, AWS CLI profile and region a session uses.

TARGET is an instance id, a saved profile name, or a synced display name or Name tag
(:func:`ssmux.sync.targets.find`). Several matches open the picker on a terminal; elsewhere they are an error
that lists the candidates. An instance id nobody knows is used as is, with the settings' default profile and
region. ``--aws-profile`` and ``--region`` override what the target resolves to.

What the last sync knows about the target's agent (offline, unmanaged, stopped) is said before the session
is tried, so the user sees why it is likely to fail; the session is still tried, because the cache may be
older than the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ssmux.core.validation import is_instance_id
from ssmux.errors import ExitStatus, InvalidValue, NotFound, SsmuxError

MAX_LISTED = 8


class Cancelled(SsmuxError):
    """The person at the terminal cancelled the picker."""

    exit_status = ExitStatus.INTERRUPTED


@dataclass(frozen=True)
class ResolvedTarget:
    """Where a session goes.

    Attributes:
        instance_id: ``i-...`` or ``mi-...``.
        aws_profile: AWS CLI profile, or ``None`` to let the SDK decide.
        region: region, or ``None`` to let the SDK decide.
        label: how to name it to the user.
        problem: what the last sync knows that will likely make the session fail, or ``None``.
    """

    instance_id: str
    aws_profile: str | None
    region: str | None
    label: str
    problem: str | None = None


def candidate_label(target: Any) -> str:
    """One line describing a candidate target (picker entry, ambiguity error)."""
    where = target.group or "/".join(part for part in (target.aws_profile, target.region) if part) or "-"
    status = " ".join(part for part in (target.state, target.ping_status) if part)
    text = f"{target.name}  {target.instance_id}  {where}"
    return f"{text}  [{status}]" if status else text


def resolve_target(
    text: str,
    *,
    aws_profile: str | None = None,
    region: str | None = None,
    interactive: bool = False,
    pick: Callable[[Sequence[str]], int | None] | None = None,
    targets: Sequence[Any] | None = None,
    settings: Any = None,
) -> ResolvedTarget:
    """Resolve TARGET ``text``; ``aws_profile``/``region`` (command-line options) win when given.

    Args:
        text: what the user typed.
        aws_profile: ``--aws-profile``, or ``None``.
        region: ``--region``, or ``None``.
        interactive: a person is at a terminal: ambiguity opens the picker.
        pick: the picker (default :func:`ssmux.sessions.picker.pick`); returns the chosen index or ``None``.
        targets: the targets to search (default: saved profiles and the synced cache).
        settings: the settings (default: loaded), for the default profile and region of a bare id.

    Raises:
        NotFound: nothing is called ``text`` and it is not an instance id.
        InvalidValue: several targets match and nobody can be asked.
        Cancelled: the picker was cancelled.
    """
    from ssmux.sync import targets as targets_module

    wanted = text.strip()
    if not wanted:
        raise InvalidValue("TARGET is empty: give an instance id, a saved profile name or a synced name")
    if targets is None:
        targets = targets_module.load_targets(wanted)
    matches = _distinct(targets_module.find(targets, wanted))
    if not matches:
        if is_instance_id(wanted):
            if settings is None:
                from ssmux.core.store import load_settings

                settings = load_settings()
            return ResolvedTarget(
                wanted,
                aws_profile or settings.default_aws_profile,
                region or settings.default_region,
                wanted,
            )
        raise NotFound(
            f"no target named {wanted!r}: see 'ssmux ls' (run 'ssmux sync' to refresh it), "
            "or give an instance id"
        )
    chosen = matches[0]
    if len(matches) > 1:
        labels = [candidate_label(target) for target in matches]
        if not interactive:
            listed = "; ".join(labels[:MAX_LISTED]) + ("; ..." if len(labels) > MAX_LISTED else "")
            raise InvalidValue(
                f"{wanted!r} matches {len(matches)} targets: {listed}: give the instance id or a saved "
                "profile name"
            )
        if pick is None:
            from ssmux.sessions.picker import pick as default_pick

            pick = default_pick
        index = pick(labels)
        if index is None:
            raise Cancelled("no target chosen")
        chosen = matches[index]
    return ResolvedTarget(
        chosen.instance_id,
        aws_profile or chosen.aws_profile,
        region or chosen.region,
        chosen.name if chosen.name == chosen.instance_id else f"{chosen.name} ({chosen.instance_id})",
        chosen.problem,
    )


def _distinct(matches: Sequence[Any]) -> list[Any]:
    # One instance seen through several pairs, or as a saved profile and synced: the same place to go when
    # profile and region agree; keep the first (saved ones sort first).
    seen: set[tuple[str, str | None, str | None]] = set()
    kept = []
    for target in matches:
        key = (target.instance_id, target.aws_profile, target.region)
        if key not in seen:
            seen.add(key)
            kept.append(target)
    return kept


def record_recent(
    instance_id: str,
    aws_profile: str | None,
    region: str | None,
    warn: Callable[[str], None] | None = None,
) -> None:
    """Put this session's instance, profile and region at the front of the settings' recent lists.

    A settings file that cannot be written must not stop a session that already runs: the failure is
    reported to ``warn`` (default: a warning line on stderr) and the session goes on.
    """
    import sys

    from ssmux.core.store import record_recent as store_recent

    try:
        store_recent(instance_id=instance_id, aws_profile=aws_profile, region=region)
    except SsmuxError as error:
        if warn is not None:
            warn(f"recent lists not updated: {error}")
        else:
            sys.stderr.write(f"ssmux: warning: recent lists not updated: {error}\n")
