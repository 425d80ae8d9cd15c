"""The ECS operations answered here rather than by moto: ListTasks, DescribeTasks and ExecuteCommand.

moto's ECS knows no ``enableExecuteCommand``, managed agents, container runtime ids or ExecuteCommand, and
its ListTasks neither pages nor filters by service. These three read moto's tasks (their status, ARN, task
definition and group stay moto's) and what :mod:`ecs_fleet` keeps beside them. The fields follow the ECS API
reference (botocore ``data/ecs/2014-11-13/service-2.json``: ``Task``, ``Container``, ``ManagedAgent``,
``ExecuteCommandResponse``) and the examples of ``aws ecs describe-tasks`` (aws-cli
``awscli/examples/ecs/describe-tasks.rst``: a Fargate task's ENI attachment and ``<task id>-<digits>``
runtime ids, an EC2 task's network bindings and docker ids).

ExecuteCommand (``ecs:ExecuteCommand``) starts an InteractiveCommands session (the agent's
``agent/session/plugins/interactivecommands``, which runs ``singlecommand`` in a pty) whose target is
``ecs:<cluster>_<task id>_<runtime id>`` (aws-cli ``awscli/customizations/ecs/executecommand.py``
``build_ssm_request_paramaters``) and answers with the session's keys in lower case. The agent in an ECS task
runs in container mode (``appConfig.Agent.ContainerMode``), where ``StartCommandExecutor``
(``agent/session/shell/shell_unix.go``) splits the command with Go's shlex and runs it without ``sh -c``;
like any pty session it reports no exit code (``executeCommandsWithPty`` sends none), and aws-cli's
``execute-command`` exits 0 whatever the command did.

Errors as AWS gives them (messages quoted in aws-cli issues #6456 and e1s #206; ExecuteCommand's error
list and the exceptions' documentation in ``service-2.json``): a task without ``enableExecuteCommand``, not
running, or whose ``ExecuteCommandAgent`` has not started yet (PENDING) is ``InvalidParameterException`` "The
execute command failed because execute command was not enabled when the task was run or the execute command
agent isn't running. Wait and try again..." (AWS's text has a typographic apostrophe); an agent that stopped,
or runs but has not reached Session Manager, is ``TargetNotConnectedException`` ("The SSM agent is not
installed or is not running", its documentation says), with the message "The execute command failed due to
an internal error. Try again later." (an ECS engineer on containers-roadmap #187: RUNNING only says the
agent's process started, and calls until it has connected get TargetNotConnected).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

from ssmux.emulator.agents import goshlex
from ssmux.emulator.ecs_fleet import ECS_AGENT_VERSION, PLATFORM_VERSION, STARTED, EcsFleet, EcsRecord
from ssmux.emulator.sessions import EmulatedSession, SessionRegistry
from ssmux.emulator.ssm_api import Caller
from ssmux.emulator.wire import ApiError
from ssmux.protocol.handshake import SessionType

#: The document name ECS exec sessions carry (DescribeSessions shows it for ``ecs-execute-command-`` ids).
EXEC_DOCUMENT = "AmazonECS-ExecuteInteractiveCommand"
#: ECS exec session ids are ``ecs-execute-command-<hex>``, not ``<user>-<hex>``.
EXEC_SESSION_PREFIX = "ecs-execute-command"

NOT_ENABLED = (
    "The execute command failed because execute command was not enabled when the task was run or the "
    "execute command agent isn’t running. Wait and try again or run a new task with execute command "
    "enabled and try again."
)
NOT_CONNECTED = "The execute command failed due to an internal error. Try again later."
NOT_INTERACTIVE = "Interactive is the only mode supported currently."
TASK_NOT_FOUND = "The task provided in the request was not found."


class EcsApi:
    """Handlers of ListTasks, DescribeTasks and ExecuteCommand.

    Args:
        fleet: The scenario's ECS.
        registry: Where sessions live (shared with the data channel).
        stream_url: Gives the websocket URL of a session.
    """

    OPERATIONS = frozenset({"ListTasks", "DescribeTasks", "ExecuteCommand"})

    def __init__(
        self, fleet: EcsFleet, registry: SessionRegistry, stream_url: Callable[[EmulatedSession], str]
    ) -> None:
        self.fleet = fleet
        self.registry = registry
        self.stream_url = stream_url
        # What DescribeTasks says of each task that never changes, made on first use, and its JSON text (by
        # id(): the records live as long as the fleet).
        self._static: dict[int, tuple[dict[str, Any], bytes]] = {}

    def handle(self, action: str, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """Run one operation; raises :class:`ApiError` for anything AWS would refuse."""
        self.fleet.ensure(caller.account_id, caller.region)
        if action == "ListTasks":
            return self.list_tasks(caller, body)
        if action == "DescribeTasks":
            return self.describe_tasks(caller, body)
        return self.execute_command(caller, body)

    # ------------------------------------------------------------------------------ ListTasks

    def list_tasks(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """ListTasks: a cluster's task ARNs, filtered as AWS filters (desired status RUNNING by default)."""
        backend = _backend(caller)
        cluster = _cluster(backend, body)
        service = _optional(body, "serviceName")
        if service is not None:
            name = service.rsplit("/", 1)[-1]
            if f"{cluster.name}:{name}" not in backend.services:
                raise ApiError("ServiceNotFoundException", "Service not found.")
            service = name
        family = _optional(body, "family")
        started_by = _optional(body, "startedBy")
        launch_type = _optional(body, "launchType")
        desired = _optional(body, "desiredStatus") or "RUNNING"
        # moto keys a cluster's tasks by ARN: reading the key spares moto's task_arn property, which
        # rebuilds the ARN (partition, settings) on every read, for every task of the cluster.
        arns = [
            arn
            for arn, task in backend.tasks.get(cluster.name, {}).items()
            if str(task.desired_status) == desired
            and (service is None or task.group == f"service:{service}")
            and (family is None or task.task_definition_arn.rsplit("/", 1)[-1].split(":")[0] == family)
            and (started_by is None or task.started_by == started_by)
            and (launch_type is None or task.launch_type == launch_type)
        ]
        page, token = _page(arns, body)
        result: dict[str, Any] = {"taskArns": page}
        if token:
            result["nextToken"] = token
        return result

    # -------------------------------------------------------------------------- DescribeTasks

    def describe_tasks(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """DescribeTasks: up to 100 tasks by id or ARN, with exec readiness; unknown ones as failures."""
        backend = _backend(caller)
        cluster = _cluster(backend, body)
        wanted = body.get("tasks")
        if not isinstance(wanted, list) or not wanted:
            raise ApiError("InvalidParameterException", "Tasks cannot be empty.")
        if len(wanted) > 100:
            raise ApiError("InvalidParameterException", "Tasks cannot have more than 100 elements.")
        tags = "TAGS" in (body.get("include") or [])
        records = self.fleet.records(caller.account_id, caller.region, cluster.name)
        others: dict[str, Any] | None = None
        tasks: list[dict[str, Any]] = []
        texts: list[bytes] | None = []  # each task's JSON while every one is a running scenario task
        failures: list[dict[str, str]] = []
        for item in wanted:
            task_id = str(item).rsplit("/", 1)[-1]
            record = records.get(task_id)
            if record is not None:
                static, text = self._static_of(record)
                if not tags and record.running:
                    tasks.append(static)  # a running task says just what it said when it started
                    if texts is not None:
                        texts.append(text)
                    continue
                tasks.append(task_json(record, tags=tags, static=static))
            else:
                if others is None:
                    others = {
                        t.id: t for t in backend.tasks.get(cluster.name, {}).values() if t.id not in records
                    }
                if task_id in others:
                    tasks.append(_moto_task_json(others[task_id], tags=tags))
                else:
                    failures.append({"arn": str(item), "reason": "MISSING"})
                    continue
            texts = None
        answer = {"tasks": tasks, "failures": failures}
        if texts is None:
            return answer
        # The text json.dumps would write (its separators), from each task's text made once.
        encoded = (
            b'{"tasks": [' + b", ".join(texts) + b'], "failures": ' + json.dumps(failures).encode() + b"}"
        )
        return EncodedAnswer(answer, encoded)

    def _static_of(self, record: EcsRecord) -> tuple[dict[str, Any], bytes]:
        """The record's :func:`static_task_json` and its JSON text, made on first use."""
        found = self._static.get(id(record))
        if found is None:
            static = static_task_json(record)
            found = self._static[id(record)] = (static, json.dumps(static).encode())
        return found

    # ------------------------------------------------------------------------- ExecuteCommand

    def execute_command(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """ExecuteCommand: an interactive command session in one container of a task."""
        command = _required(body, "command")
        task_ref = _required(body, "task")
        if body.get("interactive") is not True:
            raise ApiError("InvalidParameterException", NOT_INTERACTIVE)
        backend = _backend(caller)
        cluster = _cluster(backend, body)
        task_id = task_ref.rsplit("/", 1)[-1]
        record = self.fleet.record(caller.account_id, caller.region, cluster.name, task_id)
        if record is None:
            launched = any(t.id == task_id for t in backend.tasks.get(cluster.name, {}).values())
            # A task RunTask launched through the API runs without exec here (moto drops the flag).
            raise ApiError("InvalidParameterException", NOT_ENABLED if launched else TASK_NOT_FOUND)
        container_name = _optional(body, "container")
        containers = record.spec.spec.containers
        if container_name is None:
            if len(containers) > 1:
                raise ApiError(
                    "InvalidParameterException",
                    "The task has more than one container: specify the container to run the command in.",
                )
            container_name = containers[0].name
        found = record.container(container_name)
        if found is None:
            raise ApiError("InvalidParameterException", f"The container {container_name} does not exist.")
        number, _ = found
        refusal = record.exec_refusal()
        if refusal == "not-enabled":
            raise ApiError("InvalidParameterException", NOT_ENABLED)
        if refusal == "not-connected":
            raise ApiError("TargetNotConnectedException", NOT_CONNECTED)
        try:
            argv = goshlex.split(command)
        except goshlex.SplitError as error:
            raise ApiError("InvalidParameterException", f"Failed to parse commands input: {error}") from None
        if not argv:
            raise ApiError("InvalidParameterException", "The command cannot be empty.")
        shell = self.fleet.shell(record, number)
        session = self.registry.create(
            user=EXEC_SESSION_PREFIX,
            target=record.target(number),
            account_id=caller.account_id,
            region=caller.region,
            profile=caller.profile.name,
            document_name=EXEC_DOCUMENT,
            session_type=SessionType.INTERACTIVE_COMMANDS,
            parameters={"command": [command]},
            command=argv,
            env=shell.env,
            cwd=shell.cwd,
            inherit_env=False,
            agent_version=ECS_AGENT_VERSION,
            faults=caller.faults,
            owner=caller.profile.owner_arn,
            shell_config={"commands": command, "runAsElevated": True},
        )
        task_arn = str(record.moto.task_arn)
        return {
            "clusterArn": str(record.moto.cluster_arn),
            "containerArn": container_arn(record, number),
            "containerName": container_name,
            "interactive": True,
            "session": {
                "sessionId": session.session_id,
                "streamUrl": self.stream_url(session),
                "tokenValue": session.token,
            },
            "taskArn": task_arn,
        }


class EncodedAnswer(dict[str, Any]):
    """An answer and its JSON text (``encoded``: exactly ``json.dumps(answer).encode()``), made together.

    Why: DescribeTasks of 50 tasks is ~100 KB of JSON; encoding it on every call made it the emulator's
    dearest call in a sync of 20 pairs x 10 clusters x 50 tasks (1.4-3.0 ms of CPU per call measured, 0.5
    ms when each task's text is made once and the answer is sent as ``encoded``). A sender that knows
    ``encoded`` sends it as is; the answer stays a dict, so one that encodes it anyway sends the same bytes.
    """

    def __init__(self, answer: dict[str, Any], encoded: bytes) -> None:
        super().__init__(answer)
        self.encoded = encoded


# ---------------------------------------------------------------------------------- task JSON


def task_json(
    record: EcsRecord, *, tags: bool = False, static: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One scenario task as DescribeTasks' ``Task``: :func:`static_task_json` and moto's live status.

    Args:
        record: The task.
        tags: Whether to add ``tags`` (``include=["TAGS"]``).
        static: The task's :func:`static_task_json`, when the caller keeps it (it costs more than the rest).
    """
    moto = record.moto
    data = dict(static if static is not None else static_task_json(record))
    last_status = str(moto.last_status)
    if last_status != "RUNNING":
        data["containers"] = [{**c, "lastStatus": last_status} for c in data["containers"]]
        data["stoppedReason"] = str(moto.stopped_reason or "Task stopped by user")
        data["stopCode"] = "UserInitiated"
        data["version"] = 5
    data["lastStatus"] = last_status
    data["desiredStatus"] = str(moto.desired_status)
    if tags:
        data["tags"] = list(moto.tags or [])
    return data


def static_task_json(record: EcsRecord) -> dict[str, Any]:
    """What DescribeTasks says of a running scenario task that does not change while it runs."""
    task, moto = record.spec, record.moto
    group = task.spec
    fargate = group.launch_type == "FARGATE"
    started = _started(task.task_id)
    task_arn = str(moto.task_arn)
    attachment_id = str(uuid.UUID(hashlib.sha256(f"eni/{task.task_id}".encode()).hexdigest()[:32]))
    containers = []
    for number, spec in enumerate(group.containers):
        container: dict[str, Any] = {
            "containerArn": container_arn(record, number),
            "taskArn": task_arn,
            "name": spec.name,
            "image": spec.image,
            "runtimeId": task.runtime_id(number),
            "lastStatus": "RUNNING",
            "networkBindings": [] if fargate else [_binding(port) for port in spec.ports],
            "networkInterfaces": [{"attachmentId": attachment_id, "privateIpv4Address": task.private_ip}]
            if fargate
            else [],
            "healthStatus": "UNKNOWN",
            "cpu": "0",
        }
        if group.exec_enabled:
            agent: dict[str, Any] = {"name": "ExecuteCommandAgent", "lastStatus": group.agent}
            if group.agent != "PENDING":
                agent["lastStartedAt"] = started + 5
            container["managedAgents"] = [agent]
        containers.append(container)
    data: dict[str, Any] = {
        "attachments": [_eni(task, attachment_id)] if fargate else [],
        "attributes": [{"name": "ecs.cpu-architecture", "value": "x86_64"}],
        "availabilityZone": f"{task.region}{'abc'[task.index % 3]}",
        "clusterArn": str(moto.cluster_arn),
        "connectivity": "CONNECTED",
        "connectivityAt": started - 20,
        "containers": containers,
        "cpu": "256" if fargate else "128",
        "createdAt": started - 25,
        "desiredStatus": "RUNNING",
        "enableExecuteCommand": group.exec_enabled,
        "group": group.group,
        "healthStatus": "UNKNOWN",
        "lastStatus": "RUNNING",
        "launchType": group.launch_type,
        "memory": "512" if fargate else "256",
        "overrides": {
            "containerOverrides": [{"name": c.name} for c in group.containers],
            "inferenceAcceleratorOverrides": [],
        },
        "pullStartedAt": started - 15,
        "pullStoppedAt": started - 5,
        "startedAt": started,
        "taskArn": task_arn,
        "taskDefinitionArn": str(moto.task_definition_arn),
        "version": 3,
    }
    if moto.started_by:
        data["startedBy"] = str(moto.started_by)
    if fargate:
        data["platformVersion"] = PLATFORM_VERSION
        data["platformFamily"] = "Linux"
        data["ephemeralStorage"] = {"sizeInGiB": 20}
    else:
        digest = hashlib.sha256(f"instance/{task.account_id}/{task.cluster}".encode()).hexdigest()[:32]
        data["containerInstanceArn"] = (
            f"arn:aws:ecs:{task.region}:{task.account_id}:container-instance/{task.cluster}/{digest}"
        )
    return data


def container_arn(record: EcsRecord, number: int) -> str:
    """``arn:aws:ecs:<region>:<account>:container/<cluster>/<task id>/<uuid>``, stable per container."""
    task = record.spec
    digest = hashlib.sha256(f"container/{task.task_id}/{number}".encode()).hexdigest()[:32]
    where = f"{task.region}:{task.account_id}"
    return f"arn:aws:ecs:{where}:container/{task.cluster}/{task.task_id}/{uuid.UUID(digest)}"


def _binding(port: int) -> dict[str, Any]:
    # An EC2 task in bridge mode publishes its container ports on the host (here: this machine's ports).
    return {"bindIP": "0.0.0.0", "containerPort": port, "hostPort": port, "protocol": "tcp"}  # noqa: S104


def _eni(task: Any, attachment_id: str) -> dict[str, Any]:
    digest = hashlib.sha256(f"eni/{task.account_id}/{task.task_id}".encode()).hexdigest()
    mac = ":".join(["02", *(digest[i : i + 2] for i in range(0, 10, 2))])
    return {
        "id": attachment_id,
        "type": "ElasticNetworkInterface",
        "status": "ATTACHED",
        "details": [
            {"name": "subnetId", "value": f"subnet-0{digest[10:26]}"},
            {"name": "networkInterfaceId", "value": f"eni-0{digest[26:42]}"},
            {"name": "macAddress", "value": mac},
            {"name": "privateDnsName",
             "value": f"ip-{task.private_ip.replace('.', '-')}.{task.region}.compute.internal"},
            {"name": "privateIPv4Address", "value": task.private_ip},
        ],
    }  # fmt: skip


def _moto_task_json(task: Any, *, tags: bool) -> dict[str, Any]:
    """A task launched through the API (RunTask), not the scenario: what moto knows of it."""
    data: dict[str, Any] = {
        "attachments": list(task.attachments),
        "clusterArn": str(task.cluster_arn),
        "containers": [],
        "desiredStatus": str(task.desired_status),
        "enableExecuteCommand": False,
        "group": str(task.group),
        "lastStatus": str(task.last_status),
        "overrides": dict(task.overrides or {}),
        "taskArn": str(task.task_arn),
        "taskDefinitionArn": str(task.task_definition_arn),
        "version": 1,
    }
    if task.launch_type:
        data["launchType"] = str(task.launch_type)
    if task.started_by:
        data["startedBy"] = str(task.started_by)
    if tags:
        data["tags"] = list(task.tags or [])
    return data


def _started(task_id: str) -> float:
    """When a scenario task started: a fixed time in the hours before the emulator did."""
    return round(STARTED - 600 - int(task_id[:6], 16) % 36000, 3)


# --------------------------------------------------------------------------------- parameters


def _backend(caller: Caller) -> Any:
    from moto.ecs.models import ecs_backends

    return ecs_backends[caller.account_id][caller.region]


def _cluster(backend: Any, body: dict[str, Any]) -> Any:
    name = (_optional(body, "cluster") or "default").rsplit("/", 1)[-1]
    cluster = backend.clusters.get(name)
    if cluster is None:
        raise ApiError("ClusterNotFoundException", "Cluster not found.")
    return cluster


def _optional(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ApiError("InvalidParameterException", f"{key} must be a non-empty string.")
    return value


def _required(body: dict[str, Any], key: str) -> str:
    value = _optional(body, key)
    if value is None:
        raise ApiError("InvalidParameterException", f"{key} is a required parameter.")
    return value


def _page(items: list[str], body: dict[str, Any]) -> tuple[list[str], str]:
    size = body.get("maxResults", 100)
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 100:
        raise ApiError("InvalidParameterException", "maxResults must be between 1 and 100.")
    start = 0
    token = body.get("nextToken")
    if token:
        try:
            prefix, _, number = base64.urlsafe_b64decode(str(token).encode()).decode().partition(":")
            start = int(number)
        except ValueError:
            start = -1
        if prefix != "ecs" or start < 0:
            raise ApiError("InvalidParameterException", "Invalid token.")
    page = items[start : start + size]
    more = start + size < len(items)
    return page, base64.urlsafe_b64encode(f"ecs:{start + size}".encode()).decode() if more else ""
