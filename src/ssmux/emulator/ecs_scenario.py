"""The ``ecs`` block of a scenario: clusters, services and tasks, and how a pair's tasks are derived.

The block sits at the top level of the scenario, beside ``instances``::

    "ecs": {
      "clusters": [
        {"profile": "dev", "region": "eu-central-1", "name": "shop",
         "services": [
           {"name": "web", "family": "web", "revision": 3, "count": 2, "launch_type": "FARGATE",
            "exec": true, "agent": "RUNNING",
            "containers": [{"name": "app", "image": "nginx:1.27", "environment": {"ROLE": "web"},
                            "working_directory": "/srv/app", "ports": [8080]}]},
           {"name": "worker", "count": 1, "exec": false, "containers": [{"name": "worker"}]}
         ],
         "tasks": [
           {"family": "migrate", "exec": true, "agent": "PENDING", "containers": [{"name": "migrate"}]}
         ]}
      ],
      "generate": {"profiles": ["acct*"], "regions": ["eu-west-1"], "clusters": 10, "tasks": 50}
    }

A cluster belongs to a profile (its account) and a region (the profile's by default). ``services`` run
``count`` tasks each (``group`` ``service:<name>``, ``startedBy`` ``ecs-svc/...``); ``tasks`` are standalone
tasks (``group`` ``family:<family>``), ``count`` of each entry. A service's or task entry's fields:
``family`` (task definition family, default the service's name or the first container's), ``revision``
(the task definition's revision, default 1), ``count`` (default 1), ``launch_type`` (``FARGATE``, the
default, or ``EC2``), ``exec`` (``enableExecuteCommand``, default true), ``agent`` (the
``ExecuteCommandAgent``'s ``lastStatus``: ``RUNNING``, the default, ``PENDING`` or ``STOPPED``),
``connected`` (default true; false: the agent runs but has not reached Session Manager) and
``containers`` (at least one). A container has a ``name``, an ``image``, an ``environment`` object, a
``working_directory`` and ``ports`` (container ports, shown as network bindings of EC2 tasks).

ExecuteCommand refuses a task without exec or whose agent is PENDING with InvalidParameterException, and
one whose agent is STOPPED or not connected with TargetNotConnectedException (:mod:`ssmux.emulator.ecs_api`);
StartSession to their ``ecs:`` targets is TargetNotConnected.

``generate`` gives ``clusters`` clusters (``<name_prefix>01``...), each with one service ``app`` of
``tasks`` tasks (one container ``app``, exec enabled, agent RUNNING, FARGATE), to every pair of the
profiles that match ``profiles`` (``*`` and ``?``; default every profile, hidden ones too) in ``regions``
(default each profile's regions: its default region and those of its instances). Generated clusters are
made when a pair is first asked about, so a 300-account organization costs nothing until it is listed.

Task ids, container runtime ids and addresses are derived from the account, region, cluster and position,
so a scenario always yields the same ones.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from ssmux.emulator.scenario_fields import choice, string
from ssmux.emulator.scenario_fields import mapping as _mapping
from ssmux.errors import InvalidValue

if TYPE_CHECKING:
    from ssmux.emulator.scenario import ScenarioProfile

LAUNCH_TYPES = ("FARGATE", "EC2")
AGENT_STATES = ("RUNNING", "PENDING", "STOPPED")
DEFAULT_IMAGE = "public.ecr.aws/docker/library/busybox:stable"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")  # ECS: letters, numbers, hyphens, underscores
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ECS_KEYS = {"clusters", "generate"}
_CLUSTER_KEYS = {"profile", "region", "name", "services", "tasks"}
_GROUP_KEYS = {"family", "revision", "count", "launch_type", "exec", "agent", "connected", "containers"}
_CONTAINER_KEYS = {"name", "image", "environment", "working_directory", "ports"}
_GENERATE_KEYS = {"profiles", "regions", "clusters", "tasks", "name_prefix", "launch_type", "image"}


@dataclass(frozen=True)
class EcsContainerSpec:
    """One container of a task definition.

    Attributes:
        name: Container name (unique in its task).
        image: Image, as DescribeTasks reports it.
        environment: The task definition's ``environment`` (name, value) pairs.
        working_directory: The task definition's ``workingDirectory``, or None.
        ports: Container ports.
    """

    name: str
    image: str = DEFAULT_IMAGE
    environment: tuple[tuple[str, str], ...] = ()
    working_directory: str | None = None
    ports: tuple[int, ...] = ()


@dataclass(frozen=True)
class EcsGroupSpec:
    """A service, or an entry of standalone tasks: tasks made from one task definition.

    Attributes:
        service: The service's name, or None for standalone tasks.
        family: Task definition family.
        revision: Task definition revision the tasks run.
        count: How many tasks (a service's desired and running count).
        launch_type: ``FARGATE`` or ``EC2``.
        exec_enabled: ``enableExecuteCommand`` of its tasks.
        agent: ``lastStatus`` of the tasks' ``ExecuteCommandAgent``.
        connected: Whether that agent has reached Session Manager.
        containers: The containers of each task.
    """

    service: str | None
    family: str
    revision: int
    count: int
    launch_type: str
    exec_enabled: bool
    agent: str
    connected: bool
    containers: tuple[EcsContainerSpec, ...]

    @property
    def group(self) -> str:
        """DescribeTasks' ``group``: ``service:<name>`` or ``family:<family>``."""
        return f"service:{self.service}" if self.service else f"family:{self.family}"


@dataclass(frozen=True)
class EcsClusterSpec:
    """A cluster of one account and region with its services and standalone tasks."""

    profile: str
    account_id: str
    region: str
    name: str
    groups: tuple[EcsGroupSpec, ...]


@dataclass(frozen=True)
class EcsTask:
    """One task of the scenario (before it is put into moto).

    Attributes:
        account_id: Its account.
        region: Its region.
        cluster: Its cluster's name.
        task_id: 32 hex digits, as AWS's.
        spec: What it runs (its service or standalone entry).
        index: Position among the tasks of its (account, region): used for its address.
    """

    account_id: str
    region: str
    cluster: str
    task_id: str
    spec: EcsGroupSpec
    index: int

    def runtime_id(self, container: int) -> str:
        """The ``runtimeId`` of one container: ``<task id>-<10 digits>`` on Fargate, a docker id on EC2."""
        digest = hashlib.sha256(f"{self.task_id}/{container}".encode()).hexdigest()
        if self.spec.launch_type == "FARGATE":
            return f"{self.task_id}-{int(digest[:12], 16) % 10**10:010d}"
        return digest

    @property
    def private_ip(self) -> str:
        """The task's address (its ENI on Fargate, its container instance on EC2): 10.<region>.<x>.<y>."""
        number = self.index + 10
        region_octet = 128 + int(hashlib.sha256(self.region.encode()).hexdigest()[:2], 16) % 100
        return f"10.{region_octet}.{(number >> 8) & 255}.{number & 255}"


@dataclass(frozen=True)
class EcsGenerate:
    """``ecs.generate``: clusters of one service each, for every matching pair."""

    profiles: tuple[str, ...] = ("*",)
    regions: tuple[str, ...] | None = None
    clusters: int = 1
    tasks: int = 1
    name_prefix: str = "cluster-"
    launch_type: str = "FARGATE"
    image: str = DEFAULT_IMAGE

    def applies(self, profile_name: str) -> bool:
        """Whether the profile's pairs get generated clusters."""
        return any(fnmatchcase(profile_name, pattern) for pattern in self.profiles)

    def clusters_for(self, profile: str, account_id: str, region: str) -> list[EcsClusterSpec]:
        """The generated clusters of one pair."""
        group = EcsGroupSpec(
            service="app", family="app", revision=1, count=self.tasks, launch_type=self.launch_type,
            exec_enabled=True, agent="RUNNING", connected=True,
            containers=(EcsContainerSpec("app", self.image, (("APP_ROLE", "generated"),)),),
        )  # fmt: skip
        width = max(2, len(str(self.clusters)))
        return [
            EcsClusterSpec(profile, account_id, region, f"{self.name_prefix}{n:0{width}d}", (group,))
            for n in range(1, self.clusters + 1)
        ]


@dataclass(frozen=True)
class EcsScenario:
    """The scenario's ECS: explicit clusters, and the generator (or None)."""

    clusters: tuple[EcsClusterSpec, ...] = ()
    generate: EcsGenerate | None = None
    _by_pair: Mapping[tuple[str, str], tuple[EcsClusterSpec, ...]] = field(
        default_factory=dict, hash=False, compare=False, repr=False
    )

    def clusters_in(
        self, profile: ScenarioProfile, region: str, profile_regions: tuple[str, ...]
    ) -> list[EcsClusterSpec]:
        """The clusters of a profile's account in one region: explicit ones, then generated ones."""
        found = list(self._by_pair.get((profile.account_id, region), ()))
        generate = self.generate
        if generate is not None and generate.applies(profile.name):
            regions = generate.regions if generate.regions is not None else profile_regions
            if region in regions:
                taken = {cluster.name for cluster in found}
                made = generate.clusters_for(profile.name, profile.account_id, region)
                found += [cluster for cluster in made if cluster.name not in taken]
        return found

    def pairs(self) -> set[tuple[str, str]]:
        """(account, region) pairs with explicit clusters."""
        return set(self._by_pair)


def expand_tasks(clusters: list[EcsClusterSpec]) -> list[EcsTask]:
    """Every task of one pair's clusters, with derived ids, in scenario order."""
    tasks: list[EcsTask] = []
    for cluster in clusters:
        for group in cluster.groups:
            for _ in range(group.count):
                index = len(tasks)
                seed = f"ecs/{cluster.account_id}/{cluster.region}/{cluster.name}/{index}"
                task_id = hashlib.sha256(seed.encode()).hexdigest()[:32]
                tasks.append(EcsTask(cluster.account_id, cluster.region, cluster.name, task_id, group, index))
    return tasks


def parse_ecs(data: Any, profiles: Mapping[str, ScenarioProfile]) -> EcsScenario:
    """Validate the ``ecs`` block; ``profiles`` are the scenario's profiles (written and hidden) by name."""
    if data is None:
        return EcsScenario()
    block = _mapping(data, "ecs", _ECS_KEYS)
    raw_clusters = block.get("clusters", [])
    if not isinstance(raw_clusters, list):
        raise InvalidValue("ecs.clusters must be a list of {profile, region, name, services, tasks}")
    clusters = [_cluster(raw, f"ecs.clusters[{n}]", profiles) for n, raw in enumerate(raw_clusters)]
    by_pair: dict[tuple[str, str], list[EcsClusterSpec]] = {}
    for cluster in clusters:
        same = by_pair.setdefault((cluster.account_id, cluster.region), [])
        if any(other.name == cluster.name for other in same):
            raise InvalidValue(
                f"ecs: duplicate cluster '{cluster.name}' in {cluster.profile}/{cluster.region}"
            )
        same.append(cluster)
    generate = _generate(block["generate"]) if "generate" in block else None
    return EcsScenario(tuple(clusters), generate, {pair: tuple(found) for pair, found in by_pair.items()})


def _cluster(raw: Any, where: str, profiles: Mapping[str, ScenarioProfile]) -> EcsClusterSpec:
    data = _mapping(raw, where, _CLUSTER_KEYS)
    profile_name = _text(data, "profile", where, required=True)
    profile = profiles.get(profile_name)
    if profile is None:
        raise InvalidValue(f"{where}.profile '{profile_name}' is not one of {', '.join(profiles)}")
    region = _text(data, "region", where, pattern=_REGION, what="like eu-west-1") or profile.region
    name = _text(data, "name", where, pattern=_NAME, required=True, what="letters, digits, - and _")
    groups: list[EcsGroupSpec] = []
    for key in ("services", "tasks"):
        entries = data.get(key, [])
        if not isinstance(entries, list):
            raise InvalidValue(f"{where}.{key} must be a list")
        for n, entry in enumerate(entries):
            groups.append(_group(entry, f"{where}.{key}[{n}]", service=key == "services"))
    services = [g.service for g in groups if g.service]
    if len(services) != len(set(services)):
        raise InvalidValue(f"{where}: two services have the same name")
    return EcsClusterSpec(profile.name, profile.account_id, region, name, tuple(groups))


def _group(raw: Any, where: str, *, service: bool) -> EcsGroupSpec:
    data = _mapping(raw, where, _GROUP_KEYS | ({"name"} if service else set()))
    name = _text(data, "name", where, pattern=_NAME, required=True) if service else None
    raw_containers = data.get("containers")
    if not isinstance(raw_containers, list) or not raw_containers:
        raise InvalidValue(f'{where}.containers must be a non-empty list like [{{"name": "app"}}]')
    containers = tuple(_container(c, f"{where}.containers[{n}]") for n, c in enumerate(raw_containers))
    if len({c.name for c in containers}) != len(containers):
        raise InvalidValue(f"{where}: two containers have the same name")
    family = _text(data, "family", where, pattern=_NAME) or name or containers[0].name
    return EcsGroupSpec(
        service=name,
        family=family,
        revision=_count(data, "revision", where),
        count=_count(data, "count", where),
        launch_type=_choice(data, "launch_type", where, LAUNCH_TYPES),
        exec_enabled=_flag(data, "exec", where),
        agent=_choice(data, "agent", where, AGENT_STATES),
        connected=_flag(data, "connected", where),
        containers=containers,
    )


def _container(raw: Any, where: str) -> EcsContainerSpec:
    data = _mapping(raw, where, _CONTAINER_KEYS)
    name = _text(data, "name", where, pattern=_NAME, required=True)
    image = _text(data, "image", where) or DEFAULT_IMAGE
    environment = data.get("environment", {})
    if not isinstance(environment, dict) or not all(
        isinstance(k, str) and _ENV_NAME.match(k) and isinstance(v, str) for k, v in environment.items()
    ):
        raise InvalidValue(f'{where}.environment must be an object of strings like {{"ROLE": "web"}}')
    ports = data.get("ports", [])
    if not isinstance(ports, list) or not all(
        isinstance(p, int) and not isinstance(p, bool) and 0 < p < 65536 for p in ports
    ):
        raise InvalidValue(f"{where}.ports must be a list of port numbers like [8080]")
    return EcsContainerSpec(
        name=name,
        image=image,
        environment=tuple(environment.items()),
        working_directory=_text(data, "working_directory", where),
        ports=tuple(ports),
    )


def _generate(raw: Any) -> EcsGenerate:
    where = "ecs.generate"
    data = _mapping(raw, where, _GENERATE_KEYS)
    profiles = data.get("profiles", ["*"])
    if not isinstance(profiles, list) or not profiles or not all(isinstance(p, str) for p in profiles):
        raise InvalidValue(f'{where}.profiles must be a non-empty list of names or patterns like ["team-*"]')
    regions = data.get("regions")
    if regions is not None and (
        not isinstance(regions, list) or not all(isinstance(r, str) and _REGION.match(r) for r in regions)
    ):
        raise InvalidValue(f'{where}.regions must be a list of regions like ["eu-west-1"]')
    return EcsGenerate(
        profiles=tuple(profiles),
        regions=tuple(regions) if regions is not None else None,
        clusters=_count(data, "clusters", where),
        tasks=_count(data, "tasks", where),
        name_prefix=_text(data, "name_prefix", where, pattern=_NAME) or "cluster-",
        launch_type=_choice(data, "launch_type", where, LAUNCH_TYPES),
        image=_text(data, "image", where) or DEFAULT_IMAGE,
    )


def _count(data: Mapping[str, Any], key: str, where: str) -> int:
    value = data.get(key, 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidValue(f"{where}.{key} must be an integer >= 1, not {value!r}")
    return value


def _flag(data: Mapping[str, Any], key: str, where: str) -> bool:
    value = data.get(key, True)
    if not isinstance(value, bool):
        raise InvalidValue(f"{where}.{key} must be true or false, not {value!r}")
    return value


def _text(data: Mapping[str, Any], key: str, where: str, **options: Any) -> Any:
    # ECS names and images are never empty strings.
    return string(data, key, where, allow_empty=False, **options)


def _choice(data: Mapping[str, Any], key: str, where: str, choices: tuple[str, ...]) -> str:
    return choice(data, key, where, choices, choices[0])  # the first is the default
