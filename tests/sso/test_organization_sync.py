"""A whole organization, end to end: sign in, discover 300 accounts, sync a pair per account.

The built-in ``organization`` scenario: 300 accounts, 20 instances each per region; 30 accounts throttle 30 %
of their calls, 15 are slow, and 15 deny ``ec2:DescribeInstances`` to ReadOnlyAccess. After ``ssmux sso
discover --role ReadOnlyAccess --region eu-west-1 --add-pairs`` and ``ssmux sync``, every pair is accounted
for: the throttled ones retried (botocore's standard mode), the denied ones failed and grouped as one line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from ssmux.emulator.scenario import load_scenario
from tests.support.emulator import RunningEmulator, start_emulator

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def organization(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(
        "organization", "--fast", tmp_dir=tmp_path_factory.mktemp("organization")
    ) as emulator:
        yield emulator


def test_three_hundred_accounts_sync_with_every_pair_accounted_for(
    organization: RunningEmulator, tmp_path: Path
) -> None:
    scenario = load_scenario("organization")
    assert scenario.sso is not None
    denied = {g.account_id for g in scenario.sso.grants if g.role == "ReadOnlyAccess" and g.deny}
    throttled = {h.account_id for h in scenario.hidden if h.faults and h.faults.get("throttle")}
    assert (len(denied), len(throttled)) == (15, 30)

    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, **organization.env(), "HOME": str(home), "SSMUX_HOME": str(tmp_path / "ssmux")}

    def ssmux(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ssmux", *args], env=env, capture_output=True, text=True, timeout=300,
            check=False,
        )  # fmt: skip

    assert ssmux("sso", "login", "--no-browser").returncode == 0
    added = ssmux("sso", "discover", "--role", "ReadOnlyAccess", "--region", "eu-west-1", "--add-pairs")
    assert added.returncode == 0, added.stderr
    result = ssmux("sync", "--json")
    assert result.returncode == 1, result.stderr  # some pairs fail: the denied ones
    pairs = json.loads(result.stdout)["pairs"]
    assert len(pairs) == 300
    account = {p["profile"]: p["profile"].split("/")[1] for p in pairs}
    failed = {account[p["profile"]]: p["error"]["code"] for p in pairs if p["status"] != "ok"}
    assert {a for a, code in failed.items() if code == "UnauthorizedOperation"} == denied
    # Throttled calls are retried: a throttled account fails only when all of a call's attempts were.
    retried_ok = sum(1 for p in pairs if account[p["profile"]] in throttled and p["status"] == "ok")
    assert retried_ok >= 25, failed
    assert all(p["instances"] == 20 for p in pairs if p["status"] == "ok")
    assert Counter(failed.values())["UnauthorizedOperation"] == 15
    assert set(failed.values()) <= {"UnauthorizedOperation", "RequestLimitExceeded", "ThrottlingException"}

    grouped = ssmux("sync")
    lines = grouped.stdout.splitlines()
    # Pairs are named by the account and role discovery found: team-007 ReadOnlyAccess eu-west-1.
    assert lines[0].startswith("UnauthorizedOperation in 15 pairs (team-"), grouped.stdout
    assert " ReadOnlyAccess eu-west-1, team-" in lines[0], grouped.stdout
    assert len(lines) <= 3  # the denied, and perhaps throttled EC2 and SSM calls that ran out of attempts
