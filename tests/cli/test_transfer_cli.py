"""`ssmux aws-profiles`, `ssmux import` and `ssmux export` through the CLI."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Run

Ssmux = Callable[..., Run]
ID = "i-0123456789abcdef0"


def test_aws_profiles_lists_kinds_without_secrets(ssmux: Ssmux) -> None:
    """aws-profiles shows each profile's kind and region, never key material."""
    Path(os.environ["AWS_CONFIG_FILE"]).write_text(
        "[profile sso]\nsso_session = s\nregion = us-east-1\n[sso-session s]\nsso_start_url = https://x\n"
        "[profile role]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = default\n",
        encoding="utf-8",
    )
    Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        "[default]\naws_access_key_id = AKIAXXXX\naws_secret_access_key = SECRETSECRET\n", encoding="utf-8"
    )
    data = ssmux("aws-profiles", "--json").json()
    assert data == [
        {"name": "default", "region": None, "kind": "static", "source": "credentials"},
        {"name": "role", "region": None, "kind": "assume-role", "source": "config"},
        {"name": "sso", "region": "us-east-1", "kind": "sso", "source": "config"},
    ]
    table = ssmux("aws-profiles")
    assert table.status == 0 and "SECRET" not in table.out and "AKIA" not in table.out
    assert table.out.splitlines()[3].split() == ["sso", "sso", "us-east-1", "config"]


def test_aws_profiles_without_files_says_how_to_make_one(ssmux: Ssmux) -> None:
    """Without AWS files, aws-profiles explains how to create a profile."""
    result = ssmux("aws-profiles")
    assert result.status == 0 and "aws configure" in result.out


def test_export_import_round_trip_between_two_homes(
    ssmux: Ssmux, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A team member exports; another imports into an empty home and gets the same profiles and groups."""
    ssmux("group", "add", "web", "--region", "eu-west-1")
    ssmux("profile", "add", "a;b", "--instance-id", ID, "--group", "web", "--description", "x\ny")
    ssmux("profile", "add", "c", "--instance-id", "i-12345678", "--tag", "t")
    shared = tmp_path / "team.toml"
    exported = ssmux("export", str(shared))
    assert exported.status == 0 and "exported 2 profiles and 1 group to" in exported.out
    original = ssmux("profile", "ls", "--json").json()
    other_home = tmp_path / "other"
    other_home.mkdir()
    monkeypatch.setenv("SSMUX_HOME", str(other_home))
    assert ssmux("profile", "ls", "--json").json() == []
    imported = ssmux("import", str(shared))
    assert (
        imported.status == 0
        and "added: 2 (a;b, c)" in imported.out
        and "groups added: 1 (web)" in imported.out
    )
    assert ssmux("profile", "ls", "--json").json() == original
    again = ssmux("import", str(shared))
    assert "unchanged: 2" in again.out


def test_import_conflict_policy_and_dry_run(ssmux: Ssmux, tmp_path: Path, isolated_home: Path) -> None:
    """A conflicting name stops the import (exit 1, nothing written) until --replace or --skip is given."""
    csv = tmp_path / "in.csv"
    csv.write_text("name,instance_id,tags\na,i-12345678,x;y\nnew,i-87654321,\n", encoding="utf-8")
    ssmux("profile", "add", "a", "--instance-id", ID)
    before = (isolated_home / "profiles.toml").read_bytes()
    refused = ssmux("import", str(csv))
    assert refused.status == 1 and "profile 'a'" in refused.err and "nothing was imported" in refused.err
    assert (isolated_home / "profiles.toml").read_bytes() == before
    dry = ssmux("import", str(csv), "--replace", "--dry-run", "--json")
    assert dry.json()["updated"] == ["a"] and dry.json()["added"] == ["new"] and dry.json()["dry_run"] is True
    assert (isolated_home / "profiles.toml").read_bytes() == before
    skipped = ssmux("import", str(csv), "--skip")
    assert "skipped (kept yours): 1 (a)" in skipped.out
    assert ssmux("profile", "show", "a", "--json").json()["instance_id"] == ID
    ssmux("import", str(csv), "--replace")
    assert ssmux("profile", "show", "a", "--json").json()["tags"] == ["x", "y"]


def test_import_and_export_errors(ssmux: Ssmux, tmp_path: Path) -> None:
    """Missing file, unknown format, existing target and bad rows each give one line and exit 1."""
    ssmux("profile", "add", "a", "--instance-id", ID)
    existing = tmp_path / "exists.csv"
    existing.write_text("x", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,instance_id\nok,i-12345678\nbroken,i-1\n", encoding="utf-8")
    cases = [
        (("import", str(tmp_path / "missing.toml")), "cannot read"),
        (("import", str(existing.with_suffix(".xlsx"))), "name it .toml or .csv"),
        (("export", str(existing)), "exists: pass --force"),
        (("import", str(bad)), "bad.csv, line 3: profile 'broken': invalid instance id"),
        (("export", str(tmp_path / "x.toml"), "--group", "ghost"), "group 'ghost' not found"),
    ]
    for args, message in cases:
        result = ssmux(*args)
        assert (result.status, message in result.err) == (1, True), (args, result)
    assert [p["name"] for p in ssmux("profile", "ls", "--json").json()] == ["a"]
    assert existing.read_text(encoding="utf-8") == "x"


def test_export_one_group_as_csv(ssmux: Ssmux, tmp_path: Path) -> None:
    """--group exports only that group's profiles; CSV cells keep quotes and newlines."""
    ssmux("profile", "add", 'say "hi"', "--instance-id", ID, "--group", "g", "--description", "l1\nl2")
    ssmux("profile", "add", "other", "--instance-id", "i-12345678")
    out = tmp_path / "g.csv"
    assert ssmux("export", str(out), "--group", "g").status == 0
    text = out.read_text(encoding="utf-8")
    assert '"say ""hi""",i-0123456789abcdef0,g,,"l1\nl2",,' in text and "other" not in text
