"""Denied profiles, throttling, latency and larger fleets, through a real emulator with a test scenario."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.emulator import RunningEmulator, start_emulator

pytestmark = pytest.mark.e2e

LATENCY_MS = 400
BIG = 120
SCENARIO = {
    "profiles": [
        {"name": "ok", "account_id": "444444444444", "region": "eu-west-1", "faults": {"throttle": 0}},
        {"name": "denied", "account_id": "555555555555", "region": "eu-west-1", "deny": True,
         "faults": {"throttle": 0}},
        {"name": "partial", "account_id": "666666666666", "region": "eu-west-1", "deny": ["ec2:Describe*"],
         "faults": {"throttle": 0}},
        {"name": "throttled", "account_id": "777777777777", "region": "eu-west-1",
         "faults": {"throttle": 1.0}},
        {"name": "slow", "account_id": "888888888888", "region": "eu-west-1",
         "faults": {"throttle": 0, "latency_ms": LATENCY_MS}},
        {"name": "coin", "account_id": "999999999999", "region": "eu-west-1"},
        {"name": "big", "account_id": "123123123123", "region": "eu-west-1", "faults": {"throttle": 0}},
    ],
    "instances": [
        *({"profile": name, "name": "box", "count": 2}
          for name in ("ok", "denied", "partial", "throttled", "slow")),
        {"profile": "big", "name": "node", "count": BIG},
    ],
}  # fmt: skip
NO_RETRIES = Config(retries={"total_max_attempts": 1})


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """An emulator whose command line throttles half the calls, with per-profile overrides."""
    tmp: Path = tmp_path_factory.mktemp("faulty-emulator")
    with start_emulator(SCENARIO, "--throttle", "0.5", "--seed", "11", tmp_dir=tmp) as running:
        yield running


def call_error(call: Any, **kwargs: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_denied_profile_gets_each_services_access_error(faulty: RunningEmulator) -> None:
    """deny: EC2 says UnauthorizedOperation (403), SSM and KMS AccessDeniedException; who-am-I still works."""
    ec2 = faulty.client("ec2", "denied", config=NO_RETRIES)
    ssm = faulty.client("ssm", "denied", config=NO_RETRIES)
    kms = faulty.client("kms", "denied", config=NO_RETRIES)
    assert call_error(ec2.describe_instances) == ("UnauthorizedOperation", 403)
    assert call_error(ssm.describe_instance_information) == ("AccessDeniedException", 400)
    box = faulty.client("ec2", "ok").describe_instances()["Reservations"][0]["Instances"][0]["InstanceId"]
    assert call_error(ssm.start_session, Target=box)[0] == "AccessDeniedException"
    assert call_error(kms.list_keys)[0] == "AccessDeniedException"
    assert faulty.client("sts", "denied").get_caller_identity()["Account"] == "555555555555"


def test_partial_deny_refuses_only_what_it_names(faulty: RunningEmulator) -> None:
    """deny ["ec2:Describe*"]: DescribeInstances is refused while SSM calls still work."""
    ec2 = faulty.client("ec2", "partial", config=NO_RETRIES)
    assert call_error(ec2.describe_instances)[0] == "UnauthorizedOperation"
    nodes = faulty.client("ssm", "partial").describe_instance_information()["InstanceInformationList"]
    assert len(nodes) == 2


def test_throttled_profile_gets_throttling_errors(faulty: RunningEmulator) -> None:
    """throttle 1.0: EC2 RequestLimitExceeded (503), SSM ThrottlingException, STS Throttling; others fine."""
    ec2 = faulty.client("ec2", "throttled", config=NO_RETRIES)
    ssm = faulty.client("ssm", "throttled", config=NO_RETRIES)
    sts = faulty.client("sts", "throttled", config=NO_RETRIES)
    assert call_error(ec2.describe_instances) == ("RequestLimitExceeded", 503)
    assert call_error(ssm.describe_instance_information) == ("ThrottlingException", 400)
    assert call_error(sts.get_caller_identity)[0] == "Throttling"
    assert len(faulty.client("ec2", "ok", config=NO_RETRIES).describe_instances()["Reservations"]) == 2


def test_command_line_throttle_hits_some_calls(faulty: RunningEmulator) -> None:
    """--throttle 0.5 with no override refuses some calls and lets others through."""
    ssm = faulty.client("ssm", "coin", config=NO_RETRIES)
    outcomes = []
    for _ in range(40):
        try:
            ssm.describe_instance_information()
            outcomes.append("ok")
        except ClientError as error:
            outcomes.append(error.response["Error"]["Code"])
    assert set(outcomes) == {"ok", "ThrottlingException"}


def test_profile_latency_delays_its_calls(faulty: RunningEmulator) -> None:
    """latency_ms 400 on a profile: each of its calls takes at least 400 ms (a lower bound, never flaky)."""
    ec2 = faulty.client("ec2", "slow")
    ec2.describe_instances()  # connection set up outside the measurement
    began = time.perf_counter()
    ec2.describe_instances()
    assert time.perf_counter() - began >= LATENCY_MS / 1000


def test_pages_of_a_bigger_fleet(faulty: RunningEmulator) -> None:
    """120 instances: DescribeInstances pages of 5 give all 120 once; instance information pages of 50."""
    ec2 = faulty.client("ec2", "big")
    pages = list(ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 5}))
    assert len(pages) == BIG // 5
    ids = [i["InstanceId"] for page in pages for r in page["Reservations"] for i in r["Instances"]]
    assert len(ids) == len(set(ids)) == BIG
    whole = ec2.describe_instances(MaxResults=1000)
    assert sum(len(r["Instances"]) for r in whole["Reservations"]) == BIG
    assert "NextToken" not in whole
    ssm = faulty.client("ssm", "big")
    sizes = [
        len(page["InstanceInformationList"])
        for page in ssm.get_paginator("describe_instance_information").paginate(
            PaginationConfig={"PageSize": 50}
        )
    ]
    assert sizes == [50, 50, 20]


def test_unknown_access_key_is_not_a_caller_of_ours(faulty: RunningEmulator) -> None:
    """Keys of no scenario profile: the SSM session calls answer UnrecognizedClientException."""
    import boto3

    ssm = boto3.client(
        "ssm", region_name="eu-west-1", endpoint_url=faulty.endpoint, config=NO_RETRIES,
        aws_access_key_id="AKIANOTAPROFILE00000", aws_secret_access_key="x",
    )  # fmt: skip
    assert call_error(ssm.describe_instance_information)[0] == "UnrecognizedClientException"
