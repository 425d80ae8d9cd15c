"""Scenario files: the accounts, regions and instances the emulator pretends to have.

A scenario is JSON (see ``scenarios/demo.json``, the built-in ``demo``)::

    {
      "defaults": {"command": "/bin/bash --noprofile --norc", "prompt": "ec2-user@{name}:~$ "},
      "profiles": [
        {"name": "dev", "account_id": "111111111111", "region": "eu-central-1"},
        {"name": "prod", "account_id": "222222222222", "region": "us-east-1", "kms_key": "alias/ssm",
         "deny": false, "faults": {"latency_ms": 50}}
      ],
      "instances": [
        {"profile": "dev", "region": "eu-central-1", "name": "web", "count": 3, "state": "running",
         "platform": "linux", "tags": {"team": "web"}, "ssm": "online", "command": "/bin/bash"},
        {"profile": "prod", "id": "mi-0123456789abcdef0", "name": "onprem-db", "ssm": "online"}
      ]
    }

Each profile is its own AWS account (``account_id``) with its own access keys (given, or derived from the
account and name) and a default region. ``deny`` is ``true`` (every call but ``sts:GetCallerIdentity`` is
refused) or a list of ``service:Operation`` patterns (``"ec2:Describe*"``). ``faults`` overrides the
command-line fault options for that profile (:mod:`ssmux.emulator.faults`).

An instance entry with ``count`` > 1 becomes ``name-1``, ``name-2``...; no ``name`` means no Name tag;
``state`` is an EC2 state; ``ssm`` is ``online``, ``offline`` (ConnectionLost) or ``unmanaged`` (not an SSM
node at all); an ``id`` starting with ``mi-`` is a managed node with no EC2 instance. Ids that are not given
are derived from the account, region and position, so a scenario always yields the same ids. ``command``
(a string split like a shell would, or a list) is what a shell session runs; ``prompt`` sets ``PS1``, with
``{name}`` and ``{id}`` replaced. ``defaults`` gives any instance field to every entry that lacks it.

An optional ``ecs`` object gives accounts ECS clusters, services and tasks, written out or generated
(:mod:`ssmux.emulator.ecs_scenario` describes it).

An optional ``sso`` object makes the scenario an IAM Identity Center organization
(:mod:`ssmux.emulator.sso`)::

    "sso": {"session": "emulator", "region": "eu-west-1", "approve": "auto",
            "accounts": [{"profile": "dev", "name": "Development", "roles": ["AdministratorAccess"]},
                         {"profile": "prod", "name": "Production", "roles": ["ReadOnlyAccess"]}]}

Each account names a profile (its account, KMS key, denials and faults); each role of it gets keys of its
own, which GetRoleCredentials hands out and which then act in that account as the role.

An organization of any size is written compactly with ``generate`` (``profiles`` may then be left out, and
``accounts`` too; the ``organization`` built-in is one)::

    "sso": {"session": "org", "region": "us-east-1",
            "generate": {"accounts": 300, "name_prefix": "team-", "first_account_id": "100000000001",
                         "roles": ["AdministratorAccess", "ReadOnlyAccess", "Developer"],
                         "regions": ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2"],
                         "instances": 20, "instance": {"name": "node", "tags": {"team": "org"}},
                         "seed": 0,
                         "faults": [{"accounts": 0.1, "throttle": 0.5},
                                    {"accounts": 0.05, "latency_ms": 300},
                                    {"accounts": ["team-00*"], "roles": ["ReadOnlyAccess"],
                                     "deny": ["ec2:DescribeInstances"]}]}}

It makes ``accounts`` accounts named ``name_prefix`` plus a number of at least three digits (``team-001``),
with ids counting up from ``first_account_id`` and e-mails ``aws+<name>@example.com``; every account gets
every role of ``roles``, and ``instances`` instances in each of ``regions`` (the first is its default region),
each an instance entry made of ``defaults``, then ``instance``, then the account and region (so they are named
``node-1``...). Each account is a *hidden* profile: the emulator accepts its role grants' keys, but neither it
nor they are written to the AWS config files, which get only the ``[sso-session]`` and the ``sso`` profile.
Only ``accounts`` is required; the others default to ``team-``, ``100000000001``, ``AdministratorAccess`` and
``ReadOnlyAccess``, ``us-east-1``, no instances, ``{"name": "node"}``, seed 0 and no faults. An explicit
``instances`` entry may name a generated account (``"profile": "team-003"``) to give it more.

``faults`` is a list of rules, each applied to some generated accounts: ``accounts`` is a share (0..1:
that many accounts, at least one if above 0, drawn with ``seed`` and the rule's position, so a scenario
always picks the same ones and one rule's draw does not move another's) or a list of account names or ids
(``*`` and ``?`` match). The rest of a rule is what those accounts get: fault options
(:class:`~ssmux.emulator.faults.Faults`: ``latency_ms``, ``throttle``...) and ``deny`` (as a profile's). With
``roles``, only those roles' grants get them (``ReadOnlyAccess`` lacking ``ec2:DescribeInstances``); without,
the whole account. Later rules override earlier ones' fault options; denials add up. A rule's
``disabled_regions`` (opt-in regions of ``regions``, not the first) leaves them disabled in its accounts, as
``account:ListRegions`` then reports (see :mod:`ssmux.emulator.organization`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ssmux.core.validation import is_instance_id
from ssmux.emulator.ecs_scenario import EcsScenario, parse_ecs
from ssmux.emulator.faults import Faults
from ssmux.emulator.scenario_fields import choice as _choice
from ssmux.emulator.scenario_fields import mapping as _mapping
from ssmux.emulator.scenario_fields import string as _string
from ssmux.errors import InvalidValue
from ssmux.protocol.versions import DEFAULT_AGENT_VERSION

if TYPE_CHECKING:
    from ssmux.emulator.organization import Organization

BUILTIN_SCENARIOS = ("demo", "organization")
EC2_STATES = ("pending", "running", "shutting-down", "terminated", "stopping", "stopped")
SSM_STATES = ("online", "offline", "unmanaged")

# platform -> (PlatformType, PlatformName, PlatformVersion, login user) as DescribeInstanceInformation says.
PLATFORMS: dict[str, tuple[str, str, str, str]] = {
    "linux": ("Linux", "Amazon Linux", "2023", "ec2-user"),
    "windows": ("Windows", "Microsoft Windows Server 2022 Datacenter", "10.0.20348", "Administrator"),
}

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_ACCESS_KEY = re.compile(r"^[A-Z0-9]{20}$")
_ALIAS = re.compile(r"^alias/(?!aws/)[A-Za-z0-9/_-]{1,250}$")
_ACTION = re.compile(r"^[a-z0-9*?-]+:[A-Za-z0-9*?]+$")

_PROFILE_KEYS = {"name", "account_id", "region", "kms_key", "deny", "faults", "access_key_id",
                 "secret_access_key", "user"}  # fmt: skip
_INSTANCE_KEYS = {"profile", "region", "id", "name", "count", "state", "platform", "ssm", "tags", "command",
                  "prompt", "instance_type", "agent_version"}  # fmt: skip
_DEFAULTABLE = _INSTANCE_KEYS - {"id", "name", "count", "profile"}
_SSO_KEYS = {"session", "start_url", "region", "approve", "accounts", "generate"}

_SSO_ACCOUNT_KEYS = {"profile", "name", "email", "roles"}
_START_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:\d+)?/[A-Za-z0-9/_-]*$")


@dataclass(frozen=True)
class ScenarioProfile:
    """One AWS CLI profile of the scenario: an account, its keys and default region.

    Attributes:
        name: AWS CLI profile name written to the config files.
        account_id: The 12-digit account everything of this profile lives in.
        region: Default region (``region`` in the AWS config).
        kms_key: Alias of the KMS key (made at start-up in each region of the profile) that encrypts shell
            sessions of this profile, or None.
        deny: True to refuse every call, or the ``service:Operation`` patterns to refuse.
        faults: Fault options that override the command line's for this profile, or None.
        access_key_id: Access key of the profile; requests signed with it land in ``account_id``.
        secret_access_key: Its secret (a dummy: signatures are not checked).
        user: IAM user name that owns the profile's sessions (SessionId prefix, Owner ARN).
    """

    name: str
    account_id: str
    region: str
    kms_key: str | None = None
    deny: bool | tuple[str, ...] = False
    faults: Mapping[str, Any] | None = field(default=None, hash=False)
    access_key_id: str = ""
    secret_access_key: str = ""
    user: str = ""
    role: str | None = None

    def denies(self, action: str) -> bool:
        """Whether the profile is refused ``action`` (``"ssm:StartSession"``); GetCallerIdentity never is."""
        if action == "sts:GetCallerIdentity":
            return False  # AWS answers it even when every policy denies
        if self.deny is True:
            return True
        if not self.deny:
            return False
        return any(fnmatchcase(action, pattern) for pattern in self.deny)

    @property
    def owner_arn(self) -> str:
        """ARN of the IAM user behind the profile, or of the assumed role of an Identity Center grant."""
        if self.role:
            # IAM Identity Center's roles are AWSReservedSSO_<permission set>_<16 hex>.
            suffix = hashlib.sha256(f"{self.account_id}/{self.role}".encode()).hexdigest()[:16]
            return (
                f"arn:aws:sts::{self.account_id}:assumed-role/AWSReservedSSO_{self.role}_{suffix}/{self.user}"
            )
        return f"arn:aws:iam::{self.account_id}:user/{self.user}"


@dataclass(frozen=True)
class ScenarioSso:
    """The scenario's IAM Identity Center: where to sign in, and the accounts and roles the user has.

    Attributes:
        session: The ``[sso-session NAME]`` written to the AWS config.
        start_url: The access portal URL.
        region: Identity Center's region.
        approve: ``auto`` or ``manual`` (approval on the device page).
        accounts: (account id, account name, e-mail) in listing order.
        grants: One profile per (account, role): the role's keys, acting in the account.
    """

    session: str
    start_url: str
    region: str
    approve: str
    accounts: tuple[tuple[str, str, str], ...]
    grants: tuple[ScenarioProfile, ...]


@dataclass(frozen=True)
class ScenarioInstance:
    """One EC2 instance or ``mi-`` managed node, after ``count`` and ``defaults`` are expanded.

    Attributes:
        profile: Name of the profile (account) it belongs to.
        account_id: That profile's account.
        region: Region it lives in.
        instance_id: ``i-...`` or ``mi-...``.
        name: Value of its Name tag, or None for no Name tag.
        state: EC2 state (``running``, ``stopped``...); ``running`` for managed nodes.
        platform: ``linux`` or ``windows``.
        ssm: ``online``, ``offline`` or ``unmanaged``.
        tags: Tags other than Name.
        command: Argv a shell session runs, or None for ``$SHELL`` / ``/bin/sh``.
        prompt: PS1 of that shell (``{name}``/``{id}`` already replaced), or None.
        instance_type: EC2 instance type.
        agent_version: SSM agent version it reports (it steers the client's port-forwarding mode).
        index: Position among the instances of its (account, region): used for addresses.
    """

    profile: str
    account_id: str
    region: str
    instance_id: str
    name: str | None
    state: str = "running"
    platform: str = "linux"
    ssm: str = "online"
    tags: Mapping[str, str] = field(default_factory=dict, hash=False)
    command: tuple[str, ...] | None = None
    prompt: str | None = None
    instance_type: str = "t3.micro"
    agent_version: str = DEFAULT_AGENT_VERSION
    index: int = 0

    @property
    def is_managed_node(self) -> bool:
        """A hybrid ``mi-`` node: in SSM, not in EC2."""
        return self.instance_id.startswith("mi-")

    @property
    def connected(self) -> bool:
        """Whether its agent can take a session (online and running)."""
        return self.ssm == "online" and self.state == "running"

    @property
    def private_ip(self) -> str:
        """A private address derived from its position (10.<region>.<x>.<y>)."""
        number = self.index + 10
        region_octet = int(hashlib.sha256(self.region.encode()).hexdigest()[:2], 16)
        return f"10.{region_octet}.{(number >> 8) & 255}.{number & 255}"

    @property
    def computer_name(self) -> str:
        """Host name as DescribeInstanceInformation reports it."""
        if self.platform == "windows":
            return f"EC2AMAZ-{self.instance_id[-7:].upper()}"
        return f"ip-{self.private_ip.replace('.', '-')}.{self.region}.compute.internal"

    @property
    def env(self) -> dict[str, str]:
        """Extra environment of a shell session on it: the prompt, shown literally by bash and sh."""
        if not self.prompt:
            return {}
        # bash and dash expand $(...) and backslash escapes in PS1 itself but not inside the value of a
        # variable it names, so an instance name can never run a command or turn into an escape.
        return {"SSMUX_PROMPT": self.prompt, "PS1": "${SSMUX_PROMPT}"}


@dataclass(frozen=True)
class Scenario:
    """A parsed, validated scenario.

    Attributes:
        name: The scenario's name.
        profiles: The profiles written to the AWS config files.
        instances: Every instance and managed node, generated ones too.
        sso: The IAM Identity Center organization, or None.
        hidden: Profiles of generated accounts (``sso.generate``): accounts like any other, but only reached
            through their role grants, and never written to the AWS config files.
        ecs: ECS clusters, services and tasks (:mod:`ssmux.emulator.ecs_scenario`).
    """

    name: str
    profiles: tuple[ScenarioProfile, ...]
    instances: tuple[ScenarioInstance, ...]
    sso: ScenarioSso | None = None
    hidden: tuple[ScenarioProfile, ...] = ()
    ecs: EcsScenario = field(default_factory=EcsScenario)

    @property
    def all_profiles(self) -> tuple[ScenarioProfile, ...]:
        """Every account-owning profile: the written ones, then the hidden ones."""
        return self.profiles + self.hidden

    @property
    def callers(self) -> tuple[ScenarioProfile, ...]:
        """Everyone whose keys the emulator accepts: the profiles, then the Identity Center role grants."""
        return self.all_profiles + (self.sso.grants if self.sso else ())

    def profile(self, name: str) -> ScenarioProfile | None:
        """The profile (written or hidden) called ``name``."""
        return self._by_name.get(name)

    def profile_for_key(self, access_key_id: str) -> ScenarioProfile | None:
        """The profile or role grant whose access key is ``access_key_id``."""
        return self._by_key.get(access_key_id)

    def regions(self, profile: ScenarioProfile) -> tuple[str, ...]:
        """Regions the profile has anything in: its default region first, then those of its instances and
        ECS clusters."""
        return tuple(dict.fromkeys([profile.region, *self._regions.get(profile.name, ())]))

    def instances_in(self, account_id: str, region: str) -> list[ScenarioInstance]:
        """Instances and nodes of one account and region, in scenario order."""
        return list(self._by_place.get((account_id, region), ()))

    # Indexes, built on first use: an organization has thousands of profiles and tens of thousands of
    # instances, and a scan per lookup made start-up quadratic. (cached_property writes the instance's
    # __dict__ directly, so it works on a frozen dataclass.)
    @cached_property
    def _by_name(self) -> dict[str, ScenarioProfile]:
        return {profile.name: profile for profile in reversed(self.all_profiles)}  # the first one wins

    @cached_property
    def _by_key(self) -> dict[str, ScenarioProfile]:
        return {profile.access_key_id: profile for profile in reversed(self.callers)}

    @cached_property
    def _regions(self) -> dict[str, dict[str, None]]:
        found: dict[str, dict[str, None]] = {}
        for instance in self.instances:
            found.setdefault(instance.profile, {})[instance.region] = None
        for cluster in self.ecs.clusters:
            found.setdefault(cluster.profile, {})[cluster.region] = None
        return found

    @cached_property
    def _by_place(self) -> dict[tuple[str, str], list[ScenarioInstance]]:
        found: dict[tuple[str, str], list[ScenarioInstance]] = {}
        for instance in self.instances:
            found.setdefault((instance.account_id, instance.region), []).append(instance)
        return found


def load_scenario(spec: str | Path | Mapping[str, Any]) -> Scenario:
    """Load a built-in scenario by name, a JSON file, or an already-parsed mapping.

    Raises:
        InvalidValue: The file cannot be read or is not a valid scenario; the message names the file, the
            place in it and what to change.
    """
    if isinstance(spec, Mapping):
        return parse_scenario(spec, source="scenario")
    if isinstance(spec, str) and spec in BUILTIN_SCENARIOS:
        text = resources.files("ssmux.emulator.scenarios").joinpath(f"{spec}.json").read_text("utf-8")
        return parse_scenario(json.loads(text), source=spec)
    path = Path(spec)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        hint = f" (built-in scenarios: {', '.join(BUILTIN_SCENARIOS)})" if not path.suffix else ""
        raise InvalidValue(f"scenario file '{path}' cannot be read: {error.strerror}{hint}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidValue(
            f"scenario file '{path}' is not valid JSON: {error.msg} at line {error.lineno} "
            f"column {error.colno}"
        ) from None
    return parse_scenario(data, source=f"scenario file '{path}'", name=path.stem)


def parse_scenario(data: Any, *, source: str, name: str | None = None) -> Scenario:
    """Validate parsed JSON into a :class:`Scenario`; errors are prefixed with ``source``."""
    try:
        return _Parser(data, name or source).scenario()
    except InvalidValue as error:
        raise InvalidValue(f"{source}: {error}") from None


class _Parser:
    def __init__(self, data: Any, name: str) -> None:
        top_level = {"profiles", "instances", "defaults", "name", "sso", "ecs"}
        self.data = _mapping(data, "the top level", top_level)
        self.name = str(self.data.get("name", name))

    def scenario(self) -> Scenario:
        sso_data = _mapping(self.data["sso"], "sso", _SSO_KEYS) if "sso" in self.data else None
        raw_profiles = self.data.get("profiles", [])
        if not isinstance(raw_profiles, list) or not (raw_profiles or (sso_data and "generate" in sso_data)):
            raise InvalidValue("'profiles' must be a non-empty list of {name, account_id, region}")
        profiles = [self._profile(raw, f"profiles[{n}]") for n, raw in enumerate(raw_profiles)]
        organization = None
        if sso_data is not None and "generate" in sso_data:
            from ssmux.emulator.organization import parse_organization  # it builds on this module

            organization = parse_organization(sso_data["generate"], {p.account_id for p in profiles})
        hidden = organization.profiles if organization else ()
        _unique([p.name for p in (*profiles, *hidden)], "profile name")
        _unique([p.access_key_id for p in profiles], "access_key_id")
        defaults = _mapping(self.data.get("defaults", {}), "defaults", _DEFAULTABLE)
        raw_instances = self.data.get("instances", [])
        if not isinstance(raw_instances, list):
            raise InvalidValue("'instances' must be a list")
        by_name = {p.name: p for p in (*profiles, *hidden)}
        instances: list[ScenarioInstance] = []
        positions: dict[tuple[str, str], int] = {}
        for n, raw in enumerate(raw_instances):
            entry = {**defaults, **_mapping(raw, f"instances[{n}]", _INSTANCE_KEYS)}
            instances.extend(self._instances(entry, f"instances[{n}]", by_name, positions))
        if organization is not None:
            for entry in organization.instance_entries(defaults):
                instances.extend(self._instances(entry, "sso.generate.instance", by_name, positions))
        _unique([f"{i.account_id} {i.instance_id}" for i in instances], "instance id in one account")
        sso = self._sso(sso_data, by_name, organization) if sso_data is not None else None
        ecs = parse_ecs(self.data.get("ecs"), by_name)
        return Scenario(self.name, tuple(profiles), tuple(instances), sso, hidden, ecs)

    def _sso(
        self, data: dict[str, Any], profiles: dict[str, ScenarioProfile], organization: Organization | None
    ) -> ScenarioSso:
        session = _string(data, "session", "sso", pattern=_NAME) or "emulator"
        start_url = _string(data, "start_url", "sso", pattern=_START_URL, what="an https:// URL")
        region = _string(data, "region", "sso", pattern=_REGION, what="like eu-west-1") or "us-east-1"
        approve = _choice(data, "approve", "sso", ("auto", "manual"), "auto")
        raw_accounts = data.get("accounts", [] if organization else None)
        if not isinstance(raw_accounts, list) or not (raw_accounts or organization):
            raise InvalidValue("sso.accounts must be a non-empty list of {profile, name, roles}")
        accounts: list[tuple[str, str, str]] = []
        grants: list[ScenarioProfile] = []
        for n, raw_account in enumerate(raw_accounts):
            where = f"sso.accounts[{n}]"
            entry = _mapping(raw_account, where, _SSO_ACCOUNT_KEYS)
            profile_name = _string(entry, "profile", where, required=True)
            base = profiles.get(profile_name)
            if base is None:
                raise InvalidValue(f"{where}.profile '{profile_name}' is not one of {', '.join(profiles)}")
            name = _string(entry, "name", where) or base.name
            email = _string(entry, "email", where) or f"aws+{base.name}@example.com"
            roles = entry.get("roles")
            if (
                not isinstance(roles, list)
                or not roles
                or not all(isinstance(r, str) and _NAME.match(r) for r in roles)
            ):
                raise InvalidValue(
                    f'{where}.roles must be a non-empty list of role names like ["ReadOnlyAccess"]'
                )
            accounts.append((base.account_id, name, email))
            grants += [_grant(base, name, role, session) for role in roles]
        if organization is not None:
            for base in organization.profiles:
                accounts.append((base.account_id, base.name, f"aws+{base.name}@example.com"))
                grants += [organization.grant(_grant(base, base.name, role, session))
                           for role in organization.roles]  # fmt: skip
        _unique([account for account, _, _ in accounts], "sso account")
        return ScenarioSso(
            session=session,
            start_url=start_url
            or f"https://d-{hashlib.sha256(session.encode()).hexdigest()[:10]}.awsapps.com/start",
            region=region,
            approve=approve,
            accounts=tuple(accounts),
            grants=tuple(grants),
        )

    def _profile(self, raw: Any, where: str) -> ScenarioProfile:
        data = _mapping(raw, where, _PROFILE_KEYS)
        name = _string(data, "name", where, pattern=_NAME, required=True)
        account = _string(data, "account_id", where, pattern=_ACCOUNT, required=True, what="12 digits")
        region = _string(data, "region", where, pattern=_REGION, required=True, what="like eu-west-1")
        kms_key = _string(data, "kms_key", where, pattern=_ALIAS, what="an alias like alias/ssm")
        deny = _deny(data.get("deny", False), where)
        faults = data.get("faults")
        if faults is not None:
            if not isinstance(faults, dict):
                raise InvalidValue(f'{where}.faults must be an object like {{"throttle": 0.5}}')
            try:
                Faults().merged(faults)
            except (InvalidValue, TypeError) as error:
                raise InvalidValue(f"{where}.faults: {error}") from None
        access_key = _string(data, "access_key_id", where, pattern=_ACCESS_KEY, what="20 capitals/digits")
        secret = _string(data, "secret_access_key", where)
        user = _string(data, "user", where, pattern=_NAME)
        derived_key, derived_secret = _derived_keys(account, name)
        return ScenarioProfile(
            name=name,
            account_id=account,
            region=region,
            kms_key=kms_key,
            deny=deny,
            faults=faults,
            access_key_id=access_key or derived_key,
            secret_access_key=secret or derived_secret,
            user=user or f"{name}-user",
        )

    def _instances(
        self,
        data: dict[str, Any],
        where: str,
        profiles: dict[str, ScenarioProfile],
        positions: dict[tuple[str, str], int],
    ) -> list[ScenarioInstance]:
        profile_name = _string(data, "profile", where, required=True)
        profile = profiles.get(profile_name)
        if profile is None:
            raise InvalidValue(f"{where}.profile '{profile_name}' is not one of {', '.join(profiles)}")
        region = _string(data, "region", where, pattern=_REGION, what="like eu-west-1") or profile.region
        count = data.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InvalidValue(f"{where}.count must be an integer >= 1, not {count!r}")
        given_id = _string(data, "id", where)
        if given_id is not None:
            if count != 1:
                raise InvalidValue(f"{where}: 'id' and 'count' > 1 cannot go together; drop one")
            if not is_instance_id(given_id):
                raise InvalidValue(
                    f"{where}.id '{given_id}' must look like i-0123456789abcdef0 or mi-<17 hex>"
                )
        name = _string(data, "name", where)
        state = _choice(data, "state", where, EC2_STATES, "running")
        platform = _choice(data, "platform", where, tuple(PLATFORMS), "linux")
        ssm = _choice(data, "ssm", where, SSM_STATES, "online")
        if given_id and given_id.startswith("mi-") and (ssm == "unmanaged" or state != "running"):
            raise InvalidValue(f"{where}: a managed node (mi-) is online or offline and has no EC2 state")
        tags = data.get("tags", {})
        if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
            raise InvalidValue(f'{where}.tags must be an object of strings like {{"team": "web"}}')
        if "Name" in tags:
            raise InvalidValue(f'{where}.tags: give the Name tag as "name", not in tags')
        command = _command(data.get("command"), where)
        prompt = _string(data, "prompt", where)
        instance_type = _string(data, "instance_type", where) or "t3.micro"
        agent_version = _string(data, "agent_version", where) or DEFAULT_AGENT_VERSION
        result = []
        for number in range(1, count + 1):
            index = positions.get((profile.account_id, region), 0)
            positions[(profile.account_id, region)] = index + 1
            instance_id = given_id or _derived_id(profile.account_id, region, index)
            this_name = f"{name}-{number}" if name is not None and count > 1 else name
            label = this_name or instance_id
            result.append(
                ScenarioInstance(
                    profile=profile.name,
                    account_id=profile.account_id,
                    region=region,
                    instance_id=instance_id,
                    name=this_name,
                    state=state,
                    platform=platform,
                    ssm=ssm,
                    tags=dict(tags),
                    command=command,
                    prompt=prompt.replace("{name}", label).replace("{id}", instance_id) if prompt else None,
                    instance_type=instance_type,
                    agent_version=agent_version,
                    index=index,
                )
            )
        return result


def _derived_keys(account_id: str, name: str) -> tuple[str, str]:
    """A profile's access key and secret when the scenario gives none: the same in every run."""
    digest = hashlib.sha256(f"ssmux-emulator/{account_id}/{name}".encode()).digest()
    return "AKIA" + base64.b32encode(digest).decode()[:16], base64.b64encode(digest[8:38]).decode()


def _grant(base: ScenarioProfile, account_name: str, role: str, session: str) -> ScenarioProfile:
    """The Identity Center role ``role`` of ``base``'s account: keys of its own, acting in that account."""
    digest = hashlib.sha256(f"ssmux-emulator/sso/{base.account_id}/{role}".encode()).digest()
    return replace(
        base,
        name=f"{account_name}/{role}",
        access_key_id="ASIA" + base64.b32encode(digest).decode()[:16],
        secret_access_key=base64.b64encode(digest[8:38]).decode(),
        user=f"{session}-user",
        role=role,
    )


def _deny(value: Any, where: str) -> bool | tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(a, str) and _ACTION.match(a) for a in value):
        return tuple(value)
    if not isinstance(value, bool):
        raise InvalidValue(f'{where}.deny must be true, false or a list like ["ec2:Describe*"]')
    return value


def _derived_id(account_id: str, region: str, index: int) -> str:
    return "i-0" + hashlib.sha256(f"{account_id}/{region}/{index}".encode()).hexdigest()[:16]


def _command(value: Any, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            argv = shlex.split(value)  # split into argv; the command is never handed to a shell
        except ValueError as error:
            raise InvalidValue(f"{where}.command {value!r} cannot be split: {error}") from None
    elif isinstance(value, list) and all(isinstance(part, str) for part in value):
        argv = list(value)
    else:
        raise InvalidValue(f"{where}.command must be a string or a list of strings")
    if not argv:
        raise InvalidValue(f"{where}.command is empty")
    return tuple(argv)


def _unique(values: list[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise InvalidValue(f"duplicate {what} '{value}'")
        seen.add(value)
