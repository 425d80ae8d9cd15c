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

An optional ``sso`` object makes the scenario an IAM Identity Center organization
(:mod:`ssmux.emulator.sso`)::

    "sso": {"session": "emulator", "region": "eu-west-1", "approve": "auto",
            "accounts": [{"profile": "dev", "name": "Development", "roles": ["AdministratorAccess"]},
                         {"profile": "prod", "name": "Production", "roles": ["ReadOnlyAccess"]}]}

Each account names a profile (its account, KMS key, denials and faults); each role of it gets keys of its
own, which GetRoleCredentials hands out and which then act in that account as the role.
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
from importlib import resources
from pathlib import Path
from typing import Any

from ssmux.core.validation import is_instance_id
from ssmux.emulator.faults import Faults
from ssmux.errors import InvalidValue
from ssmux.protocol.versions import DEFAULT_AGENT_VERSION

BUILTIN_SCENARIOS = ("demo",)
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
_SSO_KEYS = {"session", "start_url", "region", "approve", "accounts"}
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
    """A parsed, validated scenario."""

    name: str
    profiles: tuple[ScenarioProfile, ...]
    instances: tuple[ScenarioInstance, ...]
    sso: ScenarioSso | None = None

    @property
    def callers(self) -> tuple[ScenarioProfile, ...]:
        """Everyone whose keys the emulator accepts: the profiles, then the Identity Center role grants."""
        return self.profiles + (self.sso.grants if self.sso else ())

    def profile(self, name: str) -> ScenarioProfile | None:
        """The profile called ``name``."""
        return next((profile for profile in self.profiles if profile.name == name), None)

    def profile_for_key(self, access_key_id: str) -> ScenarioProfile | None:
        """The profile or role grant whose access key is ``access_key_id``."""
        return next((p for p in self.callers if p.access_key_id == access_key_id), None)

    def regions(self, profile: ScenarioProfile) -> tuple[str, ...]:
        """Regions the profile has anything in: its default region first, then those of its instances."""
        seen = dict.fromkeys(
            [profile.region, *(i.region for i in self.instances if i.profile == profile.name)]
        )
        return tuple(seen)

    def instances_in(self, account_id: str, region: str) -> list[ScenarioInstance]:
        """Instances and nodes of one account and region, in scenario order."""
        return [i for i in self.instances if i.account_id == account_id and i.region == region]


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
        self.data = _mapping(data, "the top level", {"profiles", "instances", "defaults", "name", "sso"})
        self.name = str(self.data.get("name", name))

    def scenario(self) -> Scenario:
        raw_profiles = self.data.get("profiles")
        if not isinstance(raw_profiles, list) or not raw_profiles:
            raise InvalidValue("'profiles' must be a non-empty list of {name, account_id, region}")
        profiles = [self._profile(raw, f"profiles[{n}]") for n, raw in enumerate(raw_profiles)]
        _unique([p.name for p in profiles], "profile name")
        _unique([p.access_key_id for p in profiles], "access_key_id")
        defaults = _mapping(self.data.get("defaults", {}), "defaults", _DEFAULTABLE)
        raw_instances = self.data.get("instances", [])
        if not isinstance(raw_instances, list):
            raise InvalidValue("'instances' must be a list")
        by_name = {p.name: p for p in profiles}
        instances: list[ScenarioInstance] = []
        positions: dict[tuple[str, str], int] = {}
        for n, raw in enumerate(raw_instances):
            entry = {**defaults, **_mapping(raw, f"instances[{n}]", _INSTANCE_KEYS)}
            instances.extend(self._instances(entry, f"instances[{n}]", by_name, positions))
        _unique([f"{i.account_id} {i.instance_id}" for i in instances], "instance id in one account")
        sso = self._sso(self.data["sso"], by_name) if "sso" in self.data else None
        return Scenario(self.name, tuple(profiles), tuple(instances), sso)

    def _sso(self, raw: Any, profiles: dict[str, ScenarioProfile]) -> ScenarioSso:
        data = _mapping(raw, "sso", _SSO_KEYS)
        session = _string(data, "session", "sso", pattern=_NAME) or "emulator"
        start_url = _string(data, "start_url", "sso", pattern=_START_URL, what="an https:// URL")
        region = _string(data, "region", "sso", pattern=_REGION, what="like eu-west-1") or "us-east-1"
        approve = _choice(data, "approve", "sso", ("auto", "manual"), "auto")
        raw_accounts = data.get("accounts")
        if not isinstance(raw_accounts, list) or not raw_accounts:
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
            for role in roles:
                digest = hashlib.sha256(f"ssmux-emulator/sso/{base.account_id}/{role}".encode()).digest()
                grants.append(
                    replace(
                        base,
                        name=f"{name}/{role}",
                        access_key_id="ASIA" + base64.b32encode(digest).decode()[:16],
                        secret_access_key=base64.b64encode(digest[8:38]).decode(),
                        user=f"{session}-user",
                        role=role,
                    )
                )
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
        deny = data.get("deny", False)
        if isinstance(deny, list) and all(isinstance(a, str) and _ACTION.match(a) for a in deny):
            deny = tuple(deny)
        elif not isinstance(deny, bool):
            raise InvalidValue(f'{where}.deny must be true, false or a list like ["ec2:Describe*"]')
        faults = data.get("faults")
        if faults is not None:
            if not isinstance(faults, dict):
                raise InvalidValue(f'{where}.faults must be an object like {{"throttle": 0.5}}')
            try:
                Faults().merged(faults)
            except (InvalidValue, TypeError) as error:
                raise InvalidValue(f"{where}.faults: {error}") from None
        digest = hashlib.sha256(f"ssmux-emulator/{account}/{name}".encode()).digest()
        access_key = _string(data, "access_key_id", where, pattern=_ACCESS_KEY, what="20 capitals/digits")
        secret = _string(data, "secret_access_key", where)
        user = _string(data, "user", where, pattern=_NAME)
        return ScenarioProfile(
            name=name,
            account_id=account,
            region=region,
            kms_key=kms_key,
            deny=deny,
            faults=faults,
            access_key_id=access_key or "AKIA" + base64.b32encode(digest).decode()[:16],
            secret_access_key=secret or base64.b64encode(digest[8:38]).decode(),
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


def _derived_id(account_id: str, region: str, index: int) -> str:
    return "i-0" + hashlib.sha256(f"{account_id}/{region}/{index}".encode()).hexdigest()[:16]


def _mapping(value: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidValue(f"{where} must be a JSON object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise InvalidValue(f"{where} has unknown key '{unknown[0]}': use {', '.join(sorted(allowed))}")
    return value


def _string(
    data: Mapping[str, Any],
    key: str,
    where: str,
    *,
    pattern: re.Pattern[str] | None = None,
    required: bool = False,
    what: str = "",
) -> Any:
    value = data.get(key)
    if value is None:
        if required:
            raise InvalidValue(f"{where} needs '{key}'")
        return None
    if not isinstance(value, str) or (pattern is not None and not pattern.match(value)):
        raise InvalidValue(f"{where}.{key} {value!r} is not valid{f' ({what})' if what else ''}")
    return value


def _choice(data: Mapping[str, Any], key: str, where: str, choices: tuple[str, ...], default: str) -> str:
    value = data.get(key, default)
    if value not in choices:
        raise InvalidValue(f"{where}.{key} {value!r} must be one of {', '.join(choices)}")
    return str(value)


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
