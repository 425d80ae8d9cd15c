"""Resolution of AWS CLI profile and region: profile -> group -> settings -> SDK, each on its own."""

from __future__ import annotations

import pytest

from ssmux.core.models import Group, Profile, ProfileBook, Settings
from ssmux.core.resolve import resolve


@pytest.mark.parametrize(
    ("own", "group", "default", "expected"),
    [
        ("p-own", "p-group", "p-default", ("p-own", "profile")),
        (None, "p-group", "p-default", ("p-group", "group")),
        (None, None, "p-default", ("p-default", "settings")),
        (None, None, None, (None, "sdk")),
    ],
)
def test_aws_profile_falls_through_in_order(own, group, default, expected) -> None:  # type: ignore[no-untyped-def]
    """The first set AWS profile among profile, group and settings wins; none set leaves it to the SDK."""
    profile = Profile("a", "i-12345678", group="g", aws_profile=own)
    book = ProfileBook(groups=(Group("g", aws_profile=group),), profiles=(profile,))
    result = resolve(profile, book, Settings(default_aws_profile=default))
    assert (result.aws_profile, result.aws_profile_source) == expected


def test_profile_and_region_resolve_independently() -> None:
    """A profile's own region does not stop its AWS profile from coming from the group, and vice versa."""
    profile = Profile("a", "i-12345678", group="g", region="eu-west-1")
    book = ProfileBook(groups=(Group("g", aws_profile="team", region="us-east-1"),), profiles=(profile,))
    result = resolve(profile, book, Settings(default_region="ap-south-1"))
    assert result.to_dict() == {
        "aws_profile": "team",
        "aws_profile_source": "group",
        "region": "eu-west-1",
        "region_source": "profile",
    }


def test_undeclared_group_contributes_nothing() -> None:
    """A group named only by the profile (no [[groups]] entry) falls through to the settings."""
    profile = Profile("a", "i-12345678", group="ghost")
    result = resolve(profile, ProfileBook(profiles=(profile,)), Settings(default_region="eu-north-1"))
    assert (result.region, result.region_source) == ("eu-north-1", "settings")
    assert (result.aws_profile, result.aws_profile_source) == (None, "sdk")
