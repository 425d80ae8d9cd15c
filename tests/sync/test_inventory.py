"""The SQLite inventory cache: per-pair replace, failures keep the last good rows, search pre-filter."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from ssmux.errors import StoreError
from ssmux.sync.instance import COLUMNS, UNMANAGED, Instance
from ssmux.sync.inventory import Inventory


def make(instance_id: str, pair: tuple[str, str] = ("dev", "eu-central-1"), **fields: object) -> Instance:
    return Instance(instance_id=instance_id, aws_profile=pair[0], region=pair[1], **fields)  # type: ignore[arg-type]


@pytest.fixture
def inventory(tmp_path: Path) -> Inventory:
    return Inventory(tmp_path / "cache" / "inventory.sqlite3")


def test_round_trip_keeps_every_field(inventory: Inventory) -> None:
    """What a sync writes is read back unchanged, tags, missing names and states included."""
    full = make(
        "i-0123456789abcdef0",
        name="web-1",
        state="running",
        platform="linux",
        private_ip="10.0.0.5",
        public_ip="3.4.5.6",
        private_dns="ip-10-0-0-5.ec2.internal",
        availability_zone="eu-central-1a",
        vpc_id="vpc-1",
        launch_time="2024-01-02T03:04:05+00:00",
        tags={"Name": "web-1", "team": "wéb ☃"},
        ssm_managed=True,
        ping_status="Online",
        agent_version="3.3.1",
        last_seen=1700000000.5,
    )
    bare = make("mi-0123456789abcdef0")
    assert inventory.replace_pair("dev", "eu-central-1", [full, bare], pages=2, seconds=0.5) == 2
    read = sorted(inventory.instances(), key=lambda item: item.instance_id)
    assert read == [full, bare]
    assert read[1].name is None and read[1].state is None and read[1].ping_status == UNMANAGED
    assert read[0].display_name == "web-1 (i-0123456789abcdef0)"
    assert read[1].display_name == "mi-0123456789abcdef0"


# Schema 1 as it was first written out by hand: the table built from the column declaration must stay it.
SCHEMA_1_INSTANCES = """CREATE TABLE instances (
    aws_profile TEXT NOT NULL, region TEXT NOT NULL, instance_id TEXT NOT NULL,
    name TEXT, state TEXT, platform TEXT NOT NULL, private_ip TEXT NOT NULL, public_ip TEXT NOT NULL,
    private_dns TEXT NOT NULL, availability_zone TEXT NOT NULL, vpc_id TEXT NOT NULL,
    launch_time TEXT NOT NULL, tags TEXT NOT NULL, ssm_managed INTEGER NOT NULL,
    ping_status TEXT NOT NULL, agent_version TEXT NOT NULL, last_seen REAL NOT NULL,
    search TEXT NOT NULL,
    PRIMARY KEY (aws_profile, region, instance_id))"""


def _table_info(db: sqlite3.Connection) -> list[tuple[object, ...]]:
    return [tuple(row) for row in db.execute("PRAGMA table_info(instances)")]


def test_table_from_the_columns_is_schema_1(inventory: Inventory) -> None:
    """The instances table built from the declared columns is, column for column, the one schema 1 wrote."""
    inventory.replace_pair("dev", "eu-central-1", [make("i-1")])
    with closing(sqlite3.connect(inventory.path)) as fresh, closing(sqlite3.connect(":memory:")) as written:
        written.execute(SCHEMA_1_INSTANCES)
        assert _table_info(fresh) == _table_info(written)
        assert [row[1] for row in _table_info(fresh)] == [column.name for column in COLUMNS] + ["search"]


def test_cache_written_by_schema_1_reads_and_writes(tmp_path: Path) -> None:
    """A cache file an earlier ssmux made (the hand-written schema 1) is used as it is."""
    path = tmp_path / "inventory.sqlite3"
    with closing(sqlite3.connect(path)) as db:
        db.execute(SCHEMA_1_INSTANCES)
        db.execute(
            """CREATE TABLE pairs (
                aws_profile TEXT NOT NULL, region TEXT NOT NULL, last_attempt REAL NOT NULL,
                last_success REAL, error_code TEXT, error_message TEXT, instances INTEGER NOT NULL DEFAULT 0,
                pages INTEGER NOT NULL DEFAULT 0, seconds REAL NOT NULL DEFAULT 0,
                PRIMARY KEY (aws_profile, region))"""
        )
        db.execute(
            "INSERT INTO instances VALUES ('dev', 'eu-central-1', 'i-0a', 'web', 'running', 'linux', "
            "'10.0.0.1', '', '', 'eu-central-1a', 'vpc-1', '', '{\"Name\": \"web\"}', 1, 'Online', '3.3', "
            "5.0, 'web (i-0a)')"
        )
        db.execute("PRAGMA user_version = 1")
        db.commit()
    inventory = Inventory(path)
    assert inventory.instances(["web"]) == [
        make(
            "i-0a",
            name="web",
            state="running",
            platform="linux",
            private_ip="10.0.0.1",
            availability_zone="eu-central-1a",
            vpc_id="vpc-1",
            tags={"Name": "web"},
            ssm_managed=True,
            ping_status="Online",
            agent_version="3.3",
            last_seen=5.0,
        )
    ]
    inventory.replace_pair("dev", "eu-central-1", [make("i-0b", name="db")])
    assert [item.display_name for item in inventory.instances()] == ["db (i-0b)"]


def test_replace_touches_only_its_pair(inventory: Inventory) -> None:
    """A pair's new sync replaces its own rows (gone instances vanish) and leaves other pairs alone."""
    inventory.replace_pair("dev", "eu-central-1", [make("i-00000001"), make("i-00000002")])
    other = ("prod", "us-east-1")
    inventory.replace_pair(*other, [make("i-00000003", other)])
    inventory.replace_pair("dev", "eu-central-1", [make("i-00000002", name="renamed")])
    rows = {(item.aws_profile, item.instance_id): item for item in inventory.instances()}
    assert set(rows) == {("dev", "i-00000002"), ("prod", "i-00000003")}
    assert rows["dev", "i-00000002"].name == "renamed"


def test_failure_keeps_last_good_rows_and_marks_stale(inventory: Inventory) -> None:
    """A failed sync records the error and keeps the rows and the time of the last success."""
    inventory.replace_pair("dev", "eu-central-1", [make("i-00000001")], when=1000.0)
    inventory.record_failure("dev", "eu-central-1", "AccessDenied", "access denied: fix it", when=2000.0)
    [status] = inventory.pairs()
    assert status.stale
    assert (status.last_success, status.last_attempt) == (1000.0, 2000.0)
    assert (status.error_code, status.error_message) == ("AccessDenied", "access denied: fix it")
    assert status.instances == 1
    assert [item.instance_id for item in inventory.instances()] == ["i-00000001"]
    inventory.replace_pair("dev", "eu-central-1", [], when=3000.0)
    [status] = inventory.pairs()
    assert not status.stale and status.error_code is None and status.last_success == 3000.0
    assert status.instances == 0


def test_failure_of_never_synced_pair(inventory: Inventory) -> None:
    """A pair that never synced and failed is stale with no last success and no rows."""
    inventory.record_failure("x", "us-east-1", "ProfileNotFound", "unknown AWS CLI profile 'x'")
    [status] = inventory.pairs()
    assert status.stale and status.last_success is None and status.instances == 0


def test_error_while_writing_leaves_previous_rows(inventory: Inventory) -> None:
    """If building a pair's rows fails half-way, its previous rows are all still there."""
    inventory.replace_pair("dev", "eu-central-1", [make("i-00000001"), make("i-00000002")])

    def broken() -> Iterator[Instance]:
        yield make("i-00000009")
        raise RuntimeError("connection lost")

    with pytest.raises(RuntimeError):
        inventory.replace_pair("dev", "eu-central-1", broken())
    assert sorted(item.instance_id for item in inventory.instances()) == ["i-00000001", "i-00000002"]


def test_word_filter_matches_fields_case_insensitively(inventory: Inventory) -> None:
    """Every word must occur in the name, id, a tag value, an IP or DNS name; case does not matter."""
    inventory.replace_pair(
        "dev",
        "eu-central-1",
        [
            make("i-00000001", name="Web-1", tags={"team": "Frontend"}, private_ip="10.1.2.3"),
            make("i-00000002", name="db-1", tags={"team": "data"}, private_dns="ip-10-9-9-9.internal"),
        ],
    )

    def ids(*words: str) -> list[str]:
        return sorted(item.instance_id for item in inventory.instances(words))

    assert ids("WEB") == ["i-00000001"]
    assert ids("frontend", "10.1.2") == ["i-00000001"]
    assert ids("ip-10-9") == ["i-00000002"]
    assert ids("i-0000000") == ["i-00000001", "i-00000002"]
    assert ids("web", "data") == []
    assert ids("%") == [] and ids("_") == []  # no SQL wildcards leak through
    # A word never matches across two fields.
    assert ids("frontend10.1") == []


def test_absent_cache_reads_empty_without_creating_files(tmp_path: Path) -> None:
    """Reading a cache that does not exist gives nothing and creates no file or folder."""
    inventory = Inventory(tmp_path / "nope" / "inventory.sqlite3")
    assert inventory.instances() == [] and inventory.pairs() == []
    assert not (tmp_path / "nope").exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_cache_file_is_owner_only(inventory: Inventory) -> None:
    """The cache lists a user's fleet, so only its owner may read it."""
    inventory.replace_pair("dev", "eu-central-1", [make("i-00000001")])
    assert inventory.path.stat().st_mode & 0o777 == 0o600


def test_corrupt_cache_says_what_to_do(inventory: Inventory) -> None:
    """A cache file that is not SQLite gives one clear error naming the file and the fix."""
    inventory.path.parent.mkdir(parents=True)
    inventory.path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"inventory cache .* delete it and run ssmux sync"):
        inventory.instances()


def test_newer_schema_is_refused(inventory: Inventory) -> None:
    """A cache written by a newer ssmux is not touched; the message says to upgrade or delete it."""
    inventory.path.parent.mkdir(parents=True)
    with sqlite3.connect(inventory.path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="newer ssmux"):
        inventory.replace_pair("dev", "eu-central-1", [make("i-00000001")])


def test_forget_pairs_drops_rows_and_status(inventory: Inventory) -> None:
    """Pairs no longer wanted disappear with their rows; kept pairs stay."""
    inventory.replace_pair("dev", "eu-central-1", [make("i-00000001")])
    inventory.replace_pair("old", "us-east-1", [make("i-00000002", ("old", "us-east-1"))])
    assert inventory.forget_pairs([("dev", "eu-central-1")]) == [("old", "us-east-1")]
    assert inventory.pair_keys() == [("dev", "eu-central-1")]
    assert [item.instance_id for item in inventory.instances()] == ["i-00000001"]


def test_concurrent_writers_all_land(inventory: Inventory) -> None:
    """Sync workers writing different pairs to a fresh cache at the same moment all end up in it."""
    pairs = [(f"p{n}", "us-east-1") for n in range(8)]
    start = threading.Barrier(len(pairs))
    errors: list[BaseException] = []

    def write(pair: tuple[str, str]) -> None:
        try:
            start.wait()
            inventory.replace_pair(*pair, [make(f"i-{n:08x}", pair) for n in range(200)])
        except BaseException as error:  # a worker's error must fail the test, not just print
            errors.append(error)

    threads = [threading.Thread(target=write, args=(pair,)) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert inventory.pair_keys() == sorted(pairs)
    assert len(inventory.instances()) == 8 * 200


def test_fresh_cache_waits_for_another_writer(inventory: Inventory) -> None:
    """Opening a fresh cache while another process holds its write lock waits for it instead of failing.

    SQLite refuses the switch to WAL at once ("database is locked") while another connection holds the
    write lock, whatever the busy timeout; that lost a pair when sync workers opened a new cache together.
    """
    inventory.path.parent.mkdir(parents=True)
    other = sqlite3.connect(inventory.path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process, half-way through creating the tables

    def finish() -> None:
        other.execute("COMMIT")
        other.close()

    release = threading.Timer(0.3, finish)
    release.start()
    try:
        assert inventory.replace_pair("dev", "eu-central-1", [make("i-00000001")]) == 1
    finally:
        release.join()
    assert [item.instance_id for item in inventory.instances()] == ["i-00000001"]
    with sqlite3.connect(inventory.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
