"""``sso.generate``: an IAM Identity Center organization of any size from a few lines of a scenario.

The format is described in :mod:`ssmux.emulator.scenario`. This module turns the block into hidden profiles
(one per account), the instance entries of every account and region, and the fault rules' overrides per
account and per role grant. Everything is derived from the block alone (names, ids, keys, the accounts a
rule picks), so a scenario always yields the same organization.

A rule may also give its accounts ``disabled_regions``: opt-in regions of ``regions`` (not the first) that
those accounts have not enabled (AWS lets only regions launched after March 2019 be off). They get no
instances there, ``account:ListRegions`` and ``DescribeRegions`` say so, and their calls there fail
(:mod:`ssmux.emulator.regions`)::

    "faults": [{"accounts": ["team-00*"], "disabled_regions": ["ap-east-1"]}]
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any

from ssmux.emulator.faults import FIELD_NAMES, Faults
from ssmux.emulator.scenario import (
    _ACCOUNT,
    _INSTANCE_KEYS,
    _NAME,
    _REGION,
    ScenarioProfile,
    _deny,
    _derived_keys,
    _unique,
)
from ssmux.emulator.scenario_fields import mapping as _mapping
from ssmux.emulator.scenario_fields import string as _string
from ssmux.errors import InvalidValue

GENERATE_KEYS = {"accounts", "name_prefix", "first_account_id", "roles", "regions", "instances", "instance",
                 "seed", "faults"}  # fmt: skip
RULE_KEYS = {"accounts", "roles", "deny", "disabled_regions", *FIELD_NAMES}
#: An organization bigger than this is a typo rather than a test (the sync benchmark uses 300).
MAX_ACCOUNTS = 10_000
DEFAULT_ROLES = ("AdministratorAccess", "ReadOnlyAccess")
DEFAULT_FIRST_ACCOUNT = "100000000001"
_WHERE = "sso.generate"


@dataclass
class _Override:
    """What fault rules give one account, or one role grant of it."""

    faults: dict[str, Any] = field(default_factory=dict)
    deny: bool | tuple[str, ...] = False

    def add(self, faults: Mapping[str, Any], deny: bool | tuple[str, ...]) -> None:
        self.faults.update(faults)
        self.deny = _merged_deny(self.deny, deny)

    def applied(self, profile: ScenarioProfile) -> ScenarioProfile:
        faults = {**(profile.faults or {}), **self.faults}
        return replace(profile, faults=faults or None, deny=_merged_deny(profile.deny, self.deny))


@dataclass(frozen=True)
class Organization:
    """What ``sso.generate`` expands to.

    Attributes:
        profiles: One hidden profile per account (name ``team-001``...), with the account-wide fault rules.
        roles: Roles every account grants.
        regions: Regions every account has instances in; the first is the profiles' default region.
        instances: Instances per account and region.
        instance: The instance entry every generated instance starts from (before the account and region).
        role_overrides: Fault rules limited to some roles, by (account name, role).
        disabled: Opt-in regions of ``regions`` that an account has not enabled, by account name: it has no
            instances there, and :mod:`ssmux.emulator.regions` lists them as disabled for it.
    """

    profiles: tuple[ScenarioProfile, ...]
    roles: tuple[str, ...]
    regions: tuple[str, ...]
    instances: int
    instance: Mapping[str, Any]
    role_overrides: Mapping[tuple[str, str], _Override]
    disabled: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def instance_entries(self, defaults: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """One instance entry (with ``count``) per account and region, ``defaults`` under ``instance``."""
        if not self.instances:
            return
        template = {**defaults, **self.instance}
        for profile in self.profiles:
            for region in self.regions:
                if region in self.disabled.get(profile.name, ()):
                    continue
                yield {**template, "profile": profile.name, "region": region, "count": self.instances}

    def grant(self, grant: ScenarioProfile) -> ScenarioProfile:
        """A role grant of a generated account with the rules for that role applied."""
        override = self.role_overrides.get((grant.name.split("/", 1)[0], grant.role or ""))
        return override.applied(grant) if override is not None else grant


def parse_organization(raw: Any, taken_accounts: set[str]) -> Organization:
    """Validate ``sso.generate`` and expand it; ``taken_accounts`` are the explicit profiles' accounts."""
    data = _mapping(raw, _WHERE, GENERATE_KEYS)
    count = _integer(data, "accounts", minimum=1, maximum=MAX_ACCOUNTS, default=None)
    prefix = _string(data, "name_prefix", _WHERE, pattern=_NAME) or "team-"
    first = int(_string(data, "first_account_id", _WHERE, pattern=_ACCOUNT, what="12 digits")
                or DEFAULT_FIRST_ACCOUNT)  # fmt: skip
    if first + count - 1 > 999_999_999_999:
        raise InvalidValue(f"{_WHERE}: {count} accounts from first_account_id {first:012d} pass 999999999999")
    roles = _names(data, "roles", _NAME, DEFAULT_ROLES, 'role names like ["ReadOnlyAccess"]')
    regions = _names(data, "regions", _REGION, ("us-east-1",), 'regions like ["eu-west-1"]')
    instances = _integer(data, "instances", minimum=0, maximum=100_000, default=0)
    allowed = _INSTANCE_KEYS - {"profile", "region", "count", "id"}
    instance = {"name": "node", **_mapping(data.get("instance", {}), f"{_WHERE}.instance", allowed)}
    seed = _integer(data, "seed", minimum=0, maximum=2**63, default=0)
    width = max(3, len(str(count)))
    names = [f"{prefix}{n:0{width}d}" for n in range(1, count + 1)]
    ids = [f"{first + n:012d}" for n in range(count)]
    clash = sorted(taken_accounts.intersection(ids))
    if clash:
        raise InvalidValue(f"{_WHERE}: account {clash[0]} is also a profile's; change first_account_id")
    accounts = [_Override() for _ in names]
    role_overrides: dict[tuple[str, str], _Override] = {}
    disabled: dict[str, frozenset[str]] = {}
    raw_rules = data.get("faults", [])
    if not isinstance(raw_rules, list):
        raise InvalidValue(
            f'{_WHERE}.faults must be a list of rules like {{"accounts": 0.1, "throttle": 0.5}}'
        )
    for number, raw_rule in enumerate(raw_rules):
        where = f"{_WHERE}.faults[{number}]"
        rule = _mapping(raw_rule, where, RULE_KEYS)
        chosen = _chosen(rule.get("accounts"), names, ids, f"{seed}/{number}", where)
        rule_roles = _rule_roles(rule, roles, where)
        faults = {key: value for key, value in rule.items() if key in FIELD_NAMES}
        try:
            Faults().merged(faults)
        except (InvalidValue, TypeError) as error:
            raise InvalidValue(f"{where}: {error}") from None
        deny = _deny(rule.get("deny", False), where)
        off = _disabled_regions(rule, regions, where)
        for index in chosen:
            if off:
                disabled[names[index]] = disabled.get(names[index], frozenset()) | off
            if rule_roles is None:
                accounts[index].add(faults, deny)
                continue
            for role in rule_roles:
                role_overrides.setdefault((names[index], role), _Override()).add(faults, deny)
    profiles = tuple(
        accounts[n].applied(_account_profile(name, ids[n], regions[0])) for n, name in enumerate(names)
    )
    return Organization(profiles, roles, regions, instances, instance, role_overrides, disabled)


def _disabled_regions(rule: Mapping[str, Any], regions: tuple[str, ...], where: str) -> frozenset[str]:
    """A rule's ``disabled_regions``: opt-in regions of the organization (AWS lets no other be disabled),
    never the accounts' default region (the first)."""
    from ssmux.emulator.regions import OPT_IN_REGIONS

    if "disabled_regions" not in rule:
        return frozenset()
    if "roles" in rule:
        raise InvalidValue(f"{where}: disabled_regions is the whole account's: drop 'roles' from this rule")
    chosen = _names(rule, "disabled_regions", _REGION, (), 'regions like ["ap-east-1"]', where=where)
    for region in chosen:
        if region not in regions[1:]:
            raise InvalidValue(
                f"{where}.disabled_regions: '{region}' is not one of sso.generate.regions after the first "
                "(the accounts' default region is always enabled)"
            )
        if region not in OPT_IN_REGIONS:
            raise InvalidValue(
                f"{where}.disabled_regions: '{region}' is enabled by default in every AWS account; only "
                f"opt-in regions can be disabled ({', '.join(sorted(OPT_IN_REGIONS)[:3])}...)"
            )
    return frozenset(chosen)


def _account_profile(name: str, account_id: str, region: str) -> ScenarioProfile:
    access_key, secret = _derived_keys(account_id, name)
    return ScenarioProfile(name=name, account_id=account_id, region=region, access_key_id=access_key,
                           secret_access_key=secret, user=f"{name}-user")  # fmt: skip


def _chosen(value: Any, names: list[str], ids: list[str], stream: str, where: str) -> list[int]:
    """Positions of the accounts a rule applies to: a seeded share of them, or those matching patterns."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        size = max(1, round(value * len(names))) if value > 0 else 0
        # A string seed is hashed with SHA-512 by random.seed: the same picks in every process and on every
        # platform. Not for secrets (S311): repeatable picks are the point.
        picker = random.Random(f"ssmux-emulator/organization/{stream}")  # noqa: S311
        return sorted(picker.sample(range(len(names)), size))
    if isinstance(value, list) and value and all(isinstance(pattern, str) for pattern in value):
        chosen = []
        for pattern in value:
            found = [n for n, (name, id_) in enumerate(zip(names, ids, strict=True))
                     if fnmatchcase(name, pattern) or fnmatchcase(id_, pattern)]  # fmt: skip
            if not found:
                raise InvalidValue(f"{where}.accounts: '{pattern}' matches no generated account")
            chosen.extend(found)
        return sorted(set(chosen))
    raise InvalidValue(
        f'{where}.accounts must be a share between 0 and 1 (0.1) or a list of account names like ["team-00*"]'
    )


def _rule_roles(rule: Mapping[str, Any], roles: tuple[str, ...], where: str) -> tuple[str, ...] | None:
    if "roles" not in rule:
        return None
    chosen = _names(rule, "roles", _NAME, (), 'role names like ["ReadOnlyAccess"]', where=where)
    unknown = [role for role in chosen if role not in roles]
    if unknown:
        raise InvalidValue(f"{where}.roles: '{unknown[0]}' is not one of {', '.join(roles)}")
    return chosen


def _names(
    data: Mapping[str, Any],
    key: str,
    pattern: Any,
    default: tuple[str, ...],
    what: str,
    *,
    where: str = _WHERE,
) -> tuple[str, ...]:
    value = data.get(key)
    if value is None and default:
        return default
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and pattern.match(v) for v in value)
    ):
        raise InvalidValue(f"{where}.{key} must be a non-empty list of {what}")
    _unique(list(value), f"{where}.{key} entry")
    return tuple(value)


def _integer(data: Mapping[str, Any], key: str, *, minimum: int, maximum: int, default: int | None) -> int:
    value = data.get(key, default)
    if value is None:
        raise InvalidValue(f"{_WHERE} needs '{key}' (how many accounts)")
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise InvalidValue(f"{_WHERE}.{key} must be an integer from {minimum} to {maximum}, not {value!r}")
    return value


def _merged_deny(first: bool | tuple[str, ...], second: bool | tuple[str, ...]) -> bool | tuple[str, ...]:
    if first is True or second is True:
        return True
    merged = tuple(dict.fromkeys((*(first or ()), *(second or ()))))
    return merged or False
