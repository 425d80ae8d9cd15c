"""The emulator's ECS through boto3: what DescribeTasks says of exec readiness, and ExecuteCommand's errors.

One emulator with a scenario of one cluster: a Fargate service with exec, an EC2 service without, a
standalone task whose agent is PENDING and one whose agent runs but has not connected; a second profile is
denied ``ecs:ListClusters``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ssmux.emulator.ecs_api import NOT_CONNECTED, NOT_ENABLED
from tests.support.emulator import RunningEmulator, start_emulator

pytestmark = pytest.mark.e2e

APP = {"name": "app", "image": "nginx:1.27", "environment": {"APP_ROLE": "web"}, "ports": [8080]}
SCENARIO: dict[str, Any] = {
    "profiles": [
        {"name": "dev", "account_id": "111111111111", "region": "eu-central-1"},
        {"name": "locked", "account_id": "333333333333", "region": "eu-central-1",
         "deny": ["ecs:ListClusters"]},
    ],
    "ecs": {
        "clusters": [
            {"profile": "dev", "name": "shop",
             "services": [
                 {"name": "web", "family": "shop-web", "revision": 3, "count": 2, "containers": [APP]},
                 {"name": "worker", "count": 1, "launch_type": "EC2", "exec": False,
                  "containers": [{"name": "worker", "ports": [9000]}]},
             ],
             "tasks": [
                 {"family": "migrate", "agent": "PENDING", "containers": [{"name": "migrate"}]},
                 {"family": "flaky", "connected": False, "containers": [{"name": "flaky"}]},
                 {"family": "crashed", "agent": "STOPPED", "containers": [{"name": "crashed"}]},
             ]},
            {"profile": "locked", "name": "hidden",
             "tasks": [{"family": "x", "containers": [{"name": "x"}]}]},
        ],
        "generate": {"profiles": ["dev"], "regions": ["eu-west-1"], "clusters": 3, "tasks": 120},
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(SCENARIO, "--fast", tmp_dir=tmp_path_factory.mktemp("ecs-api")) as running:
        yield running


@pytest.fixture(scope="module")
def ecs(emulator: RunningEmulator) -> Any:
    return emulator.client("ecs", "dev")


@pytest.fixture(scope="module")
def tasks(ecs: Any) -> dict[str, dict[str, Any]]:
    """Every task of the cluster by group (the second task of ``service:web`` is ``service:web#2``)."""
    arns = ecs.list_tasks(cluster="shop")["taskArns"]
    found: dict[str, dict[str, Any]] = {}
    for task in ecs.describe_tasks(cluster="shop", tasks=arns)["tasks"]:
        key = task["group"] if task["group"] not in found else task["group"] + "#2"
        found[key] = task
    return found


def error(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_list_clusters_services_and_tasks(ecs: Any) -> None:
    """ListClusters names the cluster; ListTasks filters by service; DescribeServices says exec and counts."""
    assert [arn.rsplit("/", 1)[-1] for arn in ecs.list_clusters()["clusterArns"]] == ["shop"]
    assert len(ecs.list_tasks(cluster="shop")["taskArns"]) == 6
    assert len(ecs.list_tasks(cluster="shop", serviceName="web")["taskArns"]) == 2
    assert len(ecs.list_tasks(cluster="shop", family="migrate")["taskArns"]) == 1
    described = ecs.describe_services(cluster="shop", services=["web", "worker"])["services"]
    services = {s["serviceName"]: s for s in described}
    assert services["web"]["runningCount"] == 2
    assert services["web"]["enableExecuteCommand"] is True
    assert services["worker"]["enableExecuteCommand"] is False


def test_describe_tasks_reports_exec_readiness_as_aws_does(tasks: dict[str, dict[str, Any]]) -> None:
    """A Fargate service task: enableExecuteCommand, a RUNNING agent, runtime id, ENI, family:revision."""
    web = tasks["service:web"]
    assert web["enableExecuteCommand"] is True
    assert web["launchType"] == "FARGATE"
    assert web["taskDefinitionArn"].endswith(":task-definition/shop-web:3")
    assert web["lastStatus"] == "RUNNING" and web["desiredStatus"] == "RUNNING"
    assert web["startedBy"].startswith("ecs-svc/")
    task_id = web["taskArn"].rsplit("/", 1)[-1]
    assert len(task_id) == 32 and web["taskArn"].endswith(f":task/shop/{task_id}")
    (container,) = web["containers"]
    assert container["name"] == "app" and container["image"] == "nginx:1.27"
    assert container["runtimeId"].startswith(task_id + "-")
    agents = [(a["name"], a["lastStatus"]) for a in container["managedAgents"]]
    assert agents == [("ExecuteCommandAgent", "RUNNING")]
    ip = container["networkInterfaces"][0]["privateIpv4Address"]
    (eni,) = web["attachments"]
    assert {d["name"]: d["value"] for d in eni["details"]}["privateIPv4Address"] == ip
    assert tasks["service:web#2"]["containers"][0]["networkInterfaces"][0]["privateIpv4Address"] != ip


def test_describe_tasks_of_tasks_not_ready(tasks: dict[str, dict[str, Any]]) -> None:
    """No exec: no managed agent; an EC2 task has a docker runtime id and port bindings; PENDING is shown."""
    worker = tasks["service:worker"]
    assert worker["enableExecuteCommand"] is False
    assert "managedAgents" not in worker["containers"][0]
    assert len(worker["containers"][0]["runtimeId"]) == 64
    assert worker["containers"][0]["networkBindings"][0]["containerPort"] == 9000
    assert ":container-instance/shop/" in worker["containerInstanceArn"]
    migrate = tasks["family:migrate"]
    assert migrate["containers"][0]["managedAgents"][0]["lastStatus"] == "PENDING"
    assert "startedBy" not in migrate


def test_describe_tasks_by_id_and_missing(ecs: Any, tasks: dict[str, dict[str, Any]]) -> None:
    """Tasks are found by id as by ARN; unknown ones come back as MISSING failures."""
    task_id = tasks["service:web"]["taskArn"].rsplit("/", 1)[-1]
    answer = ecs.describe_tasks(cluster="shop", tasks=[task_id, "0" * 32])
    assert [t["taskArn"] for t in answer["tasks"]] == [tasks["service:web"]["taskArn"]]
    assert answer["failures"] == [{"arn": "0" * 32, "reason": "MISSING"}]
    assert error(ecs.describe_tasks, cluster="nope", tasks=[task_id])[0] == "ClusterNotFoundException"


def test_execute_command_answers_a_session_with_lower_case_keys(
    ecs: Any, tasks: dict[str, dict[str, Any]]
) -> None:
    """ExecuteCommand on a ready task: clusterArn, containerArn, taskArn, interactive, a session to dial."""
    web = tasks["service:web"]
    answer = ecs.execute_command(cluster="shop", task=web["taskArn"], container="app", command="/bin/sh",
                                 interactive=True)  # fmt: skip
    assert answer["taskArn"] == web["taskArn"]
    assert answer["containerArn"] == web["containers"][0]["containerArn"]
    assert answer["containerName"] == "app" and answer["interactive"] is True
    assert answer["clusterArn"].endswith(":cluster/shop")
    session = answer["session"]
    assert session["sessionId"].startswith("ecs-execute-command-")
    assert session["streamUrl"].startswith("ws://127.0.0.1:") and session["tokenValue"]


def test_execute_command_errors(ecs: Any, tasks: dict[str, dict[str, Any]]) -> None:
    """Exec off or agent PENDING: InvalidParameterException; STOPPED or unconnected: TargetNotConnected."""
    call = ecs.execute_command
    base = {"cluster": "shop", "command": "/bin/sh", "interactive": True}
    not_enabled = ("InvalidParameterException", NOT_ENABLED)
    assert error(call, task=tasks["service:worker"]["taskArn"], **base) == not_enabled
    assert error(call, task=tasks["family:migrate"]["taskArn"], **base) == not_enabled
    flaky = tasks["family:flaky"]["taskArn"]
    assert error(call, task=flaky, **base) == ("TargetNotConnectedException", NOT_CONNECTED)
    crashed = tasks["family:crashed"]["taskArn"]
    assert error(call, task=crashed, **base) == ("TargetNotConnectedException", NOT_CONNECTED)
    web = tasks["service:web"]["taskArn"]
    code, message = error(call, task=web, cluster="shop", command="/bin/sh", interactive=False)
    assert code == "InvalidParameterException"
    assert message == "Interactive is the only mode supported currently."
    assert error(call, task="0" * 32, **base)[0] == "InvalidParameterException"
    assert error(call, task=web, **{**base, "cluster": "nope"})[0] == "ClusterNotFoundException"


def test_stopped_task_cannot_be_execd(emulator: RunningEmulator) -> None:
    """StopTask (moto's) stops the task for exec too; ListTasks then lists it only as STOPPED."""
    ecs = emulator.client("ecs", "dev")
    arn = ecs.list_tasks(cluster="shop", serviceName="web")["taskArns"][1]
    ecs.stop_task(cluster="shop", task=arn, reason="test")
    assert arn not in ecs.list_tasks(cluster="shop")["taskArns"]
    assert arn in ecs.list_tasks(cluster="shop", desiredStatus="STOPPED")["taskArns"]
    assert ecs.describe_tasks(cluster="shop", tasks=[arn])["tasks"][0]["lastStatus"] == "STOPPED"
    code, _ = error(ecs.execute_command, cluster="shop", task=arn, command="sh", interactive=True)
    assert code == "InvalidParameterException"


def test_denied_list_clusters_is_access_denied(emulator: RunningEmulator) -> None:
    """A profile denied ecs:ListClusters gets AccessDeniedException, and still its other ECS calls."""
    ecs = emulator.client("ecs", "locked")
    code, message = error(ecs.list_clusters)
    assert code == "AccessDeniedException" and "ecs:ListClusters" in message
    assert len(ecs.list_tasks(cluster="hidden")["taskArns"]) == 1


def test_generated_clusters_page_like_aws(emulator: RunningEmulator) -> None:
    """Generated clusters (3 x 120 tasks): ListTasks pages 100 at a time; DescribeTasks takes 100."""
    ecs = emulator.client("ecs", "dev", region="eu-west-1")
    clusters = ecs.list_clusters()["clusterArns"]
    assert [arn.rsplit("/", 1)[-1] for arn in clusters] == ["cluster-01", "cluster-02", "cluster-03"]
    first = ecs.list_tasks(cluster="cluster-02")
    assert len(first["taskArns"]) == 100
    rest = ecs.list_tasks(cluster="cluster-02", nextToken=first["nextToken"])
    assert len(rest["taskArns"]) == 20 and "nextToken" not in rest
    arns = first["taskArns"] + rest["taskArns"]
    assert len(set(arns)) == 120
    described = ecs.describe_tasks(cluster="cluster-02", tasks=first["taskArns"])["tasks"]
    assert len(described) == 100 and all(t["enableExecuteCommand"] for t in described)
    assert error(ecs.describe_tasks, cluster="cluster-02", tasks=arns)[0] == "InvalidParameterException"
    paginated = [arn for page in ecs.get_paginator("list_tasks").paginate(cluster="cluster-03")
                 for arn in page["taskArns"]]  # fmt: skip
    assert len(paginated) == 120
