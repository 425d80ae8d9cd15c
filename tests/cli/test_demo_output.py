"""What ``ssmux demo`` (and ``make demo``) shows first: the URL, then hints that run as printed."""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

import pytest

from tests.support.demo import running_demo

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def clean_env(path: str) -> dict[str, str]:
    """This environment with ``PATH`` replaced, and no display or browser setting."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")
    }
    env["PATH"] = path
    return env


@pytest.mark.skipif(
    sys.platform != "linux", reason="no browser at all is a Linux case: macOS and Windows always have one"
)
def test_demo_prints_the_url_first_says_no_browser_opened_and_hints_runnable_commands(tmp_path: Path) -> None:
    """On a terminal with no display and no ssmux on PATH: line 1 is the URL, then one line says no browser
    opened, and the hinted commands name an ssmux that runs."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    with running_demo(tmp_path, env=clean_env(str(empty)), merge_stderr=True) as demo:
        hints = demo.read_until("stops everything")
    assert demo.url.startswith("http://127.0.0.1:")  # line 1, stdout and stderr together
    assert [line for line in hints if "browser" in line] == [
        "ssmux demo: no browser found to open here: open the URL above in one."
    ]
    commands = re.findall(r"'([^']+) (?:sync|ls)'", hints[-1])
    assert commands, hints
    for command in commands:
        program = shlex.split(command)[0]
        assert os.sep in program, f"{program!r} is looked up on PATH, where ssmux is not"
        assert os.access(Path(os.getcwd(), program), os.X_OK), program


def test_hints_say_plain_ssmux_when_it_is_on_path(tmp_path: Path) -> None:
    """With ssmux on PATH the hints say just `ssmux sync`."""
    env = clean_env(str(Path(sys.executable).parent))
    with running_demo(tmp_path, "--no-show", env=env, merge_stderr=True) as demo:
        hints = demo.read_until("stops everything")
    assert "'ssmux sync' and 'ssmux ls'" in hints[-1]
    assert not [line for line in hints if "browser" in line]  # --no-show: none was to open


def test_make_demo_echoes_no_recipe_line() -> None:
    """`make demo` prints the URL first: make must not echo its recipe lines (each starts with @)."""
    makefile = (ROOT / "Makefile").read_text()
    targets = re.findall(r"^(\S+):[^=\n]*\n((?:\t.*\n)+)", makefile, flags=re.MULTILINE)
    recipes = dict(targets)
    for target in ("demo", "$(STAMP)"):
        for line in recipes[target].splitlines():
            assert line.startswith("\t@"), f"make echoes {line.strip()!r} before the demo's URL"
