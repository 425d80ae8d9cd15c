"""Sync a pair of an emulator into this test's home, containers included, as ``ssmux sync`` does."""

from __future__ import annotations

from .conftest import run_ssmux


def sync_pair(aws_profile: str, region: str) -> None:
    """``ssmux pair add`` and ``ssmux sync`` of ``aws_profile/region`` (the emulator already in the
    environment), as a user runs them; the sync must have cached the pair's containers."""
    for args in (("pair", "add", f"{aws_profile}/{region}"), ("sync",)):
        result = run_ssmux(*args)
        assert result.returncode == 0, result.stderr.decode()
    listed = run_ssmux("ls", "--json")
    assert b'"kind": "container"' in listed.stdout, listed.stdout.decode()[:400]
