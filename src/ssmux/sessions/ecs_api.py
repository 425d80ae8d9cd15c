"""``ecs:ExecuteCommand``: how a session to a container starts, in place of ``ssm:StartSession``.

What AWS does (aws-cli v2 ``awscli/customizations/ecs/executecommand.py``): ``ExecuteCommand`` (cluster,
task, container, command, ``interactive=true``) answers a ``session`` with lower-case keys (``sessionId``,
``streamUrl``, ``tokenValue``) beside ``clusterArn``, ``taskArn`` and ``containerName``; the aws CLI hands
that ``session`` JSON to the plugin with the ECS client's region and endpoint, and ``{"Target":
"ecs:<cluster>_<task-id>_<runtime-id>"}`` as the request. From there on the session is an SSM session like
any other: the same data channel (an InteractiveCommands session), and ``ResumeSession`` /
``TerminateSession`` by its id. ssmux sends those two to SSM (:class:`~ssmux.sessions.api.SessionApi`), where
``aws ssm terminate-session`` also ends an ECS Exec session; the plugin sends them to the endpoint it was
given.

The call goes through the session's lean signed calls (:class:`ssmux.core.calls.JsonCalls`, as
``StartSession`` does: the profile's credentials, region and ``endpoint_url``, SigV4 and botocore's retry
rules, no botocore client). It blocks: callers run it in a worker thread. Its failures
become one line that says what to do: exec not enabled on the task, the container's agent not connected,
access denied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ssmux.errors import AwsError
from ssmux.sessions.api import StartedSession

if TYPE_CHECKING:
    from ssmux.core.calls import JsonCalls
    from ssmux.sessions.api import SessionApi
    from ssmux.sessions.backends import ContainerCommand, Launch, SessionRequest

ACTION = "ecs:ExecuteCommand"

#: How to turn ECS Exec on, for a task started without it (the ECS Exec guide's two ways).
ENABLE_HINT = (
    "enable ECS Exec: 'aws ecs update-service --cluster CLUSTER --service SERVICE --enable-execute-command "
    "--force-new-deployment' (or run the task with --enable-execute-command), and let the task role call "
    "ssmmessages:CreateControlChannel, CreateDataChannel, OpenControlChannel and OpenDataChannel"
)
#: What to check when the container's ExecuteCommandAgent is not connected.
AGENT_HINT = (
    "its ExecuteCommandAgent is not running or cannot reach Session Manager: check that the task role "
    "allows the ssmmessages:* channel actions and that the task can reach ssmmessages (a VPC endpoint "
    "when it has no internet route), then start a new task (aws ecs update-service ... "
    "--force-new-deployment)"
)


@dataclass(frozen=True)
class ExecutedCommand:
    """What ``ExecuteCommand`` returned: the session to join, and where the call went.

    Attributes:
        started: the session (``sessionId``, ``tokenValue``, ``streamUrl``).
        session: the ``session`` object as returned, lower-case keys (what the aws CLI hands the plugin).
        cluster_arn / task_arn / container_name: the container the session runs in.
        region: the ECS client's region.
        endpoint_url: the ECS client's endpoint (the plugin's argv[6] when the aws CLI runs it).
    """

    started: StartedSession
    session: dict[str, str]
    cluster_arn: str
    task_arn: str
    container_name: str
    region: str
    endpoint_url: str


def execute_command(calls: JsonCalls, command: ContainerCommand) -> ExecutedCommand:
    """``ecs:ExecuteCommand`` of ``command`` (interactive, as AWS allows no other) through ``calls``, the
    session's signed calls (a :class:`~ssmux.sessions.api.SessionApi`'s ``calls``); blocking.

    Raises:
        AwsError: the call failed; one line naming the container and what to do.
    """
    params = {
        "cluster": command.cluster,
        "task": command.task,
        "container": command.container,
        "command": command.command,
        "interactive": True,
    }
    try:
        response = calls.call("ecs", "ExecuteCommand", params)
    except AwsError:
        raise
    except Exception as error:
        raise translate(error, command, calls.aws_profile, calls.region) from error
    session = response.get("session") or {}
    try:
        started = StartedSession(
            str(session["sessionId"]), str(session["tokenValue"]), str(session["streamUrl"])
        )
    except (KeyError, TypeError) as missing:
        raise AwsError(
            f"{ACTION} answered without a session ({missing}) for {_name(command)}: the endpoint does not "
            "answer as ECS does; check the profile's endpoint_url",
            "InvalidResponse",
        ) from None
    return ExecutedCommand(
        started=started,
        session={key: str(value) for key, value in session.items()},
        cluster_arn=str(response.get("clusterArn", "")),
        task_arn=str(response.get("taskArn", "")),
        container_name=str(response.get("containerName", command.container)),
        region=calls.region,
        endpoint_url=calls.endpoint("ecs"),
    )


def plugin_launch(executable: str, request: SessionRequest, api: SessionApi) -> tuple[Launch, str]:
    """``ExecuteCommand`` through ``api``'s calls, then the plugin's run as the aws CLI makes it (blocking).

    The argv of ``aws ecs execute-command``: the ``session`` JSON itself (lower-case keys; the aws CLI never
    passes it through the environment variable for ECS), the ECS client's region, ``StartSession``, the
    profile, ``{"Target": "ecs:..."}`` and the ECS endpoint.

    Returns:
        The plugin's :class:`~ssmux.sessions.backends.Launch` and the id of the session it joins.
    """
    import json

    from ssmux.sessions.backends import Launch

    assert request.container is not None
    executed = execute_command(api.calls, request.container)
    argv = [
        executable,
        json.dumps(executed.session),
        executed.region,
        "StartSession",
        request.aws_profile or "",
        json.dumps({"Target": request.target}),
        executed.endpoint_url,
    ]
    return Launch(argv), executed.started.session_id


def translate(error: Exception, command: ContainerCommand, aws_profile: str | None, region: str) -> AwsError:
    """The one line for a failed ``ExecuteCommand`` of ``command``."""
    from ssmux.core import aws

    code, message = _error(error)
    name = _name(command)
    if code == "InvalidParameterException" and "not enabled" in message:
        # "The execute command failed because execute command was not enabled when the task was run or
        # the execute command agent isn't running." (ECS's answer for both)
        return AwsError(f"{name}: ECS Exec is not enabled on its task ({message}): {ENABLE_HINT}", code)
    if code == "TargetNotConnectedException":
        return AwsError(f"{name} cannot take a session: {AGENT_HINT}", code)
    if code == "ClusterNotFoundException":
        return AwsError(
            f"{name}: cluster {command.cluster!r} not found ({_where(aws_profile, region)}): run "
            "'ssmux sync' and check 'ssmux ls'",
            code,
        )
    if code == "InvalidParameterException" and "task" in message.lower():
        return AwsError(
            f"{name}: {message}: the task may have stopped; run 'ssmux sync' and pick a running one", code
        )
    if code in ("AccessDeniedException", "AccessDenied"):
        return AwsError(
            f"{_where(aws_profile, region)} may not call {ACTION} on {name} ({message}): allow "
            f"{ACTION} on the task (and ssm:StartSession for port forwarding) in the caller's IAM policy",
            code,
        )
    return aws.translate(error, aws_profile=aws_profile, region=region, action=ACTION)


def _name(command: ContainerCommand) -> str:
    return f"container {command.container} of task {command.task} in cluster {command.cluster}"


def _error(error: Exception) -> tuple[str, str]:
    response: Any = getattr(error, "response", None)
    if isinstance(response, dict):
        details = response.get("Error", {})
        return str(details.get("Code", "")), " ".join(str(details.get("Message", "")).split())
    return "", str(error)


def _where(aws_profile: str | None, region: str | None) -> str:
    who = f"AWS profile '{aws_profile}'" if aws_profile else "default AWS credentials"
    return f"{who} in {region}" if region else who
