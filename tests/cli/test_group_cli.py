"""`ssmux group`: add, edit, rm, ls with overrides, renames and --force."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.cli.conftest import Run

Ssmux = Callable[..., Run]
ID = "i-0123456789abcdef0"


def test_group_overrides_reach_its_profiles(ssmux: Ssmux) -> None:
    """A group's AWS profile and region apply to its profiles that set none, and go when cleared."""
    assert ssmux("group", "add", "web", "--aws-profile", "team", "--region", "us-east-1").status == 0
    ssmux("profile", "add", "a", "--instance-id", ID, "--group", "web")
    resolved = ssmux("profile", "show", "a", "--json").json()["resolved"]
    assert resolved == {
        "aws_profile": "team",
        "aws_profile_source": "group",
        "region": "us-east-1",
        "region_source": "group",
    }
    assert ssmux("group", "edit", "web", "--clear-region").status == 0
    resolved = ssmux("profile", "show", "a", "--json").json()["resolved"]
    assert (resolved["region"], resolved["region_source"]) == (None, "sdk")
    listed = ssmux("group", "ls").out.splitlines()
    assert listed[0].split() == ["NAME", "AWS", "PROFILE", "REGION", "PROFILES"]
    assert listed[1].split() == ["web", "team", "-", "1"]


def test_rename_moves_profiles(ssmux: Ssmux) -> None:
    """Renaming a group moves its profiles to the new name."""
    ssmux("group", "add", "old")
    ssmux("profile", "add", "a", "--instance-id", ID, "--group", "old")
    assert ssmux("group", "edit", "old", "--rename", "new").status == 0
    assert ssmux("profile", "show", "a", "--json").json()["group"] == "new"
    assert [g["name"] for g in ssmux("group", "ls", "--json").json()] == ["new"]


def test_removing_a_non_empty_group_needs_force(ssmux: Ssmux, isolated_home: Path) -> None:
    """rm of a group with profiles fails without --force (nothing changes); with it they lose the group."""
    ssmux("profile", "add", "a", "--instance-id", ID, "--group", "web")
    before = (isolated_home / "profiles.toml").read_bytes()
    refused = ssmux("group", "rm", "web")
    assert refused.status == 1 and "--force" in refused.err
    assert (isolated_home / "profiles.toml").read_bytes() == before
    done = ssmux("group", "rm", "web", "--force")
    assert done.status == 0 and "moved 1 profile to no group: a" in done.out
    assert ssmux("profile", "show", "a", "--json").json()["group"] is None
    assert ssmux("group", "ls", "--json").json() == []


def test_empty_group_is_removed_without_force(ssmux: Ssmux) -> None:
    """A group without profiles is removed by a plain rm."""
    ssmux("group", "add", "empty")
    assert ssmux("group", "rm", "empty").status == 0
    assert "no groups" in ssmux("group", "ls").out


def test_group_only_named_by_a_hand_edited_profile(ssmux: Ssmux, isolated_home: Path) -> None:
    """A group named by a profile but never declared is listed, and edit declares it."""
    (isolated_home / "profiles.toml").write_text(
        '[[profiles]]\nname = "a"\ninstance_id = "i-12345678"\ngroup = "implicit"\n', encoding="utf-8"
    )
    assert ssmux("group", "ls", "--json").json() == [
        {"name": "implicit", "aws_profile": None, "region": None, "profiles": 1}
    ]
    assert ssmux("group", "edit", "implicit", "--region", "eu-west-1").status == 0
    assert "[[groups]]" in (isolated_home / "profiles.toml").read_text(encoding="utf-8")


def test_group_errors(ssmux: Ssmux) -> None:
    """Duplicates, unknown groups, bad values and contradictory flags each fail with one line."""
    ssmux("group", "add", "g")
    cases = [
        (("group", "add", "g"), 1, "group 'g' already exists"),
        (("group", "add", "h", "--region", "moon-1"), 1, "unknown AWS region 'moon-1'"),
        (("group", "add", "h", "--aws-profile", ""), 1, "AWS CLI profile name is empty"),
        (("group", "edit", "ghost", "--region", "us-east-1"), 1, "group 'ghost' not found"),
        (("group", "rm", "ghost"), 1, "group 'ghost' not found"),
        (("group", "edit", "g"), 2, "nothing to change"),
        (("group", "edit", "g", "--region", "us-east-1", "--clear-region"), 2, "cannot be used together"),
        (("group", "add"), 2, "Missing argument 'NAME'"),
    ]
    for args, status, message in cases:
        result = ssmux(*args)
        assert (result.status, message in result.err) == (status, True), (args, result)
