"""``sso.generate`` parsed: the accounts, grants, instances and fault rules it expands to, and its errors."""

from __future__ import annotations

import configparser
import re
from pathlib import Path
from typing import Any

import pytest

from ssmux.emulator.awsconfig import write_aws_config
from ssmux.emulator.scenario import Scenario, parse_scenario
from ssmux.errors import InvalidValue


def organization(**generate: Any) -> dict[str, Any]:
    block = {"accounts": 50, "roles": ["Admin", "ReadOnly"], "regions": ["eu-west-1", "us-east-1"],
             "instances": 3, **generate}  # fmt: skip
    return {"sso": {"session": "org", "generate": block}}


def parsed(data: dict[str, Any]) -> Scenario:
    return parse_scenario(data, source="test")


def test_accounts_grants_and_instances_are_generated() -> None:
    """50 accounts, two roles each, three instances per account and region, all under hidden profiles."""
    scenario = parsed(organization())
    assert scenario.profiles == ()
    assert [p.name for p in scenario.hidden[:2]] == ["team-001", "team-002"]
    assert scenario.hidden[-1].account_id == "100000000050"
    assert scenario.sso is not None
    assert scenario.sso.accounts[0] == ("100000000001", "team-001", "aws+team-001@example.com")
    assert [g.name for g in scenario.sso.grants[:2]] == ["team-001/Admin", "team-001/ReadOnly"]
    assert len(scenario.instances) == 50 * 2 * 3
    assert [i.name for i in scenario.instances_in("100000000002", "us-east-1")] == [
        "node-1",
        "node-2",
        "node-3",
    ]
    assert scenario.regions(scenario.hidden[0]) == ("eu-west-1", "us-east-1")
    grant = scenario.sso.grants[3]
    assert scenario.profile_for_key(grant.access_key_id) == grant


def test_a_share_picks_the_same_accounts_every_time() -> None:
    """A rule's share is that many accounts (at least one), drawn from the seed: the same in every load."""
    rules = [{"accounts": 0.1, "throttle": 0.5}, {"accounts": 0.001, "latency_ms": 100}, {"accounts": 0}]
    first, again = parsed(organization(faults=rules)), parsed(organization(faults=rules))
    throttled = [p.name for p in first.hidden if p.faults and "throttle" in p.faults]
    slow = [p.name for p in first.hidden if p.faults and "latency_ms" in p.faults]
    assert len(throttled) == 5 and len(slow) == 1
    assert throttled == [p.name for p in again.hidden if p.faults and "throttle" in p.faults]
    reseeded = parsed(organization(faults=rules, seed=99))
    assert throttled != [p.name for p in reseeded.hidden if p.faults and "throttle" in p.faults]
    assert first.sso is not None
    # An account-wide rule reaches every role grant of the account.
    assert {g.name.split("/")[0] for g in first.sso.grants if g.faults and "throttle" in g.faults} == set(
        throttled
    )


def test_a_rule_for_some_roles_and_named_accounts() -> None:
    """Patterns pick accounts by name or id; with roles, only those roles' grants are denied."""
    rules = [
        {"accounts": ["team-00*", "100000000042"], "roles": ["ReadOnly"], "deny": ["ec2:DescribeInstances"]}
    ]
    scenario = parsed(organization(faults=rules))
    assert scenario.sso is not None
    denied = [g.name for g in scenario.sso.grants if g.deny]
    assert denied == [f"team-00{n}/ReadOnly" for n in range(1, 10)] + ["team-042/ReadOnly"]
    grant = next(g for g in scenario.sso.grants if g.name == "team-042/ReadOnly")
    assert grant.denies("ec2:DescribeInstances") and not grant.denies("ssm:StartSession")
    assert not any(p.deny for p in scenario.hidden)


def test_written_profiles_and_a_generated_organization_together(tmp_path: Path) -> None:
    """Only written profiles and the sso session and profile reach the AWS config files."""
    data = organization(instance={"name": "web", "platform": "windows"})
    data["profiles"] = [{"name": "dev", "account_id": "111111111111", "region": "eu-central-1"}]
    data["instances"] = [{"profile": "team-003", "name": "extra"}]
    scenario = parsed(data)
    assert scenario.profile("team-003") is not None
    assert [i.name for i in scenario.instances_in("100000000003", "eu-west-1")] == [
        "extra",
        "web-1",
        "web-2",
        "web-3",
    ]
    assert scenario.instances[-1].platform == "windows"
    files = write_aws_config(tmp_path, scenario, "http://127.0.0.1:1")
    config = configparser.ConfigParser()
    config.read(files.config_file)
    assert config.sections() == ["profile dev", "sso-session org", "profile sso"]
    credentials = configparser.ConfigParser()
    credentials.read(files.credentials_file)
    assert credentials.sections() == ["dev"]


@pytest.mark.parametrize(
    ("generate", "message"),
    [
        ({"accounts": 0}, "sso.generate.accounts must be an integer from 1 to 10000, not 0"),
        ({"acounts": 3}, "sso.generate has unknown key 'acounts'"),
        ({"accounts": 3, "regions": ["mars"]}, "sso.generate.regions must be a non-empty list of regions"),
        ({"accounts": 3, "faults": [{"accounts": 2}]}, "faults[0].accounts must be a share between 0 and 1"),
        ({"accounts": 3, "faults": [{"accounts": ["ops-*"]}]}, "'ops-*' matches no generated account"),
        (
            {"accounts": 3, "faults": [{"accounts": 1.0, "roles": ["Root"]}]},
            "'Root' is not one of AdministratorAccess, ReadOnlyAccess",
        ),
        ({"accounts": 3, "faults": [{"accounts": 1.0, "throttle": 2}]}, "between 0 and 1, not 2"),
        ({"accounts": 3, "first_account_id": "111111111111"}, "account 111111111111 is also a profile's"),
    ],
)
def test_a_bad_generate_block_says_what_to_change(generate: dict[str, Any], message: str) -> None:
    """Each mistake is one line naming the key and what would be right."""
    data = {
        "profiles": [{"name": "dev", "account_id": "111111111111", "region": "eu-central-1"}],
        "sso": {"generate": generate},
    }
    with pytest.raises(InvalidValue, match=re.escape(message)):
        parsed(data)


def test_profiles_stay_required_without_generate() -> None:
    """The explicit form is unchanged: no profiles and no generate is still an error."""
    with pytest.raises(InvalidValue, match="'profiles' must be a non-empty list"):
        parsed({"sso": {"accounts": []}})
