"""EC2, STS and KMS through the real emulator process, as boto3 and the aws CLI see them (demo scenario)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError

from ssmux.emulator.scenario import load_scenario

if TYPE_CHECKING:
    from tests.support.emulator import RunningEmulator

pytest_plugins = ["tests.support.emulator"]
pytestmark = pytest.mark.e2e

DEMO = load_scenario("demo")


def names(reservations: list[dict]) -> dict[str, str | None]:
    """instance id -> Name tag (None without one)."""
    result = {}
    for reservation in reservations:
        for instance in reservation["Instances"]:
            tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
            result[instance["InstanceId"]] = tags.get("Name")
    return result


def test_each_profile_sees_only_its_own_account(demo_emulator: RunningEmulator) -> None:
    """dev and prod are separate accounts: each lists exactly its scenario instances of that region."""
    for profile in DEMO.profiles:
        for region in DEMO.regions(profile):
            client = demo_emulator.client("ec2", profile.name, region)
            listed = names(client.describe_instances()["Reservations"])
            expected = {
                i.instance_id: i.name
                for i in DEMO.instances_in(profile.account_id, region)
                if not i.is_managed_node
            }
            assert listed == expected, (profile.name, region)


def test_caller_identity_names_the_account_and_user(demo_emulator: RunningEmulator) -> None:
    """sts get-caller-identity answers each profile's own account and IAM user."""
    for profile in DEMO.profiles:
        identity = demo_emulator.client("sts", profile.name).get_caller_identity()
        assert identity["Account"] == profile.account_id
        assert identity["Arn"] == profile.owner_arn


def test_instances_carry_state_tags_and_platform(demo_emulator: RunningEmulator) -> None:
    """Stopped instances are stopped, the Windows one says so, tags and the missing Name tag are kept."""
    client = demo_emulator.client("ec2", "dev", "eu-central-1")
    instances = {
        i["InstanceId"]: i for r in client.describe_instances()["Reservations"] for i in r["Instances"]
    }
    for spec in DEMO.instances_in("111111111111", "eu-central-1"):
        instance = instances[spec.instance_id]
        assert instance["State"]["Name"] == spec.state
        tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
        assert tags.get("team") == spec.tags["team"]
        assert ("Name" in tags) == (spec.name is not None)
        assert instance["PrivateIpAddress"]
    windows = next(i for i in DEMO.instances if i.platform == "windows")
    prod = demo_emulator.client("ec2", "prod", windows.region)
    (reservation,) = prod.describe_instances(InstanceIds=[windows.instance_id])["Reservations"]
    assert reservation["Instances"][0]["Platform"] == "windows"
    assert reservation["Instances"][0]["PlatformDetails"] == "Windows"


def test_describe_instances_pages_by_instance(demo_emulator: RunningEmulator) -> None:
    """MaxResults counts instances: 6 instances in pages of 5 come as 5 then 1, none twice."""
    client = demo_emulator.client("ec2", "dev", "eu-central-1")
    first = client.describe_instances(MaxResults=5)
    assert sum(len(r["Instances"]) for r in first["Reservations"]) == 5
    second = client.describe_instances(MaxResults=5, NextToken=first["NextToken"])
    assert sum(len(r["Instances"]) for r in second["Reservations"]) == 1
    assert "NextToken" not in second
    seen = set(names(first["Reservations"])) | set(names(second["Reservations"]))
    assert len(seen) == 6


def test_describe_instances_filters(demo_emulator: RunningEmulator) -> None:
    """Filters on state and tags narrow the list as on AWS, wildcards included."""
    client = demo_emulator.client("ec2", "dev", "eu-central-1")
    stopped = client.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["stopped"]}])
    assert set(names(stopped["Reservations"]).values()) == {"worker-1"}
    web = client.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["web-*"]}])
    assert sorted(names(web["Reservations"]).values()) == ["web-1", "web-2", "web-3"]
    team = client.describe_instances(
        Filters=[
            {"Name": "tag:team", "Values": ["web", "api"]},
            {"Name": "instance-state-name", "Values": ["running"]},
        ]
    )
    assert sorted(names(team["Reservations"]).values()) == ["api-1", "web-1", "web-2", "web-3"]


def test_describe_instances_errors_like_ec2(demo_emulator: RunningEmulator) -> None:
    """Bad MaxResults, an unknown filter and an unknown id give EC2's error codes."""
    client = demo_emulator.client("ec2", "dev", "eu-central-1")
    with pytest.raises(ClientError) as caught:
        client.describe_instances(MaxResults=2000)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as caught:
        client.describe_instances(Filters=[{"Name": "colour", "Values": ["red"]}])
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as caught:
        client.describe_instances(InstanceIds=["i-0000000000000dead"])
    assert caught.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"


def test_ec2_changes_through_moto_show_in_listings(demo_emulator: RunningEmulator) -> None:
    """An instance launched, tagged and stopped through the API is listed that way (moto's state is ours)."""
    client = demo_emulator.client("ec2", "dev", "eu-west-1")
    launched = client.run_instances(
        ImageId="ami-0a1b2c3d4e5f60718", MinCount=1, MaxCount=1, InstanceType="t3.micro"
    )
    instance_id = launched["Instances"][0]["InstanceId"]
    try:
        client.create_tags(Resources=[instance_id], Tags=[{"Key": "Name", "Value": "made-by-test"}])
        client.stop_instances(InstanceIds=[instance_id])
        (reservation,) = client.describe_instances(InstanceIds=[instance_id])["Reservations"]
        (instance,) = reservation["Instances"]
        assert instance["State"]["Name"] == "stopped"
        assert {"Key": "Name", "Value": "made-by-test"} in instance["Tags"]
    finally:
        client.terminate_instances(InstanceIds=[instance_id])
    # Launched outside the scenario, it has no SSM agent: a session to it is refused as not connected.
    with pytest.raises(ClientError) as caught:
        demo_emulator.client("ssm", "dev", "eu-west-1").start_session(Target=instance_id)
    assert caught.value.response["Error"]["Code"] == "TargetNotConnected"


def test_kms_key_alias_lives_in_the_encrypted_profile_only(demo_emulator: RunningEmulator) -> None:
    """prod has alias/ssm in both its regions and can make a data key with it; dev has no such alias."""
    for region in DEMO.regions(DEMO.profile("prod")):
        kms = demo_emulator.client("kms", "prod", region)
        aliases = {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
        assert "alias/ssm" in aliases
        key = kms.generate_data_key(KeyId="alias/ssm", NumberOfBytes=64, EncryptionContext={"a": "b"})
        assert len(key["Plaintext"]) == 64
        assert key["KeyId"].startswith("arn:aws:kms:" + region + ":222222222222:key/")
    dev = demo_emulator.client("kms", "dev")
    assert "alias/ssm" not in {a["AliasName"] for a in dev.list_aliases()["Aliases"]}


def test_config_files_name_every_profile(demo_emulator: RunningEmulator) -> None:
    """The config file has each profile with its region and the endpoint; credentials are owner-only."""
    config = demo_emulator.aws_config_file.read_text()
    for profile in DEMO.profiles:
        assert (
            f"[profile {profile.name}]\nregion = {profile.region}\nendpoint_url = {demo_emulator.endpoint}"
            in config
        )
    assert demo_emulator.aws_shared_credentials_file.stat().st_mode & 0o077 == 0


@pytest.mark.skipif(shutil.which("aws") is None, reason="the aws CLI is not installed")
def test_aws_cli_reaches_the_emulator_with_only_the_two_files(demo_emulator: RunningEmulator) -> None:
    """The installed aws CLI honours endpoint_url from the config file: no --endpoint-url needed."""
    env = {"PATH": os.environ["PATH"], "HOME": str(demo_emulator.log_file.parent), **demo_emulator.env()}
    result = subprocess.run(
        ["aws", "--profile", "dev", "ec2", "describe-instances", "--region", "eu-west-1"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    listed = names(json.loads(result.stdout)["Reservations"])
    assert {"bastion", "legacy-app", "cache-1"} <= {name for name in listed.values() if name}
