"""Everything a user can connect to: saved profiles, synced instances and containers, merged, searched, found.

A synced instance that also has a saved profile (same instance id) is shown once, as the saved one, which
then carries what the sync knows (state, SSM status, addresses, AWS tags). Every pair is a read-only group
named ``profile/region``.

Tags are one ``dict`` for both kinds: a synced instance's AWS tags as they are; a saved profile's labels
with ``key=value`` split at the first ``=`` and a bare label mapped to ``""``; the saved labels win over AWS
tags of the same key.

A synced ECS container is a target of kind :attr:`TargetKind.CONTAINER`: its ``instance_id`` is its SSM
target ``ecs:<cluster>_<task-id>_<runtime-id>``, its name ``cluster/service/container`` (``cluster/task-id/
container`` for a task of no service), and :attr:`Target.container` says where it runs and whether ECS Exec
can reach it. It is searched and matched like an instance: by that name, the task id or the container name.

This module never imports boto3: ``ssmux ls`` reads the cache and the profile files only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ssmux.sync.container import Container
from ssmux.sync.instance import UNMANAGED, Instance, addresses, pair_group
from ssmux.sync.inventory import Inventory, PairStatus

if TYPE_CHECKING:
    from ssmux.core.models import ProfileBook, Settings


class Source(StrEnum):
    """Where a target comes from; the value is the ``source`` column of ``ssmux ls`` and its JSON."""

    SAVED = "saved"  # a saved profile (editable)
    SYNCED = "synced"  # an instance the sync found (read-only)


class TargetKind(StrEnum):
    """What a target is; the value is the ``kind`` field of ``ssmux ls --json``."""

    INSTANCE = "instance"  # an EC2 instance or mi- managed node (saved or synced)
    CONTAINER = "container"  # a container of a running ECS task (synced)


@dataclass(frozen=True)
class ContainerRef:
    """Where a container target runs, and whether ECS Exec can reach it now.

    Attributes:
        cluster: the cluster's name (``ExecuteCommand`` takes it as ``cluster``).
        task_id: the task's id (``ExecuteCommand``'s ``task``).
        container_name: the container's name (``ExecuteCommand``'s ``container``).
        runtime_id: the container runtime's id (the last part of the SSM target).
        service: the service that runs the task, ``None`` for a standalone task.
        task_definition: ``family:revision``.
        launch_type: ``FARGATE``, ``EC2``, ``EXTERNAL``; ``""`` when ECS does not say.
        exec_ready: the task has ``enableExecuteCommand`` and the container's ``ExecuteCommandAgent`` is
            ``RUNNING`` (as of the last sync).
        not_ready_reason: when not ready, why, as one line saying what to do; ``None`` when ready.
    """

    cluster: str
    task_id: str
    container_name: str
    runtime_id: str
    service: str | None
    task_definition: str
    launch_type: str
    exec_ready: bool
    not_ready_reason: str | None

    @property
    def ssm_target(self) -> str:
        """``ecs:<cluster>_<task-id>_<runtime-id>``: the target of StartSession and the data channel."""
        return f"ecs:{self.cluster}_{self.task_id}_{self.runtime_id}"

    @property
    def name(self) -> str:
        """``cluster/service/container``, or ``cluster/task-id/container`` without a service."""
        return f"{self.cluster}/{self.service or self.task_id}/{self.container_name}"


#: EC2 states in which an instance can take a session; others are hidden by ``ls`` unless asked for.
CONNECTABLE_STATES = frozenset({"running"})


@dataclass(frozen=True)
class Target:
    """One connectable thing.

    Attributes:
        name: the saved profile's name, or the synced display name ``Name (id)`` (or the id); for a
            container ``cluster/service/container``.
        instance_id: ``i-...`` or ``mi-...``; for a container its SSM target
            ``ecs:<cluster>_<task>_<runtime>``.
        aws_profile / region: what to connect with (resolved for a saved profile; ``None``: the SDK decides).
        group: saved profile's group, or the pair's ``profile/region``; ``None`` for an ungrouped profile.
        source: saved or synced.
        state: EC2 state; ``None`` when unknown or a managed node.
        ping_status: ``Online``, ``ConnectionLost``, ``Inactive``, ``Unmanaged``; ``None`` when unknown.
        platform: ``linux``, ``windows``, ``macos``; ``None`` when unknown.
        private_ip / public_ip / private_dns: addresses, ``None`` when unknown.
        tags: see the module docstring.
        name_tag: the AWS ``Name`` tag (for a managed node: its SSM name).
        labels: a saved profile's labels as written.
        description: a saved profile's description.
        synced: the sync knows this instance (the fields above come from the cache).
        stale_since: the last sync of its pair failed; epoch seconds of the last success that the data is
            from (``0.0`` if the pair never synced successfully). ``None`` when fresh.
        kind: instance or container.
        container: for a container, where it runs and its exec readiness; ``None`` for an instance.
    """

    name: str
    instance_id: str
    aws_profile: str | None
    region: str | None
    group: str | None
    source: Source
    state: str | None = None
    ping_status: str | None = None
    platform: str | None = None
    private_ip: str | None = None
    public_ip: str | None = None
    private_dns: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict, hash=False)
    name_tag: str | None = None
    labels: tuple[str, ...] = ()
    description: str = ""
    synced: bool = False
    stale_since: float | None = None
    kind: TargetKind = TargetKind.INSTANCE
    container: ContainerRef | None = None

    @property
    def short_name(self) -> str:
        """The name alone: a saved profile's name, else the Name tag, else the instance id.

        :attr:`name` of a synced instance repeats its id (``web-1 (i-...)``) so that lists without an id
        column tell two ``web-1`` apart; ``ssmux ls`` has an id column and shows this instead.
        """
        if self.source is Source.SAVED or self.container is not None:
            return self.name
        return self.name_tag or self.instance_id

    def to_dict(self) -> dict[str, Any]:
        """The ``ssmux ls --json`` form; ``name`` is :attr:`short_name` (the id has its own field).

        ``kind`` is ``instance`` or ``container``; ``container`` is ``null`` for an instance, else the
        :class:`ContainerRef` fields (``service`` ``null`` for a standalone task) and ``ssm_target``.
        """
        container = None
        if self.container is not None:
            container = {**asdict(self.container), "ssm_target": self.container.ssm_target}
        return {
            "name": self.short_name,
            "instance_id": self.instance_id,
            "aws_profile": self.aws_profile,
            "region": self.region,
            "group": self.group,
            "source": self.source,
            "state": self.state,
            "ping_status": self.ping_status,
            "platform": self.platform,
            "private_ip": self.private_ip,
            "tags": dict(self.tags),
            "kind": self.kind,
            "container": container,
        }

    @property
    def problem(self) -> str | None:
        """Why a session to it will fail, one line saying what to do; ``None`` when no problem is known.

        Known only from the last sync: a saved profile the sync has not seen has no known problem.
        """
        if self.container is not None and not self.container.exec_ready:
            reason = self.container.not_ready_reason or "ECS Exec cannot reach it"
            return f"{self.name} is not ready for ECS Exec: {reason}"
        if self.state is not None and self.state not in CONNECTABLE_STATES:
            return f"{self.name} is {self.state}: start the instance, then connect"
        if self.ping_status == UNMANAGED:
            return (
                f"{self.name} is not managed by SSM: install and register the SSM agent "
                "(with an instance profile allowing ssm:UpdateInstanceInformation), then run ssmux sync"
            )
        if self.ping_status in ("ConnectionLost", "Inactive"):
            return (
                f"{self.name}'s SSM agent is offline ({self.ping_status}): check the agent and the "
                "instance's network path to SSM, then run ssmux sync"
            )
        return None

    def search_fields(self) -> tuple[str, ...]:
        """What a query word may match, lower case: names and id first, then tags, labels and addresses."""
        values = [self.name, self.instance_id, self.name_tag or "", *self.tags.values(), *self.labels]
        values += [address or "" for address in addresses(self)]
        if self.container is not None:
            ref = self.container
            values += [ref.task_id, ref.container_name, ref.cluster, ref.service or "", ref.task_definition]
        return tuple(value.lower() for value in values if value)


# Building targets ------------------------------------------------------------------------------------------
def label_tags(labels: Iterable[str]) -> dict[str, str]:
    """A saved profile's labels as tags: ``key=value`` split at the first ``=``, bare labels map to ``""``."""
    tags: dict[str, str] = {}
    for label in labels:
        key, _, value = label.partition("=")
        tags[key] = value
    return tags


def synced_target(instance: Instance, status: PairStatus | None = None) -> Target:
    """The target of a synced instance; ``status`` (of its pair) tells whether the data is stale."""
    return Target(
        name=instance.display_name,
        instance_id=instance.instance_id,
        aws_profile=instance.aws_profile,
        region=instance.region,
        group=pair_group(instance.aws_profile, instance.region),
        source=Source.SYNCED,
        state=instance.state,
        ping_status=instance.ping_status,
        platform=instance.platform or None,
        private_ip=instance.private_ip or None,
        public_ip=instance.public_ip or None,
        private_dns=instance.private_dns or None,
        tags=instance.tags,
        name_tag=instance.name,
        synced=True,
        stale_since=_stale_since(status),
    )


def container_target(container: Container, status: PairStatus | None = None) -> Target:
    """The target of a synced container; ``status`` (of its pair) tells whether its data is stale."""
    ref = ContainerRef(
        cluster=container.cluster,
        task_id=container.task_id,
        container_name=container.container_name,
        runtime_id=container.runtime_id,
        service=container.service or None,
        task_definition=container.task_definition,
        launch_type=container.launch_type,
        exec_ready=container.exec_ready,
        not_ready_reason=container.not_ready_reason or None,
    )
    return Target(
        name=container.display_name,
        instance_id=container.ssm_target,
        aws_profile=container.aws_profile,
        region=container.region,
        group=pair_group(container.aws_profile, container.region),
        source=Source.SYNCED,
        state=container.last_status.lower() or None,
        platform="linux",  # ECS Exec reaches Linux containers (and Windows ones through the same shell)
        private_ip=container.private_ip or None,
        synced=True,
        stale_since=_container_stale_since(status),
        kind=TargetKind.CONTAINER,
        container=ref,
    )


def _container_stale_since(status: PairStatus | None) -> float | None:
    # A pair's containers are stale when its whole sync failed or only its ECS listing did.
    if status is None:
        return None
    if status.stale:
        return status.last_success or 0.0
    if status.containers_stale:
        return status.containers_last_success or 0.0
    return None


def _stale_since(status: PairStatus | None) -> float | None:
    if status is None or not status.stale:
        return None
    return status.last_success or 0.0


def merge(
    book: ProfileBook,
    settings: Settings,
    instances: Iterable[Instance],
    statuses: Iterable[PairStatus] = (),
    containers: Iterable[Container] = (),
) -> list[Target]:
    """Saved profiles (resolved, with what the sync knows of them), synced instances with no profile, then
    synced containers."""
    from ssmux.core.resolve import resolve

    by_pair = {(status.aws_profile, status.region): status for status in statuses}
    by_id: dict[str, list[Instance]] = {}
    for instance in instances:
        by_id.setdefault(instance.instance_id, []).append(instance)
    targets: list[Target] = []
    saved_ids: set[str] = set()
    for profile in book.profiles:
        resolution = resolve(profile, book, settings)
        saved_ids.add(profile.instance_id)
        labels = tuple(sorted(profile.tags))
        seen = _best_match(by_id.get(profile.instance_id, ()), resolution.aws_profile, resolution.region)
        base = synced_target(seen, by_pair.get((seen.aws_profile, seen.region))) if seen else None
        targets.append(
            Target(
                name=profile.name,
                instance_id=profile.instance_id,
                aws_profile=resolution.aws_profile,
                region=resolution.region,
                group=profile.group,
                source=Source.SAVED,
                state=base.state if base else None,
                ping_status=base.ping_status if base else None,
                platform=base.platform if base else None,
                private_ip=base.private_ip if base else None,
                public_ip=base.public_ip if base else None,
                private_dns=base.private_dns if base else None,
                tags={**(base.tags if base else {}), **label_tags(labels)},
                name_tag=base.name_tag if base else None,
                labels=labels,
                description=profile.description,
                synced=base is not None,
                stale_since=base.stale_since if base else None,
            )
        )
    for instance_id, found in by_id.items():
        if instance_id in saved_ids:
            continue
        targets.extend(synced_target(item, by_pair.get((item.aws_profile, item.region))) for item in found)
    targets.extend(
        container_target(item, by_pair.get((item.aws_profile, item.region))) for item in containers
    )
    return targets


def _best_match(found: Sequence[Instance], aws_profile: str | None, region: str | None) -> Instance | None:
    # The same instance can be seen through two pairs (two profiles of one account): prefer the pair the
    # saved profile itself would use.
    for item in found:
        if item.aws_profile == aws_profile and item.region == region:
            return item
    return next((item for item in found if item.region == region), found[0] if found else None)


def load_targets(
    query: str = "",
    *,
    inventory: Inventory | None = None,
    book: ProfileBook | None = None,
    settings: Settings | None = None,
) -> list[Target]:
    """Every target from the profile files and the inventory cache, pre-filtered by ``query`` (not ranked).

    The cache is asked only for instances and containers containing every query word, plus the instances of
    saved profiles, so a query over a large fleet reads few rows; :func:`search` then filters and ranks
    exactly.

    Raises:
        StoreError: a profile file or the cache cannot be read.
    """
    from ssmux.core import store

    inventory = inventory or Inventory()
    book = book if book is not None else store.load_profiles()
    settings = settings if settings is not None else store.load_settings()
    words = query.split()
    rows = inventory.instances(words)
    if words and book.profiles:
        # A saved profile may match by its own name while its synced row does not: fetch those rows too.
        wanted = {profile.instance_id for profile in book.profiles}
        known = {row.instance_id for row in rows}
        rows += inventory.instances(instance_ids=wanted - known)
    return merge(book, settings, rows, inventory.pairs(), inventory.containers(words))


# Searching and finding -------------------------------------------------------------------------------------
def _score(target: Target, words: Sequence[str]) -> int:
    """Relevance of ``target`` for lower-case ``words``; 0 when a word matches nothing."""
    primary = tuple(
        value.lower() for value in (target.name, target.instance_id, target.name_tag or "") if value
    )
    secondary = target.search_fields()
    total = 0
    for word in words:
        best = 0
        for value in primary:
            if value == word:
                best = max(best, 100)
            elif value.startswith(word):
                best = max(best, 60)
            elif word in value:
                best = max(best, 30)
        if best < 40:
            for value in secondary:
                if value == word:
                    best = max(best, 40)
                elif word in value:
                    best = max(best, 10)
        if best == 0:
            return 0
        total += best
    return total


def sort_key(target: Target) -> tuple[int, str, str, str]:
    """The order of an unranked listing: saved first, then by group, then by name."""
    return (target.source is not Source.SAVED, (target.group or "").lower(), target.name.lower(), target.name)


def search(targets: Iterable[Target], query: str) -> list[Target]:
    """The targets matching every word of ``query`` (case-insensitive), most relevant first, then by name.

    A word matches the name, instance id, Name tag, tag values, labels, IPs or DNS names. An empty query
    keeps every target, sorted by :func:`sort_key`.
    """
    words = [word.lower() for word in query.split()]
    if not words:
        return sorted(targets, key=sort_key)
    scored = [(score, target) for target in targets if (score := _score(target, words))]
    scored.sort(key=lambda pair: (-pair[0], pair[1].name.lower(), pair[1].name, pair[1].group or ""))
    return [target for _, target in scored]


def find(targets: Iterable[Target], text: str) -> list[Target]:
    """Targets exactly named by ``text``: instance id, saved profile name, synced display name or Name tag;
    a container by ``cluster/service/container``, its SSM target, its task id or its container name.

    Exact (case-sensitive) matches win; only when there are none are case-insensitive ones returned. Saved
    profiles come first. More than one result means ``text`` is ambiguous: the caller asks which.
    """
    candidates = list(targets)
    wanted = text.strip()

    def names(target: Target) -> tuple[str, ...]:
        if target.container is not None:
            ref = target.container
            return (target.instance_id, target.name, ref.task_id, ref.container_name)
        return tuple(value for value in (target.instance_id, target.name, target.name_tag) if value)

    exact = [target for target in candidates if wanted in names(target)]
    if not exact:
        folded = wanted.casefold()
        exact = [target for target in candidates if folded in (value.casefold() for value in names(target))]
    return sorted(exact, key=sort_key)


def matching(
    targets: Iterable[Target],
    query: str,
    *,
    group: str | None = None,
    tags: Sequence[tuple[str, str | None]] = (),
    state: str | None = None,
    include_all: bool = False,
) -> list[Target]:
    """What ``ssmux ls QUERY`` lists: :func:`search`, then :func:`filter_targets` (same arguments).

    The one matching of the CLI and the app: ``ls``, TARGET of ``connect``/``exec``/``forward``
    (:func:`match_targets`), and the app's connect dialog and forwards page.
    """
    found = search(targets, query)
    return filter_targets(found, group=group, tags=tags, state=state, include_all=include_all)


class MatchKind(StrEnum):
    """How a TARGET typed by the user was found."""

    EXACT = "exact"  # an instance id, saved profile name, synced display name or Name tag, exactly
    SEARCH = "search"  # what ``ssmux ls TARGET`` lists
    NONE = "none"  # nothing: see TargetMatch.suggestions


@dataclass(frozen=True)
class TargetMatch:
    """What a TARGET names.

    Attributes:
        kind: how the targets were found.
        targets: the candidates, best first; one place per (instance, AWS profile, region).
        suggestions: when nothing matched, the closest names (for "did you mean").
    """

    kind: MatchKind
    targets: tuple[Target, ...] = ()
    suggestions: tuple[str, ...] = ()


def match_targets(targets: Iterable[Target], text: str) -> TargetMatch:
    """The targets ``text`` names: exact names (:func:`find`), else what ``ls`` lists (:func:`matching`).

    An exact name or id always wins over a search match, so a name that is also part of longer names
    (``web-1`` and ``web-10``) still names one target. Several results mean the caller asks which.
    """
    candidates = list(targets)
    exact = distinct(find(candidates, text))
    if exact:
        return TargetMatch(MatchKind.EXACT, tuple(exact))
    found = distinct(matching(candidates, text))
    if found:
        return TargetMatch(MatchKind.SEARCH, tuple(found))
    return TargetMatch(MatchKind.NONE, suggestions=suggest(candidates, text))


def suggest(targets: Iterable[Target], text: str, limit: int = 3) -> tuple[str, ...]:
    """The names closest to ``text`` (saved profile names, Name tags, ids), for a "did you mean" line."""
    import difflib  # deferred: only a target that matched nothing needs it

    by_folded: dict[str, str] = {}
    for target in targets:
        for value in (target.short_name, target.instance_id):
            by_folded.setdefault(value.casefold(), value)
    close = difflib.get_close_matches(text.strip().casefold(), list(by_folded), n=limit, cutoff=0.6)
    return tuple(by_folded[value] for value in close)


def distinct(targets: Iterable[Target]) -> list[Target]:
    """``targets`` with one entry per place to go (instance id, AWS profile, region), the first kept.

    One instance seen through several pairs, or as a saved profile and synced, is the same place to go when
    profile and region agree; saved ones sort first, so they are kept.
    """
    seen: set[tuple[str, str | None, str | None]] = set()
    kept = []
    for target in targets:
        key = (target.instance_id, target.aws_profile, target.region)
        if key not in seen:
            seen.add(key)
            kept.append(target)
    return kept


def filter_targets(
    targets: Iterable[Target],
    *,
    group: str | None = None,
    tags: Sequence[tuple[str, str | None]] = (),
    state: str | None = None,
    include_all: bool = False,
) -> list[Target]:
    """Keep targets in ``group``, carrying every ``(key, value)`` tag (``value`` ``None``: any value), in
    ``state``; unless ``include_all`` or a ``state`` is asked for, instances known to be in a state that
    cannot take a session (stopped, pending...) are left out. Unmanaged or offline ones stay: they are
    listed, marked, and a connect says why it will fail.
    """
    wanted_state = state.lower() if state else None
    kept: list[Target] = []
    for target in targets:
        if group is not None and target.group != group:
            continue
        if wanted_state is not None and (target.state or "").lower() != wanted_state:
            continue
        if wanted_state is None and not include_all and target.state not in (None, *CONNECTABLE_STATES):
            continue
        if any(
            key not in target.tags or (value is not None and target.tags[key] != value) for key, value in tags
        ):
            continue
        kept.append(target)
    return kept
