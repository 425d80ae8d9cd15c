"""The targets of ``ssmux exec --group G | --tag K=V | TARGET... -- CMD``, chosen as ``ssmux ls`` matches."""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ssmux.sessions.exec_many import ExecTarget

if TYPE_CHECKING:
    from ssmux.sync.targets import Target


def select_targets(
    words: Sequence[str],
    *,
    group: str | None = None,
    tags: Sequence[tuple[str, str | None]] = (),
    aws_profile: str | None = None,
    region: str | None = None,
    loaded: Sequence[Target] | None = None,
    load: Callable[[], Sequence[Target]] | None = None,
) -> list[ExecTarget]:
    """The targets of ``--group G``, ``--tag K=V`` and TARGET words, as ``ssmux ls`` matches them.

    Each word names what ``ssmux ls WORD`` lists (an exact name or id wins over a search match, so ``web-1``
    is not also ``web-10``); an instance id no pair knows is taken as is. With words, ``group`` and ``tags``
    narrow what they name; without, they choose among all targets. Instances that cannot take a session
    (stopped) are left out, as ``ls`` leaves them out; offline ones stay and are reported unreachable.
    Containers are left out too: ECS Exec runs interactive sessions only, not one command with its exit code.
    ``aws_profile``/``region`` override where each target is reached, as for one target.

    Args:
        words: TARGET words.
        group: a saved group or a pair ``profile/region``.
        tags: ``(key, value)`` (``None``: any value).
        aws_profile / region: ``--aws-profile``, ``--region``.
        loaded: the targets to choose from (default: saved profiles and the synced cache).
        load: how to load them (default :func:`ssmux.sync.targets.load_targets`).

    Raises:
        NotFound: a word names nothing, or nothing is left to run on.
    """
    from ssmux.errors import NotFound
    from ssmux.sessions.resolve_target import unknown_target_message
    from ssmux.sync import targets as targets_module

    candidates = list(loaded) if loaded is not None else list((load or targets_module.load_targets)())
    chosen: list[Target] = []
    unknown_ids: list[str] = []
    for word in words:
        match = targets_module.match_targets(candidates, word)
        if not match.targets:
            message = unknown_target_message(word.strip(), match.suggestions)
            if message is not None:
                raise NotFound(message)
            unknown_ids.append(word.strip())
        chosen.extend(match.targets)
    if not words:
        chosen = candidates
    matched = targets_module.filter_targets(targets_module.distinct(chosen), group=group, tags=tags)
    kept = [target for target in matched if target.kind is targets_module.TargetKind.INSTANCE]
    if not words:
        kept.sort(key=targets_module.sort_key)
    found = [_exec_target(target, aws_profile, region) for target in kept]
    found += [ExecTarget(instance_id, instance_id, aws_profile, region) for instance_id in unknown_ids]
    if not found and matched:
        raise NotFound(
            f"only containers {_what(words, group, tags)}: a command runs on many instances at once, "
            "and on a container only in a session of its own: name one container"
        )
    if not found:
        raise NotFound(f"no targets {_what(words, group, tags)}: see 'ssmux ls{_ls_args(group, tags)}'")
    return distinct_names(found)


def _exec_target(target: Target, aws_profile: str | None, region: str | None) -> ExecTarget:
    return ExecTarget(target.short_name, target.instance_id, aws_profile or target.aws_profile,
                      region or target.region)  # fmt: skip


def distinct_names(found: list[ExecTarget]) -> list[ExecTarget]:
    """One name per target: a name shared by several (the same Name tag in two accounts) gets the id."""
    counts: dict[str, int] = {}
    for target in found:
        counts[target.name] = counts.get(target.name, 0) + 1

    def named(target: ExecTarget) -> ExecTarget:
        if counts[target.name] == 1 or target.name == target.instance_id:
            return target
        return dataclasses.replace(target, name=f"{target.name} ({target.instance_id})")

    return [named(target) for target in found]


def _what(words: Sequence[str], group: str | None, tags: Sequence[tuple[str, str | None]]) -> str:
    parts = [f"matching {' '.join(words)!r}"] if words else []
    if group is not None:
        parts.append(f"in group {group!r}")
    parts += [f"tagged {key}={value}" if value is not None else f"tagged {key}" for key, value in tags]
    return " ".join(parts) or "to run on"


def _ls_args(group: str | None, tags: Sequence[tuple[str, str | None]]) -> str:
    args = [f" --group {shlex.quote(group)}"] if group is not None else []
    args += [f" --tag {shlex.quote(key if value is None else f'{key}={value}')}" for key, value in tags]
    return "".join(args)
