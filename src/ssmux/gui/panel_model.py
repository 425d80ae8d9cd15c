"""What the profile panel shows, computed without NiceGUI: rows, groups, search and the tag filter.

The panel must stay responsive with 20,000 targets, so everything a keystroke needs is prepared once per data
load: each row carries its lower-cased search text, and filtering is a substring test per word. The panel then
renders only the rows a user can see (see :mod:`ssmux.gui.components.panel`).

Search matches the way ``ssmux ls`` does: every word must appear, case-insensitively, in the name, the
instance id, a tag or an IP/DNS name. The tag filter keeps rows carrying any (or all) of the chosen tags;
saved profiles' tags are free-form labels, synced instances' tags read ``key=value``.

A pair's ECS containers are listed under it, in one group per cluster and service (its ``parent`` is the
pair's group, so folding the pair folds them too); their rows search by ``cluster/service/container``, task
id and container name as well.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from ssmux.sync.targets import ContainerRef, Source, TargetKind

TagMode = Literal["any", "all"]

UNGROUPED = "Ungrouped"


@dataclass(frozen=True)
class PanelTarget:
    """One connectable row of the panel.

    Attributes:
        key: Unique among rows: ``saved:<name>`` or ``synced:<profile>/<region>/<instance id>``.
        name: What the row shows first (profile name, or a synced instance's Name tag, else its id).
        instance_id: The EC2 instance or managed node id.
        group: Key of the group the row is listed under.
        source: ``saved`` (editable profile) or ``synced`` (read-only, from the last sync).
        aws_profile: AWS CLI profile to connect with (resolved for saved profiles), ``None`` = SDK default.
        region: Region to connect in, ``None`` = SDK default.
        state: EC2 state (``running``, ``stopped``...), ``None`` when unknown (saved, not synced).
        ping_status: SSM agent status (``Online``, ``ConnectionLost``, ``unmanaged``...) or ``None``.
        platform: ``Linux``, ``Windows``... or ``None``.
        tags: Labels the tag filter and the row show.
        addresses: IPs and DNS names (searchable).
        description: Free text of a saved profile.
        problem: Why a session to it will fail (stopped, agent offline, unmanaged, a container not ready for
            ECS Exec), or ``None``.
        kind: instance or container.
        container: Where a container runs and its ECS Exec readiness; ``None`` for an instance.
    """

    key: str
    name: str
    instance_id: str
    group: str
    source: Source
    aws_profile: str | None = None
    region: str | None = None
    state: str | None = None
    ping_status: str | None = None
    platform: str | None = None
    tags: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    description: str = ""
    problem: str | None = None
    kind: TargetKind = TargetKind.INSTANCE
    container: ContainerRef | None = None
    search_text: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.search_text:
            words = [self.name, self.instance_id, *self.tags, *self.addresses]
            if self.container is not None:
                ref = self.container
                words += [ref.name, ref.task_id, ref.task_definition, ref.launch_type]
            object.__setattr__(self, "search_text", " ".join(words).lower())

    @property
    def profile_name(self) -> str | None:
        """The saved profile's name (``None`` for synced rows)."""
        return self.key.removeprefix("saved:") if self.source is Source.SAVED else None


class GroupState(StrEnum):
    """How the last sync of a synced group's pair went."""

    OK = "ok"
    STALE = "stale"  # the last sync failed; the rows of an older one are shown
    ERROR = "error"  # it never synced successfully
    NEVER = "never"  # not synced yet


@dataclass(frozen=True)
class GroupStatus:
    """How the last sync of a synced group's pair went.

    Attributes:
        state: ok, stale, error or never (see :class:`GroupState`).
        message: The readable error of the last failed sync, or ``""``.
        code: The AWS error code of that failure, or ``""``.
        last_success: When the pair last synced successfully (ISO 8601 text), or ``""``.
        ecs_message / ecs_code: The error of the pair's last ECS listing (its instances were listed), or
            ``""``.
        containers_since: When the pair's ECS listing last succeeded, or ``""``.
    """

    state: GroupState = GroupState.OK
    message: str = ""
    code: str = ""
    last_success: str = ""
    ecs_message: str = ""
    ecs_code: str = ""
    containers_since: str = ""


@dataclass(frozen=True)
class PanelGroup:
    """A heading of the panel with its rows (already filtered).

    Attributes:
        key: ``saved:<group name>``, ``saved:`` for profiles in no group, or ``synced:<profile>/<region>``.
        title: Shown in the heading (``web``, ``Ungrouped``, ``dev/eu-central-1``).
        source: ``saved`` groups can be edited; ``synced`` groups can be synced.
        targets: The rows that pass the current search and filter.
        total: Rows in the group before filtering.
        status: Sync status for synced groups.
        name: The saved group's name (``None`` for "Ungrouped" and synced groups).
        pair: ``(aws_profile, region)`` of a synced group (not of a container group).
        parent: For a container group (one cluster and service of a pair), the key of its pair's group.
    """

    key: str
    title: str
    source: Source
    targets: tuple[PanelTarget, ...]
    total: int
    status: GroupStatus | None = None
    name: str | None = None
    pair: tuple[str, str] | None = None
    parent: str | None = None


@dataclass(frozen=True)
class GroupInfo:
    """A group as the data sources describe it, before filtering (fields as :class:`PanelGroup`'s)."""

    key: str
    title: str
    source: Source
    status: GroupStatus | None = None
    name: str | None = None
    pair: tuple[str, str] | None = None
    parent: str | None = None


@dataclass(frozen=True)
class PanelData:
    """Everything the panel lists: the groups in display order and all rows (saved first, sorted by name)."""

    groups: tuple[GroupInfo, ...] = ()
    targets: tuple[PanelTarget, ...] = ()
    totals: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Rows per group, counted once per load rather than on every keystroke.
        counts: dict[str, int] = {}
        for target in self.targets:
            counts[target.group] = counts.get(target.group, 0) + 1
        object.__setattr__(self, "totals", counts)

    def all_tags(self) -> list[str]:
        """Every tag used by some row, sorted case-insensitively (the tag filter's options)."""
        return sorted({tag for target in self.targets for tag in target.tags}, key=lambda t: (t.lower(), t))

    def find(self, key: str) -> PanelTarget | None:
        """The row with ``key``, or ``None``."""
        return next((target for target in self.targets if target.key == key), None)


def refines(query: str, previous: str) -> bool:
    """True if every row matching ``query`` also matches ``previous`` (the user typed on, at the end).

    Each word of the previous query is then a substring of the word at its place in the new one, so the
    previous matches can be filtered instead of every row.
    """
    old, new = query_words(previous), query_words(query)
    return len(new) >= len(old) and all(before in after for before, after in zip(old, new, strict=False))


def query_words(query: str) -> list[str]:
    """The lower-cased words of a search box's text."""
    return query.lower().split()


def filter_targets(
    targets: Iterable[PanelTarget], query: str = "", tags: Iterable[str] = (), mode: TagMode = "any"
) -> list[PanelTarget]:
    """The targets matching every word of ``query`` and the tag filter (no tags chosen: no tag filter)."""
    words = query_words(query)
    chosen = frozenset(tags)
    # Plain comprehensions: this runs over every row on every keystroke.
    if len(words) == 1:
        word = words[0]
        found = [target for target in targets if word in target.search_text]
    elif words:
        found = [target for target in targets if all(w in target.search_text for w in words)]
    else:
        found = list(targets)
    if not chosen:
        return found
    if mode == "all":
        return [target for target in found if chosen.issubset(target.tags)]
    return [target for target in found if not chosen.isdisjoint(target.tags)]


def build_groups(
    data: PanelData,
    query: str = "",
    tags: Iterable[str] = (),
    mode: TagMode = "any",
    *,
    candidates: Sequence[PanelTarget] | None = None,
) -> list[PanelGroup]:
    """The groups to show, each with its filtered rows.

    While a search or tag filter is active, groups with no matching row are left out; otherwise every group is
    shown, empty ones too (a just-created group, a synced pair that found nothing or failed).

    Args:
        candidates: Rows known to contain every match (the matches of a query this one refines); by default
            all rows.
    """
    tags = tuple(tags)
    filtering = bool(query.strip()) or bool(tags)
    by_group: dict[str, list[PanelTarget]] = {group.key: [] for group in data.groups}
    totals = data.totals
    pool = data.targets if candidates is None else candidates
    for target in filter_targets(pool, query, tags, mode) if filtering else pool:
        by_group.setdefault(target.group, []).append(target)
    result = []
    for group in data.groups:
        rows = by_group.get(group.key, [])
        if filtering and not rows:
            continue
        result.append(
            PanelGroup(
                key=group.key,
                title=group.title,
                source=group.source,
                targets=tuple(rows),
                total=totals.get(group.key, 0),
                status=group.status,
                name=group.name,
                pair=group.pair,
                parent=group.parent,
            )
        )
    return result
