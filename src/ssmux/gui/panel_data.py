"""Loading what the profile panel lists: saved profiles from the store, synced instances and containers
from the cache.

This reads files (the TOML store and the SQLite inventory), so the GUI calls :func:`load_panel_data` through
``run.io_bound``; it never touches AWS.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ssmux.gui.panel_model import UNGROUPED, GroupInfo, GroupState, GroupStatus, PanelData, PanelTarget
from ssmux.sync.instance import addresses as instance_addresses
from ssmux.sync.targets import ContainerRef, Source, TargetKind

if TYPE_CHECKING:
    from ssmux.core.models import ProfileBook, Settings
    from ssmux.core.store import StoreCache
    from ssmux.sync.inventory import Inventory, PairStatus
    from ssmux.sync.targets import Target


def saved_group_key(name: str | None) -> str:
    """Panel key of a saved group (``None``: the profiles in no group)."""
    return f"saved:{name or ''}"


def synced_group_key(aws_profile: str, region: str) -> str:
    """Panel key of a synced pair's group."""
    return f"synced:{aws_profile}/{region}"


def container_group_key(aws_profile: str, region: str, cluster: str, service: str | None) -> str:
    """Panel key of the group of a pair's containers of one cluster and service (``None``: no service)."""
    return f"{synced_group_key(aws_profile, region)}/ecs:{cluster}/{service or ''}"


def container_group_title(cluster: str, service: str | None) -> str:
    """``cluster / service``, or ``cluster / tasks`` for tasks no service started."""
    return f"{cluster} / {service or 'tasks'}"


def when(epoch: float | None) -> str:
    """Epoch seconds as local ``YYYY-MM-DD HH:MM`` (``""`` for none)."""
    if not epoch:
        return ""
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")


def pair_status(status: PairStatus | None) -> GroupStatus:
    """A synced group's status from the cache's record of its pair."""
    if status is None:
        return GroupStatus(state=GroupState.NEVER)
    ecs = {
        "ecs_message": (status.ecs_error_message or status.ecs_error_code or "")
        if status.containers_stale
        else "",
        "ecs_code": status.ecs_error_code or "",
        "containers_since": when(status.containers_last_success),
    }
    if status.error_code is None:
        return GroupStatus(state=GroupState.OK, last_success=when(status.last_success), **ecs)
    return GroupStatus(
        state=GroupState.STALE if status.last_success else GroupState.ERROR,
        message=status.error_message or status.error_code,
        code=status.error_code,
        last_success=when(status.last_success),
        **ecs,
    )


def panel_target(target: Target) -> PanelTarget:
    """The panel row of a merged target."""
    if target.container is not None:
        return _container_row(target, target.container)
    if target.source is Source.SAVED:
        key = f"saved:{target.name}"
        group = saved_group_key(target.group)
        aws_tags = {k: v for k, v in target.tags.items() if k != "Name"}
        # A saved profile's own labels as written, then the AWS tags the sync knows for it.
        labels = list(target.labels)
        for label_key, label_value in aws_tags.items():
            text = f"{label_key}={label_value}" if label_value else label_key
            if text not in labels and label_key not in target.labels:
                labels.append(text)
        tags = tuple(labels)
        name = target.name
    else:
        key = f"synced:{target.aws_profile}/{target.region}/{target.instance_id}"
        # The row shows the id on its own line: the name is the Name tag alone (or the id, untagged).
        name = (target.name_tag or target.name).removesuffix(f" ({target.instance_id})") or target.instance_id
        group = synced_group_key(target.aws_profile or "", target.region or "")
        tags = tuple(f"{k}={v}" for k, v in sorted(target.tags.items()) if k != "Name")
    addresses = tuple(address for address in instance_addresses(target) if address)
    return PanelTarget(
        key=key,
        name=name,
        instance_id=target.instance_id,
        group=group,
        source=target.source,
        aws_profile=target.aws_profile,
        region=target.region,
        state=target.state,
        ping_status=target.ping_status,
        platform=target.platform,
        tags=tags,
        addresses=addresses,
        description=target.description,
        problem=target.problem if target.synced else None,
    )


def _container_row(target: Target, ref: ContainerRef) -> PanelTarget:
    # The row sits in its cluster/service group: it shows the container's name; its task shows below.
    aws_profile, region = target.aws_profile or "", target.region or ""
    return PanelTarget(
        key=f"synced:{aws_profile}/{region}/{target.instance_id}",
        name=ref.container_name,
        instance_id=target.instance_id,
        group=container_group_key(aws_profile, region, ref.cluster, ref.service),
        source=Source.SYNCED,
        aws_profile=target.aws_profile,
        region=target.region,
        state=target.state,
        platform=target.platform,
        addresses=tuple(address for address in instance_addresses(target) if address),
        problem=target.problem,
        kind=TargetKind.CONTAINER,
        container=ref,
    )


def build_panel_data(
    book: ProfileBook, settings: Settings, targets: list[Target], statuses: list[PairStatus]
) -> PanelData:
    """Groups in display order (saved groups as declared, "Ungrouped", then synced pairs) and sorted rows."""
    groups: list[GroupInfo] = [
        GroupInfo(key=saved_group_key(name), title=name, source=Source.SAVED, name=name)
        for name in book.group_names()
    ]
    if any(profile.group is None for profile in book.profiles):
        groups.append(GroupInfo(key=saved_group_key(None), title=UNGROUPED, source=Source.SAVED))
    by_pair = {(status.aws_profile, status.region): status for status in statuses}
    pairs = dict.fromkeys(sorted(by_pair))
    if settings.sync_enabled:
        pairs.update(dict.fromkeys(pair.key for pair in settings.enabled_pairs()))
    clusters: dict[tuple[str, str], set[tuple[str, str | None]]] = {}
    for target in targets:
        if target.container is not None:
            where = (target.aws_profile or "", target.region or "")
            clusters.setdefault(where, set()).add((target.container.cluster, target.container.service))
    pairs.update(dict.fromkeys(sorted(clusters)))
    # A discovered pair is shown by its account, role and region (``team-001 ReadOnlyAccess eu-west-1``).
    titles = {pair.key: pair.title for pair in settings.sync_pairs if pair.account_name}
    for aws_profile, region in pairs:
        key = synced_group_key(aws_profile, region)
        groups.append(
            GroupInfo(
                key=key,
                title=titles.get((aws_profile, region)) or f"{aws_profile}/{region}",
                source=Source.SYNCED,
                status=pair_status(by_pair.get((aws_profile, region))),
                pair=(aws_profile, region),
            )
        )
        # Its containers follow it, a group per cluster and service (standalone tasks last in a cluster).
        for cluster, service in sorted(clusters.get((aws_profile, region), ()), key=_cluster_order):
            groups.append(
                GroupInfo(
                    key=container_group_key(aws_profile, region, cluster, service),
                    title=container_group_title(cluster, service),
                    source=Source.SYNCED,
                    parent=key,
                )
            )
    rows = sorted(
        (panel_target(target) for target in targets),
        key=lambda row: (row.source is not Source.SAVED, row.name.lower(), row.name, row.instance_id),
    )
    return PanelData(groups=tuple(groups), targets=tuple(rows))


def _cluster_order(where: tuple[str, str | None]) -> tuple[str, bool, str]:
    cluster, service = where
    return (cluster.lower(), service is None, (service or "").lower())


def load_panel_data(inventory: Inventory | None = None, store_cache: StoreCache | None = None) -> PanelData:
    """Read the store and the cache (blocking: run it off the event loop); ``store_cache`` is the caller's.

    Raises:
        StoreError: A file of ours cannot be read.
    """
    from ssmux.core import store
    from ssmux.sync.inventory import Inventory
    from ssmux.sync.targets import merge

    inventory = inventory or Inventory()
    book = store.load_profiles(store_cache)
    settings = store.load_settings(store_cache)
    statuses = inventory.pairs()
    targets = merge(book, settings, inventory.instances(), statuses, inventory.containers())
    return build_panel_data(book, settings, targets, statuses)
