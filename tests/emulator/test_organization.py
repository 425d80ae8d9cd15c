"""A generated IAM Identity Center organization (``sso.generate``): the built-in 300-account ``organization``
served by a real emulator process, signed in to through its portal, its accounts listed with their roles'
keys, and its fault rules (throttled accounts, a role denied ec2:DescribeInstances) seen from boto3."""

from __future__ import annotations

import configparser
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from ssmux.emulator.scenario import Scenario, ScenarioProfile, load_scenario
from tests.support.emulator import RunningEmulator, start_emulator

pytest_plugins = ["tests.support.emulator"]

NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})  # one attempt, no retry


@pytest.fixture(scope="module")
def organization() -> Scenario:
    return load_scenario("organization")


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator("organization", "--fast", tmp_dir=tmp_path_factory.mktemp("org")) as running:
        yield running


@pytest.fixture(scope="module")
def token(emulator: RunningEmulator, organization: Scenario) -> str:
    """An access token from the emulator's (auto-approving) device flow, as ``aws sso login`` gets one."""
    assert organization.sso is not None
    oidc = _unsigned(emulator, "sso-oidc")
    client = oidc.register_client(clientName="test", clientType="public")
    device = oidc.start_device_authorization(
        clientId=client["clientId"],
        clientSecret=client["clientSecret"],
        startUrl=organization.sso.start_url,
    )
    answer = oidc.create_token(
        clientId=client["clientId"],
        clientSecret=client["clientSecret"],
        grantType="urn:ietf:params:oauth:grant-type:device_code",
        deviceCode=device["deviceCode"],
    )
    return str(answer["accessToken"])


def test_every_account_and_role_lists_through_the_portal(emulator: RunningEmulator, token: str) -> None:
    """ListAccounts pages through all 300 generated accounts; each has the three roles."""
    portal = _unsigned(emulator, "sso")
    pages = list(portal.get_paginator("list_accounts").paginate(accessToken=token))
    accounts = [account for page in pages for account in page["accountList"]]
    assert len(pages) == 15  # the portal's pages of 20
    assert len(accounts) == 300
    assert accounts[0] == {
        "accountId": "100000000001",
        "accountName": "team-001",
        "emailAddress": "aws+team-001@example.com",
    }
    assert accounts[-1]["accountName"] == "team-300"
    roles = portal.list_account_roles(accessToken=token, accountId="100000000123")["roleList"]
    assert [role["roleName"] for role in roles] == ["AdministratorAccess", "ReadOnlyAccess", "Developer"]


def test_role_credentials_list_that_accounts_instances(emulator: RunningEmulator, token: str) -> None:
    """A role's keys list its own account's 20 instances per region, and SSM knows them as online nodes."""
    for account_id in ("100000000007", "100000000299"):
        ec2 = _role_client(emulator, token, account_id, "AdministratorAccess", "ec2", "eu-central-1")
        instances = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
        assert len(instances) == 20
        assert {i["OwnerId"] for i in ec2.describe_instances()["Reservations"]} == {account_id}
        names = sorted(next(t["Value"] for t in i["Tags"] if t["Key"] == "Name") for i in instances)
        assert names == sorted(f"node-{n}" for n in range(1, 21))
    ssm = _role_client(emulator, token, "100000000007", "Developer", "ssm", "us-west-2")
    every = [n for page in ssm.get_paginator("describe_instance_information").paginate() for n in
             page["InstanceInformationList"]]  # fmt: skip
    assert len(every) == 20 and {n["PingStatus"] for n in every} == {"Online"}


def test_first_calls_at_once_into_a_fresh_account_see_its_instances_once(
    emulator: RunningEmulator, token: str
) -> None:
    """Eight first calls racing into one account and region (seeded on first use) all list the same 20."""
    clients = [
        _role_client(emulator, token, "100000000250", "Developer", "ec2", "eu-central-1") for _ in range(8)
    ]
    with ThreadPoolExecutor(len(clients)) as pool:
        listings = list(pool.map(lambda ec2: _instance_ids(ec2.describe_instances()), clients))
    assert len(listings[0]) == 20
    assert all(listing == listings[0] for listing in listings)


def test_role_keys_are_the_assumed_role(emulator: RunningEmulator, token: str) -> None:
    """GetCallerIdentity with a role's keys names the account and the AWSReservedSSO role, as AWS does."""
    sts = _role_client(emulator, token, "100000000017", "Developer", "sts", "eu-west-1")
    identity = sts.get_caller_identity()
    assert identity["Account"] == "100000000017"
    assert identity["Arn"].startswith("arn:aws:sts::100000000017:assumed-role/AWSReservedSSO_Developer_")
    assert identity["UserId"].startswith("AROA")


def test_a_generated_account_is_moto_for_everything_else(emulator: RunningEmulator, token: str) -> None:
    """Stopping one of its instances through the API shows in DescribeInstances, as in any account."""
    ec2 = _role_client(emulator, token, "100000000042", "AdministratorAccess", "ec2", "us-east-1")
    first = ec2.describe_instances(MaxResults=5)["Reservations"][0]["Instances"][0]["InstanceId"]
    ec2.stop_instances(InstanceIds=[first])
    state = ec2.describe_instances(InstanceIds=[first])["Reservations"][0]["Instances"][0]["State"]
    assert state["Name"] == "stopped"
    other = _role_client(emulator, token, "100000000043", "AdministratorAccess", "ec2", "us-east-1")
    assert first not in {i["InstanceId"] for r in other.describe_instances()["Reservations"]
                         for i in r["Instances"]}  # fmt: skip


def test_throttled_accounts_are_throttled_at_their_rate(
    emulator: RunningEmulator, token: str, organization: Scenario
) -> None:
    """An account the throttle rule picked refuses about 30% of calls, with EC2's and SSM's own codes."""
    throttled = _faulted(organization, "throttle")
    assert len(throttled) == 30  # the rule's share: 10% of 300
    throttled = [p for p in throttled if "latency_ms" not in (p.faults or {})]  # not slow too: a fast test
    calm = next(p for p in organization.hidden if not p.faults and not p.deny)
    ec2 = _role_client(emulator, token, throttled[0].account_id, "Developer", "ec2", "eu-west-1")
    codes = [_error_code(ec2.describe_instances) for _ in range(60)]
    refused = codes.count("RequestLimitExceeded")
    assert set(codes) <= {"", "RequestLimitExceeded"}
    assert 6 <= refused <= 30  # 18 expected; the draws are seeded, so this never flakes
    ssm = _role_client(emulator, token, throttled[1].account_id, "Developer", "ssm", "eu-west-1")
    assert "ThrottlingException" in {_error_code(ssm.describe_instance_information) for _ in range(30)}
    steady = _role_client(emulator, token, calm.account_id, "Developer", "ec2", "eu-west-1")
    assert {_error_code(steady.describe_instances) for _ in range(30)} == {""}


def test_a_denied_role_gets_unauthorized_operation(
    emulator: RunningEmulator, token: str, organization: Scenario
) -> None:
    """Where the deny rule picked, ReadOnlyAccess lacks ec2:DescribeInstances; other roles do not."""
    assert organization.sso is not None
    denied = [g for g in organization.sso.grants if g.deny]
    assert len(denied) == 15 and {g.role for g in denied} == {"ReadOnlyAccess"}
    account_id = denied[0].account_id
    reader = _role_client(emulator, token, account_id, "ReadOnlyAccess", "ec2", "us-west-2")
    with pytest.raises(ClientError) as refused:
        reader.describe_instances()
    assert refused.value.response["Error"]["Code"] == "UnauthorizedOperation"
    assert "assumed-role/AWSReservedSSO_ReadOnlyAccess_" in refused.value.response["Error"]["Message"]
    admin = _role_client(emulator, token, account_id, "AdministratorAccess", "ec2", "us-west-2")
    assert sum(len(r["Instances"]) for r in admin.describe_instances()["Reservations"]) == 20


def test_the_aws_config_has_only_the_sso_session_and_profile(emulator: RunningEmulator) -> None:
    """No per-account profiles: the config holds the sso-session and the ``sso`` profile, no keys at all."""
    config = configparser.ConfigParser()
    config.read(emulator.aws_config_file)
    assert config.sections() == ["sso-session org", "profile sso"]
    assert config["profile sso"]["sso_account_id"] == "100000000001"
    assert config["profile sso"]["sso_role_name"] == "AdministratorAccess"
    credentials = configparser.ConfigParser()
    credentials.read(emulator.aws_shared_credentials_file)
    assert credentials.sections() == []
    assert len(emulator.aws_config_file.read_text().splitlines()) < 20


def _unsigned(emulator: RunningEmulator, service: str) -> Any:
    config = Config(signature_version=UNSIGNED, retries={"max_attempts": 1})
    return boto3.client(service, region_name="us-east-1", endpoint_url=emulator.endpoint, config=config)


def _role_client(
    emulator: RunningEmulator, token: str, account_id: str, role: str, service: str, region: str
) -> Any:
    """A client signed with the keys GetRoleCredentials hands out for ``role`` in ``account_id``."""
    keys = _unsigned(emulator, "sso").get_role_credentials(
        accessToken=token, accountId=account_id, roleName=role
    )["roleCredentials"]
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=emulator.endpoint,
        aws_access_key_id=keys["accessKeyId"],
        aws_secret_access_key=keys["secretAccessKey"],
        aws_session_token=keys["sessionToken"],
        config=NO_RETRIES,
    )


def _instance_ids(answer: dict[str, Any]) -> list[str]:
    return [i["InstanceId"] for r in answer["Reservations"] for i in r["Instances"]]


def _faulted(organization: Scenario, option: str) -> list[ScenarioProfile]:
    return [p for p in organization.hidden if p.faults and option in p.faults]


def _error_code(call: Any) -> str:
    try:
        call()
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return ""
