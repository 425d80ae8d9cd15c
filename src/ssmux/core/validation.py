"""Validation of every value a user can give ssmux, each rule with one clear message.

Each ``validate_*`` function returns the normalised value (surrounding whitespace stripped) or raises
:class:`~ssmux.errors.InvalidValue` naming the value, what is wrong and what a good one looks like. The
``validate_profile``/``validate_group``/``validate_pair``/``validate_settings`` functions check whole models;
the store runs them on every load and before every write, so nothing invalid is ever written.

Known regions come from botocore's endpoint data files, read as JSON without importing botocore (that import
costs ~100 ms and ``ssmux profile ls`` validates the file it reads).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import cache
from importlib.util import find_spec
from pathlib import Path

from ssmux.core.models import BACKENDS, RECENT_LIMIT, Group, Profile, ProfileBook, Settings, SyncPair
from ssmux.errors import InvalidValue

#: An instance id: i- + 8 (old) or 17 hex digits for EC2 instances; mi- + 17 for hybrid managed nodes.
#: Lowercase only, as AWS prints them and as the SSM API accepts them. Use it with ``fullmatch`` (or call
#: :func:`is_instance_id`); every part of ssmux that recognises an id uses this one pattern.
INSTANCE_ID_PATTERN = re.compile(r"(?:i-(?:[0-9a-f]{8}|[0-9a-f]{17})|mi-[0-9a-f]{17})")

# botocore's endpoint files also list pseudo-regions for global endpoints (aws-global, aws-cn-global, ...):
# no instance lives there, so they are not offered as regions.
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

_PSEUDO_REGION = re.compile(r"^aws(-[a-z-]+)?-global$")

#: Longest name (profile, group, tag, AWS CLI profile). Names are labels, but generous: a name that quotes a
#: path or two still fits; what is refused is a value no one types (a pasted file, 100 KB).
NAME_MAX_LENGTH = 512
#: Longest free text (a description): pages of notes fit; a pasted file or a 100 KB value does not.
TEXT_MAX_LENGTH = 64 * 1024
#: Longest file path setting (PATH_MAX on Linux).
PATH_MAX_LENGTH = 4096
#: Longest name of one folder or file in a path (NAME_MAX on Linux, macOS and Windows alike).
FILE_NAME_MAX_LENGTH = 255
#: How much of a refused value an error message shows.
_SHOWN_LENGTH = 60


def is_instance_id(text: str) -> bool:
    """Whether ``text`` is exactly an instance or managed node id (no whitespace, lowercase)."""
    return INSTANCE_ID_PATTERN.fullmatch(text) is not None


def validate_instance_id(value: str) -> str:
    """Check an EC2 instance id (``i-`` + 8 or 17 hex) or managed node id (``mi-`` + 17 hex).

    Returns:
        The id with surrounding whitespace removed.

    Raises:
        InvalidValue: The id is malformed.
    """
    text = value.strip()
    if is_instance_id(text):
        return text
    hint = ""
    if is_instance_id(text.lower()):
        hint = f" (did you mean {text.lower()!r}? ids are lowercase)"
    raise InvalidValue(
        f"invalid instance id {shown(value)}: expected i- followed by 8 or 17 hex digits "
        f"(i-0123456789abcdef0) or mi- followed by 17 (mi-0123456789abcdef0){hint}"
    )


def validate_aws_profile_name(value: str) -> str:
    """Check an AWS CLI profile name: non-empty, at most :data:`NAME_MAX_LENGTH` characters, no whitespace,
    control or invisible characters.

    Raises:
        InvalidValue: The name is empty, too long, or contains whitespace, control or invisible characters.
    """
    text = value.strip()
    if not text:
        raise InvalidValue(
            "AWS CLI profile name is empty: give a name from ~/.aws/config (see 'ssmux aws-profiles')"
        )
    _check_length(text, NAME_MAX_LENGTH, "AWS CLI profile name")
    bad = next((ch for ch in text if ch.isspace() or _is_control(ch) or _is_invisible(ch)), None)
    if bad is not None:
        raise InvalidValue(
            f"invalid AWS CLI profile name {shown(value)}: it contains {_describe(bad)}; "
            "profile names have no whitespace or control characters, nor invisible ones"
        )
    return text


def validate_region(value: str) -> str:
    """Check that ``value`` is a region known to botocore's endpoint data, in any partition.

    Raises:
        InvalidValue: The region is unknown; the message suggests the closest known name.
    """
    text = value.strip()
    if not text:
        raise InvalidValue("region is empty: give a region such as eu-central-1")
    if len(text) <= NAME_MAX_LENGTH and _is_known_region(text):
        return text
    import difflib  # deferred: only a wrong region needs a suggestion

    close = difflib.get_close_matches(
        text[:NAME_MAX_LENGTH].lower(), sorted(known_regions()), n=1, cutoff=0.6
    )
    hint = f": did you mean {close[0]!r}?" if close else ": see the region list in the AWS documentation"
    raise InvalidValue(f"unknown AWS region {shown(value)}{hint}")


def validate_name(value: str, what: str = "name") -> str:
    """Check a profile or group name: non-empty, at most :data:`NAME_MAX_LENGTH` characters, no control
    characters (newline, tab, ESC, ...) and no invisible ones (zero-width space, bidi controls, ...), which
    would let two names look the same.

    Args:
        value: The name.
        what: What the name names, for the message (``"profile name"``, ``"group name"``).

    Raises:
        InvalidValue: The name is empty, too long, or holds a control or invisible character.
    """
    text = value.strip()
    if not text:
        raise InvalidValue(f"{what} is empty: give a non-empty {what}")
    _check_length(text, NAME_MAX_LENGTH, what)
    bad = next((ch for ch in text if _is_control(ch) or _is_invisible(ch)), None)
    if bad is not None:
        raise InvalidValue(
            f"invalid {what} {shown(value)}: it contains {_describe(bad)}; use visible, printable characters"
        )
    return text


def validate_tag(value: str) -> str:
    """Check a tag: non-empty, no control characters.

    Raises:
        InvalidValue: The tag is empty or holds a control character.
    """
    return validate_name(value, "tag")


def validate_description(value: str) -> str:
    """Check a description: free text; newlines and tabs are allowed, other control characters are not.

    Raises:
        InvalidValue: The description is longer than :data:`TEXT_MAX_LENGTH` characters, or holds a control
            character other than newline or tab.
    """
    _check_length(value, TEXT_MAX_LENGTH, "description")
    bad = next((ch for ch in value if _is_control(ch) and ch not in "\n\t"), None)
    if bad is not None:
        raise InvalidValue(f"invalid description: it contains {_describe(bad)}; only text, newlines and tabs")
    return value


def validate_backend(value: str) -> str:
    """Check a session backend name, one of :data:`~ssmux.core.models.BACKENDS`.

    Raises:
        InvalidValue: The backend is unknown.
    """
    text = value.strip()
    if text not in BACKENDS:
        raise InvalidValue(f"unknown backend {shown(value)}: choose one of {', '.join(BACKENDS)}")
    return text


def validate_profile(profile: Profile) -> Profile:
    """Check every field of a profile; returns it with normalised values.

    Raises:
        InvalidValue: A field is invalid; the message names the profile and the field.
    """
    name = validate_name(profile.name, "profile name")
    try:
        return replace(
            profile,
            name=name,
            instance_id=validate_instance_id(profile.instance_id),
            group=None if profile.group is None else validate_name(profile.group, "group name"),
            tags=frozenset(validate_tag(tag) for tag in profile.tags),
            description=validate_description(profile.description),
            aws_profile=_optional(profile.aws_profile, validate_aws_profile_name),
            region=_optional(profile.region, validate_region),
        )
    except InvalidValue as error:
        raise InvalidValue(f"profile {name!r}: {error}") from None


def validate_group(group: Group) -> Group:
    """Check every field of a group; returns it with normalised values.

    Raises:
        InvalidValue: A field is invalid; the message names the group.
    """
    name = validate_name(group.name, "group name")
    try:
        return replace(
            group,
            name=name,
            aws_profile=_optional(group.aws_profile, validate_aws_profile_name),
            region=_optional(group.region, validate_region),
        )
    except InvalidValue as error:
        raise InvalidValue(f"group {name!r}: {error}") from None


def validate_pair(pair: SyncPair) -> SyncPair:
    """Check a sync pair: a valid AWS CLI profile name, a known region, switches that are booleans, and
    account and role names (when set) like any other name.

    Raises:
        InvalidValue: A field is invalid.
    """
    return replace(
        pair,
        aws_profile=validate_aws_profile_name(pair.aws_profile),
        region=validate_region(pair.region),
        enabled=_bool(pair.enabled, "enabled"),
        containers=_bool(pair.containers, "containers"),
        account_name=_optional(pair.account_name, lambda name: validate_name(name, "account name")),
        role_name=_optional(pair.role_name, lambda name: validate_name(name, "role name")),
    )


def validate_book(book: ProfileBook) -> ProfileBook:
    """Check every group and profile, and that names are unique within each kind.

    Raises:
        InvalidValue: Something is invalid or a name is used twice.
    """
    groups = tuple(validate_group(g) for g in book.groups)
    profiles = tuple(validate_profile(p) for p in book.profiles)
    _unique((g.name for g in groups), "group")
    _unique((p.name for p in profiles), "profile")
    return ProfileBook(groups=groups, profiles=profiles)


def validate_settings(settings: Settings) -> Settings:
    """Check every setting; returns the settings with normalised values.

    Raises:
        InvalidValue: A setting is invalid; the message names it.
    """
    pairs = tuple(validate_pair(p) for p in settings.sync_pairs)
    seen: set[tuple[str, str]] = set()
    for pair in pairs:
        if pair.key in seen:
            raise InvalidValue(f"sync pair {pair.aws_profile}/{pair.region} is listed twice: keep one")
        seen.add(pair.key)
    return replace(
        settings,
        sync_enabled=_bool(settings.sync_enabled, "sync_enabled"),
        sync_pairs=pairs,
        sync_only_running=_bool(settings.sync_only_running, "sync_only_running"),
        default_aws_profile=_optional(settings.default_aws_profile, validate_aws_profile_name),
        default_region=_optional(settings.default_region, validate_region),
        backend=validate_backend(settings.backend),
        aws_path=_path(settings.aws_path, "aws_path"),
        plugin_path=_path(settings.plugin_path, "plugin_path"),
        recent_instance_ids=_recent(settings.recent_instance_ids, validate_instance_id),
        recent_aws_profiles=_recent(settings.recent_aws_profiles, validate_aws_profile_name),
        recent_regions=_recent(settings.recent_regions, validate_region),
    )


def known_regions() -> frozenset[str]:
    """Every region name in botocore's endpoint data (``partitions.json`` and ``endpoints.json``)."""
    return _regions_in("partitions.json") | _regions_in("endpoints.json")


def _is_known_region(region: str) -> bool:
    # partitions.json is small (~0.3 ms to read) and lists every region; endpoints.json (~15 ms) is read
    # only when a name is not found there, which keeps `ssmux profile ls` quick.
    return region in _regions_in("partitions.json") or region in known_regions()


@cache
def _regions_in(file_name: str) -> frozenset[str]:
    regions: set[str] = set()
    try:
        document = json.loads((_botocore_data_dir() / file_name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()  # absent in some botocore versions: the other file still lists the regions
    for partition in document.get("partitions", ()):
        regions.update(partition.get("regions", {}))
    return frozenset(r for r in regions if not _PSEUDO_REGION.match(r))


def _botocore_data_dir() -> Path:
    # find_spec on a top-level package locates it without executing its __init__.
    spec = find_spec("botocore")
    if spec is None or not spec.submodule_search_locations:
        raise InvalidValue("botocore is not installed: reinstall ssmux (pip install ssmux)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _optional(value: str | None, check: Callable[[str], str]) -> str | None:
    return None if value is None else check(value)


def _recent(values: tuple[str, ...], check: Callable[[str], str]) -> tuple[str, ...]:
    # Recent lists are a convenience: drop what is invalid instead of refusing the whole settings file.
    kept: list[str] = []
    for value in values:
        try:
            checked = check(value)
        except InvalidValue:
            continue
        if checked not in kept:
            kept.append(checked)
    return tuple(kept[:RECENT_LIMIT])


def _bool(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidValue(f"{key} must be true or false, not {shown(value)}")
    return value


def _path(value: str, key: str) -> str:
    if not isinstance(value, str) or any(_is_control(ch) for ch in value):
        raise InvalidValue(f"{key} must be a file path without control characters, not {shown(value)}")
    text = value.strip()
    _check_length(text, PATH_MAX_LENGTH, key)
    longest = max((len(part) for part in re.split(r"[/\\]", text)), default=0)
    if longest > FILE_NAME_MAX_LENGTH:
        raise InvalidValue(
            f"{key} holds a name of {longest} characters: file systems allow at most {FILE_NAME_MAX_LENGTH} "
            "per folder or file name; give the real path"
        )
    return text


def _check_length(text: str, limit: int, what: str) -> None:
    if len(text) > limit:
        raise InvalidValue(f"{what} is {len(text)} characters long: the most is {limit}; shorten it")


def shown(value: object, limit: int = _SHOWN_LENGTH) -> str:
    """``repr(value)`` for an error message, cut in the middle when long: a refused 100 KB value must not
    come back whole."""
    text = repr(value)
    if len(text) <= limit:
        return text
    half = (limit - 3) // 2
    return f"{text[:half]}...{text[-half:]} ({len(str(value))} characters)"


def _unique(names: Iterable[str], kind: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidValue(f"{kind} name {name!r} is used twice: rename or remove one")
        seen.add(name)


def _is_control(ch: str) -> bool:
    # Cc: C0/C1 controls (newline, ESC, DEL, ...). Line/paragraph separators and bidi overrides would also
    # let a name break a line or disguise itself in a terminal, so they count as control characters too.
    # Other format characters (zero-width joiner in emoji) stay allowed.
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _BIDI_CONTROLS


def _is_invisible(ch: str) -> bool:
    # Cf: format characters (zero-width space and joiners, word joiner, BOM, soft hyphen, bidi controls): they
    # show as nothing, so "web" and "we\u200bb" would look alike. Refused in names, allowed in free text.
    return unicodedata.category(ch) == "Cf"


def _describe(ch: str) -> str:
    names = {"\n": "a newline", "\r": "a carriage return", "\t": "a tab", "\x1b": "an escape character"}
    if ch in names:
        return names[ch]
    if ch.isspace():
        return f"whitespace (U+{ord(ch):04X})"
    if _is_control(ch):
        return f"a control character (U+{ord(ch):04X})"
    return f"an invisible character (U+{ord(ch):04X} {unicodedata.name(ch, 'format character')})"


#: Every EC2 instance state (``instance-state-name``), in lifecycle order.
EC2_STATES = ("pending", "running", "stopping", "stopped", "shutting-down", "terminated")


def validate_instance_state(value: str) -> str:
    """Check an EC2 instance state name (``ssmux ls --state``); returns it in lower case.

    Raises:
        InvalidValue: not one of :data:`EC2_STATES`; the message lists them and suggests the closest.
    """
    text = value.strip().lower()
    if text in EC2_STATES:
        return text
    import difflib  # deferred: only a wrong state needs a suggestion

    close = difflib.get_close_matches(text, EC2_STATES, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise InvalidValue(f"unknown instance state {shown(value)}: {hint}give one of {', '.join(EC2_STATES)}")


def validate_pair_text(first: str, second: str | None = None) -> tuple[str, str]:
    """A sync pair as typed: ``PROFILE REGION`` (two words) or ``PROFILE/REGION`` (one).

    ``PROFILE/REGION`` is split at the last ``/``: regions have none.

    Returns:
        ``(aws_profile, region)``, each checked.

    Raises:
        InvalidValue: one word without ``/``, or an invalid profile name or region.
    """
    if second is None:
        aws_profile, sep, region = first.strip().rpartition("/")
        if not sep or not aws_profile or not region:
            raise InvalidValue(
                f"invalid pair {shown(first)}: write it as PROFILE/REGION (or PROFILE REGION), "
                "e.g. prod/us-east-1"
            )
    else:
        aws_profile, region = first, second
    return validate_aws_profile_name(aws_profile), validate_region(region)
