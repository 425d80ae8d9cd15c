"""The emulator's SSM DescribeInstanceProperties, through the real process and boto3, as the sync uses it."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from ssmux.emulator.scenario import load_scenario
from tests.support.emulator import RunningEmulator

pytestmark = pytest.mark.e2e

DEMO = load_scenario("demo")


def by_name(profile: str, region: str, name: str | None) -> str:
    """Instance id of the demo instance called ``name`` in ``profile``/``region``."""
    return next(
        i.instance_id for i in DEMO.instances if (i.profile, i.region, i.name) == (profile, region, name)
    )


def error_code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return str(caught.value.response["Error"]["Code"])


def properties(ssm: Any, **kwargs: Any) -> dict[str, dict[str, Any]]:
    return {p["InstanceId"]: p for p in ssm.describe_instance_properties(**kwargs)["InstanceProperties"]}


def test_lists_managed_nodes_with_ec2_fields(demo: RunningEmulator) -> None:
    """prod us-east-1: its 4 instances and the mi- node, with SSM's and EC2's fields, names included."""
    nodes = properties(demo.client("ssm", "prod", "us-east-1"))
    assert set(nodes) == {i.instance_id for i in DEMO.instances_in("222222222222", "us-east-1")}
    web = nodes[by_name("prod", "us-east-1", "web-1")]
    assert (web["Name"], web["PingStatus"], web["PlatformType"], web["ResourceType"]) == (
        "web-1", "Online", "Linux", "EC2Instance"
    )  # fmt: skip
    assert web["InstanceState"] == "running" and web["InstanceType"] and web["Architecture"]
    assert web["AvailabilityZone"].startswith("us-east-1") and web["LaunchTime"].tzinfo is not None
    assert web["AgentVersion"] and web["IPAddress"] and web["ComputerName"]
    assert nodes[by_name("prod", "us-east-1", "win-ad")]["PlatformType"] == "Windows"
    node = nodes["mi-0123456789abcdef0"]
    assert (node["Name"], node["ResourceType"], node["SourceType"]) == (
        "onprem-db", "ManagedInstance", "AWS::SSM::ManagedInstance"
    )  # fmt: skip
    assert "InstanceState" not in node and node["RegistrationDate"] < node["LastPingDateTime"]


def test_unmanaged_and_lost_nodes(demo: RunningEmulator) -> None:
    """An instance without an agent is not listed; stopped and offline ones are ConnectionLost."""
    west = properties(demo.client("ssm", "dev", "eu-west-1"))
    assert by_name("dev", "eu-west-1", "legacy-app") not in west
    assert west[by_name("dev", "eu-west-1", "cache-1")]["PingStatus"] == "ConnectionLost"
    assert west[by_name("dev", "eu-west-1", "cache-1")]["InstanceState"] == "stopped"
    batch = properties(demo.client("ssm", "prod", "us-west-2"))[by_name("prod", "us-west-2", "batch-1")]
    assert batch["PingStatus"] == "ConnectionLost"


def test_pages_up_to_1000(demo: RunningEmulator) -> None:
    """MaxResults 5 over 6 nodes gives 5 then 1; the paginator collects all; AWS's bounds are 5..1000."""
    ssm = demo.client("ssm", "dev", "eu-central-1")
    first = ssm.describe_instance_properties(MaxResults=5)
    assert len(first["InstanceProperties"]) == 5
    second = ssm.describe_instance_properties(MaxResults=5, NextToken=first["NextToken"])
    assert len(second["InstanceProperties"]) == 1 and "NextToken" not in second
    every = [
        p["InstanceId"]
        for page in ssm.get_paginator("describe_instance_properties").paginate(
            PaginationConfig={"PageSize": 5}
        )
        for p in page["InstanceProperties"]
    ]
    assert sorted(every) == sorted(i.instance_id for i in DEMO.instances_in("111111111111", "eu-central-1"))
    assert len(ssm.describe_instance_properties(MaxResults=1000)["InstanceProperties"]) == 6
    assert error_code(ssm.describe_instance_properties, MaxResults=1001) == "ValidationException"
    assert error_code(ssm.describe_instance_properties, NextToken="garbage") == "InvalidNextToken"


def test_filters(demo: RunningEmulator) -> None:
    """Both filter forms: key/valueSet, and Key/Values with Equal, NotEqual, BeginWith; bad keys refused."""
    ssm = demo.client("ssm", "prod", "us-east-1")
    windows = by_name("prod", "us-east-1", "win-ad")
    everything = set(properties(ssm))

    def where(operator: str, key: str, *values: str) -> set[str]:
        return set(
            properties(ssm, FiltersWithOperator=[{"Key": key, "Values": list(values), "Operator": operator}])
        )

    listed = properties(ssm, InstancePropertyFilterList=[{"key": "PlatformTypes", "valueSet": ["Windows"]}])
    assert set(listed) == {windows}
    assert where("BeginWith", "InstanceIds", "mi-") == {"mi-0123456789abcdef0"}
    assert where("NotEqual", "PlatformTypes", "Windows") == everything - {windows}
    assert where("Equal", "PingStatus", "Online") == everything
    assert set(properties(ssm, FiltersWithOperator=[{"Key": "tag:team", "Values": ["data"]}])) == {
        by_name("prod", "us-east-1", "db-1"), "mi-0123456789abcdef0"
    }  # fmt: skip
    assert (
        error_code(
            ssm.describe_instance_properties,
            InstancePropertyFilterList=[{"key": "Colour", "valueSet": ["x"]}],
        )
        == "InvalidFilterKey"
    )
    assert (
        error_code(ssm.describe_instance_properties, FiltersWithOperator=[{"Key": "Colour", "Values": ["x"]}])
        == "InvalidFilterKey"
    )


def test_faults_apply(fleet_emulator: RunningEmulator) -> None:
    """A denied profile is refused (AccessDeniedException), a throttled one is throttled."""
    denied = fleet_emulator.client("ssm", "denied", "eu-central-1")
    assert error_code(denied.describe_instance_properties) == "AccessDeniedException"
    throttled = fleet_emulator.client(
        "ssm", "throttled", "eu-central-1", config=Config(retries={"total_max_attempts": 1})
    )
    assert error_code(throttled.describe_instance_properties) == "ThrottlingException"
