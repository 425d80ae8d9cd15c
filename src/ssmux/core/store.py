"""The two human-editable files: ``profiles.toml`` (groups and profiles) and ``settings.toml``.

Both live in :func:`ssmux.paths.config_dir` (``$SSMUX_HOME`` when set) and carry a ``schema_version``;
older versions are brought forward by the named functions in :data:`MIGRATIONS` (on reads in memory, on
writes in the file). The rules every function here keeps:

* **Reads never lock.** Writers replace the file in one ``os.replace``, so a reader sees the old or the new
  file, whole. Reads parse with :mod:`tomllib` (fast), writes edit a :mod:`tomlkit` document (keeps comments).
* **Writes are read-modify-write under a cross-process lock** (``<file>.lock``, filelock): the CLI and the GUI
  can change the same file at the same time and neither change is lost.
* **Writes are atomic**: a temp file in the same folder, fsync, ``os.replace``, fsync of the folder. Files are
  owner-only (0600; a folder ssmux creates is 0700).
* **Nothing invalid is written, nothing unreadable is overwritten.** A file that does not parse or fails
  validation raises :class:`~ssmux.errors.StoreError` naming the file, the line and the problem; the file is
  left as it was. A ``change`` that raises leaves the file untouched too.
* **Hand edits survive**: only the keys whose values changed are rewritten; comments, order and formatting of
  the rest stay.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ssmux.core import tomldoc
from ssmux.core.models import Group, Profile, ProfileBook, Settings, SyncPair, push_recent
from ssmux.core.validation import (
    validate_aws_profile_name,
    validate_backend,
    validate_book,
    validate_group,
    validate_instance_id,
    validate_pair,
    validate_profile,
    validate_region,
    validate_settings,
)
from ssmux.errors import StoreError
from ssmux.paths import config_dir

M = TypeVar("M")

PROFILES_FILE = "profiles.toml"
SETTINGS_FILE = "settings.toml"

#: The schema version this ssmux writes.
SCHEMA_VERSION = 1

#: How long a writer waits for another writer's lock before giving up.
LOCK_TIMEOUT_SECONDS = 60.0

PROFILES_HEADER = (
    "ssmux saved profiles and groups. Hand edits and comments are kept when ssmux writes this file.\n"
    "Each [[groups]] has name and optional aws_profile, region; each [[profiles]] has name, instance_id\n"
    "and optional group, tags, description, aws_profile, region."
)
_SETTINGS_HEADER = (
    "ssmux settings. Hand edits and comments are kept when ssmux writes this file.\n"
    "Change them here or with: ssmux settings set KEY VALUE"
)


# Migrations ---------------------------------------------------------------------------------------
def migrate_v0_to_v1(data: MutableMapping[str, Any]) -> None:
    """Version 0 is a hand-written file without ``schema_version``: same keys, so only stamp the version."""
    data["schema_version"] = 1


#: version -> the function that brings a file of that version to the next one. Works on plain dicts (reads)
#: and tomlkit documents (writes) alike, so a migration written once keeps the comments of the file.
MIGRATIONS: dict[int, Callable[[MutableMapping[str, Any]], None]] = {0: migrate_v0_to_v1}


def migrate(data: MutableMapping[str, Any], path: Path) -> None:
    """Bring ``data`` (read from ``path``) to :data:`SCHEMA_VERSION` in place.

    Raises:
        StoreError: The version is not an integer, or is newer than this ssmux knows.
    """
    version = data.get("schema_version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise StoreError(f"{path}: schema_version must be a whole number, not {version!r}; fix the file")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: schema_version {version} was written by a newer ssmux "
            f"(this one knows {SCHEMA_VERSION}); upgrade ssmux"
        )
    while version < SCHEMA_VERSION:
        MIGRATIONS[version](data)
        version = data["schema_version"]


# Paths --------------------------------------------------------------------------------------------
def profiles_path() -> Path:
    """Path of ``profiles.toml``."""
    return config_dir() / PROFILES_FILE


def settings_path() -> Path:
    """Path of ``settings.toml``."""
    return config_dir() / SETTINGS_FILE


# Public API ---------------------------------------------------------------------------------------
def load_profiles(cache: StoreCache | None = None) -> ProfileBook:
    """Read the saved groups and profiles; an absent file is an empty book.

    Args:
        cache: the caller's parsed files (``None``: parse what is on disk).

    Raises:
        StoreError: The file cannot be read, parsed or validated (the message names file, line and problem).
    """
    path = profiles_path()
    return (cache or StoreCache()).parsed(path, _read(path), book_from_text)[0]


def load_settings(cache: StoreCache | None = None) -> Settings:
    """Read the settings; an absent file gives the defaults.

    Args:
        cache: the caller's parsed files (``None``: parse what is on disk).

    Raises:
        StoreError: The file cannot be read, parsed or validated.
    """
    path = settings_path()
    return (cache or StoreCache()).parsed(path, _read(path), settings_from_text)[0]


def update_profiles(
    change: Callable[[ProfileBook], ProfileBook], cache: StoreCache | None = None
) -> ProfileBook:
    """Apply ``change`` to the saved book under the lock and write the result atomically.

    Args:
        change: Gets the current book, returns the new one (``book.with_profile(...)`` etc.). An exception it
            raises propagates and nothing is written.

    Returns:
        The book as written (validated, normalised).

    Raises:
        StoreError: The file cannot be read, parsed, validated or written.
        InvalidValue: The changed book is invalid (nothing is written).
    """
    path = profiles_path()
    cache = cache or StoreCache()
    with _locked(path):
        text = _read(path)
        book, document = cache.parsed(path, text, book_from_text)
        new = validate_book(change(book))
        if new != book or text is None:
            if document is None:
                document = tomldoc.load(text, path, PROFILES_HEADER, SCHEMA_VERSION)
                migrate(document, path)
            cache.forget(path)  # the document is about to change: never reuse it if the write fails
            tomldoc.sync_book(document, new, old=book if text is not None else None)
            written = tomldoc.dump(document)
            _atomic_write(path, written)
            cache.remember(path, written, new, document)
    return new


def update_settings(change: Callable[[Settings], Settings]) -> Settings:
    """Apply ``change`` to the settings under the lock and write the result atomically.

    Args:
        change: Gets the current settings, returns the new ones (``dataclasses.replace(s, ...)``).

    Returns:
        The settings as written (validated, normalised).

    Raises:
        StoreError: The file cannot be read, parsed, validated or written.
        InvalidValue: The changed settings are invalid (nothing is written).
    """
    path = settings_path()
    with _locked(path):
        text = _read(path)
        settings = settings_from_text(text, path)
        new = validate_settings(change(settings))
        if new != settings or text is None:
            document = tomldoc.load(text, path, _SETTINGS_HEADER, SCHEMA_VERSION)
            migrate(document, path)
            tomldoc.sync_settings(document, new, fresh=text is None)
            _atomic_write(path, tomldoc.dump(document))
    return new


def record_recent(
    instance_id: str | None = None, aws_profile: str | None = None, region: str | None = None
) -> None:
    """Push the given values onto the most-recently-used lists (newest first, no duplicates, 10 long).

    Raises:
        InvalidValue: A value is invalid.
        StoreError: The settings file cannot be read or written.
    """
    from dataclasses import replace

    checked_id = None if instance_id is None else validate_instance_id(instance_id)
    checked_profile = None if aws_profile is None else validate_aws_profile_name(aws_profile)
    checked_region = None if region is None else validate_region(region)

    def change(settings: Settings) -> Settings:
        if checked_id is not None:
            settings = replace(
                settings, recent_instance_ids=push_recent(settings.recent_instance_ids, checked_id)
            )
        if checked_profile is not None:
            settings = replace(
                settings, recent_aws_profiles=push_recent(settings.recent_aws_profiles, checked_profile)
            )
        if checked_region is not None:
            settings = replace(settings, recent_regions=push_recent(settings.recent_regions, checked_region))
        return settings

    update_settings(change)


# Text <-> models (also used by import) ------------------------------------------------------------
def book_from_text(text: str | None, path: Path) -> ProfileBook:
    """Parse and validate a profiles file's text.

    Raises:
        StoreError: It does not parse, has unknown keys or wrong types, or fails validation; the message
            names ``path``, the line and the problem.
    """
    if text is None:
        return ProfileBook()
    data = tomldoc.parse_fast(text, path)
    migrate(data, path)
    tomldoc.check_keys(data, text, path, {"schema_version", "groups", "profiles"})
    groups: list[Group] = []
    for index, entry in enumerate(tomldoc.entries(data, "groups", text, path)):
        fields = tomldoc.check_entry(entry, text, path, "groups", index, tomldoc.GROUP_FIELDS)
        groups.append(tomldoc.located(_group_from, fields, text, path, "groups", index))
    profiles: list[Profile] = []
    for index, entry in enumerate(tomldoc.entries(data, "profiles", text, path)):
        fields = tomldoc.check_entry(entry, text, path, "profiles", index, tomldoc.PROFILE_FIELDS)
        profiles.append(tomldoc.located(_profile_from, fields, text, path, "profiles", index))
    tomldoc.check_unique([g.name for g in groups], "group", text, path, "groups")
    tomldoc.check_unique([p.name for p in profiles], "profile", text, path, "profiles")
    return ProfileBook(groups=tuple(groups), profiles=tuple(profiles))


def settings_from_text(text: str | None, path: Path) -> Settings:
    """Parse and validate a settings file's text.

    Raises:
        StoreError: It does not parse, has unknown keys or wrong types, or fails validation.
    """
    if text is None:
        return Settings()
    data = tomldoc.parse_fast(text, path)
    migrate(data, path)
    tomldoc.check_keys(data, text, path, {"schema_version", *tomldoc.SETTINGS_FIELDS})
    for key, kind in tomldoc.SETTINGS_FIELDS.items():
        if key in data and key != "sync_pairs":
            tomldoc.check_type(data[key], kind, text, path, key)
    for key, check in _SETTING_CHECKS.items():
        if data.get(key):
            tomldoc.located_key(check, data[key], text, path, key)
    if "sync_pairs" in data:
        for index, entry in enumerate(tomldoc.entries(data, "sync_pairs", text, path)):
            fields = tomldoc.check_entry(entry, text, path, "sync_pairs", index, tomldoc.PAIR_FIELDS)
            tomldoc.located(_pair_from, fields, text, path, "sync_pairs", index)
    # Each value is valid on its own now; what is left to refuse is a pair listed twice.
    return tomldoc.located_key(_settings_from, data, text, path, "sync_pairs")


def _group_from(fields: dict[str, Any]) -> Group:
    return validate_group(Group.from_dict(fields))


def _profile_from(fields: dict[str, Any]) -> Profile:
    return validate_profile(Profile.from_dict(fields))


def _pair_from(fields: dict[str, Any]) -> SyncPair:
    return validate_pair(SyncPair.from_dict(fields))


def _settings_from(data: dict[str, Any]) -> Settings:
    return validate_settings(Settings.from_dict(data))


_SETTING_CHECKS: dict[str, Callable[[Any], Any]] = {
    "default_aws_profile": validate_aws_profile_name,
    "default_region": validate_region,
    "backend": validate_backend,
}


# Cache -----------------------------------------------------------------------------------------------
class StoreCache:
    """The last text its holder read or wrote per file, with its validated model and (after a write) its
    tomlkit document.

    Parsing with tomlkit is the slow part of a write (~50 ms for 400 profiles); when the file still holds
    exactly that text, the parse is skipped. The caller holds it (the app keeps one; a function given none
    reads from disk every time), so no test has to clear it. Entries are replaced whole, never mutated, so a
    reader on another thread sees an old or a new entry; documents are only touched under the file lock.
    """

    def __init__(self) -> None:
        self._entries: dict[Path, tuple[str, Any, Any]] = {}

    def parsed(self, path: Path, text: str | None, parse: Callable[[str | None, Path], M]) -> tuple[M, Any]:
        """``parse(text, path)``, or the remembered model (and document) when ``text`` is what it was."""
        entry = self._entries.get(path)
        if text is not None and entry is not None and entry[0] == text:
            return entry[1], entry[2]
        value = parse(text, path)
        if text is not None:
            self._entries[path] = (text, value, None)
        return value, None

    def remember(self, path: Path, text: str, value: Any, document: Any) -> None:
        """Keep what was just written to ``path``."""
        self._entries[path] = (text, value, document)

    def forget(self, path: Path) -> None:
        """Drop ``path``'s entry (its document is about to change)."""
        self._entries.pop(path, None)


# Files --------------------------------------------------------------------------------------------
def _read(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StoreError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise StoreError(f"{path}: not UTF-8 text (byte {error.start}); save it as UTF-8") from None


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    import filelock  # deferred: only writers pay for it

    _ensure_folder(path.parent)
    lock = filelock.FileLock(f"{path}.lock", timeout=LOCK_TIMEOUT_SECONDS, mode=0o600)
    try:
        lock.acquire(poll_interval=0.01)  # 10 ms: a waiting writer gets in soon after the holder is done
    except filelock.Timeout:
        raise StoreError(
            f"{path} is locked by another ssmux for over {LOCK_TIMEOUT_SECONDS:.0f} s; try again, or remove "
            f"{path}.lock if no ssmux is running"
        ) from None
    except OSError as error:  # a read-only home, or the lock's name taken by a folder
        raise StoreError(
            f"cannot write {error.filename or lock.lock_file}: {error.strerror or error}; ssmux needs to "
            f"write in {path.parent} (or set SSMUX_HOME to a folder it can write)"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _ensure_folder(folder: Path) -> None:
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"cannot create folder {folder}: {error.strerror or error}") from None


def write_text_atomic(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` atomically (temp file, fsync, replace), owner-only unless ``mode`` says
    otherwise (a user's own file keeps the mode it had).

    Raises:
        StoreError: The file cannot be written; ``path`` is then as it was.
    """
    _atomic_write(path, text, locked=False, mode=mode)


def _atomic_write(path: Path, text: str, *, locked: bool = True, mode: int | None = None) -> None:
    folder = path.parent
    _ensure_folder(folder)
    if locked:
        _remove_stale_temps(path)
    import tempfile  # deferred: only writers need it (it pulls in random, shutil)

    try:
        # mkstemp creates the file 0600: the content is never readable by others, not even briefly.
        fd, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise StoreError(f"cannot write in {folder}: {error.strerror or error}") from None
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            temp.chmod(mode)
        _replace(temp, path)
    except BaseException as error:
        temp.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise StoreError(f"cannot write {path}: {error.strerror or error}") from None
        raise
    _fsync_folder(folder)


def _remove_stale_temps(path: Path) -> None:
    # Temp files are only made under the lock, so any left while we hold it belong to a writer that died
    # (killed between mkstemp and os.replace): remove them instead of letting them pile up.
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)


def _replace(source: Path, target: Path) -> None:
    # On Windows a reader holding the target open makes os.replace fail for a moment: retry briefly.
    attempts = 20 if sys.platform == "win32" else 1
    for attempt in range(attempts):
        try:
            source.replace(target)
            return
        except PermissionError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05)


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable on POSIX; Windows cannot open a folder for fsync (and needs not).
    if sys.platform == "win32":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on folders; the data itself is already on disk
    finally:
        os.close(fd)
