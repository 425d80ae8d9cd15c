"""The data model: defaults from the reference, book operations, MRU lists, JSON forms."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssmux.core.models import Group, Profile, ProfileBook, Settings, push_recent
from ssmux.errors import AlreadyExists, NotFound


def test_settings_defaults_match_the_reference() -> None:
    """Sync on, no pairs (none made up), running-only off (stopped instances are synced; ``ls --all`` shows
    them), backend auto, empty defaults and histories."""
    settings = Settings()
    assert settings.sync_enabled is True
    assert settings.sync_pairs == ()
    assert settings.sync_only_running is False
    assert settings.backend == "auto"
    assert (settings.default_aws_profile, settings.default_region) == (None, None)
    assert settings.enabled_pairs() == ()


def test_json_forms_round_trip_with_stable_keys() -> None:
    """to_dict/from_dict round-trip every model and the keys are the field names."""
    profile = Profile("a", "i-12345678", "g", frozenset({"y", "x"}), "d\ne", "p", "us-east-1")
    assert Profile.from_dict(json.loads(json.dumps(profile.to_dict()))) == profile
    assert list(profile.to_dict()) == [
        "name",
        "instance_id",
        "group",
        "tags",
        "description",
        "aws_profile",
        "region",
    ]
    assert profile.to_dict()["tags"] == ["x", "y"]
    settings = Settings(sync_enabled=True, recent_regions=("us-east-1",), default_region="eu-west-1")
    assert Settings.from_dict(json.loads(json.dumps(settings.to_dict()))) == settings
    group = Group("g", "p", None)
    assert Group.from_dict(group.to_dict()) == group


def test_book_adds_replaces_and_removes() -> None:
    """A book refuses duplicate names, replaces in place (rename too) and reports missing names."""
    book = ProfileBook().with_profile(Profile("a", "i-12345678")).with_profile(Profile("b", "i-87654321"))
    with pytest.raises(AlreadyExists):
        book.with_profile(Profile("a", "i-11111111"))
    renamed = book.replacing_profile("a", Profile("c", "i-12345678"))
    assert [p.name for p in renamed.profiles] == ["c", "b"]
    with pytest.raises(AlreadyExists):
        book.replacing_profile("a", Profile("b", "i-12345678"))
    with pytest.raises(NotFound, match="ssmux profile ls"):
        book.without_profile("zzz")
    assert [p.name for p in book.without_profile("a").profiles] == ["b"]


def test_group_rename_and_removal_carry_the_profiles() -> None:
    """Renaming a group moves its profiles along; removing it moves them to no group."""
    book = ProfileBook(
        groups=(Group("web"),), profiles=(Profile("a", "i-12345678", group="web"), Profile("b", "i-87654321"))
    )
    renamed = book.replacing_group("web", Group("front"))
    assert renamed.profile("a").group == "front"
    removed = book.without_group("web")
    assert removed.groups == () and removed.profile("a").group is None


def test_find_profiles_filters_by_group_and_all_tags() -> None:
    """find_profiles keeps profiles of the group carrying every requested tag."""
    book = ProfileBook(
        profiles=(
            Profile("a", "i-12345678", group="g", tags=frozenset({"x", "y"})),
            Profile("b", "i-87654321", group="g", tags=frozenset({"x"})),
            Profile("c", "i-11111111", tags=frozenset({"x", "y"})),
        )
    )
    assert [p.name for p in book.find_profiles(group="g", tags=["x", "y"])] == ["a"]
    assert [p.name for p in book.find_profiles(tags=["y"])] == ["a", "c"]


@given(st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"]), max_size=40))
def test_recent_lists_are_newest_first_unique_and_bounded(pushes: list[str]) -> None:
    """push_recent keeps at most 10 distinct entries, the last pushed first, in recency order."""
    recent: tuple[str, ...] = ()
    for value in pushes:
        recent = push_recent(recent, value)
    expected: list[str] = []
    for value in reversed(pushes):
        if value not in expected:
            expected.append(value)
    assert list(recent) == expected[:10]
