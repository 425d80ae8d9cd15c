"""`ssmux sync` says each pair's result once: one table row (with its error), then one summary line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.emulator import RunningEmulator, start_emulator

pytestmark = pytest.mark.e2e

SSMUX = Path(sys.executable).with_name("ssmux")
SCENARIO = {
    "profiles": [{"name": "prod", "account_id": "222222222222", "region": "eu-central-1"}],
    "instances": [
        {"profile": "prod", "name": "web-1"},
        {"profile": "prod", "name": "web-2"},
        {"profile": "prod", "name": "db-1"},
    ],
}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(SCENARIO, tmp_dir=tmp_path_factory.mktemp("sync-once")) as running:
        yield running


def sync(emulator: RunningEmulator, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`ssmux sync ARGS` as a script runs it, stdout and stderr in one stream in the order written."""
    env = {**os.environ, **emulator.env(), "SSMUX_HOME": str(home)}
    return subprocess.run(
        [str(SSMUX), "sync", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        timeout=60,
    )


def test_a_sync_with_a_failure_says_each_result_once(emulator: RunningEmulator, isolated_home: Path) -> None:
    """Each pair, the error, and the count of failures appear once; the instance count has its plural."""
    done = sync(emulator, isolated_home, "--pair", "prod/eu-central-1", "--pair", "ghost/eu-central-1")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["PAIR", "STATUS", "INSTANCES", "CONTAINERS", "SECONDS", "ERROR"]
    assert done.stdout.count("prod/eu-central-1") == 1, done.stdout
    assert done.stdout.count("ghost/eu-central-1") == 1, done.stdout
    assert done.stdout.count("ghost") == 2, done.stdout  # its row, and its error message naming it
    assert done.stdout.count("failed") == 1, done.stdout
    assert lines[-1].startswith("ssmux: error: 1 of 2 pairs failed; 3 instances synced from the other in ")
    assert len(lines) == 4, done.stdout


def test_a_good_sync_ends_with_one_summary_line(emulator: RunningEmulator, isolated_home: Path) -> None:
    """All pairs synced: the table and one summary line on stdout, nothing on stderr, exit 0."""
    done = sync(emulator, isolated_home, "--pair", "prod/eu-central-1")
    assert done.returncode == 0, done.stdout
    lines = done.stdout.splitlines()
    assert len(lines) == 3, done.stdout
    assert lines[1].split()[:3] == ["prod/eu-central-1", "ok", "3"]
    assert lines[2].startswith("3 instances from 1 pair in ")
