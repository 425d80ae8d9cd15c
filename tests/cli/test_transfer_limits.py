"""``ssmux import`` reads only regular files of a sane size; CSV export is inert in a spreadsheet."""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ssmux.core import store
from ssmux.core.transfer import MAX_IMPORT_BYTES

from .conftest import Run

ID = "i-0123456789abcdef0"


def assert_refused(result: Run, *words: str) -> None:
    """Non-zero, one `ssmux: error:` line naming the problem, nothing saved."""
    assert result.status != 0
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ssmux: error: "), result.err
    assert "unexpected" not in result.err
    for word in words:
        assert word in lines[0]
    assert store.load_profiles().profiles == ()


@pytest.mark.skipif(sys.platform == "win32", reason="/dev/zero and FIFOs are POSIX")
def test_import_refuses_a_device(ssmux: Callable[..., Run], tmp_path: Path) -> None:
    """A .csv that is /dev/zero is refused at once, not read until memory runs out."""
    zero = tmp_path / "zero.csv"
    zero.symlink_to("/dev/zero")
    assert_refused(ssmux("import", str(zero)), str(zero), "not a regular file")


@pytest.mark.skipif(sys.platform == "win32", reason="/dev/zero and FIFOs are POSIX")
def test_import_refuses_a_fifo_without_waiting_for_a_writer(
    ssmux: Callable[..., Run], tmp_path: Path
) -> None:
    """A FIFO named .toml is refused at once; the import does not hang waiting for a writer."""
    fifo = tmp_path / "book.toml"
    os.mkfifo(fifo)
    assert_refused(ssmux("import", str(fifo)), str(fifo), "not a regular file")


def test_import_refuses_a_file_over_the_limit(ssmux: Callable[..., Run], tmp_path: Path) -> None:
    """A file over 10 MiB is refused without reading it."""
    big = tmp_path / "big.csv"
    with big.open("wb") as out:
        out.truncate(MAX_IMPORT_BYTES + 1)  # sparse: costs no disk
    assert_refused(ssmux("import", str(big)), str(big), "larger than 10 MiB")


def test_import_reads_a_file_at_the_limit(ssmux: Callable[..., Run], tmp_path: Path) -> None:
    """Up to the limit a file is read: a CSV padded with blank lines to exactly 10 MiB imports."""
    book = tmp_path / "book.csv"
    head = f"name,instance_id\nweb,{ID}\n".encode()
    book.write_bytes(head + b"\n" * (MAX_IMPORT_BYTES - len(head)))
    result = ssmux("import", str(book))
    assert result.status == 0, result.err
    assert [p.name for p in store.load_profiles().profiles] == ["web"]


HOSTILE = {
    "description": '=HYPERLINK("http://evil.example","click")',
    "tag": "-2+3",
    "aws_profile": "@SUM(A1)",
}


def test_csv_export_neutralizes_formulas_and_import_round_trips(
    ssmux: Callable[..., Run], tmp_path: Path
) -> None:
    """Cells starting with = + - @ (or tab/CR) are written with a leading ', and import takes it off again."""
    added = ssmux(
        "profile", "add", "web", "--instance-id", ID, "--description", HOSTILE["description"],
        "--tag", HOSTILE["tag"], "--aws-profile", HOSTILE["aws_profile"],
    )  # fmt: skip
    assert added.status == 0, added.err
    ssmux("profile", "add", "quoted", "--instance-id", ID, "--description", "'=already quoted")
    ssmux("profile", "add", "tabbed", "--instance-id", ID, "--description", "\tindented")
    before = store.load_profiles()
    exported = tmp_path / "book.csv"
    assert ssmux("export", str(exported)).status == 0
    with exported.open(newline="", encoding="utf-8") as file:
        rows = {row["name"]: row for row in csv.DictReader(file)}
    for row in rows.values():
        for cell in row.values():
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), row
    assert rows["web"]["description"] == "'" + HOSTILE["description"]
    assert rows["web"]["tags"] == "'-2+3"
    assert rows["web"]["aws_profile"] == "'" + HOSTILE["aws_profile"]
    assert rows["quoted"]["description"] == "''=already quoted"
    assert rows["tabbed"]["description"] == "'\tindented"
    # The file imports back to the same profiles: every entry is unchanged.
    result = ssmux("import", "--json", str(exported))
    assert result.status == 0, result.err
    assert sorted(result.json()["unchanged"]) == ["quoted", "tabbed", "web"]
    assert store.load_profiles() == before
