"""A fresh home, as a new user first meets it: nothing made up, and every empty list says what to do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ssmux.core import store
from ssmux.core.models import Settings
from ssmux.sync.engine import FIRST_RUN_HINT
from tests.cli.conftest import Run

Ssmux = Callable[..., Run]


def test_a_fresh_home_has_no_made_up_pairs_and_sync_on(ssmux: Ssmux, isolated_home: Path) -> None:
    """No `default/...` pairs appear anywhere; sync is on, so adding a pair is the one step to syncing it."""
    settings = ssmux("settings", "show", "--json").json()
    assert (settings["sync_enabled"], settings["sync_pairs"]) == (True, [])
    assert ssmux("pair", "ls", "--json").json() == []
    for args in (("settings",), ("settings", "show"), ("pair", "ls")):
        assert "default/" not in ssmux(*args).out, args
    assert list(isolated_home.iterdir()) == []  # looking writes nothing


def test_an_old_settings_file_without_pairs_gets_none(isolated_home: Path) -> None:
    """A settings file that never listed pairs reads as no pairs (the old defaults were never real)."""
    (isolated_home / "settings.toml").write_text('schema_version = 1\nbackend = "native"\n', encoding="utf-8")
    loaded = store.load_settings()
    assert loaded.sync_pairs == () and loaded.backend == "native"
    assert Settings().sync_pairs == ()


def test_sync_on_a_fresh_home_says_what_to_do_first(ssmux: Ssmux) -> None:
    """`ssmux sync` with no pair: one line naming `pair add PROFILE/REGION` and `aws-profiles`, exit 1."""
    result = ssmux("sync")
    assert result.status == 1
    assert result.out == ""
    assert result.err == f"ssmux: error: {FIRST_RUN_HINT}\n"
    assert "'ssmux pair add PROFILE/REGION'" in result.err and "'ssmux aws-profiles'" in result.err


def test_ls_on_a_fresh_home_says_what_to_do_first(ssmux: Ssmux) -> None:
    """`ssmux ls` with nothing saved or synced names the first steps, not "try fewer words" (none given)."""
    result = ssmux("ls")
    assert result.status == 0
    assert "fewer words" not in result.err
    assert "ssmux pair add PROFILE/REGION" in result.err and "ssmux aws-profiles" in result.err


def test_empty_lists_name_the_command_that_fills_them(ssmux: Ssmux) -> None:
    """`profile ls` and `group ls` on a fresh home each say how to add the first one."""
    assert ssmux("profile", "ls").out == "no saved profiles: add one with 'ssmux profile add'\n"
    assert "ssmux group add" in ssmux("group", "ls").out
