"""The installed `ssmux` command run as a user runs it: a real process, real exit statuses and streams."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

SSMUX = Path(sys.executable).with_name("ssmux.exe" if sys.platform == "win32" else "ssmux")


def ssmux(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SSMUX), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=os.environ.copy(),
        timeout=60,
    )


def test_help_lists_the_commands() -> None:
    """`ssmux --help` exits 0 and lists the profile, group, settings, pair, import and export commands."""
    result = ssmux("--help")
    assert result.returncode == 0
    for command in ("profile", "group", "settings", "pair", "aws-profiles", "import", "export"):
        assert f"  {command} " in result.stdout


def test_add_list_show_in_a_real_process(isolated_home: Path, tmp_path: Path) -> None:
    """A profile with shell metacharacters goes in and comes out verbatim; no shell ever sees it."""
    marker = tmp_path / "pwned"
    name = f"x; touch {marker} && $(touch {marker}) `touch {marker}` \"'"
    added = ssmux("profile", "add", name, "--instance-id", "i-0123456789abcdef0", "--description", "a\nb")
    assert added.returncode == 0, added.stderr
    listed = ssmux("profile", "ls")
    assert listed.returncode == 0 and name in listed.stdout
    shown = ssmux("profile", "show", name)
    assert "description:\n  a\n  b\n" in shown.stdout
    assert not marker.exists()
    assert (isolated_home / "profiles.toml").exists()


def test_errors_are_one_line_with_exit_1_and_usage_is_exit_2() -> None:
    """A bad value exits 1 with one `ssmux: error:` line; a usage error exits 2."""
    bad = ssmux("profile", "add", "x", "--instance-id", "i-xyz")
    assert bad.returncode == 1
    assert bad.stderr.startswith("ssmux: error: ") and bad.stderr.count("\n") == 1 and bad.stdout == ""
    usage = ssmux("profile", "add", "x")
    assert usage.returncode == 2 and "Missing option '--instance-id'" in usage.stderr


def test_corrupt_file_fails_and_stays(isolated_home: Path) -> None:
    """With an unparsable profiles.toml the command exits 1 naming file and line; the file is unchanged."""
    path = isolated_home / "profiles.toml"
    path.write_text("[[profiles]\nname = 'a'\n", encoding="utf-8")
    result = ssmux("profile", "add", "b", "--instance-id", "i-12345678")
    assert result.returncode == 1 and f"{path}, line 1" in result.stderr
    assert path.read_text(encoding="utf-8") == "[[profiles]\nname = 'a'\n"


def test_python_dash_m_runs_the_same_cli() -> None:
    """`python -m ssmux` is the same command."""
    result = subprocess.run(
        [sys.executable, "-m", "ssmux", "settings", "show", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert '"backend": "auto"' in result.stdout
