"""The data model: saved profiles, groups, sync pairs and settings.

Plain frozen dataclasses, so importing them costs nothing and a value can be shared between threads (CLI,
GUI, sync) without copying. They hold data only: :mod:`ssmux.core.validation` checks values,
:mod:`ssmux.core.store` reads and writes them, :mod:`ssmux.core.resolve` works out which AWS CLI profile and
region a profile uses.

The field names are the stable names of the JSON output (``--json``), of the TOML files and of
``ssmux settings set KEY VALUE``. ``None`` means "not set": for ``aws_profile`` and ``region`` it lets the
value fall through to the group, then the settings, then the AWS SDK (see :func:`ssmux.core.resolve.resolve`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ssmux.errors import AlreadyExists, NotFound

#: Session backends a user can choose in the settings; ``auto`` picks the best one available.
BACKENDS: tuple[str, ...] = ("auto", "native", "plugin", "aws-cli")

#: Length of each most-recently-used list in the settings.
RECENT_LIMIT = 10


@dataclass(frozen=True)
class Profile:
    """A saved connection to one EC2 instance (``i-…``) or managed node (``mi-…``).

    Attributes:
        name: Unique name of the profile.
        instance_id: The target, ``i-`` + 8 or 17 hex digits or ``mi-`` + 17.
        group: Name of the group it belongs to, or ``None``.
        tags: Free-form labels.
        description: Free text; may span several lines.
        aws_profile: AWS CLI profile to use, or ``None`` to inherit.
        region: Region to use, or ``None`` to inherit.
    """

    name: str
    instance_id: str
    group: str | None = None
    tags: frozenset[str] = frozenset()
    description: str = ""
    aws_profile: str | None = None
    region: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: every field, tags as a sorted list."""
        return {
            "name": self.name,
            "instance_id": self.instance_id,
            "group": self.group,
            "tags": sorted(self.tags),
            "description": self.description,
            "aws_profile": self.aws_profile,
            "region": self.region,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        """Build from the JSON/TOML form (no validation: see ``validation.validate_profile``)."""
        return cls(
            name=data["name"],
            instance_id=data["instance_id"],
            group=_none_if_empty(data.get("group")),
            tags=frozenset(data.get("tags") or ()),
            description=data.get("description") or "",
            aws_profile=_none_if_empty(data.get("aws_profile")),
            region=_none_if_empty(data.get("region")),
        )


@dataclass(frozen=True)
class Group:
    """A group of profiles; its AWS CLI profile and region sit between a profile's own and the settings'."""

    name: str
    aws_profile: str | None = None
    region: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"name": self.name, "aws_profile": self.aws_profile, "region": self.region}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Group:
        """Build from the JSON/TOML form (no validation)."""
        return cls(
            name=data["name"],
            aws_profile=_none_if_empty(data.get("aws_profile")),
            region=_none_if_empty(data.get("region")),
        )


@dataclass(frozen=True)
class SyncPair:
    """An (AWS CLI profile, region) pair whose instances the sync lists.

    Attributes:
        aws_profile: The AWS CLI profile (or a discovered role, ``sso:SESSION/ACCOUNT/ROLE``).
        region: The region.
        enabled: Whether the sync visits it.
        containers: Whether the sync lists its ECS containers too (off for pairs whose role may not).
        account_name: The account's name, as discovery found it (``None``: not known); shown beside the pair.
        role_name: The role the profile signs in as, as discovery found it (``None``: not known).
    """

    aws_profile: str
    region: str
    enabled: bool = True
    containers: bool = True
    account_name: str | None = None
    role_name: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """What makes a pair unique in the settings: ``(aws_profile, region)``."""
        return (self.aws_profile, self.region)

    @property
    def account(self) -> str | None:
        """The account and role as discovery named them (``team-001 ReadOnlyAccess``), or ``None``."""
        if self.account_name is None:
            return None
        return f"{self.account_name} {self.role_name}" if self.role_name else self.account_name

    @property
    def title(self) -> str:
        """How a user knows the pair: ``team-001 ReadOnlyAccess eu-west-1`` once discovery named its account,
        else ``PROFILE/REGION``."""
        account = self.account
        return f"{account} {self.region}" if account else f"{self.aws_profile}/{self.region}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "aws_profile": self.aws_profile,
            "region": self.region,
            "enabled": self.enabled,
            "containers": self.containers,
            "account_name": self.account_name,
            "role_name": self.role_name,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SyncPair:
        """Build from the JSON/TOML form (no validation)."""
        return cls(
            aws_profile=data["aws_profile"],
            region=data["region"],
            enabled=data.get("enabled", True),
            containers=data.get("containers", True),
            account_name=_none_if_empty(data.get("account_name")),
            role_name=_none_if_empty(data.get("role_name")),
        )


#: A fresh home has no pairs: which (profile, region) pairs hold a user's instances is theirs to say
#: (``ssmux pair add``); made-up ``default/...`` pairs only showed in lists and failed when enabled.
DEFAULT_SYNC_PAIRS: tuple[SyncPair, ...] = ()


@dataclass(frozen=True)
class Settings:
    """Per-user settings.

    Attributes:
        sync_enabled: Master switch of the EC2/SSM sync.
        sync_pairs: The pairs to sync from; unique by ``(aws_profile, region)``.
        sync_only_running: List only instances in state ``running``.
        default_aws_profile: AWS CLI profile when neither profile nor group sets one; ``None`` = the SDK's.
        default_region: Region when neither profile nor group sets one; ``None`` = the SDK's.
        backend: Session backend, one of :data:`BACKENDS`.
        aws_path: Path of the ``aws`` executable; empty = find it on ``PATH``.
        plugin_path: Path of ``session-manager-plugin``; empty = find it on ``PATH``.
        recent_instance_ids: Most recently used instance ids, newest first, at most :data:`RECENT_LIMIT`.
        recent_aws_profiles: Same for AWS CLI profiles.
        recent_regions: Same for regions.
    """

    # On: adding a pair is the one step to syncing it; the switch is there to pause every pair at once.
    sync_enabled: bool = True
    sync_pairs: tuple[SyncPair, ...] = DEFAULT_SYNC_PAIRS
    sync_only_running: bool = False
    default_aws_profile: str | None = None
    default_region: str | None = None
    backend: str = "auto"
    aws_path: str = ""
    plugin_path: str = ""
    recent_instance_ids: tuple[str, ...] = ()
    recent_aws_profiles: tuple[str, ...] = ()
    recent_regions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, keys in declaration order."""
        return {
            "sync_enabled": self.sync_enabled,
            "sync_pairs": [pair.to_dict() for pair in self.sync_pairs],
            "sync_only_running": self.sync_only_running,
            "default_aws_profile": self.default_aws_profile,
            "default_region": self.default_region,
            "backend": self.backend,
            "aws_path": self.aws_path,
            "plugin_path": self.plugin_path,
            "recent_instance_ids": list(self.recent_instance_ids),
            "recent_aws_profiles": list(self.recent_aws_profiles),
            "recent_regions": list(self.recent_regions),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Settings:
        """Build from the JSON/TOML form; missing keys take their defaults (no validation)."""
        defaults = cls()
        pairs = data.get("sync_pairs")
        return cls(
            sync_enabled=data.get("sync_enabled", defaults.sync_enabled),
            sync_pairs=defaults.sync_pairs
            if pairs is None
            else tuple(SyncPair.from_dict(pair) for pair in pairs),
            sync_only_running=data.get("sync_only_running", defaults.sync_only_running),
            default_aws_profile=_none_if_empty(data.get("default_aws_profile")),
            default_region=_none_if_empty(data.get("default_region")),
            backend=data.get("backend") or defaults.backend,
            aws_path=data.get("aws_path") or "",
            plugin_path=data.get("plugin_path") or "",
            recent_instance_ids=tuple(data.get("recent_instance_ids") or ()),
            recent_aws_profiles=tuple(data.get("recent_aws_profiles") or ()),
            recent_regions=tuple(data.get("recent_regions") or ()),
        )

    def pair(self, aws_profile: str, region: str) -> SyncPair:
        """The pair ``(aws_profile, region)``.

        Raises:
            NotFound: There is no such pair.
        """
        for pair in self.sync_pairs:
            if pair.key == (aws_profile, region):
                return pair
        raise NotFound(f"sync pair {aws_profile}/{region} not found: see 'ssmux pair ls'")

    def enabled_pairs(self) -> tuple[SyncPair, ...]:
        """The pairs the sync should visit."""
        return tuple(pair for pair in self.sync_pairs if pair.enabled)


@dataclass(frozen=True)
class ProfileBook:
    """All groups and saved profiles, in file order. Names are unique within each kind.

    The ``with_*``/``without_*`` methods return a changed copy; use them inside
    :func:`ssmux.core.store.update_profiles`.
    """

    groups: tuple[Group, ...] = ()
    profiles: tuple[Profile, ...] = ()
    _profiles_by_name: dict[str, Profile] = field(init=False, repr=False, compare=False, hash=False)
    _groups_by_name: dict[str, Group] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        # Frozen: set the lookup caches through object.__setattr__, once.
        object.__setattr__(self, "_profiles_by_name", {p.name: p for p in self.profiles})
        object.__setattr__(self, "_groups_by_name", {g.name: g for g in self.groups})

    # Lookups -----------------------------------------------------------------------------------------------
    def get_profile(self, name: str) -> Profile | None:
        """The profile named ``name``, or ``None``."""
        return self._profiles_by_name.get(name)

    def get_group(self, name: str) -> Group | None:
        """The group named ``name``, or ``None``."""
        return self._groups_by_name.get(name)

    def profile(self, name: str) -> Profile:
        """The profile named ``name``.

        Raises:
            NotFound: No profile has that name.
        """
        found = self._profiles_by_name.get(name)
        if found is None:
            raise NotFound(f"profile {name!r} not found: see 'ssmux profile ls'")
        return found

    def group(self, name: str) -> Group:
        """The group named ``name``.

        Raises:
            NotFound: No group has that name.
        """
        found = self._groups_by_name.get(name)
        if found is None:
            raise NotFound(f"group {name!r} not found: see 'ssmux group ls'")
        return found

    def profiles_in_group(self, name: str | None) -> tuple[Profile, ...]:
        """The profiles of group ``name`` (``None``: the profiles in no group)."""
        return tuple(p for p in self.profiles if p.group == name)

    def group_names(self) -> tuple[str, ...]:
        """Names of the declared groups plus any group named only by a profile, declared ones first."""
        names = dict.fromkeys(g.name for g in self.groups)
        names.update(dict.fromkeys(p.group for p in self.profiles if p.group is not None))
        return tuple(names)

    def find_profiles(self, *, group: str | None = None, tags: Iterable[str] = ()) -> tuple[Profile, ...]:
        """Profiles in ``group`` (any group when ``None``) carrying every tag of ``tags``."""
        wanted = frozenset(tags)
        return tuple(p for p in self.profiles if (group is None or p.group == group) and wanted <= p.tags)

    # Changed copies ----------------------------------------------------------------------------------------
    def with_profile(self, profile: Profile) -> ProfileBook:
        """A copy with ``profile`` added at the end.

        Raises:
            AlreadyExists: A profile with that name exists.
        """
        if profile.name in self._profiles_by_name:
            raise AlreadyExists(
                f"profile {profile.name!r} already exists: use 'ssmux profile edit' or pick another name"
            )
        return replace(self, profiles=(*self.profiles, profile))

    def replacing_profile(self, name: str, profile: Profile) -> ProfileBook:
        """A copy where profile ``name`` is replaced by ``profile`` in place (``profile`` may be a rename).

        Raises:
            NotFound: No profile is named ``name``.
            AlreadyExists: ``profile`` renames onto another existing profile.
        """
        self.profile(name)
        if profile.name != name and profile.name in self._profiles_by_name:
            raise AlreadyExists(f"profile {profile.name!r} already exists: pick another name")
        return replace(self, profiles=tuple(profile if p.name == name else p for p in self.profiles))

    def without_profile(self, name: str) -> ProfileBook:
        """A copy without profile ``name``.

        Raises:
            NotFound: No profile is named ``name``.
        """
        self.profile(name)
        return replace(self, profiles=tuple(p for p in self.profiles if p.name != name))

    def with_group(self, group: Group) -> ProfileBook:
        """A copy with ``group`` added at the end.

        Raises:
            AlreadyExists: A group with that name exists.
        """
        if group.name in self._groups_by_name:
            raise AlreadyExists(f"group {group.name!r} already exists: use 'ssmux group edit'")
        return replace(self, groups=(*self.groups, group))

    def replacing_group(self, name: str, group: Group) -> ProfileBook:
        """A copy where group ``name`` is replaced by ``group``; a rename moves its profiles along.

        Raises:
            NotFound: No group is named ``name``.
            AlreadyExists: ``group`` renames onto another existing group.
        """
        self.group(name)
        if group.name != name and group.name in self._groups_by_name:
            raise AlreadyExists(f"group {group.name!r} already exists: pick another name")
        profiles = self.profiles
        if group.name != name:
            profiles = tuple(replace(p, group=group.name) if p.group == name else p for p in profiles)
        return replace(
            self, groups=tuple(group if g.name == name else g for g in self.groups), profiles=profiles
        )

    def without_group(self, name: str) -> ProfileBook:
        """A copy without group ``name``; its profiles move to no group.

        Raises:
            NotFound: No group is named ``name``.
        """
        self.group(name)
        return replace(
            self,
            groups=tuple(g for g in self.groups if g.name != name),
            profiles=tuple(replace(p, group=None) if p.group == name else p for p in self.profiles),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``{"groups": [...], "profiles": [...]}``."""
        return {
            "groups": [g.to_dict() for g in self.groups],
            "profiles": [p.to_dict() for p in self.profiles],
        }


def push_recent(items: tuple[str, ...], value: str, limit: int = RECENT_LIMIT) -> tuple[str, ...]:
    """``items`` with ``value`` moved (or added) to the front, without duplicates, at most ``limit`` long."""
    return (value, *(item for item in items if item != value))[:limit]


def _none_if_empty(value: Any) -> Any:
    # The TOML files have no null: an absent key or an empty string both mean "not set".
    return None if value in (None, "") else value
