"""`ssmux profile`: add, edit, rm, ls, show, with their error paths and exit statuses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Run

Ssmux = Callable[..., Run]
ID = "i-0123456789abcdef0"
NASTY = 'db "main" $(reboot) `id`; x & y'


def test_add_then_show_in_json(ssmux: Ssmux) -> None:
    """A profile added with every option shows every field back in JSON, with its resolution."""
    added = ssmux(
        "profile", "add", "web-1", "--instance-id", ID, "--group", "web", "--tag", "prod", "--tag", "eu",
        "--aws-profile", "prod", "--region", "eu-central-1", "--description", "front end",
    )  # fmt: skip
    assert added.status == 0 and "added profile 'web-1'" in added.out
    shown = ssmux("profile", "show", "web-1", "--json")
    assert shown.status == 0
    assert shown.json() == {
        "name": "web-1",
        "instance_id": ID,
        "group": "web",
        "tags": ["eu", "prod"],
        "description": "front end",
        "aws_profile": "prod",
        "region": "eu-central-1",
        "resolved": {
            "aws_profile": "prod",
            "aws_profile_source": "profile",
            "region": "eu-central-1",
            "region_source": "profile",
        },
    }
    assert ssmux("group", "ls", "--json").json() == [
        {"name": "web", "aws_profile": None, "region": None, "profiles": 1}
    ]


def test_shell_metacharacters_are_stored_and_shown_verbatim(ssmux: Ssmux, tmp_path: Path) -> None:
    """Quotes, $(...), backticks, ; and & in name, tag and description come back exactly; nothing runs."""
    marker = tmp_path / "ran"
    description = f"first line\n$(touch {marker}) `touch {marker}`; touch {marker} & \"q\" 'q'"
    added = ssmux(
        "profile", "add", NASTY, "--instance-id", ID, "--tag", "$(touch x);&", "--description", description
    )
    assert added.status == 0
    data = ssmux("profile", "show", NASTY, "--json").json()
    assert (data["name"], data["tags"], data["description"]) == (NASTY, ["$(touch x);&"], description)
    human = ssmux("profile", "show", NASTY).out
    assert NASTY in human and "  first line\n" in human and f"  $(touch {marker}) `touch {marker}`" in human
    assert NASTY in ssmux("profile", "ls").out
    assert not marker.exists()


def test_ls_filters_and_shows_where_values_come_from(ssmux: Ssmux) -> None:
    """ls filters by group and tags; inherited values are marked with their source."""
    ssmux("group", "add", "web", "--aws-profile", "team", "--region", "us-east-1")
    ssmux("profile", "add", "a", "--instance-id", ID, "--group", "web", "--tag", "x", "--tag", "y")
    ssmux("profile", "add", "b", "--instance-id", "i-12345678", "--tag", "x")
    ssmux("settings", "set", "default_region", "eu-west-1")
    assert [p["name"] for p in ssmux("profile", "ls", "--tag", "x", "--json").json()] == ["a", "b"]
    assert [p["name"] for p in ssmux("profile", "ls", "--tag", "x", "--tag", "y", "--json").json()] == ["a"]
    assert [p["name"] for p in ssmux("profile", "ls", "--group", "web", "--json").json()] == ["a"]
    table = ssmux("profile", "ls").out.splitlines()
    assert table[0].split() == ["NAME", "INSTANCE", "GROUP", "TAGS", "AWS", "PROFILE", "REGION"]
    assert "team (from group)" in table[1] and "us-east-1 (from group)" in table[1]
    assert "(AWS SDK default)" in table[2] and "eu-west-1 (from settings)" in table[2]
    assert ssmux("profile", "ls", "--group", "nope").out.strip() == "no profiles match"


def test_ls_on_empty_store_says_how_to_add(ssmux: Ssmux) -> None:
    """An empty list explains how to add a profile; JSON is an empty list."""
    assert "ssmux profile add" in ssmux("profile", "ls").out
    assert ssmux("profile", "ls", "--json").json() == []


def test_edit_changes_only_what_is_given(ssmux: Ssmux) -> None:
    """edit changes the given fields, clears on request, renames, and keeps the rest."""
    ssmux(
        "profile",
        "add",
        "a",
        "--instance-id",
        ID,
        "--tag",
        "x",
        "--region",
        "eu-west-1",
        "--aws-profile",
        "p",
    )
    result = ssmux(
        "profile", "edit", "a", "--rename", "b", "--add-tag", "y", "--clear-region", "--group", "g"
    )
    assert result.status == 0 and "now 'b'" in result.out
    data = ssmux("profile", "show", "b", "--json").json()
    assert (data["tags"], data["region"], data["aws_profile"], data["group"]) == (["x", "y"], None, "p", "g")
    ssmux("profile", "edit", "b", "--tag", "only", "--clear-aws-profile", "--description", "two\nlines")
    data = ssmux("profile", "show", "b", "--json").json()
    assert (data["tags"], data["aws_profile"], data["description"]) == (["only"], None, "two\nlines")
    assert ssmux("profile", "show", "a").status == 1


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (("profile", "add", "x", "--instance-id", "i-nope"), 1, "invalid instance id 'i-nope'"),
        (
            ("profile", "add", "x", "--instance-id", ID, "--region", "eu-centrl-1"),
            1,
            "did you mean 'eu-central-1'",
        ),
        (("profile", "add", "x", "--instance-id", ID, "--aws-profile", "my prof"), 1, "no whitespace"),
        (("profile", "add", "a\nb", "--instance-id", ID), 1, "contains a newline"),
        (("profile", "add", "x", "--instance-id", ID, "--tag", "a\tb"), 1, "contains a tab"),
        (("profile", "add", "x"), 2, "Missing option '--instance-id'"),
        (("profile", "add", "x", "--instance-id", ID, "--colour", "red"), 2, "No such option"),
        (("profile", "show", "ghost"), 1, "profile 'ghost' not found: see 'ssmux profile ls'"),
        (("profile", "rm", "ghost"), 1, "profile 'ghost' not found"),
        (("profile", "edit", "ghost", "--region", "us-east-1"), 1, "profile 'ghost' not found"),
        (("profile", "edit", "seed"), 2, "nothing to change"),
        (
            ("profile", "edit", "seed", "--region", "us-east-1", "--clear-region"),
            2,
            "cannot be used together",
        ),
        (("profile", "edit", "seed", "--instance-id", "mi-123"), 1, "invalid instance id"),
        (("profile", "add", "seed", "--instance-id", ID), 1, "profile 'seed' already exists"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    ssmux: Ssmux, isolated_home: Path, args: tuple[str, ...], status: int, message: str
) -> None:
    """Each bad input exits 1 (bad value) or 2 (bad usage) with one clear line, and the file is unchanged."""
    ssmux("profile", "add", "seed", "--instance-id", ID)
    before = (isolated_home / "profiles.toml").read_bytes()
    result = ssmux(*args)
    assert result.status == status
    assert message in result.err
    if status == 1:
        assert result.err.startswith("ssmux: error: ") and result.err.count("\n") == 1
        assert "Traceback" not in result.err
    assert result.out == ""
    assert (isolated_home / "profiles.toml").read_bytes() == before


def test_rm_removes_all_or_none(ssmux: Ssmux) -> None:
    """rm of several names removes them all; with an unknown name among them it removes none."""
    for name in ("a", "b", "c"):
        ssmux("profile", "add", name, "--instance-id", ID)
    assert ssmux("profile", "rm", "a", "ghost").status == 1
    assert [p["name"] for p in ssmux("profile", "ls", "--json").json()] == ["a", "b", "c"]
    assert ssmux("profile", "rm", "a", "b").status == 0
    assert [p["name"] for p in ssmux("profile", "ls", "--json").json()] == ["c"]


def test_corrupt_file_exits_1_names_the_line_and_is_not_touched(ssmux: Ssmux, isolated_home: Path) -> None:
    """With a corrupt profiles.toml every command fails with file and line, and the file is left alone."""
    path = isolated_home / "profiles.toml"
    path.write_text('[[profiles]]\nname = "a"\ninstance_id = "i-12345678"\ngroup = \n', encoding="utf-8")
    before = path.read_bytes()
    for args in (("profile", "ls"), ("profile", "add", "b", "--instance-id", ID), ("group", "add", "g")):
        result = ssmux(*args)
        assert result.status == 1
        assert f"{path}, line 4" in result.err and result.err.count("\n") == 1
    assert path.read_bytes() == before


def test_debug_shows_the_traceback(ssmux: Ssmux) -> None:
    """--debug adds the traceback to the one-line error."""
    result = ssmux("--debug", "profile", "show", "ghost")
    assert result.status == 1
    assert "Traceback" in result.err and "ssmux: error: profile 'ghost' not found" in result.err
