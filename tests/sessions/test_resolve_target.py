"""TARGET resolution: ids, saved names, synced names; ambiguity asks or lists; overrides win."""

from __future__ import annotations

import pytest

from ssmux.core.models import Profile, Settings
from ssmux.core.store import load_settings, update_profiles, update_settings
from ssmux.errors import InvalidValue, NotFound
from ssmux.sessions.resolve_target import Cancelled, record_recent, resolve_target
from ssmux.sync.targets import Target


def synced(name: str, instance_id: str, pair: str, ping_status: str = "Online") -> Target:
    """A synced target as the cache would give it."""
    aws_profile, region = pair.split("/")
    return Target(f"{name} ({instance_id})", instance_id, aws_profile, region, pair, "synced",
                  state="running", ping_status=ping_status, name_tag=name)  # fmt: skip


WEB1_DEV = synced("web-1", "i-0aaaaaaaaaaaaaaa1", "dev/eu-central-1")
WEB1_PROD = synced("web-1", "i-0bbbbbbbbbbbbbbb1", "prod/us-east-1")
LEGACY = synced("legacy", "i-0ccccccccccccccc1", "dev/eu-west-1", "Unmanaged")


def test_unique_name_tag_resolves_with_its_pair() -> None:
    """A Name tag that matches one instance gives that instance with its pair's profile and region."""
    resolved = resolve_target("legacy", targets=[WEB1_DEV, LEGACY])
    assert (resolved.instance_id, resolved.aws_profile, resolved.region) == (
        "i-0ccccccccccccccc1",
        "dev",
        "eu-west-1",
    )


def test_problem_known_from_the_sync_is_reported() -> None:
    """An unmanaged instance carries the line that says so, for the caller to print before trying."""
    assert "not managed by SSM" in (resolve_target("legacy", targets=[LEGACY]).problem or "")
    assert resolve_target("i-0aaaaaaaaaaaaaaa1", targets=[WEB1_DEV]).problem is None


def test_command_line_profile_and_region_override() -> None:
    """--aws-profile and --region win over what the target resolves to."""
    resolved = resolve_target("legacy", aws_profile="other", region="us-west-2", targets=[LEGACY])
    assert (resolved.aws_profile, resolved.region) == ("other", "us-west-2")


def test_ambiguous_name_without_terminal_lists_candidates() -> None:
    """Two instances named web-1 and nobody to ask: one line listing both and what to type instead."""
    with pytest.raises(InvalidValue) as caught:
        resolve_target("web-1", targets=[WEB1_DEV, WEB1_PROD])
    message = str(caught.value)
    assert "'web-1' matches 2 targets" in message
    assert "i-0aaaaaaaaaaaaaaa1" in message and "i-0bbbbbbbbbbbbbbb1" in message
    assert "give the instance id" in message


def test_ambiguous_name_on_terminal_asks_the_picker() -> None:
    """On a terminal the picker gets one label per candidate and its choice is used."""
    shown: list[str] = []

    def pick(labels: list[str]) -> int:
        shown.extend(labels)
        return 1

    resolved = resolve_target("web-1", interactive=True, pick=pick, targets=[WEB1_DEV, WEB1_PROD])
    assert len(shown) == 2 and "prod/us-east-1" in shown[1]
    assert (resolved.instance_id, resolved.aws_profile) == ("i-0bbbbbbbbbbbbbbb1", "prod")


def test_cancelled_picker_is_an_interruption() -> None:
    """Esc in the picker ends the command with status 130 and no session."""
    with pytest.raises(Cancelled) as caught:
        resolve_target("web-1", interactive=True, pick=lambda labels: None, targets=[WEB1_DEV, WEB1_PROD])
    assert int(caught.value.exit_status) == 130


def test_unknown_instance_id_uses_the_settings_defaults() -> None:
    """An id nobody knows is used as is, with the default profile and region from the settings."""
    settings = Settings(default_aws_profile="ops", default_region="eu-north-1")
    resolved = resolve_target("i-0123456789abcdef0", targets=[], settings=settings)
    assert (resolved.instance_id, resolved.aws_profile, resolved.region) == (
        "i-0123456789abcdef0",
        "ops",
        "eu-north-1",
    )


def test_unknown_name_says_where_to_look() -> None:
    """A name that matches nothing and is no instance id: one line pointing at ls and sync."""
    with pytest.raises(NotFound, match=r"no target named 'nope': see 'ssmux ls'.*ssmux sync"):
        resolve_target("nope", targets=[WEB1_DEV])


def test_saved_profile_from_the_store_resolves_through_its_group_and_settings() -> None:
    """A saved profile (real files under SSMUX_HOME) resolves with its own region and the default profile."""
    update_settings(lambda settings: Settings(default_aws_profile="team"))
    update_profiles(
        lambda book: book.with_profile(Profile("db; $(rm -rf /)", "i-0123456789abcdef0", region="eu-west-1"))
    )
    resolved = resolve_target("db; $(rm -rf /)")
    assert (resolved.instance_id, resolved.aws_profile, resolved.region) == (
        "i-0123456789abcdef0",
        "team",
        "eu-west-1",
    )


def test_recent_lists_are_updated_newest_first() -> None:
    """Each session pushes its instance, profile and region to the front of the recent lists."""
    record_recent("i-0123456789abcdef0", "dev", "eu-central-1")
    record_recent("i-0aaaaaaaaaaaaaaa1", "dev", "eu-west-1")
    settings = load_settings()
    assert settings.recent_instance_ids[:2] == ("i-0aaaaaaaaaaaaaaa1", "i-0123456789abcdef0")
    assert settings.recent_aws_profiles == ("dev",)
    assert settings.recent_regions[:2] == ("eu-west-1", "eu-central-1")
