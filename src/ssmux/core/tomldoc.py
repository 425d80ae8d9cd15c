"""TOML text for the store: parsing with located errors, checking shapes, and editing a document in place.

Reading uses :mod:`tomllib` (fast, strict); writing edits the :mod:`tomlkit` document parsed from the file, so
comments and formatting around unchanged values survive. Errors name the file and the line: tomllib reports
the line of a syntax error; for a value that parses but is wrong, the line is found by scanning the text for
the entry's ``[[array]]`` header and its ``key =`` line (good enough for the files ssmux writes and for hand
edits in the same style; an entry written inline is located at its array's line).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, MutableMapping
from pathlib import Path
from typing import Any, TypeVar

from ssmux.core.models import Group, Profile, ProfileBook, Settings
from ssmux.core.validation import (
    validate_aws_profile_name,
    validate_description,
    validate_instance_id,
    validate_name,
    validate_region,
    validate_tag,
)
from ssmux.errors import InvalidValue, StoreError

T = TypeVar("T")

# field -> (type, required). Types: "str", "bool", "list[str]", "tables".
PROFILE_FIELDS: dict[str, tuple[str, bool]] = {
    "name": ("str", True),
    "instance_id": ("str", True),
    "group": ("str", False),
    "tags": ("list[str]", False),
    "description": ("str", False),
    "aws_profile": ("str", False),
    "region": ("str", False),
}
GROUP_FIELDS: dict[str, tuple[str, bool]] = {
    "name": ("str", True),
    "aws_profile": ("str", False),
    "region": ("str", False),
}
PAIR_FIELDS: dict[str, tuple[str, bool]] = {
    "aws_profile": ("str", True),
    "region": ("str", True),
    "enabled": ("bool", False),
    "containers": ("bool", False),
    "account_name": ("str", False),
    "role_name": ("str", False),
}
SETTINGS_FIELDS: dict[str, str] = {
    "sync_enabled": "bool",
    "sync_pairs": "tables",
    "sync_only_running": "bool",
    "default_aws_profile": "str",
    "default_region": "str",
    "backend": "str",
    "aws_path": "str",
    "plugin_path": "str",
    "recent_instance_ids": "list[str]",
    "recent_aws_profiles": "list[str]",
    "recent_regions": "list[str]",
}

# Per-field checks, run one by one only to find which key of an invalid entry to point at.
_FIELD_CHECKS: dict[str, Callable[[Any], Any]] = {
    "name": validate_name,
    "instance_id": validate_instance_id,
    "group": validate_name,
    "tags": lambda tags: [validate_tag(t) for t in tags],
    "description": validate_description,
    "aws_profile": validate_aws_profile_name,
    "region": validate_region,
    "account_name": validate_name,
    "role_name": validate_name,
}

_TOMLLIB_WHERE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOMLLIB_END = re.compile(r"\s*\(at end of document\)\s*$")


# Parsing ------------------------------------------------------------------------------------------
def parse_fast(text: str, path: Path) -> dict[str, Any]:
    """Parse ``text`` with tomllib.

    Raises:
        StoreError: A syntax error, as ``<path>, line N, column M: <problem>``, or nesting too deep to parse.
    """
    import tomllib

    try:
        return tomllib.loads(text)
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise StoreError(
            f"{path}: arrays or tables too deeply nested; fix the file (it was not changed)"
        ) from None
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        where = ""
        found = _TOMLLIB_WHERE.search(message)
        if found:
            where = f", line {found.group(1)}, column {found.group(2)}"
            message = message[: found.start()]
        elif _TOMLLIB_END.search(message):
            where = f", line {text.count(chr(10)) + 1}"
            message = _TOMLLIB_END.sub("", message)
        raise StoreError(
            f"{path}{where}: {_lower_first(message)}; fix the file (it was not changed)"
        ) from None


def check_keys(data: dict[str, Any], text: str, path: Path, allowed: Iterable[str]) -> None:
    """Refuse top-level keys other than ``allowed`` (a typo would otherwise be silently ignored)."""
    allowed_set = set(allowed)
    for key in data:
        if key not in allowed_set:
            line = _line_of_top_key(text, key)
            raise StoreError(
                f"{path}{_at(line)}: unknown key {key!r}; known keys: {', '.join(sorted(allowed_set))}"
            )


def check_type(value: Any, kind: str, text: str, path: Path, key: str) -> None:
    """Refuse a top-level ``key`` whose value is not of ``kind``."""
    if not _is_kind(value, kind):
        line = _line_of_top_key(text, key)
        raise StoreError(f"{path}{_at(line)}: {key} must be {_kind_text(kind)}, not {_toml_type(value)}")


def entries(data: dict[str, Any], array: str, text: str, path: Path) -> list[dict[str, Any]]:
    """The tables of array ``array`` (``[[array]]``); absent means none.

    Raises:
        StoreError: ``array`` is not an array of tables.
    """
    value = data.get(array, [])
    if not _is_kind(value, "tables"):
        raise StoreError(
            f"{path}{_at(_line_of_top_key(text, array))}: {array} must be an array of tables ([[{array}]])"
        )
    return list(value)


def check_entry(
    entry: dict[str, Any],
    text: str,
    path: Path,
    array: str,
    index: int,
    fields: dict[str, tuple[str, bool]],
) -> dict[str, Any]:
    """Check keys and value types of one table of ``array``; returns it.

    Raises:
        StoreError: A required key is missing, a key is unknown or a value has the wrong type.
    """
    for key, value in entry.items():
        if key not in fields:
            line = line_of_entry(text, array, index, key)
            raise StoreError(
                f"{path}{_at(line)}: unknown key {key!r} in {array} entry {index + 1}; "
                f"known keys: {', '.join(fields)}"
            )
        kind = fields[key][0]
        if not _is_kind(value, kind):
            line = line_of_entry(text, array, index, key)
            raise StoreError(f"{path}{_at(line)}: {key} must be {_kind_text(kind)}, not {_toml_type(value)}")
    for key, (_, required) in fields.items():
        if required and key not in entry:
            line = line_of_entry(text, array, index)
            raise StoreError(f"{path}{_at(line)}: {array} entry {index + 1} has no {key}; add {key} = ...")
    return entry


def located(
    build: Callable[[dict[str, Any]], T], entry: dict[str, Any], text: str, path: Path, array: str, index: int
) -> T:
    """``build(entry)`` for entry ``index`` of ``array``; its InvalidValue becomes a located StoreError."""
    try:
        return build(entry)
    except InvalidValue as error:
        key = _failing_key(entry)
        line = line_of_entry(text, array, index, key)
        raise StoreError(f"{path}{_at(line)}: {error}; fix the file (it was not changed)") from None


def located_key(check: Callable[[Any], T], value: Any, text: str, path: Path, key: str) -> T:
    """``check(value)`` for top-level ``key``; an InvalidValue it raises becomes a located StoreError."""
    try:
        return check(value)
    except InvalidValue as error:
        line = _line_of_top_key(text, key)
        raise StoreError(f"{path}{_at(line)}: {key}: {error}; fix the file (it was not changed)") from None


def check_unique(names: list[str], kind: str, text: str, path: Path, array: str) -> None:
    """Refuse a name used by two entries of ``array``, pointing at the second one."""
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            line = line_of_entry(text, array, index, "name")
            raise StoreError(f"{path}{_at(line)}: {kind} name {name!r} is used twice; rename or remove one")
        seen.add(name)


# Locating lines -----------------------------------------------------------------------------------
def line_of_entry(text: str, array: str, index: int, key: str | None = None) -> int | None:
    """1-based line of entry ``index`` of ``[[array]]`` (of its ``key =`` line when given), if found."""
    lines = text.splitlines()
    header = re.compile(rf"^\s*\[\[\s*{_key_pattern(array)}\s*\]\]")
    starts = [number for number, line in enumerate(lines) if header.match(line)]
    if index >= len(starts):
        return _line_of_top_key(text, array)
    start = starts[index]
    if key is None:
        return start + 1
    assignment = re.compile(rf"^\s*{_key_pattern(key)}\s*=")
    for number in range(start + 1, len(lines)):
        if lines[number].lstrip().startswith("["):
            break
        if assignment.match(lines[number]):
            return number + 1
    return start + 1


def _line_of_top_key(text: str, key: str) -> int | None:
    assignment = re.compile(rf"^\s*{_key_pattern(key)}\s*=")
    header = re.compile(rf"^\s*\[\[?\s*{_key_pattern(key)}\s*\]")
    in_tables = False
    for number, line in enumerate(text.splitlines()):
        if header.match(line):
            return number + 1  # [key] or [[key]]: the key is a table
        in_tables = in_tables or line.lstrip().startswith("[")
        if not in_tables and assignment.match(line):
            return number + 1  # a top-level key = value (they all come before the first table)
    return None


def _key_pattern(key: str) -> str:
    escaped = re.escape(key)
    return rf"(?:{escaped}|\"{escaped}\"|'{escaped}')"


def _failing_key(entry: dict[str, Any]) -> str | None:
    for key, check in _FIELD_CHECKS.items():
        if key in entry and entry[key] not in (None, ""):
            try:
                check(entry[key])
            except InvalidValue:
                return key
    return None


def _at(line: int | None) -> str:
    return "" if line is None else f", line {line}"


# Types --------------------------------------------------------------------------------------------
def _is_kind(value: Any, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "list[str]":
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _kind_text(kind: str) -> str:
    return {
        "str": "a string in quotes",
        "bool": "true or false",
        "list[str]": 'a list of strings (["a", "b"])',
        "tables": "an array of tables",
    }[kind]


def _toml_type(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# Editing a tomlkit document -----------------------------------------------------------------------
def load(text: str | None, path: Path, header: str, schema_version: int) -> Any:
    """The tomlkit document of ``text``, or a new one with ``header`` as comment and ``schema_version``."""
    import tomlkit

    if text is None:
        document = tomlkit.document()
        for line in header.splitlines():
            document.add(tomlkit.comment(line))
        document.add(tomlkit.nl())
        document["schema_version"] = schema_version
        return document
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as error:  # tomllib accepted it; keep the two honest anyway
        raise StoreError(f"{path}, line {error.line}: {error}; fix the file (it was not changed)") from None


def dump(document: Any) -> str:
    """The text of a tomlkit document."""
    import tomlkit

    return tomlkit.dumps(document)


def sync_book(document: MutableMapping[str, Any], book: ProfileBook, old: ProfileBook | None = None) -> None:
    """Make ``[[groups]]`` and ``[[profiles]]`` of ``document`` hold ``book``, touching only what changed.

    Args:
        document: The profiles document.
        book: The book it should hold.
        old: The book ``document`` holds now, if known: entries equal in both are not even looked at, which
            keeps a write to a file of hundreds of profiles quick.
    """
    old_groups = [_group_entry(g) for g in old.groups] if old else []
    old_profiles = [_profile_entry(p) for p in old.profiles] if old else []
    groups = [_group_entry(g) for g in book.groups]
    profiles = [_profile_entry(p) for p in book.profiles]
    _sync_array(document, "groups", groups, ("name",), empty="remove", known=old_groups)
    _sync_array(document, "profiles", profiles, ("name",), empty="remove", known=old_profiles)


def sync_settings(document: MutableMapping[str, Any], settings: Settings, fresh: bool) -> None:
    """Make ``document`` hold ``settings``: changed keys rewritten, unchanged ones left as written.

    Args:
        document: The settings document.
        settings: The settings to hold.
        fresh: The document is new: write every setting, so the file shows them all.
    """
    defaults = Settings().to_dict()
    values = settings.to_dict()
    pairs = [_pair_entry(pair) for pair in values.pop("sync_pairs")]
    for key, value in values.items():
        if key in document:
            _set_value(document, key, value)
        elif value is not None and (fresh or value != defaults[key]):
            document[key] = value
    if fresh or "sync_pairs" in document or pairs != defaults["sync_pairs"]:
        _sync_array(document, "sync_pairs", pairs, ("aws_profile", "region"), empty="inline")


def _pair_entry(pair: dict[str, Any]) -> dict[str, Any]:
    # ``containers`` is written only when off: a file of pairs that all list containers stays as it was.
    return {**pair, "containers": None} if pair.get("containers", True) is True else pair


def _profile_entry(profile: Profile) -> dict[str, Any]:
    entry = profile.to_dict()
    entry["tags"] = sorted(profile.tags)
    return entry


def _group_entry(group: Group) -> dict[str, Any]:
    return group.to_dict()


def _sync_array(
    document: MutableMapping[str, Any],
    array: str,
    wanted: list[dict[str, Any]],
    identity: tuple[str, ...],
    *,
    empty: str,
    known: list[dict[str, Any]] | None = None,
) -> None:
    import tomlkit
    from tomlkit.items import AoT

    current = document.get(array)
    if not wanted:
        if array in document:
            del document[array]
        if empty == "inline":
            document[array] = tomlkit.array()
        return
    if not isinstance(current, AoT):
        # Absent, or written inline by hand ([] or [{...}]): start an array of tables.
        if array in document:
            del document[array]
        document[array] = current = tomlkit.aot()
    tables = list(current)

    def ident(values: Any) -> tuple[Any, ...]:
        return tuple(values.get(key) for key in identity)

    by_identity: dict[tuple[Any, ...], Any] = {}
    for table in tables:
        by_identity.setdefault(ident(table), table)
    held = {ident(entry): entry for entry in known or ()}
    chosen: list[Any] = [None] * len(wanted)
    untouched: set[int] = set()
    used: set[int] = set()
    for position, entry in enumerate(wanted):
        key = ident(entry)
        table = by_identity.get(key)
        if table is not None and id(table) not in used:
            chosen[position] = table
            used.add(id(table))
            if held.get(key) == entry:
                untouched.add(position)
    for position in range(len(wanted)):
        if chosen[position] is not None:
            continue
        # An unmatched entry where an unmatched table stood is a rename: keep that table and its comments.
        if position < len(tables) and id(tables[position]) not in used:
            chosen[position] = tables[position]
            used.add(id(tables[position]))
        else:
            table = tomlkit.table()
            table.trivia.indent = "\n"  # a blank line before each new [[array]] header, as people write them
            chosen[position] = table
    for position, (table, entry) in enumerate(zip(chosen, wanted, strict=True)):
        if position not in untouched:
            _set_fields(table, entry)
    if [id(t) for t in chosen] != [id(t) for t in tables]:
        while len(current):
            del current[0]
        for table in chosen:
            current.append(table)


def _set_fields(table: Any, entry: dict[str, Any]) -> None:
    for key, value in entry.items():
        if value is None or value == "" or value == []:
            if key in table:
                del table[key]
        elif key not in table:
            table[key] = value
        else:
            _set_value(table, key, value)


def _set_value(container: Any, key: str, value: Any) -> None:
    if value is None:
        del container[key]
        return
    old = container[key]
    old_value = old.unwrap() if hasattr(old, "unwrap") else old
    same = old_value == value
    if isinstance(value, list) and key == "tags" and isinstance(old_value, list):
        same = sorted(old_value) == value  # a hand-ordered tag list is the same set: leave it as written
    if not same:
        container[key] = value
