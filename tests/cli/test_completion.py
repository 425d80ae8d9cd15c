"""Shell completion through click: `ssmux completion SHELL` prints the script, and the script completes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
SSMUX = BIN / ("ssmux.exe" if sys.platform == "win32" else "ssmux")

#: What marks each shell's script as that shell's, and the name of click's completion mode for it.
SHELLS = {
    "bash": ("complete -o nosort -F _ssmux_completion ssmux", "bash_complete"),
    "zsh": ("#compdef ssmux", "zsh_complete"),
    "fish": ("complete --no-files --command ssmux", "fish_complete"),
}


def ssmux(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SSMUX), *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=60
    )


@pytest.mark.parametrize("shell", list(SHELLS))
def test_completion_prints_the_script_of_each_shell(shell: str) -> None:
    """`ssmux completion SHELL` exits 0 with the script that calls ssmux back with _SSMUX_COMPLETE."""
    done = ssmux("completion", shell)
    assert done.returncode == 0, done.stderr
    marker, mode = SHELLS[shell]
    assert marker in done.stdout
    assert f"_SSMUX_COMPLETE={mode}" in done.stdout


def test_an_unknown_shell_is_a_usage_error() -> None:
    """`ssmux completion tcsh` names the shells it knows and exits 2."""
    done = ssmux("completion", "tcsh")
    assert done.returncode == 2
    assert "'bash', 'zsh', 'fish'" in done.stderr


@pytest.mark.parametrize(
    ("shell", "words", "current", "expected"),
    [
        ("zsh", "ssmux prof", "1", "profile"),
        ("fish", "ssmux profile sh", "sh", "show"),
        ("bash", "ssmux group ", "2", "add"),
    ],
)
def test_each_shell_mode_completes_a_subcommand(shell: str, words: str, current: str, expected: str) -> None:
    """The call each script makes (COMP_WORDS, COMP_CWORD, _SSMUX_COMPLETE) answers with the command."""
    done = ssmux(COMP_WORDS=words, COMP_CWORD=current, _SSMUX_COMPLETE=SHELLS[shell][1])
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout.replace(",", "\n").replace("\t", "\n").split("\n")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_a_subcommand_name_with_the_script(tmp_path: Path) -> None:
    """In a real bash with the script loaded, `ssmux prof<Tab>` is `profile`, `ssmux se<Tab>` settings."""
    script = tmp_path / "ssmux.bash"
    script.write_text(ssmux("completion", "bash").stdout)
    probe = (
        f"source {script}\n"
        'COMP_WORDS=(ssmux prof); COMP_CWORD=1; _ssmux_completion ssmux; echo "${COMPREPLY[*]}"\n'
        'COMPREPLY=(); COMP_WORDS=(ssmux se); COMP_CWORD=1; _ssmux_completion ssmux; echo "${COMPREPLY[*]}"\n'
    )
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", probe],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["profile", "settings session-manager-plugin"]
