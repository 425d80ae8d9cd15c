"""The lean DescribeInstances reader gives the sync exactly what botocore's full parse gives it."""

from __future__ import annotations

from typing import Any

import pytest

from ssmux.core import aws
from ssmux.sync import ec2
from ssmux.sync.instance import COLUMNS, EC2_TEXT_COLUMNS
from ssmux.sync.pair import join
from tests.support.emulator import RunningEmulator

SYNC_FIELDS = ("InstanceId", "State", "Platform", "PrivateIpAddress", "PublicIpAddress", "PrivateDnsName",
               "Placement", "VpcId", "LaunchTime", "Tags")  # fmt: skip


def instances(response: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for reservation in response["Reservations"] for item in reservation["Instances"]]


@pytest.mark.e2e
def test_lean_reader_matches_botocore_through_the_emulator(
    demo: RunningEmulator, monkeypatch: pytest.MonkeyPatch, aws_clients: aws.AwsClients
) -> None:
    """Every field the sync reads, and the join built on them, is the same with the lean reader as without."""
    demo.apply(monkeypatch)
    full = aws_clients.client("ec2", "prod", "us-east-1")
    lean = aws_clients.client("ec2", "prod", "us-east-1", tag="lean-test")
    ec2.install(lean)
    assert full is not lean
    expected = instances(full.describe_instances())
    got = instances(lean.describe_instances())
    assert len(got) == len(expected) == 4  # web-1, web-2, db-1, win-ad (the mi- node is no EC2 instance)
    for want, have in zip(expected, got, strict=True):
        narrowed = {key: want[key] for key in SYNC_FIELDS if key in want}
        narrowed["State"] = {"Name": want["State"]["Name"]}
        narrowed["Placement"] = {"AvailabilityZone": want["Placement"]["AvailabilityZone"]}
        assert have == narrowed
    assert join(got, [], aws_profile="prod", region="us-east-1", only_running=False, now=1.0) == join(
        expected, [], aws_profile="prod", region="us-east-1", only_running=False, now=1.0
    )
    # Errors still come through botocore as usual.
    with pytest.raises(Exception, match="InvalidInstanceID"):
        lean.describe_instances(InstanceIds=["i-0fffffffffffffff0"])


def test_declared_ec2_columns_are_the_fields_the_sync_reads() -> None:
    """The instance columns say where EC2 has them in both shapes, and together they are the sync's fields."""
    assert all(bool(column.ec2) == bool(column.ec2_xml) for column in COLUMNS)
    declared = {column.ec2[0] for column in EC2_TEXT_COLUMNS}
    assert declared | {"LaunchTime", "Tags"} == set(SYNC_FIELDS)  # those two are not plain text


def test_pages_and_nested_fields() -> None:
    """NextToken is kept; fields nested in network interfaces are not mistaken for the instance's own."""
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
    <DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
      <requestId>r1</requestId>
      <reservationSet><item><reservationId>r-1</reservationId><instancesSet><item>
        <instanceId>i-0123456789abcdef0</instanceId>
        <instanceState><code>80</code><name>stopped</name></instanceState>
        <networkInterfaceSet><item><privateIpAddress>10.9.9.9</privateIpAddress>
          <tagSet><item><key>eni</key><value>x</value></item></tagSet></item></networkInterfaceSet>
        <launchTime>2024-02-03T04:05:06.000Z</launchTime>
      </item></instancesSet></item></reservationSet>
      <nextToken>page-2</nextToken>
    </DescribeInstancesResponse>"""
    parsed = ec2.parse_describe_instances(body)
    assert parsed["NextToken"] == "page-2"
    [instance] = instances(parsed)
    assert set(instance) == {"InstanceId", "State", "LaunchTime"}
    assert instance["State"] == {"Name": "stopped"}
    assert instance["LaunchTime"].isoformat() == "2024-02-03T04:05:06+00:00"
