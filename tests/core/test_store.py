"""The store: round trips, hand edits and comments, located errors on bad files, permissions, migrations."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from ssmux.core import store
from ssmux.core.models import Group, Profile, ProfileBook, Settings, SyncPair
from ssmux.errors import InvalidValue, NotFound, StoreError

ODD = "we\"ird $(touch x) `id`; a & b \\ 'q'"


def add(profile: Profile) -> ProfileBook:
    return store.update_profiles(lambda book: book.with_profile(profile))


def test_absent_files_give_empty_book_and_default_settings(isolated_home: Path) -> None:
    """Without files there are no profiles and the settings are the defaults; reading creates nothing."""
    assert store.load_profiles() == ProfileBook()
    assert store.load_settings() == Settings()
    assert list(isolated_home.iterdir()) == []


def test_profiles_round_trip_verbatim(isolated_home: Path) -> None:
    """Every field, shell metacharacters and newlines included, reads back exactly as written."""
    profile = Profile(
        name=ODD,
        instance_id="mi-0123456789abcdef0",
        group="g;rm",
        tags=frozenset({"$(x)", "a;b", "`y`"}),
        description='line 1\nline "2"\n\ttabbed $(x)',
        aws_profile="prod",
        region="eu-west-1",
    )
    written = store.update_profiles(
        lambda b: b.with_group(Group("g;rm", "team", "us-east-1")).with_profile(profile)
    )
    assert store.load_profiles() == written
    assert store.load_profiles().profile(ODD) == profile


def test_settings_round_trip(isolated_home: Path) -> None:
    """Settings changed through update_settings read back equal, sync pairs included."""
    wanted = Settings(
        sync_enabled=True,
        sync_pairs=(SyncPair("a", "us-east-1"), SyncPair("b", "eu-west-1", False)),
        sync_only_running=False,
        default_aws_profile="prod",
        default_region="eu-central-1",
        backend="plugin",
        aws_path="/opt/aws/bin/aws",
    )
    store.update_settings(lambda _: wanted)
    assert store.load_settings() == wanted


def test_empty_pair_list_stays_empty(isolated_home: Path) -> None:
    """Removing every sync pair is remembered (not replaced by the two default pairs)."""
    store.update_settings(lambda s: replace(s, sync_pairs=()))
    assert store.load_settings().sync_pairs == ()


def test_hand_edits_and_comments_survive_a_write(isolated_home: Path) -> None:
    """Comments, key order and untouched entries of a hand-written file stay as they were after an edit."""
    path = isolated_home / "profiles.toml"
    path.write_text(
        "# Team servers. Ask Ana before changing.\n"
        "schema_version = 1\n"
        "\n"
        "[[groups]]\n"
        "name = 'web'   # literal string, odd spacing\n"
        'region = "eu-west-1"\n'
        "\n"
        "# the bastion\n"
        "[[profiles]]\n"
        'name = "bastion"\n'
        'instance_id = "i-0123456789abcdef0" # do not reboot\n'
        'tags = ["z", "a"]  # hand-ordered\n'
        "\n"
        "[[profiles]]\n"
        'name = "db"\n'
        'instance_id = "i-12345678"\n'
        'group = "web"\n',
        encoding="utf-8",
    )
    store.update_profiles(
        lambda b: b.replacing_profile("db", replace(b.profile("db"), region="us-east-1")).with_profile(
            Profile("new", "i-87654321")
        )
    )
    text = path.read_text(encoding="utf-8")
    for kept in (
        "# Team servers. Ask Ana before changing.",
        "name = 'web'   # literal string, odd spacing",
        "# the bastion",
        'instance_id = "i-0123456789abcdef0" # do not reboot',
        'tags = ["z", "a"]  # hand-ordered',
    ):
        assert kept in text
    book = store.load_profiles()
    assert book.profile("db").region == "us-east-1"
    assert book.profile("new").instance_id == "i-87654321"
    assert [p.name for p in book.profiles] == ["bastion", "db", "new"]


def test_rename_keeps_the_entry_comments(isolated_home: Path) -> None:
    """Renaming a profile edits its table in place, so comments inside it stay."""
    path = isolated_home / "profiles.toml"
    path.write_text('[[profiles]]\nname = "old"\n# keep me\ninstance_id = "i-12345678"\n', encoding="utf-8")
    store.update_profiles(lambda b: b.replacing_profile("old", replace(b.profile("old"), name="new")))
    text = path.read_text(encoding="utf-8")
    assert "# keep me" in text and 'name = "new"' in text and "old" not in text


def test_settings_comments_survive_and_only_changed_keys_change(isolated_home: Path) -> None:
    """A settings change rewrites only that key; other comments and keys stay as written."""
    path = isolated_home / "settings.toml"
    path.write_text(
        'schema_version = 1\n# I like it on\nsync_enabled = true # really\nbackend = "auto"\n',
        encoding="utf-8",
    )
    store.update_settings(lambda s: replace(s, backend="native"))
    text = path.read_text(encoding="utf-8")
    assert "# I like it on\nsync_enabled = true # really\n" in text
    assert 'backend = "native"' in text
    assert "sync_pairs" not in text  # default pairs were not spelled out in a file that did not have them
    assert store.load_settings().sync_enabled is True


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [
        ('schema_version = 1\n[[profiles]]\nname = "a"\ninstance_id = "i-1234"\n', 4, "invalid instance id"),
        ('[[profiles]]\nname = "a"\ninstance_id = "i-12345678"\nregion = "eu-centrl-1"\n', 4, "eu-central-1"),
        ('[[profiles]]\nname = "a"\ninstance_id = "i-12345678"\ntags = "x"\n', 4, "list of strings"),
        ('[[profiles]]\nname = "a"\n', 1, "has no instance_id"),
        ('[[profiles]]\nname = "a"\ninstance_id = "i-12345678"\nregoin = "x"\n', 4, "unknown key 'regoin'"),
        (
            '[[profiles]]\nname = "a"\ninstance_id = "i-12345678"\n'
            '[[profiles]]\nname = "a"\ninstance_id = "i-12345678"\n',
            5,
            "used twice",
        ),
        ("schema_version = 1\nprofiles = [\n", 3, ""),
        ('name = "x\n', 1, "line 1, column"),
        ("schema_version = 99\n", None, "newer ssmux"),
        ('schema_version = 1\n[profiles]\nname = "a"\n', 2, "must be an array of tables"),
        ('schema_version = "1"\n', None, "whole number"),
        ('colour = "red"\n', 1, "unknown key 'colour'"),
    ],
)
def test_bad_profiles_file_is_reported_with_line_and_never_overwritten(
    isolated_home: Path, content: str, line: int | None, problem: str
) -> None:
    """A file that does not parse or validate: one line naming file, line and problem; file unchanged."""
    path = isolated_home / "profiles.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(StoreError) as caught:
        store.load_profiles()
    message = str(caught.value)
    assert str(path) in message and problem in message and "\n" not in message
    if line is not None:
        assert f"line {line}" in message
    with pytest.raises(StoreError):
        add(Profile("b", "i-87654321"))
    assert path.read_text(encoding="utf-8") == content


def test_bad_settings_file_is_reported_with_line(isolated_home: Path) -> None:
    """A bad settings value names the key's line; a duplicate pair names the pairs."""
    path = isolated_home / "settings.toml"
    path.write_text('sync_enabled = false\nbackend = "putty"\n', encoding="utf-8")
    with pytest.raises(StoreError, match=r"settings.toml, line 2: backend: unknown backend 'putty'"):
        store.load_settings()
    path.write_text('[[sync_pairs]]\naws_profile = "a b"\nregion = "us-east-1"\n', encoding="utf-8")
    with pytest.raises(StoreError, match=r"line 2: .*AWS CLI profile name"):
        store.update_settings(lambda s: s)
    assert path.read_text(encoding="utf-8").startswith("[[sync_pairs]]")


def test_invalid_change_writes_nothing(isolated_home: Path) -> None:
    """A change that is invalid or raises leaves the file byte for byte as it was."""
    add(Profile("a", "i-12345678"))
    path = isolated_home / "profiles.toml"
    before = path.read_bytes()
    with pytest.raises(InvalidValue):
        store.update_profiles(lambda b: b.with_profile(Profile("b", "not-an-id")))
    with pytest.raises(NotFound):
        store.update_profiles(lambda b: b.without_profile("missing"))
    assert path.read_bytes() == before
    assert sorted(os.listdir(isolated_home)) == ["profiles.toml", "profiles.toml.lock"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_files_are_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The files are 0600 and a folder ssmux creates is 0700, whatever the umask."""
    home = tmp_path / "new" / "home"
    monkeypatch.setenv("SSMUX_HOME", str(home))
    old_umask = os.umask(0o022)
    try:
        add(Profile("a", "i-12345678"))
        store.update_settings(lambda s: replace(s, sync_enabled=True))
    finally:
        os.umask(old_umask)
    assert home.stat().st_mode & 0o777 == 0o700
    for name in ("profiles.toml", "settings.toml"):
        assert (home / name).stat().st_mode & 0o777 == 0o600


def test_file_without_schema_version_is_migrated_on_write(isolated_home: Path) -> None:
    """A hand-written file without schema_version is read as version 0 and stamped version 1 on write."""
    path = isolated_home / "profiles.toml"
    path.write_text('# mine\n[[profiles]]\nname = "a"\ninstance_id = "i-12345678"\n', encoding="utf-8")
    assert store.load_profiles().profile("a").instance_id == "i-12345678"
    add(Profile("b", "i-87654321"))
    text = path.read_text(encoding="utf-8")
    assert "schema_version = 1" in text and text.startswith("# mine\n")
    assert set(store.MIGRATIONS) == {0}


def test_record_recent_keeps_ten_newest_first(isolated_home: Path) -> None:
    """record_recent pushes ids, profiles and regions newest first, without duplicates, ten at most."""
    for n in range(12):
        store.record_recent(instance_id=f"i-{n:08x}")
    store.record_recent(instance_id="i-00000005", aws_profile="prod", region="eu-west-1")
    settings = store.load_settings()
    assert settings.recent_instance_ids[:3] == ("i-00000005", "i-0000000b", "i-0000000a")
    assert len(settings.recent_instance_ids) == 10
    assert len(set(settings.recent_instance_ids)) == 10
    assert settings.recent_aws_profiles == ("prod",) and settings.recent_regions == ("eu-west-1",)
    with pytest.raises(InvalidValue):
        store.record_recent(region="atlantis-1")


def test_write_from_another_writer_is_seen(isolated_home: Path) -> None:
    """A change made to the file behind this process' back is read, not masked by what it wrote last."""
    add(Profile("a", "i-12345678"))
    path = isolated_home / "profiles.toml"
    path.write_text(
        path.read_text(encoding="utf-8") + '\n[[profiles]]\nname = "hand"\ninstance_id = "i-aaaaaaaa"\n'
    )
    book = add(Profile("b", "i-87654321"))
    assert [p.name for p in book.profiles] == ["a", "hand", "b"]


def test_caller_cache_skips_unchanged_files_and_sees_other_writers(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A caller's StoreCache parses an unchanged file once; a write by anyone else is read anew."""
    cache = store.StoreCache()
    store.update_profiles(lambda b: b.with_profile(Profile("web", instance_id="i-12345678")), cache)
    parses: list[Path] = []
    real = store.book_from_text

    def counting(text: str | None, path: Path) -> ProfileBook:
        parses.append(path)
        return real(text, path)

    monkeypatch.setattr(store, "book_from_text", counting)
    assert [p.name for p in store.load_profiles(cache).profiles] == ["web"]
    assert parses == []  # the text this cache wrote is still on disk
    store.update_profiles(lambda b: b.with_profile(Profile("db", instance_id="i-87654321")))  # no cache
    assert [p.name for p in store.load_profiles(cache).profiles] == ["web", "db"]
    assert len(parses) == 2  # the other writer parsed, and so did this cache for the new text
    assert store.load_profiles(cache).profile("db").instance_id == "i-87654321"
    assert len(parses) == 2
