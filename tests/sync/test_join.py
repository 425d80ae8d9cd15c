"""Joining EC2 DescribeInstances with SSM DescribeInstanceInformation into inventory records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ssmux.sync.instance import UNMANAGED
from ssmux.sync.pair import join


def ec2(instance_id: str, state: str = "running", **extra: Any) -> dict[str, Any]:
    return {"InstanceId": instance_id, "State": {"Name": state}, **extra}


def info(instance_id: str, **extra: Any) -> dict[str, Any]:
    return {"InstanceId": instance_id, "PingStatus": "Online", "PlatformType": "Linux", **extra}


def run(
    ec2_items: list[dict[str, Any]], infos: list[dict[str, Any]], only_running: bool = False
) -> dict[str, Any]:
    found = join(ec2_items, infos, aws_profile="dev", region="eu-west-1", only_running=only_running, now=5.0)
    return {item.instance_id: item for item in found}


def test_ec2_fields_and_ssm_status_are_merged() -> None:
    """Names, addresses and placement come from EC2; agent status and platform from SSM."""
    launched = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    found = run(
        [
            ec2(
                "i-00000001",
                Tags=[{"Key": "Name", "Value": "web-1"}, {"Key": "team", "Value": "web"}],
                PrivateIpAddress="10.0.0.1",
                PublicIpAddress="1.2.3.4",
                PrivateDnsName="ip-10-0-0-1.eu-west-1.compute.internal",
                Placement={"AvailabilityZone": "eu-west-1b"},
                VpcId="vpc-9",
                LaunchTime=launched,
            )
        ],
        [info("i-00000001", AgentVersion="3.3.0", PlatformType="Windows")],
    )
    item = found["i-00000001"]
    assert (item.name, item.display_name, item.state) == ("web-1", "web-1 (i-00000001)", "running")
    assert item.tags == {"Name": "web-1", "team": "web"}
    assert (item.private_ip, item.public_ip) == ("10.0.0.1", "1.2.3.4")
    assert item.private_dns == "ip-10-0-0-1.eu-west-1.compute.internal"
    assert (item.availability_zone, item.vpc_id) == ("eu-west-1b", "vpc-9")
    assert item.launch_time == "2024-05-06T07:08:09+00:00"
    assert (item.ssm_managed, item.ping_status, item.agent_version, item.platform) == (
        True,
        "Online",
        "3.3.0",
        "windows",
    )
    assert (item.aws_profile, item.region, item.group, item.last_seen) == (
        "dev",
        "eu-west-1",
        "dev/eu-west-1",
        5.0,
    )


def test_missing_or_empty_name_means_the_id() -> None:
    """No Tags key, no Name tag, or an empty Name tag: the instance shows as its id, never breaks."""
    found = run(
        [
            ec2("i-00000001"),
            ec2("i-00000002", Tags=[{"Key": "team", "Value": "x"}]),
            ec2("i-00000003", Tags=[{"Key": "Name", "Value": ""}]),
            ec2("i-00000004", Tags=None),
        ],
        [],
    )
    assert {item.display_name for item in found.values()} == set(found)
    assert all(item.name is None for item in found.values())


def test_unmanaged_instances_are_kept_and_marked() -> None:
    """An instance SSM does not know is listed with ping status Unmanaged."""
    item = run([ec2("i-00000001", Platform="windows")], [])["i-00000001"]
    assert (item.ssm_managed, item.ping_status, item.agent_version, item.platform) == (
        False,
        UNMANAGED,
        "",
        "windows",
    )


def test_managed_nodes_without_ec2_instance_are_added() -> None:
    """An mi- node from SSM alone is listed with its SSM name, address and no EC2 state."""
    found = run(
        [ec2("i-00000001")],
        [
            info("i-00000001"),
            info(
                "mi-0123456789abcdef0",
                Name="onprem-db",
                IPAddress="192.168.1.9",
                ComputerName="db.local",
                ResourceType="ManagedInstance",
                PingStatus="ConnectionLost",
            ),
        ],
    )
    node = found["mi-0123456789abcdef0"]
    assert (node.name, node.state, node.private_ip, node.ping_status) == (
        "onprem-db",
        None,
        "192.168.1.9",
        "ConnectionLost",
    )
    assert node.display_name == "onprem-db (mi-0123456789abcdef0)"
    assert node.ssm_managed and node.platform == "linux"


def test_only_running_and_terminated() -> None:
    """Only running instances with only_running; terminated ones never; SSM rows of dropped ones ignored."""
    items = [ec2("i-00000001"), ec2("i-00000002", "stopped"), ec2("i-00000003", "terminated")]
    infos = [info("i-00000002", PingStatus="ConnectionLost"), info("i-00000003")]
    assert set(run(items, infos, only_running=True)) == {"i-00000001"}
    everything = run(items, infos)
    assert set(everything) == {"i-00000001", "i-00000002"}
    assert everything["i-00000002"].ping_status == "ConnectionLost"
