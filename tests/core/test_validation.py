"""Validation rules: every rule with good and bad inputs, properties checked with hypothesis."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssmux.core.models import Group, Profile, ProfileBook, Settings, SyncPair
from ssmux.core.validation import (
    known_regions,
    validate_aws_profile_name,
    validate_backend,
    validate_book,
    validate_description,
    validate_instance_id,
    validate_name,
    validate_profile,
    validate_region,
    validate_settings,
    validate_tag,
)
from ssmux.errors import InvalidValue

HEX = "0123456789abcdef"
hex_digits = lambda n: st.text(HEX, min_size=n, max_size=n)  # noqa: E731
controls = st.sampled_from([chr(c) for c in range(0x20)] + ["\x7f", "\x85", "\u2028", "\u2029", "\u202e"])
printable_text = st.text(
    st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp")),
    min_size=1,
).filter(lambda s: s.strip())


@given(hex_digits(8))
def test_short_instance_ids_are_accepted(digits: str) -> None:
    """An i- id with 8 lowercase hex digits is valid and returned unchanged."""
    assert validate_instance_id(f"i-{digits}") == f"i-{digits}"


@given(hex_digits(17), st.sampled_from(["i-", "mi-"]))
def test_long_instance_and_managed_node_ids_are_accepted(digits: str, prefix: str) -> None:
    """i- and mi- with 17 lowercase hex digits are valid; surrounding blanks are stripped."""
    assert validate_instance_id(f"  {prefix}{digits}\n") == f"{prefix}{digits}"


@given(st.integers(min_value=0, max_value=30).filter(lambda n: n not in (8, 17)))
def test_instance_ids_of_other_lengths_are_refused(length: int) -> None:
    """An id whose hex part is not 8 or 17 digits long is refused with the expected shape in the message."""
    with pytest.raises(InvalidValue, match=r"expected i- followed by 8 or 17 hex digits"):
        validate_instance_id("i-" + "a" * length)


@pytest.mark.parametrize(
    "bad",
    ["", "i-", "mi-12345678", "x-12345678", "i-1234567g", "i 12345678", "i-12345678;rm", "I-12345678"],
)
def test_malformed_instance_ids_are_refused(bad: str) -> None:
    """Wrong prefix, non-hex digits, 8-digit mi- ids and trailing junk are refused."""
    with pytest.raises(InvalidValue, match="invalid instance id"):
        validate_instance_id(bad)


def test_uppercase_instance_id_gets_a_hint() -> None:
    """An uppercase id is refused and the message suggests the lowercase form."""
    with pytest.raises(InvalidValue, match="did you mean 'i-0123456789abcdef0'"):
        validate_instance_id("i-0123456789ABCDEF0")


@given(st.text(string.ascii_letters + string.digits + "-_.@+=,", min_size=1))
def test_profile_names_without_whitespace_are_accepted(name: str) -> None:
    """AWS CLI profile names made of printable non-blank characters are valid."""
    assert validate_aws_profile_name(name) == name


@given(
    st.text(string.ascii_letters, min_size=1),
    st.sampled_from([" ", "\t", "\u00a0", "\n"]),
    st.text(string.ascii_letters, min_size=1),
)
def test_profile_names_with_inner_whitespace_are_refused(left: str, blank: str, right: str) -> None:
    """Whitespace inside an AWS CLI profile name is refused."""
    with pytest.raises(InvalidValue, match="no whitespace or control characters"):
        validate_aws_profile_name(left + blank + right)


def test_empty_profile_name_is_refused() -> None:
    """An empty (or blank) AWS CLI profile name is refused with a pointer to 'ssmux aws-profiles'."""
    with pytest.raises(InvalidValue, match="aws-profiles"):
        validate_aws_profile_name("   ")


@pytest.mark.parametrize(
    "region", ["eu-central-1", "us-east-1", "cn-north-1", "us-gov-west-1", "ap-southeast-2"]
)
def test_known_regions_of_every_partition_are_accepted(region: str) -> None:
    """Regions of the aws, aws-cn and aws-us-gov partitions are all known."""
    assert validate_region(f" {region} ") == region


def test_pseudo_regions_are_not_regions() -> None:
    """botocore's global pseudo-regions (aws-global) are not offered as regions."""
    assert "aws-global" not in known_regions()
    assert len(known_regions()) > 25


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [("eu-centrl-1", "eu-central-1"), ("us-east1", "us-east-1"), ("EU-WEST-1", "eu-west-1")],
)
def test_unknown_region_suggests_the_closest(typo: str, suggestion: str) -> None:
    """An unknown region is refused and the closest known name is suggested."""
    with pytest.raises(InvalidValue, match=f"did you mean '{suggestion}'"):
        validate_region(typo)


def test_nonsense_region_is_refused_without_a_wild_guess() -> None:
    """A region nothing like a known one is refused without a suggestion."""
    with pytest.raises(InvalidValue) as caught:
        validate_region("zzzzzzzzzzzzzzzz")
    assert "did you mean" not in str(caught.value)


@given(printable_text)
def test_names_and_tags_of_printable_text_are_kept_verbatim(text: str) -> None:
    """Any printable text (quotes, $(...), backticks, ;, &, unicode) is a valid name or tag, stripped only."""
    assert validate_name(text) == text.strip()
    assert validate_tag(text) == text.strip()


@given(st.text(min_size=0, max_size=5), controls, st.text(min_size=0, max_size=5))
def test_names_and_tags_with_control_characters_are_refused(left: str, control: str, right: str) -> None:
    """A control character anywhere inside a name or tag is refused."""
    value = f"a{left}{control}{right}b"
    with pytest.raises(InvalidValue, match="contains"):
        validate_name(value, "profile name")
    with pytest.raises(InvalidValue, match="contains"):
        validate_tag(value)


def test_empty_names_are_refused() -> None:
    """An empty or blank name or tag is refused."""
    for check in (validate_name, validate_tag):
        with pytest.raises(InvalidValue, match="empty"):
            check("  ")


def test_descriptions_keep_newlines_but_not_escapes() -> None:
    """Descriptions may span lines and hold tabs, but an ESC (terminal escape) is refused."""
    assert validate_description("a\n\tb $(x) `y`") == "a\n\tb $(x) `y`"
    with pytest.raises(InvalidValue, match="escape"):
        validate_description("red \x1b[31m")


def test_backend_must_be_known() -> None:
    """Only the four backends are accepted."""
    assert validate_backend("aws-cli") == "aws-cli"
    with pytest.raises(InvalidValue, match="auto, native, plugin, aws-cli"):
        validate_backend("putty")


def test_profile_validation_names_the_profile() -> None:
    """A bad field of a profile is reported with the profile's name."""
    with pytest.raises(InvalidValue, match=r"profile 'web': unknown AWS region"):
        validate_profile(Profile("web", "i-12345678", region="mars-1"))


def test_book_validation_refuses_duplicate_names() -> None:
    """Two profiles (or groups) with one name are refused."""
    book = ProfileBook(profiles=(Profile("a", "i-12345678"), Profile("a", "i-87654321")))
    with pytest.raises(InvalidValue, match="used twice"):
        validate_book(book)
    with pytest.raises(InvalidValue, match="used twice"):
        validate_book(ProfileBook(groups=(Group("g"), Group("g"))))


def test_settings_validation_refuses_duplicate_pairs_and_bad_values() -> None:
    """A pair listed twice, a bad default region or a non-boolean flag are refused."""
    twice = Settings(sync_pairs=(SyncPair("p", "us-east-1"), SyncPair("p", "us-east-1", False)))
    with pytest.raises(InvalidValue, match="listed twice"):
        validate_settings(twice)
    with pytest.raises(InvalidValue, match="unknown AWS region"):
        validate_settings(Settings(default_region="nowhere-1"))
    with pytest.raises(InvalidValue, match="true or false"):
        validate_settings(Settings(sync_enabled="yes"))  # type: ignore[arg-type]


def test_invalid_recent_entries_are_dropped_not_fatal() -> None:
    """A stale or invalid entry in a recent list is dropped; the rest is kept in order, de-duplicated."""
    settings = Settings(recent_regions=("us-east-1", "atlantis-1", "eu-west-1", "us-east-1"))
    assert validate_settings(settings).recent_regions == ("us-east-1", "eu-west-1")
