"""``ssmux ls`` fits the terminal and names targets by name; stopped instances; --state; pair syntax.

Issue 11, items 11 and 12.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli.conftest import Run
from tests.cli.test_targets_cli import add_synced
from tests.support.emulator import RunningEmulator

LONG = "payments-api-blue-green-canary-eu-01"
IDS = [f"i-0{number:016x}" for number in range(1, 6)]


@pytest.fixture
def fleet() -> None:
    """Five instances with long names, tags and addresses, in a pair with a long name."""
    add_synced(
        "platform-engineering-admin",
        "ap-southeast-2",
        [
            {
                "instance_id": instance_id,
                "name": f"{LONG}-{index}",
                "state": "running",
                "ping_status": "Online",
                "platform": "linux",
                "private_ip": f"10.200.100.{index}",
                "tags": {"Name": f"{LONG}-{index}", "team": "payments"},
            }
            for index, instance_id in enumerate(IDS)
        ],
    )


def test_table_fits_80_columns_without_wrapping_a_name(
    fleet: None, ssmux: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At COLUMNS=80 every line fits, one line per target; ids whole, long names cut with an ellipsis."""
    monkeypatch.setenv("COLUMNS", "80")
    result = ssmux("ls")
    assert result.status == 0, result.err
    lines = result.out.splitlines()
    assert len(lines) == 1 + len(IDS)
    assert max(len(line) for line in lines) <= 80
    assert lines[0].split()[:2] == ["NAME", "INSTANCE"]
    for line, instance_id in zip(lines[1:], IDS, strict=True):
        name, shown_id = line.split()[:2]
        assert shown_id == instance_id
        assert name.startswith("payments-api-blue") and name.endswith("…")
        assert f"({instance_id})" not in line  # the id is not repeated in the name


def test_table_is_whole_when_it_fits(
    fleet: None, ssmux: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wide terminal shows every column and whole names; the name column holds the name alone."""
    monkeypatch.setenv("COLUMNS", "200")
    lines = ssmux("ls").out.splitlines()
    assert lines[0].split() == [
        "NAME",
        "INSTANCE",
        "GROUP",
        "STATE",
        "SSM",
        "PLATFORM",
        "PRIVATE",
        "IP",
        "SOURCE",
    ]
    assert lines[1].split()[:3] == [f"{LONG}-0", IDS[0], "platform-engineering-admin/ap-southeast-2"]


def test_json_name_is_the_name_tag(fleet: None, ssmux: Callable[..., Run]) -> None:
    """`--json`'s name is the Name tag, without the id (which has its own field)."""
    listed = ssmux("ls", "--json").json()
    assert [(target["name"], target["instance_id"]) for target in listed] == [
        (f"{LONG}-{index}", instance_id) for index, instance_id in enumerate(IDS)
    ]
    assert all(target["name"] == target["tags"]["Name"] for target in listed)


def test_state_is_checked(fleet: None, ssmux: Callable[..., Run]) -> None:
    """A misspelt --state is refused with the closest state and the list; a right one filters."""
    result = ssmux("ls", "--state", "stoped")
    assert (result.status, result.out) == (1, "")
    assert result.err.startswith("ssmux: error: unknown instance state 'stoped': did you mean 'stopped'?")
    assert ssmux("ls", "--state", "Running", "--json").json()[0]["state"] == "running"


def test_pair_takes_profile_slash_region_and_two_words(ssmux: Callable[..., Run]) -> None:
    """`pair add/disable/enable/rm` take PROFILE/REGION like `sync --pair`, and PROFILE REGION still."""
    assert ssmux("pair", "add", "dev/eu-central-1").out == "added sync pair dev/eu-central-1\n"
    assert ssmux("pair", "add", "prod", "us-east-1").out == "added sync pair prod/us-east-1\n"
    assert ssmux("pair", "disable", "dev/eu-central-1").status == 0
    listed = ssmux("pair", "ls", "--json").json()
    assert [(p["aws_profile"], p["region"], p["enabled"]) for p in listed] == [
        ("dev", "eu-central-1", False),
        ("prod", "us-east-1", True),
    ]
    assert ssmux("pair", "enable", "dev/eu-central-1").status == 0
    assert ssmux("pair", "rm", "dev/eu-central-1").out == "removed sync pair dev/eu-central-1\n"
    assert ssmux("pair", "rm", "prod", "us-east-1").status == 0
    bad = ssmux("pair", "add", "dev")
    assert bad.status == 1
    assert bad.err.startswith("ssmux: error: invalid pair 'dev': write it as PROFILE/REGION")
    assert ssmux("pair", "add", "dev/eu-centrl-1").err.startswith("ssmux: error: unknown AWS region")
    assert ssmux("pair", "ls", "--json").json() == []


@pytest.mark.e2e
def test_stopped_instances_are_synced_and_listed_with_all(
    demo_env: RunningEmulator, ssmux: Callable[..., Run]
) -> None:
    """The demo's stopped worker-1 is synced with its state: hidden by default, listed by --all."""
    assert ssmux("pair", "add", "dev/eu-central-1").status == 0
    assert ssmux("settings", "set", "sync_only_running", "false").status == 0
    assert ssmux("sync", "--pair", "dev/eu-central-1").status == 0
    hidden = {target["name"] for target in ssmux("ls", "--json").json()}
    assert "worker-1" not in hidden and "web-1" in hidden
    shown = {target["name"]: target["state"] for target in ssmux("ls", "--all", "--json").json()}
    assert shown["worker-1"] == "stopped"
    assert [t["name"] for t in ssmux("ls", "--state", "stopped", "--json").json()] == ["worker-1"]


def test_all_says_when_the_sync_keeps_only_running_instances(ssmux: Callable[..., Run]) -> None:
    """With sync_only_running on, --all cannot show stopped instances: a note says how to get them."""
    assert ssmux("settings", "set", "sync_only_running", "true").status == 0
    result = ssmux("ls", "--all")
    assert "ssmux: note: the sync lists running instances only" in result.err
    assert "ssmux settings set sync_only_running false" in result.err
