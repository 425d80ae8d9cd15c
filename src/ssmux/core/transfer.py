"""Import and export of groups and profiles, as TOML (the schema of ``profiles.toml``) or CSV.

The format follows the file extension: ``.toml`` or ``.csv``.

* **TOML** carries everything: ``[[groups]]`` with their AWS profile and region, ``[[profiles]]``.
* **CSV** carries profiles only, one per row, with the header ``name,instance_id,group,tags,description,
  aws_profile,region``. Tags are separated by ``;`` in the cell, or by newlines when the cell has one (a tag
  may contain ``;`` but never a newline, so export stays lossless). Groups named in rows are created without
  overrides. Descriptions keep their newlines (CSV quotes them).

  A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a
  formula, so export writes such a cell with a ``'`` in front, as OWASP advises (``'=1+1``); a spreadsheet
  shows the text, and import removes that one ``'`` again, so the round trip is lossless. To keep it so, a
  value that already starts with ``'`` (one or more) followed by one of those characters gets one more
  (``''=x`` holds ``'=x``); any other ``'`` is left alone. So a hand-written cell ``'=x`` imports as ``=x``.

**Import reads only regular files of at most** :data:`MAX_IMPORT_BYTES`: a device (``/dev/zero``), a FIFO or a
folder is refused in one line, before anything is read (a FIFO is opened without waiting for a writer).

**Import validates the whole file before it writes anything**, then merges it into the saved book under
the store's lock. Conflict policy: an entry equal to a saved one is *unchanged*; a new name is *added*; a name
that exists with other values is a *conflict*, and by default the import refuses and lists them (nothing is
written). ``on_conflict="replace"`` takes the file's version (*updated*), ``"skip"`` keeps the saved one.
"""

from __future__ import annotations

import csv
import io
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ssmux.core import store
from ssmux.core.models import Group, Profile, ProfileBook
from ssmux.core.validation import validate_book, validate_profile
from ssmux.errors import AlreadyExists, InvalidValue, StoreError

CSV_COLUMNS: tuple[str, ...] = (
    "name",
    "instance_id",
    "group",
    "tags",
    "description",
    "aws_profile",
    "region",
)
_REQUIRED_COLUMNS = ("name", "instance_id")

#: Largest file import reads: a book of thousands of profiles is far smaller.
MAX_IMPORT_BYTES = 10 * 1024 * 1024

#: A spreadsheet runs a cell starting with one of these as a formula (OWASP's CSV injection list).
_FORMULA_STARTS = frozenset("=+-@\t\r")

OnConflict = Literal["fail", "replace", "skip"]


@dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do): names per outcome, for groups and profiles."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    groups_added: list[str] = field(default_factory=list)
    groups_updated: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[str]]:
        """The JSON form."""
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "groups_added": self.groups_added,
            "groups_updated": self.groups_updated,
        }


def file_format(path: Path) -> Literal["toml", "csv"]:
    """``toml`` or ``csv`` from the extension of ``path``.

    Raises:
        InvalidValue: Another extension.
    """
    suffix = path.suffix.lower()
    if suffix == ".toml":
        return "toml"
    if suffix == ".csv":
        return "csv"
    raise InvalidValue(f"cannot tell the format of {path}: name it .toml or .csv")


def read_book(path: Path) -> ProfileBook:
    """Read and validate a TOML or CSV file of groups and profiles.

    Raises:
        InvalidValue: The extension is neither .toml nor .csv.
        StoreError: The file cannot be read, or a row/entry is invalid (the message names file and line).
    """
    kind = file_format(path)
    raw = _read_limited(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise StoreError(f"{path}: not UTF-8 text (byte {error.start}); save it as UTF-8") from None
    if kind == "toml":
        return store.book_from_text(text, path)
    return _book_from_csv(text, path)


def _read_limited(path: Path) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most :data:`MAX_IMPORT_BYTES`.

    Raises:
        StoreError: It cannot be opened, is not a regular file, or is too large.
    """
    # O_NONBLOCK: opening a FIFO would otherwise wait for a writer. The checks use the opened descriptor,
    # so the file cannot be swapped between them and the read.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise StoreError(f"cannot read {path}: {error.strerror or error}") from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise StoreError(f"cannot read {path}: not a regular file; import a .toml or .csv file")
        too_large = f"cannot read {path}: larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MiB; split it"
        if info.st_size > MAX_IMPORT_BYTES:
            raise StoreError(too_large)
        try:
            raw = file.read(MAX_IMPORT_BYTES + 1)
        except OSError as error:
            raise StoreError(f"cannot read {path}: {error.strerror or error}") from None
    if len(raw) > MAX_IMPORT_BYTES:  # it grew after the check
        raise StoreError(too_large)
    return raw


def import_book(path: Path, on_conflict: OnConflict = "fail", dry_run: bool = False) -> ImportReport:
    """Merge the groups and profiles of ``path`` into the saved ones.

    Args:
        path: A .toml or .csv file.
        on_conflict: What to do with a name that exists with other values: ``fail`` (nothing is written),
            ``replace`` (take the file's), ``skip`` (keep the saved one).
        dry_run: Compute the report, write nothing.

    Returns:
        What was (or would be) added, updated, left unchanged or skipped.

    Raises:
        StoreError: The file or the saved profiles cannot be read, or the file is invalid.
        AlreadyExists: Conflicts and ``on_conflict="fail"``; the message names them.
    """
    incoming = read_book(path)
    report = ImportReport()

    def change(book: ProfileBook) -> ProfileBook:
        nonlocal report
        report = ImportReport()
        merged = _merge(book, incoming, on_conflict, report)
        if dry_run:
            return book
        return merged

    if dry_run:
        change(store.load_profiles())
    else:
        store.update_profiles(change)
    return report


def export_book(path: Path, book: ProfileBook, overwrite: bool = False) -> None:
    """Write ``book`` to ``path`` as TOML or CSV (by extension), atomically.

    Raises:
        InvalidValue: Unknown extension.
        AlreadyExists: ``path`` exists and ``overwrite`` is false.
        StoreError: The file cannot be written.
    """
    kind = file_format(path)
    try:
        exists = path.exists()
    except OSError as error:  # a name too long for the file system, a path through a file...
        raise StoreError(f"cannot write {path}: {error.strerror or error}") from None
    if exists and not overwrite:
        raise AlreadyExists(f"{path} exists: pass --force to overwrite it")
    text = _book_to_toml(book) if kind == "toml" else _book_to_csv(book)
    store.write_text_atomic(path, text)


# Merging ------------------------------------------------------------------------------------------
def _merge(
    book: ProfileBook, incoming: ProfileBook, on_conflict: OnConflict, report: ImportReport
) -> ProfileBook:
    conflicts: list[str] = []
    groups = {g.name: g for g in book.groups}
    for group in incoming.groups:
        saved = groups.get(group.name)
        if saved is None:
            report.groups_added.append(group.name)
            groups[group.name] = group
        elif saved != group:
            if on_conflict == "fail":
                conflicts.append(f"group {group.name!r}")
            elif on_conflict == "replace":
                report.groups_updated.append(group.name)
                groups[group.name] = group
    profiles = {p.name: p for p in book.profiles}
    for profile in incoming.profiles:
        saved_profile = profiles.get(profile.name)
        if saved_profile is None:
            report.added.append(profile.name)
            profiles[profile.name] = profile
        elif saved_profile == profile:
            report.unchanged.append(profile.name)
        elif on_conflict == "fail":
            conflicts.append(f"profile {profile.name!r}")
        elif on_conflict == "replace":
            report.updated.append(profile.name)
            profiles[profile.name] = profile
        else:
            report.skipped.append(profile.name)
    if conflicts:
        shown = ", ".join(conflicts[:5]) + (f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else "")
        raise AlreadyExists(
            f"{len(conflicts)} name(s) exist with other values: {shown}; "
            "pass --replace to take the file's, or --skip to keep yours (nothing was imported)"
        )
    # Groups named only by profiles become declared groups, so 'ssmux group ls' shows them.
    for profile in profiles.values():
        if profile.group is not None and profile.group not in groups:
            groups[profile.group] = Group(profile.group)
            report.groups_added.append(profile.group)
    return validate_book(ProfileBook(groups=tuple(groups.values()), profiles=tuple(profiles.values())))


# CSV ----------------------------------------------------------------------------------------------
def _book_from_csv(text: str, path: Path) -> ProfileBook:
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = reader.fieldnames or []
    except csv.Error as error:
        raise StoreError(f"{path}, line 1: {error}; fix the file") from None
    unknown = [column for column in header if column not in CSV_COLUMNS]
    missing = [column for column in _REQUIRED_COLUMNS if column not in header]
    if unknown or missing:
        problem = f"unknown column(s) {', '.join(map(repr, unknown))}" if unknown else ""
        if missing:
            problem += ("; " if problem else "") + f"missing column(s) {', '.join(missing)}"
        raise StoreError(f"{path}, line 1: {problem}; the header is {','.join(CSV_COLUMNS)}")
    profiles: list[Profile] = []
    seen: dict[str, int] = {}
    try:
        for row in reader:
            line = reader.line_num
            if None in row or any(value is None for value in row.values()):
                raise StoreError(
                    f"{path}, line {line}: the row has a different number of cells than the header"
                )
            profile = _profile_from_row(row, path, line)
            if profile.name in seen:
                raise StoreError(
                    f"{path}, line {line}: profile name {profile.name!r} is used twice "
                    f"(first on line {seen[profile.name]}); rename or remove one"
                )
            seen[profile.name] = line
            profiles.append(profile)
    except csv.Error as error:
        raise StoreError(f"{path}, line {reader.line_num}: {error}; fix the file") from None
    return ProfileBook(profiles=tuple(profiles))


def _profile_from_row(cells: dict[str, str], path: Path, line: int) -> Profile:
    row = {column: _cell_in(value) for column, value in cells.items()}
    tags_cell = row.get("tags") or ""
    separator = "\n" if "\n" in tags_cell else ";"
    tags = frozenset(tag.strip() for tag in tags_cell.split(separator) if tag.strip())
    try:
        return validate_profile(
            Profile(
                name=row.get("name") or "",
                instance_id=row.get("instance_id") or "",
                group=(row.get("group") or "").strip() or None,
                tags=tags,
                description=row.get("description") or "",
                aws_profile=(row.get("aws_profile") or "").strip() or None,
                region=(row.get("region") or "").strip() or None,
            )
        )
    except InvalidValue as error:
        raise StoreError(f"{path}, line {line}: {error}; fix the file (nothing was imported)") from None


def _book_to_csv(book: ProfileBook) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for profile in book.profiles:
        tags = sorted(profile.tags)
        # ';' separates tags unless a tag holds one: then newlines do (and a trailing one marks the cell).
        cell = "\n".join(tags) + "\n" if any(";" in tag for tag in tags) else ";".join(tags)
        row = [
            profile.name,
            profile.instance_id,
            profile.group or "",
            cell,
            profile.description,
            profile.aws_profile or "",
            profile.region or "",
        ]
        writer.writerow([_cell_out(value) for value in row])
    return out.getvalue()


def _cell_out(value: str) -> str:
    """``value`` made inert for a spreadsheet: a ``'`` in front when it would start a formula."""
    return "'" + value if value.lstrip("'")[:1] in _FORMULA_STARTS else value


def _cell_in(value: str) -> str:
    """The value :func:`_cell_out` wrote: without the ``'`` it added."""
    return value[1:] if value.startswith("'") and value.lstrip("'")[:1] in _FORMULA_STARTS else value


def _book_to_toml(book: ProfileBook) -> str:
    from ssmux.core import tomldoc

    document = tomldoc.load(None, Path("export"), store.PROFILES_HEADER, store.SCHEMA_VERSION)
    tomldoc.sync_book(document, book)
    return tomldoc.dump(document)
