"""Every region enabled in each account: ``ssmux sso discover --all-regions`` against the emulator.

The organization has three regions, one of them opt-in (ap-east-1) and disabled in two accounts; two
accounts' ReadOnlyAccess lacks ``account:ListRegions`` and is asked with EC2 DescribeRegions instead. The
pairs made are exactly the enabled regions of each account, labelled with the account's name and the role.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ssmux.core.aws import AwsClients, ServiceModels
from tests.support.emulator import RunningEmulator, start_emulator

pytestmark = pytest.mark.e2e

REGIONS = ["eu-west-1", "us-west-2", "ap-east-1"]
SCENARIO = {
    "name": "regions",
    "sso": {
        "session": "org",
        "region": "us-east-1",
        "generate": {
            "accounts": 5,
            "roles": ["AdministratorAccess", "ReadOnlyAccess"],
            "regions": REGIONS,
            "instances": 1,
            "faults": [
                {"accounts": ["team-001", "team-002"], "disabled_regions": ["ap-east-1"]},
                {"accounts": ["team-002", "team-003"], "roles": ["ReadOnlyAccess"],
                 "deny": ["account:ListRegions"]},
            ],
        },
    },
}  # fmt: skip
ACCOUNT = {f"team-00{n}": f"{100000000000 + n:012d}" for n in range(1, 6)}
DISABLED = {"team-001", "team-002"}


@pytest.fixture(scope="module")
def organization(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(SCENARIO, "--fast", tmp_dir=tmp_path_factory.mktemp("regions")) as emulator:
        yield emulator


@pytest.fixture
def signed_in(
    organization: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The environment of a user signed in to the organization (for child processes and this one)."""
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, **organization.env(), "HOME": str(home), "SSMUX_HOME": str(tmp_path / "ssmux")}
    for name in ("HOME", "SSMUX_HOME"):
        monkeypatch.setenv(name, env[name])
    organization.apply(monkeypatch)
    assert ssmux(env, "sso", "login", "--no-browser").returncode == 0
    return env


def ssmux(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ssmux", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_all_regions_makes_a_pair_per_enabled_region_of_each_account(signed_in: dict[str, str]) -> None:
    """A pair per enabled region of each account, the opt-in region only where it is enabled, whether the
    account answered ListRegions or, denied it, DescribeRegions; each pair shows its account and role."""
    added = ssmux(signed_in, "sso", "discover", "--role", "ReadOnlyAccess", "--all-regions", "--add-pairs")
    assert added.returncode == 0, added.stderr
    assert "regions: 2-3 enabled in each of 5 accounts (2 denied account:ListRegions" in added.stderr

    pairs = json.loads(ssmux(signed_in, "pair", "ls", "--json").stdout)
    expected = {
        (f"sso:org/{account}/ReadOnlyAccess", region, name)
        for name, account in ACCOUNT.items()
        for region in REGIONS
        if not (region == "ap-east-1" and name in DISABLED)
    }
    assert {(p["aws_profile"], p["region"], p["account_name"]) for p in pairs} == expected
    assert {p["role_name"] for p in pairs} == {"ReadOnlyAccess"}

    table = ssmux(signed_in, "pair", "ls").stdout.splitlines()
    assert table[0].split() == ["AWS", "PROFILE", "REGION", "ACCOUNT", "ROLE", "ENABLED", "CONTAINERS"]
    assert any("team-004" in line and "ap-east-1" in line and "ReadOnlyAccess" in line for line in table)

    # Discovery run again renames what was renamed, and keeps the pair's own switches.
    first = f"sso:org/{ACCOUNT['team-001']}/ReadOnlyAccess/eu-west-1"
    assert (
        ssmux(signed_in, "pair", "edit", first, "--account-name", "old-name", "--no-containers").returncode
        == 0
    )
    again = ssmux(signed_in, "sso", "discover", "--role", "ReadOnlyAccess", "--all-regions", "--add-pairs")
    assert again.returncode == 0, again.stderr
    assert "sync pairs: 0 added" in again.stderr
    [relabelled] = [p for p in json.loads(ssmux(signed_in, "pair", "ls", "--json").stdout)
                    if f"{p['aws_profile']}/{p['region']}" == first]  # fmt: skip
    assert (relabelled["account_name"], relabelled["containers"]) == ("team-001", False)

    synced = ssmux(signed_in, "sync", "--json")
    assert synced.returncode == 0, synced.stderr
    assert json.loads(synced.stdout)["instances"] == len(expected)  # one instance per account and region


def test_a_disabled_region_refuses_the_accounts_credentials(signed_in: dict[str, str]) -> None:
    """A pair in a region its account has not enabled fails as AWS fails it: the credentials are not valid
    there."""
    pair = f"sso:org/{ACCOUNT['team-001']}/ReadOnlyAccess/ap-east-1"
    assert ssmux(signed_in, "pair", "add", pair).returncode == 0
    synced = ssmux(signed_in, "sync", "--pair", pair, "--json")
    assert synced.returncode == 1
    [outcome] = json.loads(synced.stdout)["pairs"]
    assert outcome["error"]["code"] == "AuthFailure", outcome


def test_list_regions_and_describe_regions_agree(signed_in: dict[str, str]) -> None:
    """ListRegions pages through every region with its status; DescribeRegions shows the enabled ones, and
    with AllRegions the disabled one as not opted in."""
    clients = AwsClients(ServiceModels())
    role = f"sso:org/{ACCOUNT['team-001']}/AdministratorAccess"
    account = clients.client("account", role, "us-east-1")
    pages = list(account.get_paginator("list_regions").paginate(PaginationConfig={"PageSize": 1}))
    assert len(pages) == 3
    statuses = {r["RegionName"]: r["RegionOptStatus"] for page in pages for r in page["Regions"]}
    assert statuses == {
        "ap-east-1": "DISABLED",
        "eu-west-1": "ENABLED_BY_DEFAULT",
        "us-west-2": "ENABLED_BY_DEFAULT",
    }
    enabled = account.list_regions(RegionOptStatusContains=["ENABLED", "ENABLED_BY_DEFAULT"])["Regions"]
    assert [r["RegionName"] for r in enabled] == ["eu-west-1", "us-west-2"]

    ec2 = clients.client("ec2", role, "eu-west-1")
    assert [r["RegionName"] for r in ec2.describe_regions()["Regions"]] == ["eu-west-1", "us-west-2"]
    every = {r["RegionName"]: r["OptInStatus"] for r in ec2.describe_regions(AllRegions=True)["Regions"]}
    assert every["ap-east-1"] == "not-opted-in" and every["eu-west-1"] == "opt-in-not-required"

    other = clients.client("ec2", f"sso:org/{ACCOUNT['team-004']}/AdministratorAccess", "eu-west-1")
    assert other.describe_regions(RegionNames=["ap-east-1"])["Regions"][0]["OptInStatus"] == "opted-in"
