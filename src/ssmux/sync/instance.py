"""A synced instance: the record the readers build, the inventory stores and ``ssmux ls`` lists.

Its columns are declared once, here: every field of :class:`Instance` carries its :class:`Column` (in the
field's metadata) saying how the inventory stores it (SQL type, conversion), where EC2 ``DescribeInstances``
has it (the key in botocore's output, and the XML path the lean reader of :mod:`ssmux.sync.ec2` reads) and,
for the columns ``ssmux ls`` shows, the heading. :data:`COLUMNS` lists them in field order: the EC2 reader,
the join of :mod:`ssmux.sync.pair`, the inventory's table, inserts and reads, and the ``ls`` table are all
built from it, so a new field is one line here (plus, for the cache file, a schema step: see ``since``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from operator import attrgetter
from typing import Any, Literal

#: ``ping_status`` of an instance that has no SSM agent registration (our value, not AWS's).
UNMANAGED = "Unmanaged"

#: How a column is stored: ``text`` (never NULL, ``""`` when absent), ``optional`` (text or NULL), ``flag``
#: (a bool as 0/1), ``number`` (a float) or ``tags`` (a dict as JSON).
ColumnKind = Literal["text", "optional", "flag", "number", "tags"]

_SQL_TYPES: dict[ColumnKind, str] = {
    "text": "TEXT NOT NULL",
    "optional": "TEXT",
    "flag": "INTEGER NOT NULL",
    "number": "REAL NOT NULL",
    "tags": "TEXT NOT NULL",
}


@dataclass(frozen=True)
class Column:
    """One field of a synced instance.

    Attributes:
        name: the :class:`Instance` attribute, and the column of the inventory's ``instances`` table.
        kind: how it is stored (:data:`ColumnKind`).
        ec2: where a DescribeInstances instance has it as one text value in botocore's output, as a key
            path (``("State", "Name")``); ``()`` when EC2 does not give it so.
        ec2_xml: the same in the response XML, as a path under the instance's ``item``
            (``"instanceState/name"``); set exactly when ``ec2`` is.
        heading: its heading in the ``ssmux ls`` table; ``""`` when ``ls`` does not show it.
        address: an address (IP or DNS name): searched, and listed among a target's addresses.
        since: the inventory schema version that added the column (its table is created or altered by that
            migration step, so a cache file of any older version upgrades in place).
    """

    kind: ColumnKind
    ec2: tuple[str, ...] = ()
    ec2_xml: str = ""
    heading: str = ""
    address: bool = False
    since: int = 1
    name: str = ""

    @property
    def sql(self) -> str:
        """The column's definition in ``CREATE TABLE`` / ``ALTER TABLE ... ADD COLUMN``."""
        return f"{self.name} {_SQL_TYPES[self.kind]}"

    @property
    def to_sql(self) -> Callable[[Any], object] | None:
        """What turns the attribute into the SQLite value that stores it; ``None``: stored as it is."""
        return _TO_SQL.get(self.kind)

    @property
    def from_sql(self) -> Callable[[Any], Any]:
        """What turns the value SQLite hands back into the attribute."""
        return _FROM_SQL[self.kind]


def _tags_to_sql(tags: Mapping[str, str]) -> str:
    return json.dumps(dict(tags), ensure_ascii=False, sort_keys=True)


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)


_TO_SQL: dict[ColumnKind, Callable[[Any], object]] = {"tags": _tags_to_sql, "flag": int}
_FROM_SQL: dict[ColumnKind, Callable[[Any], Any]] = {
    "text": str,
    "optional": _optional_text,
    "flag": bool,
    "number": float,
    "tags": json.loads,
}


def _column(
    kind: ColumnKind,
    *,
    ec2: tuple[str, ...] = (),
    ec2_xml: str = "",
    heading: str = "",
    address: bool = False,
) -> dict[str, Column]:
    return {"column": Column(kind, ec2=ec2, ec2_xml=ec2_xml, heading=heading, address=address)}


@dataclass(frozen=True)
class Instance:
    """One EC2 instance or ``mi-`` managed node as the last sync saw it.

    Attributes:
        instance_id: ``i-...`` or ``mi-...``.
        name: the ``Name`` tag (for a managed node: its SSM name), or ``None``.
        state: EC2 state (``running``, ``stopped``...); ``None`` for a managed node, which has none.
        platform: ``linux``, ``windows`` or ``macos`` (lower case), or ``""`` if unknown.
        private_ip / public_ip / private_dns: addresses, ``""`` when absent.
        availability_zone / vpc_id: placement, ``""`` when absent (managed nodes).
        launch_time: ISO 8601 UTC, ``""`` when unknown.
        tags: all tags, ``Name`` included.
        ssm_managed: the SSM agent has registered this instance (it is in DescribeInstanceInformation).
        ping_status: ``Online``, ``ConnectionLost``, ``Inactive`` from SSM, or :data:`UNMANAGED`.
        agent_version: SSM agent version, ``""`` when not managed.
        aws_profile / region: the pair it was synced from.
        last_seen: when the sync saw it (epoch seconds).
    """

    # Field order is the column order of the cache's table (schema 1 was written in this order).
    aws_profile: str = field(metadata=_column("text"))
    region: str = field(metadata=_column("text"))
    instance_id: str = field(
        metadata=_column("text", ec2=("InstanceId",), ec2_xml="instanceId", heading="INSTANCE")
    )
    name: str | None = field(default=None, metadata=_column("optional", heading="NAME"))
    state: str | None = field(
        default=None,
        metadata=_column("optional", ec2=("State", "Name"), ec2_xml="instanceState/name", heading="STATE"),
    )
    platform: str = field(
        default="", metadata=_column("text", ec2=("Platform",), ec2_xml="platform", heading="PLATFORM")
    )
    private_ip: str = field(
        default="",
        metadata=_column(
            "text",
            ec2=("PrivateIpAddress",),
            ec2_xml="privateIpAddress",
            heading="PRIVATE IP",
            address=True,
        ),
    )
    public_ip: str = field(
        default="", metadata=_column("text", ec2=("PublicIpAddress",), ec2_xml="ipAddress", address=True)
    )
    private_dns: str = field(
        default="",
        metadata=_column("text", ec2=("PrivateDnsName",), ec2_xml="privateDnsName", address=True),
    )
    availability_zone: str = field(
        default="",
        metadata=_column("text", ec2=("Placement", "AvailabilityZone"), ec2_xml="placement/availabilityZone"),
    )
    vpc_id: str = field(default="", metadata=_column("text", ec2=("VpcId",), ec2_xml="vpcId"))
    # EC2's LaunchTime (a timestamp) and Tags (a list of key/value items) are not one text value each: the
    # reader (ssmux.sync.ec2) and the join (ssmux.sync.pair) read them on their own.
    launch_time: str = field(default="", metadata=_column("text"))
    tags: Mapping[str, str] = field(default_factory=dict, hash=False, metadata=_column("tags"))
    ssm_managed: bool = field(default=False, metadata=_column("flag"))
    ping_status: str = field(default=UNMANAGED, metadata=_column("text", heading="SSM"))
    agent_version: str = field(default="", metadata=_column("text"))
    last_seen: float = field(default=0.0, metadata=_column("number"))

    @property
    def display_name(self) -> str:
        """``Name (id)``, or the id alone when there is no name."""
        return f"{self.name} ({self.instance_id})" if self.name else self.instance_id

    @property
    def group(self) -> str:
        """The read-only group of its pair: ``profile/region``."""
        return pair_group(self.aws_profile, self.region)

    def search_text(self) -> str:
        """What a query matches: name, id, tag values, IPs and DNS name; lower case, one field per line."""
        values = [self.display_name, self.instance_id, *self.tags.values(), *addresses(self)]
        # Newline separates fields: a query word never contains whitespace, so it cannot match across two.
        return "\n".join(value for value in values if value).lower()


#: Every column of a synced instance, in :class:`Instance` field order.
COLUMNS: tuple[Column, ...] = tuple(
    replace(item.metadata["column"], name=item.name) for item in fields(Instance)
)

#: The columns EC2 gives as one text value each: the lean reader reads them, the join copies them.
EC2_TEXT_COLUMNS: tuple[Column, ...] = tuple(column for column in COLUMNS if column.ec2)

#: The address columns (IPs, DNS names), in order; a target has attributes of the same names.
ADDRESSES: tuple[str, ...] = tuple(column.name for column in COLUMNS if column.address)
_ADDRESSES = attrgetter(*ADDRESSES)


def addresses(record: object) -> tuple[str | None, ...]:
    """The address attributes of ``record`` (an :class:`Instance` or a target), absent ones included."""
    found: tuple[str | None, ...] = _ADDRESSES(record)
    return found


#: Headings of the columns ``ssmux ls`` shows, by attribute (the attributes of a target are the same).
HEADINGS: dict[str, str] = {column.name: column.heading for column in COLUMNS if column.heading}


def pair_group(aws_profile: str, region: str) -> str:
    """The read-only group name of a pair."""
    return f"{aws_profile}/{region}"
