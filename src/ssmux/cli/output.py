"""The one place the CLI prints results: JSON with stable field names, or a human table."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import click


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON; non-ASCII text stays readable."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def console(stderr: bool = False) -> Any:
    """A rich console on the current stdout (or stderr); resolved at call time so tests can capture it."""
    from rich.console import Console

    return Console(file=sys.stderr if stderr else sys.stdout, highlight=False, soft_wrap=False)


def print_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None) -> None:
    """Print rows as a table. Cells are shown verbatim: rich markup in user data is never interpreted."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
    console().print(table)


def print_lines(lines: Iterable[str]) -> None:
    """Print plain lines (no markup interpretation)."""
    for line in lines:
        sys.stdout.write(line + "\n")


def print_text_table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print rows as a plain aligned table without importing rich (keeps quick commands quick).

    Cells are shown verbatim on one line; a line break inside a cell is shown as ``⏎``. ``None`` is empty.
    """
    import unicodedata

    def cell_text(cell: Any) -> str:
        text = "" if cell is None else str(cell)
        return text.replace("\r\n", "⏎").replace("\n", "⏎").replace("\r", "⏎").replace("\t", " ")

    def width(text: str) -> int:
        # East Asian wide/full-width characters take two terminal columns; combining marks take none.
        return sum(
            0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
            for ch in text
        )

    table = [[cell_text(c) for c in columns], *([cell_text(c) for c in row] for row in rows)]
    widths = [max(width(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        padded = [text + " " * (widths[i] - width(text)) for i, text in enumerate(line)]
        sys.stdout.write("  ".join(padded).rstrip() + "\n")


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 instance``, ``2 instances``: a count with its noun in the right number (``many`` if irregular)."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def setting_text(value: Any) -> str:
    """A setting's value as the TOML file writes it: ``true``/``false``, never Python's ``True``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class HelpGroup(click.Group):
    """A command group whose ``--help`` lists each subcommand's whole first sentence, wrapped, never cut.

    click shortens a subcommand's help to the terminal width and ends it with ``...`` mid-sentence; the
    first sentence is what a docstring is written to say, so it is shown whole.
    """

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
