"""Import and export of groups and profiles as TOML and CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from ssmux.core import store
from ssmux.core.models import Group, Profile, ProfileBook
from ssmux.core.transfer import export_book, import_book, read_book
from ssmux.errors import AlreadyExists, InvalidValue, StoreError

ODD = Profile(
    name='x"; $(rm -rf ~) `id` & echo',
    instance_id="i-0123456789abcdef0",
    group="ops & co",
    tags=frozenset({"a;b", "c", "d,e", "$(x)"}),
    description='multi\nline "quoted"\n',
    aws_profile="prod",
    region="eu-west-1",
)
BOOK = ProfileBook(
    groups=(Group("ops & co", aws_profile="team", region="us-east-1"),),
    profiles=(ODD, Profile("plain", "i-12345678", tags=frozenset({"x", "y"}))),
)


@pytest.mark.parametrize("suffix", [".toml", ".csv"])
def test_export_then_read_is_lossless_for_profiles(tmp_path: Path, suffix: str) -> None:
    """Exported profiles read back equal, in TOML and in CSV, shell metacharacters and newlines included."""
    path = tmp_path / f"team{suffix}"
    export_book(path, BOOK)
    back = read_book(path)
    assert back.profiles == BOOK.profiles
    if suffix == ".toml":
        assert back.groups == BOOK.groups  # CSV carries profiles only


def test_csv_export_uses_semicolons_unless_a_tag_holds_one(tmp_path: Path) -> None:
    """Plain tags are joined by ';' for spreadsheet users; a tag with ';' switches that cell to newlines."""
    path = tmp_path / "p.csv"
    export_book(path, BOOK)
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "name,instance_id,group,tags,description,aws_profile,region"
    assert "plain,i-12345678,,x;y,,," in text


def test_export_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    """An existing file is not overwritten unless asked."""
    path = tmp_path / "team.toml"
    path.write_text("keep", encoding="utf-8")
    with pytest.raises(AlreadyExists, match="--force"):
        export_book(path, BOOK)
    assert path.read_text(encoding="utf-8") == "keep"
    export_book(path, BOOK, overwrite=True)
    assert read_book(path).profiles == BOOK.profiles


def test_unknown_extension_is_refused(tmp_path: Path) -> None:
    """Only .toml and .csv are understood."""
    with pytest.raises(InvalidValue, match=r"\.toml or \.csv"):
        export_book(tmp_path / "team.json", BOOK)


def test_import_adds_and_reports(tmp_path: Path) -> None:
    """Importing into an empty store adds every group and profile and says so."""
    path = tmp_path / "team.toml"
    export_book(path, BOOK)
    report = import_book(path)
    assert report.added == [ODD.name, "plain"] and report.groups_added == ["ops & co"]
    assert store.load_profiles() == BOOK


def test_conflicts_stop_the_import_unless_a_policy_is_given(tmp_path: Path) -> None:
    """A name that exists with other values stops the import (nothing written); --replace/--skip decide."""
    store.update_profiles(lambda b: b.with_profile(Profile("plain", "i-87654321")))
    saved = (Path(store.profiles_path())).read_bytes()
    path = tmp_path / "team.csv"
    export_book(path, BOOK)
    with pytest.raises(AlreadyExists, match=r"profile 'plain'.*--replace.*--skip"):
        import_book(path)
    assert Path(store.profiles_path()).read_bytes() == saved
    skipped = import_book(path, on_conflict="skip")
    assert skipped.skipped == ["plain"] and skipped.added == [ODD.name]
    assert store.load_profiles().profile("plain").instance_id == "i-87654321"
    replaced = import_book(path, on_conflict="replace")
    assert replaced.updated == ["plain"] and replaced.unchanged == [ODD.name]
    assert store.load_profiles().profile("plain").instance_id == "i-12345678"
    # The CSV named group 'ops & co' without overrides: it was declared once, with none.
    assert store.load_profiles().group("ops & co") == Group("ops & co")


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    """--dry-run reports what would happen and leaves the store as it was."""
    path = tmp_path / "team.toml"
    export_book(path, BOOK)
    report = import_book(path, dry_run=True)
    assert report.added == [ODD.name, "plain"]
    assert store.load_profiles() == ProfileBook()
    assert not store.profiles_path().exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,instance_id\nok,i-12345678\nbad,i-zz\n", r"line 3: profile 'bad': invalid instance id"),
        ("name,instance_id,colour\na,i-12345678,red\n", r"line 1: unknown column\(s\) 'colour'"),
        ("name,region\na,eu-west-1\n", r"line 1: missing column\(s\) instance_id"),
        ("name,instance_id\na,i-12345678\na,i-87654321\n", r"line 3: profile name 'a' is used twice"),
        ("name,instance_id\na,i-12345678,extra\n", r"line 2: the row has a different number of cells"),
        ('name,instance_id\n"a\x1bb",i-12345678\n', r"line 2: .*escape character"),
    ],
)
def test_bad_csv_is_refused_whole_with_the_line(tmp_path: Path, content: str, message: str) -> None:
    """One bad row refuses the whole file with its line number; nothing is imported."""
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(StoreError, match=message):
        import_book(path)
    assert not store.profiles_path().exists()


def test_bad_toml_is_refused_with_the_line(tmp_path: Path) -> None:
    """A TOML import file is checked like profiles.toml: error names file and line, nothing imported."""
    path = tmp_path / "bad.toml"
    path.write_text(
        '[[profiles]]\nname = "a"\ninstance_id = "i-12345678"\nregion = "mars-1"\n', encoding="utf-8"
    )
    with pytest.raises(StoreError, match=r"bad.toml, line 4: profile 'a': unknown AWS region"):
        import_book(path)
    assert not store.profiles_path().exists()


def test_hand_written_csv_with_semicolon_tags(tmp_path: Path) -> None:
    """A spreadsheet-style CSV with 'a;b' tags and blank optional cells imports as expected."""
    path = tmp_path / "sheet.csv"
    path.write_text("name,instance_id,tags,region\nweb,i-12345678, prod ; web ,\n", encoding="utf-8-sig")
    import_book(path)
    assert store.load_profiles().profile("web") == Profile(
        "web", "i-12345678", tags=frozenset({"prod", "web"})
    )
