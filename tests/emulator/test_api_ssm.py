"""The SSM operations the emulator adds to moto, through the real process and boto3 (demo scenario)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from ssmux.emulator.scenario import load_scenario
from ssmux.sessions.signing import upgrade_headers

if TYPE_CHECKING:
    from tests.support.emulator import RunningEmulator

pytest_plugins = ["tests.support.emulator"]
pytestmark = pytest.mark.e2e

DEMO = load_scenario("demo")


def by_name(profile: str, name: str) -> str:
    """Instance id of the demo instance called ``name`` in ``profile``."""
    return next(i.instance_id for i in DEMO.instances if i.profile == profile and i.name == name)


def error_code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return str(caught.value.response["Error"]["Code"])


@pytest.fixture
def dev_ssm(demo_emulator: RunningEmulator) -> Any:
    return demo_emulator.client("ssm", "dev", "eu-central-1")


@pytest.fixture
def started(dev_ssm: Any) -> Iterator[dict[str, Any]]:
    """A session to web-1 that the test may use; terminated afterwards."""
    response = dev_ssm.start_session(Target=by_name("dev", "web-1"), Reason="testing the API")
    yield response
    dev_ssm.terminate_session(SessionId=response["SessionId"])


def test_instance_information_lists_managed_nodes(demo_emulator: RunningEmulator) -> None:
    """prod us-east-1 shows its 4 instances and the mi- node, each with the fields SSM gives."""
    ssm = demo_emulator.client("ssm", "prod", "us-east-1")
    nodes = {n["InstanceId"]: n for n in ssm.describe_instance_information()["InstanceInformationList"]}
    expected = {i.instance_id for i in DEMO.instances_in("222222222222", "us-east-1")}
    assert set(nodes) == expected
    for node in nodes.values():
        assert node["PingStatus"] == "Online"
        assert node["AgentVersion"]
        assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", node["IPAddress"])
        assert node["ComputerName"]
        assert node["LastPingDateTime"].tzinfo is not None
    managed = nodes["mi-0123456789abcdef0"]
    assert managed["ResourceType"] == "ManagedInstance"
    assert managed["Name"] == "onprem-db"
    assert managed["RegistrationDate"] < managed["LastPingDateTime"]
    windows = nodes[by_name("prod", "win-ad")]
    assert (windows["PlatformType"], windows["ResourceType"]) == ("Windows", "EC2Instance")
    assert windows["PlatformName"].startswith("Microsoft Windows Server")
    assert nodes[by_name("prod", "db-1")]["PlatformType"] == "Linux"


def test_instance_information_ping_status_and_unmanaged(demo_emulator: RunningEmulator) -> None:
    """Offline and stopped nodes are ConnectionLost; an unmanaged instance is not listed at all."""
    west = demo_emulator.client("ssm", "prod", "us-west-2").describe_instance_information()
    status = {n["InstanceId"]: n["PingStatus"] for n in west["InstanceInformationList"]}
    assert status == {
        by_name("prod", "batch-1"): "ConnectionLost",
        by_name("prod", "web-dr"): "ConnectionLost",
    }
    online = demo_emulator.client("ssm", "prod", "us-east-1").describe_instance_information()
    last_online = min(n["LastPingDateTime"] for n in online["InstanceInformationList"])
    assert all(n["LastPingDateTime"] < last_online for n in west["InstanceInformationList"])
    dev_west = demo_emulator.client("ssm", "dev", "eu-west-1").describe_instance_information()
    listed = {n["InstanceId"] for n in dev_west["InstanceInformationList"]}
    assert by_name("dev", "legacy-app") not in listed
    assert by_name("dev", "bastion") in listed


def test_instance_information_pages(dev_ssm: Any) -> None:
    """MaxResults 5 over 6 nodes gives 5 then 1; the paginator collects all; limits are AWS's 5..50."""
    first = dev_ssm.describe_instance_information(MaxResults=5)
    assert len(first["InstanceInformationList"]) == 5
    second = dev_ssm.describe_instance_information(MaxResults=5, NextToken=first["NextToken"])
    assert len(second["InstanceInformationList"]) == 1
    assert "NextToken" not in second
    every = [
        n["InstanceId"]
        for page in dev_ssm.get_paginator("describe_instance_information").paginate(
            PaginationConfig={"PageSize": 5}
        )
        for n in page["InstanceInformationList"]
    ]
    assert sorted(every) == sorted(i.instance_id for i in DEMO.instances_in("111111111111", "eu-central-1"))
    assert error_code(dev_ssm.describe_instance_information, MaxResults=51) == "ValidationException"
    assert error_code(dev_ssm.describe_instance_information, NextToken="garbage") == "InvalidNextToken"


def test_instance_information_filters(demo_emulator: RunningEmulator) -> None:
    """Filters by platform, ping status, resource type, id and tag; an unknown key is InvalidFilterKey."""
    ssm = demo_emulator.client("ssm", "prod", "us-east-1")

    def ids(**kwargs: Any) -> set[str]:
        return {
            n["InstanceId"] for n in ssm.describe_instance_information(**kwargs)["InstanceInformationList"]
        }

    assert ids(Filters=[{"Key": "PlatformTypes", "Values": ["Windows"]}]) == {by_name("prod", "win-ad")}
    assert ids(InstanceInformationFilterList=[{"key": "ResourceType", "valueSet": ["ManagedInstance"]}]) == {
        "mi-0123456789abcdef0"
    }
    assert ids(Filters=[{"Key": "tag:team", "Values": ["data"]}]) == {
        by_name("prod", "db-1"),
        "mi-0123456789abcdef0",
    }
    assert ids(Filters=[{"Key": "InstanceIds", "Values": [by_name("prod", "web-2")]}]) == {
        by_name("prod", "web-2")
    }
    assert len(ids(Filters=[{"Key": "PingStatus", "Values": ["Online"]}])) == 5
    assert error_code(ssm.describe_instance_information, Filters=[{"Key": "Colour", "Values": ["x"]}]) == (
        "InvalidFilterKey"
    )


def test_start_session_answers_like_aws(started: dict[str, Any], dev_ssm: Any) -> None:
    """StartSession gives a <user>- session id, a token and a StreamUrl to the emulator's websocket."""
    session_id = started["SessionId"]
    assert re.fullmatch(r"dev-user-[0-9a-f]{17}", session_id)
    assert started["TokenValue"]
    assert re.fullmatch(
        rf"ws://127\.0\.0\.1:\d+/v1/data-channel/{session_id}\?role=publish_subscribe&cell-number=[\w-]+",
        started["StreamUrl"],
    )
    (session,) = dev_ssm.describe_sessions(
        State="Active", Filters=[{"key": "SessionId", "value": session_id}]
    )["Sessions"]
    assert session["Target"] == by_name("dev", "web-1")
    assert session["DocumentName"] == "SSM-SessionManagerRunShell"
    assert session["Reason"] == "testing the API"
    assert session["Owner"] == "arn:aws:iam::111111111111:user/dev-user"
    assert session["Status"] == "Connected"


def test_start_session_to_a_node_that_cannot_take_one(demo_emulator: RunningEmulator) -> None:
    """Offline, unmanaged and stopped targets are TargetNotConnected; unknown ids are InvalidInstanceId."""
    dev_west = demo_emulator.client("ssm", "dev", "eu-west-1")
    dev = demo_emulator.client("ssm", "dev", "eu-central-1")
    prod_west = demo_emulator.client("ssm", "prod", "us-west-2")
    assert error_code(prod_west.start_session, Target=by_name("prod", "batch-1")) == "TargetNotConnected"
    assert error_code(dev_west.start_session, Target=by_name("dev", "legacy-app")) == "TargetNotConnected"
    assert error_code(dev.start_session, Target=by_name("dev", "worker-1")) == "TargetNotConnected"
    assert error_code(dev.start_session, Target="i-0000000000000dead") == "InvalidInstanceId"
    # An instance of another region, or of another account, does not exist from here.
    assert error_code(dev_west.start_session, Target=by_name("dev", "web-1")) == "InvalidInstanceId"
    prod = demo_emulator.client("ssm", "prod", "eu-central-1")
    assert error_code(prod.start_session, Target=by_name("dev", "web-1")) == "InvalidInstanceId"


def test_start_session_checks_documents_and_parameters(dev_ssm: Any) -> None:
    """Unknown document: InvalidDocument; missing, unknown or malformed parameters: InvalidParameters."""
    target = by_name("dev", "web-2")
    assert (
        error_code(dev_ssm.start_session, Target=target, DocumentName="AWS-NoSuchDocument")
        == "InvalidDocument"
    )
    assert error_code(dev_ssm.start_session, Target=target, DocumentName="AWS-StartInteractiveCommand") == (
        "InvalidParameters"
    )
    assert error_code(
        dev_ssm.start_session, Target=target, DocumentName="AWS-StartPortForwardingSession",
        Parameters={"portNumber": ["99999"]},
    ) == "InvalidParameters"  # fmt: skip
    assert error_code(
        dev_ssm.start_session, Target=target, DocumentName="AWS-StartPortForwardingSession",
        Parameters={"colour": ["red"]},
    ) == "InvalidParameters"  # fmt: skip
    assert error_code(
        dev_ssm.start_session, Target=target, DocumentName="AWS-StartPortForwardingSessionToRemoteHost",
        Parameters={"portNumber": ["5432"]},
    ) == "InvalidParameters"  # fmt: skip


def test_every_session_document_starts(dev_ssm: Any) -> None:
    """Each supported document starts a session recorded under its own name."""
    target = by_name("dev", "web-3")
    documents = {
        "AWS-StartInteractiveCommand": {"command": ["top"]},
        "AWS-StartNonInteractiveCommand": {"command": ["uname -a"]},
        "AWS-StartPortForwardingSession": {"portNumber": ["80"], "localPortNumber": ["0"]},
        "AWS-StartPortForwardingSessionToRemoteHost": {"host": ["db.internal"], "portNumber": ["5432"]},
        "AWS-StartSSHSession": {},
    }
    for document, parameters in documents.items():
        session_id = dev_ssm.start_session(Target=target, DocumentName=document, Parameters=parameters)[
            "SessionId"
        ]
        try:
            (session,) = dev_ssm.describe_sessions(
                State="Active", Filters=[{"key": "SessionId", "value": session_id}]
            )["Sessions"]
            assert session["DocumentName"] == document
        finally:
            dev_ssm.terminate_session(SessionId=session_id)


def test_resume_gives_a_new_token_until_terminated(started: dict[str, Any], dev_ssm: Any) -> None:
    """ResumeSession hands out a fresh token and a StreamUrl of another cell, and none once terminated."""
    session_id = started["SessionId"]
    resumed = dev_ssm.resume_session(SessionId=session_id)
    assert resumed["SessionId"] == session_id
    assert resumed["TokenValue"] and resumed["TokenValue"] != started["TokenValue"]
    old_path, _, old_cell = started["StreamUrl"].partition("&cell-number=")
    new_path, _, new_cell = resumed["StreamUrl"].partition("&cell-number=")
    assert new_path == old_path and new_cell and new_cell != old_cell
    assert dev_ssm.terminate_session(SessionId=session_id)["SessionId"] == session_id
    after = dev_ssm.resume_session(SessionId=session_id)
    assert after["SessionId"] == session_id
    assert "TokenValue" not in after
    (ended,) = dev_ssm.describe_sessions(
        State="History", Filters=[{"key": "SessionId", "value": session_id}]
    )["Sessions"]
    assert ended["Status"] == "Terminated"
    assert ended["EndDate"] >= ended["StartDate"]
    active = dev_ssm.describe_sessions(State="Active", Filters=[{"key": "SessionId", "value": session_id}])
    assert active["Sessions"] == []


def test_terminate_is_idempotent_and_resume_of_unknown_fails(dev_ssm: Any) -> None:
    """Terminating an unknown session answers its id; resuming one is DoesNotExistException."""
    assert dev_ssm.terminate_session(SessionId="dev-user-00000000000000000")["SessionId"] == (
        "dev-user-00000000000000000"
    )
    assert (
        error_code(dev_ssm.resume_session, SessionId="dev-user-00000000000000000") == "DoesNotExistException"
    )


def test_sessions_are_private_to_their_account(
    started: dict[str, Any], demo_emulator: RunningEmulator
) -> None:
    """prod can neither see, resume nor terminate a dev session."""
    prod = demo_emulator.client("ssm", "prod", "eu-central-1")
    session_id = started["SessionId"]
    listed = prod.describe_sessions(State="Active", Filters=[{"key": "SessionId", "value": session_id}])
    assert listed["Sessions"] == []
    assert error_code(prod.resume_session, SessionId=session_id) == "DoesNotExistException"
    prod.terminate_session(SessionId=session_id)
    dev = demo_emulator.client("ssm", "dev", "eu-central-1")
    assert "TokenValue" in dev.resume_session(SessionId=session_id)


def test_describe_sessions_filters_and_pages(dev_ssm: Any) -> None:
    """Filters by target narrow the list, MaxResults pages it, and an unknown key is InvalidFilterKey."""
    target = by_name("dev", "api-1")
    ids = [dev_ssm.start_session(Target=target)["SessionId"] for _ in range(3)]
    try:
        mine = [{"key": "Target", "value": target}]
        first = dev_ssm.describe_sessions(State="Active", Filters=mine, MaxResults=2)
        assert len(first["Sessions"]) == 2
        rest = dev_ssm.describe_sessions(
            State="Active", Filters=mine, MaxResults=2, NextToken=first["NextToken"]
        )
        assert {s["SessionId"] for s in first["Sessions"] + rest["Sessions"]} == set(ids)
        assert [s["SessionId"] for s in first["Sessions"]] == ids[::-1][:2]  # newest first
        assert error_code(dev_ssm.describe_sessions, State="Sometimes") == "ValidationException"
    finally:
        for session_id in ids:
            dev_ssm.terminate_session(SessionId=session_id)


def test_get_connection_status(demo_emulator: RunningEmulator) -> None:
    """connected for an online running node, notconnected for offline, stopped and unknown ones."""
    dev = demo_emulator.client("ssm", "dev", "eu-central-1")
    assert dev.get_connection_status(Target=by_name("dev", "web-1"))["Status"] == "connected"
    assert dev.get_connection_status(Target=by_name("dev", "worker-1"))["Status"] == "notconnected"
    assert dev.get_connection_status(Target="i-0000000000000dead")["Status"] == "notconnected"
    prod_west = demo_emulator.client("ssm", "prod", "us-west-2")
    assert prod_west.get_connection_status(Target=by_name("prod", "batch-1"))["Status"] == "notconnected"
    prod = demo_emulator.client("ssm", "prod", "us-east-1")
    assert prod.get_connection_status(Target="mi-0123456789abcdef0")["Status"] == "connected"


async def _close_code(ssm: Any, url: str, token: str) -> int | None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    headers = upgrade_headers(url, ssm._request_signer._credentials, ssm.meta.region_name)
    async with connect(url, additional_headers=headers, open_timeout=10) as ws:
        await ws.send(json.dumps({"MessageSchemaVersion": "1.0", "RequestId": "r", "TokenValue": token}))
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


async def test_websocket_refuses_a_terminated_session(dev_ssm: Any) -> None:
    """After TerminateSession a signed dial to the session's StreamUrl is refused at its upgrade (403)."""
    from websockets.exceptions import InvalidStatus

    response = dev_ssm.start_session(Target=by_name("dev", "web-1"))
    dev_ssm.terminate_session(SessionId=response["SessionId"])
    with pytest.raises(InvalidStatus) as refused:
        await _close_code(dev_ssm, response["StreamUrl"], response["TokenValue"])
    assert refused.value.response.status_code == 403
    assert b"ended" in refused.value.response.body


async def test_websocket_refuses_a_wrong_token_after_a_signed_upgrade(dev_ssm: Any) -> None:
    """A signed dial to a live session whose first message has another token is closed (policy violation)."""
    response = dev_ssm.start_session(Target=by_name("dev", "web-1"))
    try:
        assert await _close_code(dev_ssm, response["StreamUrl"], "not-the-token") == 1008
    finally:
        dev_ssm.terminate_session(SessionId=response["SessionId"])
