"""A synced ECS container: the record the ECS reader builds, the inventory stores and ``ssmux ls`` lists.

One record per container of a running task (ECS ``DescribeTasks``): where it runs (cluster, task, service,
task definition, launch type), its addresses, and whether ECS Exec can reach it now. ECS Exec needs the task
to have been started with ``enableExecuteCommand`` and the container's managed agent ``ExecuteCommandAgent``
to be ``RUNNING`` (the ECS developer guide, "Using Amazon ECS Exec": the agent's ``lastStatus`` is in
``DescribeTasks``); the reason it is not ready is kept as one line saying what to do.

The SSM target of a container, which port forwarding (``StartSession``) and the data channel use, is
``ecs:<cluster name>_<task id>_<container runtime id>`` (aws-cli v2
``awscli/customizations/ecs/executecommand.py``: ``build_ssm_request_paramaters``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ssmux.sync.instance import pair_group

#: ECS's name of the managed agent that serves ECS Exec.
EXEC_AGENT = "ExecuteCommandAgent"


@dataclass(frozen=True)
class Container:
    """One container of a running ECS task as the last sync saw it.

    Attributes:
        aws_profile / region: the pair it was synced from.
        cluster: the cluster's name; ``cluster_arn`` its ARN.
        task_id: the task's id (the last part of ``task_arn``).
        container_name: the container's name in the task definition.
        runtime_id: the container runtime's id (``""`` before the container started).
        service: the service that started the task (its ``group`` is ``service:NAME``), ``""`` if none.
        task_definition: ``family:revision``.
        launch_type: ``FARGATE``, ``EC2``, ``EXTERNAL`` (``""`` when a capacity provider decides and ECS does
            not say).
        last_status: the container's ECS status (``RUNNING``...), else the task's.
        private_ip / ipv6: the container's addresses (``awsvpc``: the task's ENI), ``""`` when absent.
        exec_enabled: the task was started with ``enableExecuteCommand``.
        agent_status: ``lastStatus`` of the container's ``ExecuteCommandAgent``, ``""`` when it has none.
        not_ready_reason: why ECS Exec cannot reach it now, one line saying what to do; ``""`` when ready.
        last_seen: when the sync saw it (epoch seconds).
    """

    aws_profile: str
    region: str
    cluster: str
    cluster_arn: str
    task_id: str
    task_arn: str
    container_name: str
    runtime_id: str = ""
    service: str = ""
    task_definition: str = ""
    launch_type: str = ""
    last_status: str = ""
    private_ip: str = ""
    ipv6: str = ""
    exec_enabled: bool = False
    agent_status: str = ""
    not_ready_reason: str = ""
    last_seen: float = 0.0

    @property
    def exec_ready(self) -> bool:
        """ECS Exec (and a port forward) can reach it now."""
        return not self.not_ready_reason

    @property
    def ssm_target(self) -> str:
        """The SSM target of the container: ``ecs:<cluster>_<task id>_<runtime id>``."""
        return ssm_target(self.cluster, self.task_id, self.runtime_id)

    @property
    def display_name(self) -> str:
        """``cluster/service/container``, or ``cluster/task-id/container`` for a task of no service."""
        return f"{self.cluster}/{self.service or self.task_id}/{self.container_name}"

    @property
    def group(self) -> str:
        """The read-only group of its pair: ``profile/region``."""
        return pair_group(self.aws_profile, self.region)

    def search_text(self) -> str:
        """What a query matches, lower case, one field per line (a query word has no newline)."""
        values = (
            self.display_name,
            self.ssm_target,
            self.task_id,
            self.container_name,
            self.cluster,
            self.service,
            self.task_definition,
            self.private_ip,
        )
        return "\n".join(value for value in values if value).lower()


#: The record's fields, in order: the inventory's ``containers`` table has one column each.
FIELDS: tuple[str, ...] = tuple(item.name for item in fields(Container))


def ssm_target(cluster: str, task_id: str, runtime_id: str) -> str:
    """The SSM target ECS Exec and port forwarding use for a container (aws-cli's executecommand.py)."""
    return f"ecs:{cluster}_{task_id}_{runtime_id}"


def not_ready_reason(
    *,
    task_status: str,
    container_status: str,
    exec_enabled: bool,
    agent_status: str,
    runtime_id: str,
    agent_reason: str = "",
) -> str:
    """Why ECS Exec cannot reach a container now, one line saying what to do; ``""`` when it can.

    The checks follow the ECS developer guide's ECS Exec prerequisites and the errors ``ExecuteCommand``
    answers: exec not enabled when the task was run (``InvalidParameterException``), then the task or the
    container not running, then the agent not running (``TargetNotConnectedException``).
    """
    if not exec_enabled:
        return (
            "execute command is not enabled on this task: for a service run 'aws ecs update-service "
            "--enable-execute-command --force-new-deployment', for a task run it with "
            "--enable-execute-command, then run ssmux sync"
        )
    if task_status != "RUNNING":
        return f"the task is {task_status or 'not running'}: wait until it is RUNNING, then run ssmux sync"
    if container_status and container_status != "RUNNING":
        return f"the container is {container_status}: wait until it is RUNNING, then run ssmux sync"
    if not runtime_id:
        return "the container has not started yet (no runtime id): wait, then run ssmux sync"
    if agent_status != "RUNNING":
        state = agent_status or "missing"
        why = f" ({' '.join(agent_reason.split())})" if agent_reason else ""
        return (
            f"the ECS Exec agent ({EXEC_AGENT}) is {state}{why}: check the task role's ssmmessages "
            "permissions and the task's network path to SSM, then run ssmux sync"
        )
    return ""
