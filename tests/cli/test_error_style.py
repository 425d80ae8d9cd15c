"""One error style for every error: one ``ssmux: error:`` line on stderr; the exit status tells the kind.

A bad command line (click's usage errors) exits 2 and points at the command's --help; an error ssmux
finds (a bad value, a missing profile) exits 1; a group run with nothing more shows its help and exits 0.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

from .conftest import Run

ID = "i-0123456789abcdef0"


def assert_one_line(result: Run, status: int) -> str:
    assert result.status == status, (result.status, result.err)
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("ssmux: error: "), lines[0]
    assert "Usage:" not in result.err and "Error:" not in result.err and "Try '" not in result.err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "command", "says"),
    [
        (("profile", "add", "x"), "ssmux profile add", "Missing option '--instance-id'"),
        (
            ("profile", "add", "x", "--instance-id", ID, "--colour", "red"),
            "ssmux profile add",
            "No such option",
        ),
        (("--bogus",), "ssmux", "No such option '--bogus'"),
        (("nosuch",), "ssmux", "No such command 'nosuch'"),
        (("group", "nosuch"), "ssmux group", "No such command 'nosuch'"),
        (("sync", "--concurrency", "0"), "ssmux sync", "'--concurrency'"),
        (("settings", "set", "colour", "red"), "ssmux settings set", "unknown setting 'colour'"),
        (("group", "add"), "ssmux group add", "Missing argument 'NAME'"),
    ],
)
def test_usage_errors_are_one_ssmux_line_with_exit_2(
    ssmux: Callable[..., Run], args: tuple[str, ...], command: str, says: str
) -> None:
    """A bad command line: exit 2, one `ssmux: error:` line naming the problem and the command's --help."""
    line = assert_one_line(ssmux(*args), 2)
    assert says in line
    assert line.endswith(f": see '{command} --help'"), line


@pytest.mark.parametrize(
    "args",
    [
        ("profile", "add", "x", "--instance-id", "i-xyz"),
        ("profile", "show", "nobody"),
        ("group", "rm", "nobody"),
    ],
)
def test_errors_ssmux_finds_are_one_line_with_exit_1(
    ssmux: Callable[..., Run], args: tuple[str, ...]
) -> None:
    """A value ssmux refuses or a name it does not know: exit 1, the same one-line style."""
    assert_one_line(ssmux(*args), 1)


@pytest.mark.parametrize("args", [(), ("profile",), ("group",), ("pair",)])
def test_a_bare_group_shows_its_help_and_exits_0(ssmux: Callable[..., Run], args: tuple[str, ...]) -> None:
    """`ssmux` or `ssmux profile` alone asks what there is: the help, on stdout, and no error."""
    result = ssmux(*args)
    assert (result.status, result.err) == (0, "")
    assert result.out.startswith("Usage: ssmux")


def test_usage_error_in_a_real_process() -> None:
    """The installed command as a user runs it: the same line and status 2."""
    result = subprocess.run(
        [sys.executable, "-m", "ssmux", "profile", "add", "x"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr == ("ssmux: error: Missing option '--instance-id': see 'ssmux profile add --help'\n")
