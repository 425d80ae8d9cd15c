"""The README's command blocks, run in order on a fresh home as a reader would type them.

Every line of a ```sh or ```console block is a command. ``ssmux ...`` lines run the installed ``ssmux``
(the venv's, first on PATH) against the emulator, whose account ``prod`` holds the README's instance
``i-0123456789abcdef0`` and container ``shop/web/app`` in eu-central-1; ``make TARGET`` lines are checked
with ``make -n`` (the target exists and its recipe expands; running ``make test`` inside the test suite would
run the suite again).
``echo TEXT | ssmux ...`` feeds TEXT to stdin; ``ssmux connect TARGET`` alone runs in a pty and types the
README's own disconnect keys (Enter, then ``~.``). A line that cannot run here is named in an HTML comment
``<!-- not run by tests/cli/test_readme.py: `PREFIX` (why) -->`` before its block; such lines stay rare.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from ssmux.cli.main import cli
from tests.support.emulator import RunningEmulator, start_emulator

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(sys.platform == "win32", reason="the README's blocks are POSIX shell lines"),
]

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BIN = Path(sys.executable).parent
MARKER = re.compile(r"<!-- not run by tests/cli/test_readme\.py: `([^`]+)` \(([^)]+)\) -->")
#: The README should show what works; a growing list of exceptions means it does not. Those it has need what
#: no test machine has: pipx, a free well-known port, an sshd on the instance, Windows and an RDP client.
MAX_NOT_RUN = 4

#: The accounts the README's examples use, as the emulator serves them: the organization it signs in to
#: first (the dev account), and prod, reached by hand after.
SCENARIO = {
    "defaults": {"command": "/bin/sh", "prompt": "{name}$ "},
    "profiles": [
        {"name": "prod", "account_id": "222222222222", "region": "eu-central-1"},
        {"name": "dev", "account_id": "111111111111", "region": "eu-central-1"},
    ],
    "instances": [
        {"profile": "prod", "id": "i-0123456789abcdef0", "name": "web-1", "tags": {"team": "web"}},
        {"profile": "prod", "name": "web-2", "tags": {"team": "web"}},
        {"profile": "prod", "name": "db-1", "tags": {"team": "data"}},
        {"profile": "dev", "name": "api-1", "tags": {"team": "api"}},
    ],
    # The README's container: one task of service web in prod's cluster shop (one task: no picker).
    "ecs": {
        "clusters": [
            {
                "profile": "prod",
                "name": "shop",
                "services": [
                    {
                        "name": "web",
                        "containers": [{"name": "app", "environment": {"APP_ROLE": "web", "PS1": "app$ "}}],
                    }
                ],
            }
        ]
    },
    "sso": {
        "session": "corp",
        "region": "eu-central-1",
        "accounts": [
            {"profile": "dev", "name": "Development", "roles": ["ReadOnlyAccess", "AdministratorAccess"]}
        ],
    },
}


@dataclass(frozen=True)
class Command:
    """One command line of a README block."""

    line: int
    text: str
    not_run: str | None  # why, when a marker before its block names it


def readme_commands(text: str) -> list[Command]:
    """Every command of the ```sh and ```console blocks, in order; ``$ `` prompts are dropped."""
    commands: list[Command] = []
    markers: dict[str, str] = {}
    in_block = False
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not in_block:
            if found := MARKER.search(stripped):
                markers[found.group(1)] = found.group(2)
            elif stripped in ("```sh", "```console"):
                in_block = True
            elif stripped.startswith("```"):
                markers.clear()
            continue
        if stripped == "```":
            in_block = False
            markers.clear()
            continue
        line = stripped.removeprefix("$ ")
        if not line or line.startswith("#"):
            continue
        why = next((reason for prefix, reason in markers.items() if line.startswith(prefix)), None)
        commands.append(Command(number, line, why))
    return commands


@dataclass(frozen=True)
class Outcome:
    """What one README command did."""

    status: int
    out: str
    err: str


@pytest.fixture
def readme_emulator(tmp_path: Path) -> Iterator[RunningEmulator]:
    with start_emulator(SCENARIO, "--fast", tmp_dir=tmp_path / "emulator") as running:
        yield running


def user_env(emulator: RunningEmulator, tmp_path: Path) -> dict[str, str]:
    """A reader's shell: a fresh ssmux home and HOME, the venv's commands first, AWS at the emulator."""
    home = tmp_path / "user"
    home.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "SSMUX_")) and key not in ("COLUMNS", "LINES")
    }
    return {
        **env,
        **emulator.env(),
        "HOME": str(home),
        "SSMUX_HOME": str(tmp_path / "ssmux-home"),
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        # A browser whose user allows what it is shown: `ssmux sso login` signs in through it.
        "BROWSER": f"{sys.executable} {Path(__file__).parents[1] / 'support' / 'fetch_url.py'} %s",
    }


def run_command(command: Command, env: dict[str, str], cwd: Path) -> Outcome:
    """Run one README line as its comment says a reader would, with no shell in between."""
    # `~/x` is the reader's home, which here is the test's HOME.
    words = [env["HOME"] + word[1:] if word.startswith("~/") else word for word in _split(command.text)]
    stdin = None
    if "|" in words:
        left, right = words[: words.index("|")], words[words.index("|") + 1 :]
        assert left[:1] == ["echo"], f"README line {command.line}: only `echo TEXT | ...` pipes are run"
        stdin, words = " ".join(left[1:]) + "\n", right
    if words[0] == "make":
        return _run(["make", "-n", "-C", str(ROOT), *words[1:]], env, cwd)
    assert words[0] == "ssmux", f"README line {command.line}: {command.text!r} is not an ssmux command"
    if words[1:2] == ["connect"] and stdin is None:
        return _interactive(words, env, cwd)
    return _run(words, env, cwd, stdin=stdin)


def _split(text: str) -> list[str]:
    # shlex keeps quoted words whole and drops the trailing `# comment`, as the reader's shell would.
    lexer = shlex.shlex(text, posix=True, punctuation_chars="|")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def _run(argv: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None) -> Outcome:
    done = subprocess.run(
        argv,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=env,
        cwd=cwd,
        timeout=90,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


def _interactive(argv: list[str], env: dict[str, str], cwd: Path) -> Outcome:
    """A shell in a terminal: wait for the instance's prompt, then Enter and ``~.`` as the README says."""
    import pexpect

    child = pexpect.spawn(
        argv[0], argv[1:], env=env, cwd=str(cwd), encoding="utf-8", timeout=60, dimensions=(24, 100)
    )
    try:
        child.expect(r"\$ ")
        child.send("\r")
        child.expect(r"\$ ")
        child.send("~.")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    return Outcome(child.exitstatus if child.exitstatus is not None else -1, child.before or "", "")


def test_parser_reads_blocks_prompts_comments_and_markers() -> None:
    """Only sh/console blocks count; prompts and comments go; a marker applies to the block after it."""
    text = (
        "```python\nprint('no')\n```\n"
        "<!-- not run by tests/cli/test_readme.py: `ssmux forward` (it waits) -->\n"
        "```sh\nssmux ls   # all\nssmux forward x 1:1\n```\n"
        "```console\n$ ssmux forward y 2:2\n# a comment\n```\n"
    )
    assert readme_commands(text) == [
        Command(6, "ssmux ls   # all", None),
        Command(7, "ssmux forward x 1:1", "it waits"),
        Command(10, "ssmux forward y 2:2", None),
    ]
    assert _split("echo 'up time' | ssmux connect web-1  # pipe") == [
        "echo",
        "up time",
        "|",
        "ssmux",
        "connect",
        "web-1",
    ]


def test_every_readme_command_runs_in_order_on_a_fresh_home(
    readme_emulator: RunningEmulator, tmp_path: Path
) -> None:
    """Each command of the README exits 0, run in the README's order, from a fresh home against AWS."""
    commands = readme_commands(README.read_text(encoding="utf-8"))
    not_run = [command for command in commands if command.not_run]
    assert len(commands) > 0 and len(not_run) <= MAX_NOT_RUN, not_run
    env = user_env(readme_emulator, tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    for command in commands:
        if command.not_run:
            continue
        outcome = run_command(command, env, work)
        assert outcome.status == 0, (
            f"README line {command.line}: {command.text}\nexit {outcome.status}\n"
            f"stdout:\n{outcome.out}\nstderr:\n{outcome.err}"
        )
        assert "Traceback" not in outcome.err, (command.line, outcome.err)


def test_every_not_run_marker_names_a_command_of_its_block() -> None:
    """A marker that matches no command is stale: the README would claim an exception that is not there."""
    text = README.read_text(encoding="utf-8")
    named = {found.group(1) for found in MARKER.finditer(text)}
    used = {
        prefix for command in readme_commands(text) if command.not_run for prefix in named
        if command.text.startswith(prefix)
    }  # fmt: skip
    assert named == used


def test_group_add_gives_overrides_to_the_group_profile_add_made(isolated_home: Path) -> None:
    """`group add web --aws-profile prod` after `profile add --group web` sets it; overrides stay."""

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout + result.stderr

    assert run("profile", "add", "web-1", "--instance-id", "i-0123456789abcdef0", "--group", "web")[0] == 0
    assert run("group", "add", "web", "--aws-profile", "prod") == (
        0,
        "updated group 'web' (aws profile prod)\n",
    )
    assert "aws profile:  prod (from group)" in run("profile", "show", "web-1")[1]
    status, said = run("group", "add", "web", "--aws-profile", "dev")
    assert status == 1 and "group 'web' already exists: use 'ssmux group edit'" in said
    assert run("group", "add", "web")[0] == 1  # nothing to add: still refused, as before
