"""Many pairs: `ssmux sync` groups the failures (one line for pairs denied the same way), a bar for progress.

Past ``TABLE_LIMIT`` pairs a row per pair is more than anyone reads: the result is the failures grouped by
code and message shape, largest group first, with a few pairs named; ``--per-pair`` and ``--json`` still
give every pair.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ssmux.cli.sync import TABLE_LIMIT
from ssmux.sync.grouping import group_failures, shape
from ssmux.sync.pair import OutcomeKind, PairOutcome
from tests.support.emulator import RunningEmulator, start_emulator

REGIONS = ("eu-central-1", "eu-west-1", "us-east-1", "us-west-2")
DENIED = [f"denied{n}" for n in range(4)]
OPEN = [f"open{n}" for n in range(3)]
DENY = ["ec2:Describe*"]
SCENARIO = {
    "profiles": [
        *({"name": name, "account_id": f"1{n:011d}", "region": REGIONS[0], "deny": DENY}
          for n, name in enumerate(DENIED)),
        *({"name": name, "account_id": f"2{n:011d}", "region": REGIONS[0]} for n, name in enumerate(OPEN)),
    ],
    "instances": [{"profile": name, "region": region, "name": "web"} for name in OPEN for region in REGIONS],
}  # fmt: skip


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(SCENARIO, "--fast", tmp_dir=tmp_path_factory.mktemp("sync-groups")) as running:
        yield running


def sync(emulator: RunningEmulator, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **emulator.env(), "SSMUX_HOME": str(home)}
    pairs = [arg for name in DENIED + OPEN for region in REGIONS for arg in ("--pair", f"{name}/{region}")]
    return subprocess.run(
        [sys.executable, "-m", "ssmux", "sync", *pairs, *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.e2e
def test_many_pairs_denied_alike_are_one_line(emulator: RunningEmulator, tmp_path: Path) -> None:
    assert len(DENIED + OPEN) * len(REGIONS) > TABLE_LIMIT
    result = sync(emulator, tmp_path / "home")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout  # 16 denied pairs, one way of failing: one line
    assert lines[0].startswith("UnauthorizedOperation in 16 pairs (denied0/eu-central-1, ")
    assert "and 13 more" in lines[0] and "ec2:DescribeInstances" in lines[0]
    assert (
        result.stderr.strip().splitlines()[-1].startswith("ssmux: error: 16 of 28 pairs failed; 12 instances")
    )

    every = sync(emulator, tmp_path / "home", "--per-pair")
    rows = [line for line in every.stdout.splitlines()[1:] if line.strip()]
    assert len(rows) == 28
    as_json = json.loads(sync(emulator, tmp_path / "home", "--json").stdout)
    assert len(as_json["pairs"]) == 28


def outcome(profile: str, code: str, message: str) -> PairOutcome:
    return PairOutcome(profile, "eu-west-1", OutcomeKind.FAILED, error_code=code, error_message=message)


def test_groups_ignore_what_names_the_pair_and_keep_codes_apart() -> None:
    denied = "User: arn:aws:iam::{}:user/{} is not authorized to perform: ec2:DescribeInstances"
    outcomes = [
        outcome("a", "UnauthorizedOperation", denied.format("111111111111", "a-user")),
        outcome("b", "UnauthorizedOperation", denied.format("222222222222", "b-user")),
        outcome("c", "ExpiredToken", "the sign-in expired: run 'ssmux sso login'"),
        outcome("d", "UnauthorizedOperation", denied.format("333333333333", "d-user")),
        PairOutcome("e", "eu-west-1", OutcomeKind.OK, instances=3),
    ]
    groups = group_failures(outcomes)
    assert [(g.code, len(g.pairs)) for g in groups] == [("UnauthorizedOperation", 3), ("ExpiredToken", 1)]
    assert groups[0].pairs == (("a", "eu-west-1"), ("b", "eu-west-1"), ("d", "eu-west-1"))
    assert groups[1].line() == "c/eu-west-1: ExpiredToken: the sign-in expired: run 'ssmux sso login'"
    assert shape("profile 'dev' in eu-west-1 of 123456789012") == "profile … in … of …"


@pytest.mark.e2e
def test_many_pairs_show_one_bar_on_a_terminal(emulator: RunningEmulator, tmp_path: Path) -> None:
    """On a terminal, 28 pairs make one bar (pairs done of 28, instances, errors), not 28 live lines."""
    pexpect = pytest.importorskip("pexpect")
    env = {**os.environ, **emulator.env(), "SSMUX_HOME": str(tmp_path / "home"), "COLUMNS": "120"}
    pairs = [arg for name in DENIED + OPEN for region in REGIONS for arg in ("--pair", f"{name}/{region}")]
    argv = ["-m", "ssmux", "sync", *pairs]
    child = pexpect.spawn(sys.executable, argv, env=env, encoding="utf-8", timeout=120, dimensions=(24, 120))
    try:
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    screen = child.before
    assert "/28" in screen and "error" in screen  # the bar: pairs done of 28, and the error count
    assert "listing" not in screen  # no per-pair live line
