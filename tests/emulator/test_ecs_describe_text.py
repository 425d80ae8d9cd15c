"""DescribeTasks' answer text, made once per task: the same bytes as encoding the answer, whatever the tasks.

The emulator keeps each running scenario task's JSON text and joins them (``EncodedAnswer.encoded``); these
tests pin that the text is exactly ``json.dumps`` of the answer (so AWS's stand-in answers as before), that a
stopped task, tags or a moto-launched task fall back to the plain answer, and, end to end through the
emulator process, that what botocore reads is that text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from ssmux.emulator.ecs_api import EcsApi, EncodedAnswer
from ssmux.emulator.ecs_fleet import EcsFleet
from ssmux.emulator.faults import Faults
from ssmux.emulator.scenario import load_scenario
from ssmux.emulator.ssm_api import Caller
from tests.support.emulator import RunningEmulator, start_emulator

REGION = "eu-west-1"
SCENARIO: dict[str, Any] = {
    "profiles": [{"name": "texts", "account_id": "770000000013", "region": REGION}],
    "ecs": {
        "clusters": [
            {"profile": "texts", "name": "shop",
             "services": [
                 {"name": "web", "count": 3, "containers": [{"name": "app", "environment": {"A": "é"}}]},
                 {"name": "worker", "count": 2, "launch_type": "EC2", "exec": False,
                  "containers": [{"name": "worker", "ports": [9000]}, {"name": "sidecar"}]},
             ],
             "tasks": [{"family": "migrate", "agent": "PENDING", "containers": [{"name": "migrate"}]}]},
        ],
    },
}  # fmt: skip


@pytest.fixture
def api() -> Iterator[tuple[EcsApi, Caller]]:
    scenario = load_scenario(SCENARIO)
    fleet = EcsFleet(scenario)
    [profile] = [p for p in scenario.all_profiles if p.name == "texts"]
    yield EcsApi(fleet, None, lambda session: ""), Caller(profile, REGION, Faults())  # type: ignore[arg-type]
    fleet.close()
    from moto.ecs.models import ecs_backends

    ecs_backends[profile.account_id].reset()


def plain(answer: dict[str, Any]) -> bytes:
    """What json.dumps writes for the answer (the emulator's wire encoding)."""
    return json.dumps(dict(answer)).encode()


def test_running_tasks_answer_their_text_made_once(api: tuple[EcsApi, Caller]) -> None:
    ecs, caller = api
    arns = ecs.handle("ListTasks", caller, {"cluster": "shop"})["taskArns"]
    assert len(arns) == 6
    first = ecs.handle("DescribeTasks", caller, {"cluster": "shop", "tasks": arns})
    again = ecs.handle("DescribeTasks", caller, {"cluster": "shop", "tasks": list(reversed(arns))})
    assert isinstance(first, EncodedAnswer)
    assert isinstance(again, EncodedAnswer)
    assert first.encoded == plain(first)
    assert again.encoded == plain(again)
    assert [t["taskArn"] for t in again["tasks"]] == list(reversed(arns))
    # An unknown task is a failure, still in the text.
    missing = ecs.handle("DescribeTasks", caller, {"cluster": "shop", "tasks": [arns[0], "0" * 32]})
    assert isinstance(missing, EncodedAnswer)
    assert missing.encoded == plain(missing)
    assert missing["failures"] == [{"arn": "0" * 32, "reason": "MISSING"}]


def test_stopped_task_and_tags_answer_the_plain_way(api: tuple[EcsApi, Caller]) -> None:
    from moto.ecs.models import ecs_backends

    ecs, caller = api
    arns = ecs.handle("ListTasks", caller, {"cluster": "shop"})["taskArns"]
    ecs.handle("DescribeTasks", caller, {"cluster": "shop", "tasks": arns})  # texts made while running
    ecs_backends[caller.account_id][REGION].stop_task("shop", arns[0], "done")
    answer = ecs.handle("DescribeTasks", caller, {"cluster": "shop", "tasks": arns})
    assert not isinstance(answer, EncodedAnswer)
    stopped = answer["tasks"][0]
    assert (stopped["lastStatus"], stopped["desiredStatus"], stopped["stoppedReason"]) == (
        "STOPPED",
        "STOPPED",
        "done",
    )
    assert all(c["lastStatus"] == "STOPPED" for c in stopped["containers"])
    assert [t["lastStatus"] for t in answer["tasks"][1:]] == ["RUNNING"] * 5
    # The running ones still say what their text says.
    running = ecs.handle("DescribeTasks", caller, {"cluster": "shop", "tasks": arns[1:]})
    assert isinstance(running, EncodedAnswer)
    assert [json.dumps(t) for t in answer["tasks"][1:]] == [json.dumps(t) for t in running["tasks"]]
    tagged = ecs.handle("DescribeTasks", caller, {"cluster": "shop", "tasks": arns[1:], "include": ["TAGS"]})
    assert not isinstance(tagged, EncodedAnswer)
    assert all(t["tags"] == [] for t in tagged["tasks"])


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(SCENARIO, "--fast", tmp_dir=tmp_path_factory.mktemp("ecs-text")) as running:
        yield running


@pytest.mark.e2e
def test_botocore_reads_the_same_answer_over_http(emulator: RunningEmulator) -> None:
    client = emulator.client("ecs", "texts", REGION)
    bodies: list[bytes] = []
    client.meta.events.register(
        "after-call.ecs.DescribeTasks", lambda http_response, **_: bodies.append(http_response.content)
    )
    arns = client.list_tasks(cluster="shop")["taskArns"]
    described = client.describe_tasks(cluster="shop", tasks=arns)
    assert sorted(t["taskArn"] for t in described["tasks"]) == sorted(arns)
    [body] = bodies
    assert body == json.dumps(json.loads(body)).encode()  # json.dumps' own text, as before
    web = [t for t in described["tasks"] if t["group"] == "service:web"]
    assert len(web) == 3
    assert all(t["enableExecuteCommand"] and t["lastStatus"] == "RUNNING" for t in web)
    client.stop_task(cluster="shop", task=web[0]["taskArn"])
    after = client.describe_tasks(cluster="shop", tasks=[web[0]["taskArn"], web[1]["taskArn"]])["tasks"]
    assert [t["lastStatus"] for t in after] == ["STOPPED", "RUNNING"]
