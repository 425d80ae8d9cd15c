"""Puts the scenario's ECS into moto, and knows what moto does not: exec readiness, containers, runtime ids.

moto 5.2.5 keeps clusters, task definitions, services and tasks, but its tasks have one container of the
task definition's first, random ids, no ``enableExecuteCommand``, no managed agents and no runtime ids. So
each pair's clusters, task definitions and services are created through moto's backend (DescribeClusters,
ListServices, DescribeServices, DescribeTaskDefinition stay moto's), its tasks are moto ``Task`` objects
given the scenario's ids, and :class:`EcsFleet` keeps beside them what :mod:`ecs_api` adds to DescribeTasks
and needs for ExecuteCommand. A task's status stays moto's: a task stopped through StopTask is stopped for
exec too.

A pair is seeded on its first ECS call (:meth:`EcsFleet.ensure`), like a generated account's instances: a
pair costs about a millisecond per hundred tasks then, and nothing before.

Tasks are built as moto ``Task`` objects directly rather than through ``run_task``: that one needs a
registered container instance for EC2 tasks and creates an EC2 network interface per ``awsvpc`` task (a
default VPC per region and an ENI per task: seconds at 10,000 tasks). The task definition of a Fargate
task says ``awsvpc`` once its tasks exist, and the task's ENI attachment is ours (:mod:`ecs_api`).

A container's shell (ExecuteCommand, and a Standard_Stream StartSession to its ``ecs:`` target) runs on
this machine in the container's own folder, ``<work dir>/<cluster>/<task id>/<container>``, made on first
use and removed when the emulator stops, with the container's environment and the variables ECS sets in
every container, and nothing of the emulator's own environment but ``PATH``.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ssmux.emulator.ecs_scenario import EcsContainerSpec, EcsTask, expand_tasks
from ssmux.emulator.scenario import Scenario

log = logging.getLogger(__name__)

#: The ECS managed agent's SSM agent version (what the handshake announces for ``ecs:`` targets).
ECS_AGENT_VERSION = "3.3.1142.0"
#: Fargate platform version of Fargate tasks.
PLATFORM_VERSION = "1.4.0"
#: When the emulator started: scenario tasks started in the hours before.
STARTED = time.time()


@dataclass(frozen=True)
class EcsRecord:
    """One task: the scenario's spec and moto's live ``Task`` (its status, ARN, task definition)."""

    spec: EcsTask
    moto: Any

    @property
    def running(self) -> bool:
        """Whether moto says the task runs (StopTask ends that)."""
        return str(self.moto.last_status) == "RUNNING" and str(self.moto.desired_status) == "RUNNING"

    def container(self, name: str) -> tuple[int, EcsContainerSpec] | None:
        """The container called ``name`` and its position, or None."""
        for number, container in enumerate(self.spec.spec.containers):
            if container.name == name:
                return number, container
        return None

    def target(self, container: int) -> str:
        """The Session Manager target of one container: ``ecs:<cluster>_<task id>_<runtime id>``."""
        return f"ecs:{self.spec.cluster}_{self.spec.task_id}_{self.spec.runtime_id(container)}"

    def exec_refusal(self) -> str | None:
        """Why ExecuteCommand cannot reach this task now, or None.

        ``not-enabled``: the task runs without ``enableExecuteCommand``, is not running, or its agent has
        not started yet (PENDING); ``not-connected``: the agent stopped, or runs but has not reached Session
        Manager (see :mod:`ecs_api` for the errors each gives).
        """
        group = self.spec.spec
        if not group.exec_enabled or not self.running or group.agent == "PENDING":
            return "not-enabled"
        if group.agent != "RUNNING" or not group.connected:
            return "not-connected"
        return None


@dataclass(frozen=True)
class ContainerShell:
    """Where and how a container's command runs: its folder and its whole environment."""

    cwd: str
    env: dict[str, str]


class EcsFleet:
    """The scenario's ECS, seeded into moto one pair at a time.

    Args:
        scenario: The scenario (its ``ecs`` block and profiles).
        work_dir: Where containers get their folders (a temporary folder made on first use when None).
    """

    def __init__(self, scenario: Scenario, work_dir: Path | None = None) -> None:
        self.scenario = scenario
        self._work_dir = work_dir
        self._made_work_dir = False
        self._records: dict[tuple[str, str], dict[str, dict[str, EcsRecord]]] = {}
        self._lock = threading.Lock()
        self._profiles = {p.account_id: p for p in reversed(scenario.all_profiles)}

    # -------------------------------------------------------------------------------- seeding

    def ensure(self, account_id: str, region: str) -> None:
        """Seed the pair's clusters into moto unless done (thread-safe; cheap once done)."""
        key = (account_id, region)
        if key in self._records:
            return
        with self._lock:
            if key in self._records:
                return
            profile = self._profiles.get(account_id)
            clusters = (
                self.scenario.ecs.clusters_in(profile, region, self.scenario.regions(profile))
                if profile is not None
                else []
            )
            records: dict[str, dict[str, EcsRecord]] = {}
            if clusters:
                started = time.perf_counter()
                records = _seed(account_id, region, clusters, expand_tasks(clusters))
                log.debug("seeded %d ECS clusters in %s/%s in %.0f ms", len(clusters), account_id, region,
                          (time.perf_counter() - started) * 1000)  # fmt: skip
            self._records[key] = records

    # -------------------------------------------------------------------------------- lookups

    def records(self, account_id: str, region: str, cluster: str) -> dict[str, EcsRecord]:
        """The scenario's tasks of one cluster by task id (moto's own tasks of it are not among them)."""
        self.ensure(account_id, region)
        return self._records[(account_id, region)].get(cluster, {})

    def record(self, account_id: str, region: str, cluster: str, task_id: str) -> EcsRecord | None:
        """One scenario task, or None."""
        return self.records(account_id, region, cluster).get(task_id)

    def resolve_target(self, account_id: str, region: str, target: str) -> tuple[EcsRecord, int] | None:
        """The task and container position an ``ecs:<cluster>_<task id>_<runtime id>`` target names."""
        if not target.startswith("ecs:"):
            return None
        parts = target[4:].rsplit("_", 2)  # cluster names may hold underscores; ids never do
        if len(parts) != 3:
            return None
        cluster, task_id, runtime_id = parts
        record = self.record(account_id, region, cluster, task_id)
        if record is None:
            return None
        for number in range(len(record.spec.spec.containers)):
            if record.spec.runtime_id(number) == runtime_id:
                return record, number
        return None

    # ------------------------------------------------------------------------------- shells

    def shell(self, record: EcsRecord, container: int) -> ContainerShell:
        """The folder and environment a command in this container runs with (the folder is made now).

        The environment is what ECS gives a container (the ECS container agent's and Fargate's variables,
        ``agent/api/task/task.go`` ``initializeContainersV3MetadataEndpoint``/``V4``; the region and the
        execution environment) plus the task definition's ``environment``; the process also gets ``HOME``
        (the folder: a container's root user has its own home, not this machine's) and ``HOSTNAME``.
        """
        task = record.spec
        spec = task.spec.containers[container]
        folder = self._folder() / task.cluster / task.task_id / spec.name
        folder.mkdir(parents=True, exist_ok=True)
        runtime_id = task.runtime_id(container)
        fargate = task.spec.launch_type == "FARGATE"
        hostname = f"ip-{task.private_ip.replace('.', '-')}.{task.region}.compute.internal"
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": str(folder),
            "HOSTNAME": hostname if fargate else runtime_id[:12],
            "AWS_DEFAULT_REGION": task.region,
            "AWS_REGION": task.region,
            "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE" if fargate else "AWS_ECS_EC2",
            "ECS_CONTAINER_METADATA_URI": f"http://169.254.170.2/v3/{runtime_id}",
            "ECS_CONTAINER_METADATA_URI_V4": f"http://169.254.170.2/v4/{runtime_id}",
            "ECS_AGENT_URI": f"http://169.254.170.2/api/{runtime_id}",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": f"/v2/credentials/{task.task_id}",
        }
        env.update(dict(spec.environment))
        return ContainerShell(str(folder), env)

    def _folder(self) -> Path:
        with self._lock:
            if self._work_dir is None:
                self._work_dir = Path(tempfile.mkdtemp(prefix="ssmux-ecs-"))
                self._made_work_dir = True
            return self._work_dir

    def close(self) -> None:
        """Remove the containers' folders (when this fleet made their parent)."""
        if self._made_work_dir and self._work_dir is not None:
            shutil.rmtree(self._work_dir, ignore_errors=True)
            self._work_dir = None
            self._made_work_dir = False


def _seed(
    account_id: str, region: str, clusters: list[Any], tasks: list[EcsTask]
) -> dict[str, dict[str, EcsRecord]]:
    from moto.ecs.models import Task, ecs_backends

    backend = ecs_backends[account_id][region]
    definitions: dict[tuple[str, int], Any] = {}
    fargate_definitions: list[Any] = []
    for cluster in clusters:
        moto_cluster = backend.clusters.get(cluster.name) or backend.create_cluster(cluster.name)
        for group in cluster.groups:
            key = (group.family, group.revision)
            if key not in definitions:
                definition = definitions[key] = _task_definition(backend, group)
                if definition.network_mode == "awsvpc":  # moto's default for Fargate
                    definition.network_mode = None
                    fargate_definitions.append(definition)
            if group.service:
                service = backend.create_service(
                    cluster.name, group.service, group.count, f"{group.family}:{group.revision}",
                    launch_type=group.launch_type,
                    platform_version=PLATFORM_VERSION if group.launch_type == "FARGATE" else None,
                )  # fmt: skip
                service.running_count, service.pending_count = group.count, 0
                service.enable_execute_command = group.exec_enabled  # type: ignore[attr-defined]
        moto_cluster.running_tasks_count = sum(g.count for g in cluster.groups)
    records: dict[str, dict[str, EcsRecord]] = {}
    tasks_by_cluster: dict[str, dict[str, Any]] = {}
    for task in tasks:
        group = task.spec
        moto_task = Task(
            backend.clusters[task.cluster],
            definitions[(group.family, group.revision)],
            None,
            None,
            backend,
            group.group,
            launch_type=group.launch_type,
            started_by=f"ecs-svc/{int(task.task_id[:15], 16):019d}"[:27] if group.service else "",
            platform_version=PLATFORM_VERSION if group.launch_type == "FARGATE" else None,
        )
        moto_task.id = task.task_id  # the scenario's id; moto keys its tasks by the ARN made from it
        tasks_by_cluster.setdefault(task.cluster, {})[moto_task.task_arn] = moto_task
        records.setdefault(task.cluster, {})[task.task_id] = EcsRecord(task, moto_task)
    for cluster_name, by_arn in tasks_by_cluster.items():
        backend.tasks.setdefault(cluster_name, {}).update(by_arn)
    for definition in fargate_definitions:
        definition.network_mode = "awsvpc"  # only now: moto's Task() would make an EC2 ENI per task
    return records


def _task_definition(backend: Any, group: Any) -> Any:
    """Register the group's family ``revision`` times; the last registration is the one its tasks run."""
    containers = [
        {
            "name": c.name,
            "image": c.image,
            "essential": True,
            "environment": [{"name": k, "value": v} for k, v in c.environment],
            **({"workingDirectory": c.working_directory} if c.working_directory else {}),
            "portMappings": [{"containerPort": p, "protocol": "tcp"} for p in c.ports],
        }
        for c in group.containers
    ]
    fargate = group.launch_type == "FARGATE"
    definition = None
    existing = backend.task_definitions.get(group.family, {})
    for _ in range(group.revision - len(existing)):
        definition = backend.register_task_definition(
            group.family, containers, requires_compatibilities=[group.launch_type],
            cpu="256" if fargate else "128", memory="512" if fargate else "256",
        )  # fmt: skip
    return definition or existing[group.revision]
