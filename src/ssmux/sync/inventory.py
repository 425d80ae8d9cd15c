"""The inventory cache: instances of the last good sync of every (AWS CLI profile, region) pair, in SQLite.

Why SQLite: ``ssmux ls`` must answer in well under 150 ms for 20,000 instances without importing boto3, the
GUI and the CLI may read while a sync writes, and a sync killed halfway must never leave half a pair behind.
SQLite (standard library) gives all three: a pair's rows are replaced in one transaction, readers see the old
or the new rows, and a lower-cased ``search`` column lets a query pre-filter in SQL before ranking in Python.

Three tables: ``instances`` (one row per instance of a pair's last successful sync), ``containers`` (one row
per ECS container of a pair's last successful ECS listing) and ``pairs`` (per pair the time of the last
attempt and of the last success, and the error of a failed attempt; the same for its ECS listing). A failure
only updates ``pairs``: the last good rows stay and the pair reads as "stale since <last success>". An ECS
failure on a pair whose instances were listed replaces the instances and keeps the last good containers,
stale since the last ECS success; a pair with ECS switched off has no containers.

Every public method opens its own short-lived connection, so an :class:`Inventory` can be shared between
threads (sync workers write concurrently; SQLite serialises the writers, ``busy_timeout`` makes them wait).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any

from ssmux.errors import StoreError
from ssmux.sync.container import FIELDS as CONTAINER_FIELDS
from ssmux.sync.container import Container
from ssmux.sync.instance import COLUMNS, Instance, pair_group

FILE_NAME = "inventory.sqlite3"
#: Bump when the tables change, and add a named step to :data:`_MIGRATIONS` (a new instance column is declared
#: in :mod:`ssmux.sync.instance` with ``since`` set to the new version, and its step adds it).
SCHEMA_VERSION = 2

#: Seconds a connection waits for another one's lock (SQLite's busy timeout) before giving up.
BUSY_TIMEOUT = 30.0

# One setup at a time in this process: threads (sync workers) opening a fresh cache together would otherwise
# all try to switch it to WAL at once, and all but one fail (see _enable_wal).
_SETUP_LOCK = threading.Lock()


@dataclass(frozen=True)
class PairStatus:
    """What the cache knows about one pair's syncs.

    Attributes:
        last_attempt: epoch seconds of the last sync attempt.
        last_success: epoch seconds of the last successful sync, ``None`` if never.
        error_code / error_message: the error of the last attempt, ``None`` when it succeeded.
        instances: number of cached instances (from the last success).
        pages: API pages the last success fetched.
        seconds: duration of the last success.
        containers: number of cached ECS containers (from the last ECS success).
        containers_last_success: epoch seconds of the last successful ECS listing, ``None`` if never.
        ecs_error_code / ecs_error_message: the ECS listing's error on the last sync whose instances were
            listed; ``None`` when it succeeded or ECS is off for the pair.
    """

    aws_profile: str
    region: str
    last_attempt: float
    last_success: float | None
    error_code: str | None
    error_message: str | None
    instances: int
    pages: int
    seconds: float
    containers: int = 0
    containers_last_success: float | None = None
    ecs_error_code: str | None = None
    ecs_error_message: str | None = None

    @property
    def group(self) -> str:
        """The read-only group name ``profile/region``."""
        return pair_group(self.aws_profile, self.region)

    @property
    def stale(self) -> bool:
        """The last attempt failed: the cached rows are from an older, successful sync (or there are none)."""
        return self.error_code is not None

    @property
    def containers_stale(self) -> bool:
        """The last ECS listing failed: the cached containers are from an older one (or there are none)."""
        return self.ecs_error_code is not None


def default_path() -> Path:
    """The cache file in the ssmux data dir (``SSMUX_HOME`` when set)."""
    from ssmux.paths import data_dir

    return data_dir() / FILE_NAME


#: The ``instances`` table: the columns of a synced instance (declared in :mod:`ssmux.sync.instance`) and
#: ``search``, the lower-cased text a query pre-filters on (:meth:`Instance.search_text`).
_SEARCH = "search"
_TABLE_COLUMNS = (*(column.name for column in COLUMNS), _SEARCH)

# Built from the constant column names only; user values always go through ? parameters.
_INSERT_SQL = (
    f"INSERT OR REPLACE INTO instances ({', '.join(_TABLE_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' * len(_TABLE_COLUMNS))})"
)
_SELECT_SQL = f"SELECT {', '.join(column.name for column in COLUMNS)} FROM instances"  # noqa: S608


def _create_v1(db: sqlite3.Connection) -> None:
    # The columns of schema 1; a column added later (``since`` > 1) is added by its own step.
    definitions = [column.sql for column in COLUMNS if column.since == 1]
    db.execute(
        f"""CREATE TABLE IF NOT EXISTS instances (
            {", ".join(definitions)}, {_SEARCH} TEXT NOT NULL,
            PRIMARY KEY (aws_profile, region, instance_id))"""
    )
    db.execute("CREATE INDEX IF NOT EXISTS instances_by_id ON instances (instance_id)")
    db.execute(
        """CREATE TABLE IF NOT EXISTS pairs (
            aws_profile TEXT NOT NULL, region TEXT NOT NULL, last_attempt REAL NOT NULL, last_success REAL,
            error_code TEXT, error_message TEXT, instances INTEGER NOT NULL DEFAULT 0,
            pages INTEGER NOT NULL DEFAULT 0, seconds REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (aws_profile, region))"""
    )


#: The ``containers`` table: a :class:`Container`'s fields, in order, and its ``search`` text.
_CONTAINER_COLUMNS = (*CONTAINER_FIELDS, _SEARCH)
_CONTAINER_SQL_TYPES = {"exec_enabled": "INTEGER NOT NULL", "last_seen": "REAL NOT NULL"}
_INSERT_CONTAINER_SQL = (
    f"INSERT OR REPLACE INTO containers ({', '.join(_CONTAINER_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' * len(_CONTAINER_COLUMNS))})"
)
_SELECT_CONTAINERS_SQL = f"SELECT {', '.join(CONTAINER_FIELDS)} FROM containers"  # noqa: S608


def _add_containers_v2(db: sqlite3.Connection) -> None:
    # ECS containers of each pair, and the pair's ECS listing status (its own, as it fails on its own).
    definitions = [f"{name} {_CONTAINER_SQL_TYPES.get(name, 'TEXT NOT NULL')}" for name in CONTAINER_FIELDS]
    db.execute(
        f"""CREATE TABLE IF NOT EXISTS containers (
            {", ".join(definitions)}, {_SEARCH} TEXT NOT NULL,
            PRIMARY KEY (aws_profile, region, task_arn, container_name))"""
    )
    for column in (
        "containers INTEGER NOT NULL DEFAULT 0",
        "containers_last_success REAL",
        "ecs_error_code TEXT",
        "ecs_error_message TEXT",
    ):
        db.execute(f"ALTER TABLE pairs ADD COLUMN {column}")


# Step n brings a file from user_version n to n + 1. A cache can always be rebuilt by a sync, but a named
# migration keeps the stale-since history of users who upgrade.
_MIGRATIONS = (_create_v1, _add_containers_v2)


class Inventory:
    """The SQLite cache at ``path`` (default: :func:`default_path`). Cheap to create; opens on each call."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_path()
        self._ready = False

    # Connections ------------------------------------------------------------------------------------------
    @contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        if not write and not self.path.exists():
            # Reading an absent cache is an empty cache; do not create folders or files just to read.
            with closing(sqlite3.connect(":memory:", isolation_level=None)) as empty:
                self._migrate(empty)
                yield empty
            return
        try:
            self._create_private()
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"cannot open the inventory cache {self.path}: {error}") from error
        try:
            if not self._ready:
                self._setup(db)
            if write:
                # In WAL mode NORMAL still never corrupts the file; a power cut may lose the last pair's
                # sync, which the next sync redoes. It spares an fsync per pair.
                db.execute("PRAGMA synchronous=NORMAL")
            yield db
        except sqlite3.DatabaseError as error:
            raise StoreError(
                f"inventory cache {self.path} is unreadable ({error}): delete it and run ssmux sync"
            ) from error
        finally:
            db.close()

    def _create_private(self) -> None:
        # The cache lists a user's fleet: owner-only, like ssmux's other files. SQLite gives its -wal and
        # -shm files the database file's permissions, so creating the file 0600 covers them too.
        if self.path.exists():
            return
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))

    def _setup(self, db: sqlite3.Connection) -> None:
        # The common case, a current cache, costs one read: no write lock, so `ls` never waits for a sync.
        if _version(db) == SCHEMA_VERSION:
            self._ready = True
            return
        with _SETUP_LOCK:
            if self._ready:
                return  # another thread set it up while this one waited
            # WAL (persistent in the file): readers never wait for a writing sync, and a killed writer
            # leaves the old state.
            _enable_wal(db)
            self._migrate(db)
            self._ready = True

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        # Read the version inside the write transaction: two processes opening a fresh cache at once
        # must not both run the same step.
        db.execute("BEGIN IMMEDIATE")
        try:
            version = _version(db)
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"inventory cache was written by a newer ssmux (schema {version}): upgrade ssmux "
                    "or delete the cache file and run ssmux sync"
                )
            for step in range(version, SCHEMA_VERSION):
                _MIGRATIONS[step](db)
                db.execute(f"PRAGMA user_version = {step + 1}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # Writes -----------------------------------------------------------------------------------------------
    def replace_pair(
        self,
        aws_profile: str,
        region: str,
        instances: Iterable[Instance],
        *,
        pages: int = 0,
        seconds: float = 0.0,
        when: float | None = None,
    ) -> int:
        """Record a successful sync: the pair's rows become exactly ``instances``, in one transaction.

        Returns:
            The number of rows written.
        """
        items = tuple(instances)
        self.write_pairs([PairWrite(aws_profile, region, items, pages=pages, seconds=seconds)], when=when)
        return len(items)

    def record_failure(
        self, aws_profile: str, region: str, code: str, message: str, *, when: float | None = None
    ) -> None:
        """Record a failed sync of a pair; its last good rows and last success time stay as they were."""
        self.write_pairs([PairWrite(aws_profile, region, error_code=code, error_message=message)], when=when)

    def write_pairs(self, writes: Sequence[PairWrite], *, when: float | None = None) -> None:
        """Record many pairs' sync results in one transaction, each as :meth:`replace_pair` or
        :meth:`record_failure` would: a sync of hundreds of pairs then opens the file once per batch."""
        when = time.time() if when is None else when
        with self._connect(write=True) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                for write in writes:
                    if write.instances is None:
                        _write_failure(db, write, when)
                    else:
                        _write_success(db, write, when)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def forget_pairs(self, keep: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """Drop every cached pair not in ``keep`` (pairs gone from the settings); returns the dropped ones."""
        wanted = set(keep)
        dropped = [pair for pair in self.pair_keys() if pair not in wanted]
        if not dropped:
            return []
        with self._connect(write=True) as db:
            db.execute("BEGIN IMMEDIATE")
            for aws_profile, region in dropped:
                db.execute(
                    "DELETE FROM instances WHERE aws_profile = ? AND region = ?", (aws_profile, region)
                )
                db.execute(
                    "DELETE FROM containers WHERE aws_profile = ? AND region = ?", (aws_profile, region)
                )
                db.execute("DELETE FROM pairs WHERE aws_profile = ? AND region = ?", (aws_profile, region))
            db.execute("COMMIT")
        return dropped

    # Reads ------------------------------------------------------------------------------------------------
    def pair_keys(self) -> list[tuple[str, str]]:
        """Every pair the cache knows, sorted."""
        with self._connect() as db:
            return sorted(
                (str(a), str(b)) for a, b in db.execute("SELECT aws_profile, region FROM pairs").fetchall()
            )

    def pairs(self) -> list[PairStatus]:
        """The sync status of every pair the cache knows, sorted by profile then region."""
        with self._connect() as db:
            rows = db.execute(
                """SELECT aws_profile, region, last_attempt, last_success, error_code, error_message,
                          (SELECT COUNT(*) FROM instances i
                            WHERE i.aws_profile = p.aws_profile AND i.region = p.region),
                          pages, seconds,
                          (SELECT COUNT(*) FROM containers c
                            WHERE c.aws_profile = p.aws_profile AND c.region = p.region),
                          containers_last_success, ecs_error_code, ecs_error_message
                   FROM pairs p ORDER BY aws_profile, region"""
            ).fetchall()
        return [PairStatus(*row) for row in rows]

    def instances(
        self,
        words: Sequence[str] = (),
        *,
        pairs: Iterable[tuple[str, str]] | None = None,
        instance_ids: Iterable[str] | None = None,
    ) -> list[Instance]:
        """Cached instances, optionally only those whose search text contains every word (case-insensitive).

        The word filter is a superset-exact pre-filter for :func:`ssmux.sync.targets.search`, which ranks.

        Args:
            words: query words; each must occur in the instance's search text.
            pairs: only these ``(aws_profile, region)`` pairs.
            instance_ids: only these ids.
        """
        filters = _filters(words, pairs)
        if filters is None:
            return []
        where, params = filters
        if instance_ids is not None:
            ids = list(instance_ids)
            if not ids:
                return []
            where.append(f"instance_id IN ({', '.join('?' * len(ids))})")
            params += ids
        sql = _SELECT_SQL
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._connect() as db:
            rows = db.execute(sql, params).fetchall()
        return [_from_row(row) for row in rows]

    def containers(
        self, words: Sequence[str] = (), *, pairs: Iterable[tuple[str, str]] | None = None
    ) -> list[Container]:
        """Cached ECS containers, optionally only those whose search text contains every word.

        Args:
            words: query words; each must occur in the container's search text (case-insensitive).
            pairs: only these ``(aws_profile, region)`` pairs.
        """
        filters = _filters(words, pairs)
        if filters is None:
            return []
        where, params = filters
        sql = _SELECT_CONTAINERS_SQL
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._connect() as db:
            rows = db.execute(sql, params).fetchall()
        return [_container_from_row(row) for row in rows]


def _version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


@dataclass(frozen=True)
class PairWrite:
    """One pair's sync result to record: its instances (a success), or its error (``instances`` None).

    On a success, ``containers`` are its ECS containers (they replace the cached ones); ``None`` with an
    ``ecs_error_code`` keeps the cached ones and records the ECS error; ``None`` without one means ECS is off
    for the pair (its cached containers are dropped).
    """

    aws_profile: str
    region: str
    instances: tuple[Instance, ...] | None = None
    pages: int = 0
    seconds: float = 0.0
    error_code: str = ""
    error_message: str = ""
    containers: tuple[Container, ...] | None = None
    ecs_error_code: str = ""
    ecs_error_message: str = ""


def _write_success(db: sqlite3.Connection, write: PairWrite, when: float) -> None:
    rows = [_to_row(item, write.aws_profile, write.region) for item in write.instances or ()]
    db.execute(
        "DELETE FROM instances WHERE aws_profile = ? AND region = ?", (write.aws_profile, write.region)
    )
    db.executemany(_INSERT_SQL, rows)
    db.execute(
        """INSERT INTO pairs (aws_profile, region, last_attempt, last_success, error_code,
               error_message, instances, pages, seconds)
           VALUES (?, ?, ?, ?, NULL, NULL, ?, ?, ?)
           ON CONFLICT (aws_profile, region) DO UPDATE SET last_attempt = excluded.last_attempt,
               last_success = excluded.last_success, error_code = NULL, error_message = NULL,
               instances = excluded.instances, pages = excluded.pages,
               seconds = excluded.seconds""",
        (write.aws_profile, write.region, when, when, len(rows), write.pages, write.seconds),
    )
    _write_containers(db, write, when)


def _write_containers(db: sqlite3.Connection, write: PairWrite, when: float) -> None:
    key = (write.aws_profile, write.region)
    if write.containers is None and write.ecs_error_code:
        db.execute(
            """UPDATE pairs SET ecs_error_code = ?, ecs_error_message = ?
               WHERE aws_profile = ? AND region = ?""",
            (write.ecs_error_code, write.ecs_error_message, *key),
        )
        return
    db.execute("DELETE FROM containers WHERE aws_profile = ? AND region = ?", key)
    success = None
    if write.containers is not None:
        db.executemany(_INSERT_CONTAINER_SQL, [_container_row(item, *key) for item in write.containers])
        success = when
    db.execute(
        """UPDATE pairs SET containers_last_success = ?, ecs_error_code = NULL, ecs_error_message = NULL
           WHERE aws_profile = ? AND region = ?""",
        (success, *key),
    )


def _write_failure(db: sqlite3.Connection, write: PairWrite, when: float) -> None:
    db.execute(
        """INSERT INTO pairs
               (aws_profile, region, last_attempt, last_success, error_code, error_message)
           VALUES (?, ?, ?, NULL, ?, ?)
           ON CONFLICT (aws_profile, region) DO UPDATE SET last_attempt = excluded.last_attempt,
               error_code = excluded.error_code, error_message = excluded.error_message""",
        (write.aws_profile, write.region, when, write.error_code or "Error", write.error_message),
    )


def _enable_wal(db: sqlite3.Connection) -> None:
    """Switch the file to WAL, waiting up to :data:`BUSY_TIMEOUT` for other connections.

    The switch needs the only lock on the file. While another connection holds the write lock (another
    process migrating the same fresh cache, or writing to it), SQLite refuses the switch at once with
    "database is locked" instead of waiting out its busy timeout (the switch already holds a read lock, and
    waiting could deadlock), so the wait is done here.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT
    delay = 0.005
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            # The low byte is the primary result code (the rest may name a kind of SQLITE_BUSY).
            busy = (error.sqlite_errorcode & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


# Row conversion, built once from the column declaration: reading 20,000 rows must stay fast for `ls`.
_ATTRIBUTES = attrgetter(*(column.name for column in COLUMNS))
_PAIR_AT = tuple(index for index, column in enumerate(COLUMNS) if column.name in ("aws_profile", "region"))
_TO_SQL = tuple((index, convert) for index, column in enumerate(COLUMNS) if (convert := column.to_sql))
_FROM_SQL = tuple(column.from_sql for column in COLUMNS)


def _to_row(item: Instance, aws_profile: str, region: str) -> tuple[object, ...]:
    values: list[object] = list(_ATTRIBUTES(item))
    # The pair is the one being replaced, whatever the records say.
    values[_PAIR_AT[0]], values[_PAIR_AT[1]] = aws_profile, region
    for index, convert in _TO_SQL:
        values[index] = convert(values[index])
    values.append(item.search_text())
    return tuple(values)


_CONTAINER_ATTRIBUTES = attrgetter(*CONTAINER_FIELDS)
_CONTAINER_PAIR_AT = (CONTAINER_FIELDS.index("aws_profile"), CONTAINER_FIELDS.index("region"))
_EXEC_ENABLED_AT = CONTAINER_FIELDS.index("exec_enabled")


def _container_row(item: Container, aws_profile: str, region: str) -> tuple[object, ...]:
    values: list[object] = list(_CONTAINER_ATTRIBUTES(item))
    values[_CONTAINER_PAIR_AT[0]], values[_CONTAINER_PAIR_AT[1]] = aws_profile, region
    values[_EXEC_ENABLED_AT] = int(item.exec_enabled)
    values.append(item.search_text())
    return tuple(values)


def _container_from_row(row: Sequence[Any]) -> Container:
    values = list(row)
    values[_EXEC_ENABLED_AT] = bool(values[_EXEC_ENABLED_AT])
    return Container(*values)


def _filters(
    words: Sequence[str], pairs: Iterable[tuple[str, str]] | None
) -> tuple[list[str], list[object]] | None:
    """WHERE terms and their parameters for search words and pairs; ``None`` when no pair is wanted."""
    where: list[str] = []
    params: list[object] = []
    for word in words:
        # instr() rather than LIKE: no wildcard characters to escape in user words.
        where.append("instr(search, ?) > 0")
        params.append(word.lower())
    if pairs is not None:
        keys = list(pairs)
        if not keys:
            return None
        where.append("(" + " OR ".join("(aws_profile = ? AND region = ?)" for _ in keys) + ")")
        params += [value for key in keys for value in key]
    return where, params


def _from_row(row: Sequence[object]) -> Instance:
    # COLUMNS is in Instance's field order.
    return Instance(*[convert(value) for convert, value in zip(_FROM_SQL, row, strict=True)])
