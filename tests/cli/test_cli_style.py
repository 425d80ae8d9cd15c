"""One style across the CLI: whole sentences in help, true/false as in TOML, counts with proper plurals."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ssmux.cli.main import cli
from ssmux.cli.output import plural
from tests.cli.conftest import Run

Ssmux = Callable[..., Run]
CLI_SOURCES = Path(__file__).resolve().parents[2] / "src" / "ssmux" / "cli"


def groups(command: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The command path of ``command`` and of every group under it."""
    yield path
    ctx = click.Context(command)
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if isinstance(sub, click.Group):
            yield from groups(sub, (*path, name))


def listed_help(path: tuple[str, ...], width: int) -> dict[str, str]:
    """The Commands section of `ssmux PATH --help` at ``width`` columns: name -> its text, lines joined."""
    result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=width, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    section = result.output.split("\nCommands:\n", 1)[1]
    entries: dict[str, str] = {}
    name = ""
    for line in section.splitlines():
        if not line.strip():
            continue
        if line.startswith("  ") and not line.startswith("   "):
            name, _, text = line.strip().partition(" ")
            entries[name] = text.strip()
        else:
            entries[name] += " " + line.strip()
    return entries


@pytest.mark.parametrize(
    "path",
    list(groups(cli)),
    ids=lambda path: " ".join(("ssmux", *path)),
)
@pytest.mark.parametrize("width", [80, 60])
def test_help_lists_whole_sentences(path: tuple[str, ...], width: int) -> None:
    """Every command listed by a --help ends its sentence: nothing is cut with "..." at any width."""
    entries = listed_help(path, width)
    assert entries
    for name, text in entries.items():
        assert not text.endswith("...") and text.endswith((".", ")")), (path, name, text)


def test_plural_says_one_and_many() -> None:
    """1 instance, 0 instances, 2 instances; an irregular plural is given."""
    assert [plural(n, "instance") for n in (0, 1, 2)] == ["0 instances", "1 instance", "2 instances"]
    assert plural(3, "entry", "entries") == "3 entries"


def test_no_message_hedges_a_plural_with_s_in_brackets() -> None:
    """No string of the CLI says "profile(s)": counts are known, so the right number is written."""
    found = [
        f"{path.name}:{node.lineno}: {node.value!r}"
        for path in sorted(CLI_SOURCES.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "(s)" in node.value
    ]
    assert found == []


def test_counts_in_messages_agree_with_their_number(ssmux: Ssmux, tmp_path: Path) -> None:
    """Export and group rm say "1 profile", "1 group" and "2 profiles"."""
    ssmux("profile", "add", "a", "--instance-id", "i-12345678", "--group", "web")
    exported = ssmux("export", str(tmp_path / "one.toml"))
    assert exported.out.startswith("exported 1 profile and 1 group to ")
    ssmux("profile", "add", "b", "--instance-id", "i-12345679", "--group", "web")
    refused = ssmux("group", "rm", "web")
    assert "group 'web' has 2 profiles:" in refused.err
    assert "moved 2 profiles to no group: a, b" in ssmux("group", "rm", "web", "--force").out


def test_booleans_read_as_in_the_settings_file(ssmux: Ssmux) -> None:
    """`settings set` echoes true/false as TOML writes them, and `settings show` says the same."""
    assert ssmux("settings", "set", "sync_only_running", "no").out == "sync_only_running = false\n"
    assert ssmux("settings", "set", "sync_enabled", "yes").out == "sync_enabled = true\n"
    shown = ssmux("settings", "show").out
    assert "sync_only_running:    false\n" in shown and "sync_enabled:         true\n" in shown
    assert "True" not in shown and "False" not in shown


def test_bare_settings_shows_them(ssmux: Ssmux) -> None:
    """`ssmux settings` alone shows the settings, as `settings show` does, and exits 0."""
    bare = ssmux("settings")
    assert bare.status == 0
    assert bare.out == ssmux("settings", "show").out
    assert bare.out.startswith("sync_enabled:")
