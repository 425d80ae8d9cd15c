"""Session documents through the running emulator and boto3: GetDocument, DescribeDocument, CreateDocument."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ssmux.emulator.scenario import load_scenario
from tests.support.emulator import RunningEmulator

pytestmark = pytest.mark.e2e

DEMO = load_scenario("demo")
WEB1 = next(i.instance_id for i in DEMO.instances if i.profile == "dev" and i.name == "web-1")


@pytest.fixture
def dev_ssm(demo_emulator: RunningEmulator) -> Any:
    return demo_emulator.client("ssm", "dev", "eu-central-1")


def test_aws_documents_are_served_with_their_content(dev_ssm: Any) -> None:
    """GetDocument and DescribeDocument of AWS's Session documents answer as AWS does, through botocore."""
    got = dev_ssm.get_document(Name="AWS-StartNonInteractiveCommand")
    content = json.loads(got["Content"])
    assert content["sessionType"] == "NonInteractiveCommands"
    assert content["parameters"]["separateOutputStream"]["default"] == "false"
    assert got["DocumentType"] == "Session"
    described = dev_ssm.describe_document(Name="AWS-StartSSHSession")["Document"]
    assert described["Owner"] == "Amazon"
    assert described["CreatedDate"].year == 2019
    assert described["Parameters"][0]["DefaultValue"] == "22"
    preferences = json.loads(dev_ssm.get_document(Name="SSM-SessionManagerRunShell")["Content"])
    inputs = {"idleSessionTimeout", "maxSessionDuration", "kmsKeyId", "runAsEnabled", "shellProfile"}
    assert set(preferences["inputs"]) >= inputs
    with pytest.raises(ClientError) as caught:
        dev_ssm.get_document(Name="No-Such-Document-Here")
    assert caught.value.response["Error"]["Code"] == "InvalidDocument"


def test_a_created_document_starts_sessions(dev_ssm: Any) -> None:
    """CreateDocument then StartSession with it: its parameters are checked; GetDocument returns it."""
    name = f"Team-Forward-{uuid.uuid4().hex[:8]}"
    content = {
        "schemaVersion": "1.0",
        "sessionType": "Port",
        "parameters": {"portNumber": {"type": "String", "allowedPattern": "^(80|443)$", "default": "443"}},
        "properties": {"portNumber": "{{ portNumber }}", "type": "LocalPortForwarding"},
    }
    dev_ssm.create_document(Name=name, Content=json.dumps(content), DocumentType="Session")
    try:
        assert json.loads(dev_ssm.get_document(Name=name)["Content"]) == content
        session_id = dev_ssm.start_session(Target=WEB1, DocumentName=name)["SessionId"]
        dev_ssm.terminate_session(SessionId=session_id)
        with pytest.raises(ClientError) as caught:
            dev_ssm.start_session(Target=WEB1, DocumentName=name, Parameters={"portNumber": ["22"]})
        assert caught.value.response["Error"]["Code"] == "InvalidParameters"
    finally:
        dev_ssm.delete_document(Name=name)
