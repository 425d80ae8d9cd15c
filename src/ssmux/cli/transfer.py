"""``ssmux import FILE`` and ``ssmux export FILE``: share groups and profiles as TOML or CSV.

Import policy (see :mod:`ssmux.core.transfer`): new names are added, identical entries left alone, and a
name that exists with other values stops the import unless ``--replace`` or ``--skip`` says what to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click

from ssmux.cli.output import plural, print_json, print_lines


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replace", "policy", flag_value="replace", help="Names that exist: take the file's values.")
@click.option("--skip", "policy", flag_value="skip", help="Names that exist: keep the saved values.")
@click.option("--dry-run", is_flag=True, help="Say what would change; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def import_command(file: Path, policy: str | None, dry_run: bool, as_json: bool) -> None:
    """Import groups and profiles from FILE (.toml or .csv), all checked before anything is written."""
    from ssmux.core.transfer import import_book

    on_conflict: Literal["fail", "replace", "skip"] = "fail"
    if policy == "replace":
        on_conflict = "replace"
    elif policy == "skip":
        on_conflict = "skip"
    report = import_book(file, on_conflict=on_conflict, dry_run=dry_run)
    if as_json:
        print_json({"dry_run": dry_run, **report.to_dict()})
        return
    verb = "would be " if dry_run else ""
    lines = []
    for label, names in (
        ("added", report.added),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
        ("skipped (kept yours)", report.skipped),
        ("groups added", report.groups_added),
        ("groups updated", report.groups_updated),
    ):
        if names:
            lines.append(f"{verb}{label}: {len(names)} ({', '.join(names)})")
    print_lines(lines or ["the file holds no groups or profiles: nothing to import"])


@click.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--group", help="Only this group and its profiles.")
@click.option("--force", is_flag=True, help="Overwrite FILE when it exists.")
def export_command(file: Path, group: str | None, force: bool) -> None:
    """Export groups and profiles to FILE (.toml keeps everything; .csv holds profiles only)."""
    from ssmux.core.models import ProfileBook
    from ssmux.core.store import load_profiles
    from ssmux.core.transfer import export_book

    book = load_profiles()
    if group is not None:
        declared = book.get_group(group)
        members = book.profiles_in_group(group)
        if declared is None and not members:
            book.group(group)  # raises NotFound with the usual message
        book = ProfileBook(groups=(declared,) if declared else (), profiles=members)
    export_book(file, book, overwrite=force)
    counts = f"{plural(len(book.profiles), 'profile')} and {plural(len(book.groups), 'group')}"
    print_lines([f"exported {counts} to {file}"])
