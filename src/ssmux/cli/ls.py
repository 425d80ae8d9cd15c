"""``ssmux ls [QUERY]``: every connectable target, saved profiles, synced instances and containers together.

Containers (ECS tasks' containers, synced beside the instances) are listed by ``cluster/service/container``
with their task id in the INSTANCE column (``--json`` has the SSM target ``ecs:...`` as ``instance_id``);
when any is listed, a KIND column tells them from instances, and their SSM column says whether ECS Exec can
reach them (``exec-ready``, ``no-exec``).

This path must stay fast with 20,000 cached instances (the GUI's and the picker's data come from the same
functions): it reads the profile files and the SQLite cache, never imports boto3 or rich, and prints with a
plain-text table.
"""

from __future__ import annotations

import time
import unicodedata
from functools import cache
from operator import attrgetter
from typing import TYPE_CHECKING

import click

from ssmux.errors import InvalidValue

if TYPE_CHECKING:
    from ssmux.sync.inventory import Inventory


#: The columns of the table, as attributes of a target, in order.
TABLE = ("short_name", "instance_id", "group", "state", "ping_status", "platform", "private_ip", "source")
#: The table when containers are listed: a KIND column after the name.
TABLE_WITH_KIND = ("short_name", "kind", *TABLE[1:])
#: Columns left out, in this order, while the table is wider than the terminal.
DROPPED_FIRST = ("source", "platform", "kind", "private_ip")
#: What the SSM column says of a container: whether ECS Exec can reach it.
EXEC_READY, NO_EXEC = "exec-ready", "no-exec"
#: Columns shortened (with an ellipsis) when dropping is not enough, and the width they keep at least.
SHORTENED = {"short_name": 12, "group": 10}
GAP = 2  # spaces between columns, as print_text_table writes them
ELLIPSIS = "…"


def clean(value: str) -> str:
    """``value`` safe for a terminal: control characters (escape sequences in a tag...) shown as ``?``."""
    if value.isprintable():
        return value
    return "".join("?" if unicodedata.category(ch)[0] == "C" else ch for ch in value)


def parse_tag(text: str) -> tuple[str, str | None]:
    """``KEY=VALUE`` (exact value) or ``KEY`` (any value) for ``--tag``.

    Raises:
        InvalidValue: the key is empty.
    """
    key, sep, value = text.partition("=")
    if not key.strip():
        raise InvalidValue(f"invalid --tag {text!r}: write KEY=VALUE or KEY, e.g. --tag team=web")
    return key.strip(), value if sep else None


@click.command("ls")
@click.argument("query", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the targets as JSON.")
@click.option("--group", metavar="G", help="Only this group (a saved group, or a pair as PROFILE/REGION).")
@click.option(
    "--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Only targets with this tag; repeatable."
)
@click.option("--state", metavar="S", help="Only instances in this EC2 state (running, stopped...).")
@click.option("--all", "show_all", is_flag=True, help="Also list instances that cannot take a session now.")
def ls(
    query: tuple[str, ...],
    as_json: bool,
    group: str | None,
    tags: tuple[str, ...],
    state: str | None,
    show_all: bool,
) -> None:
    """List saved profiles, synced instances and containers; QUERY words must all match.

    A word matches, case-insensitively, a name, an instance id, a tag value, an IP or a DNS name (for a
    container: cluster/service/container, task id, container name, task definition); results are sorted
    by relevance, then name. Stopped instances are listed only with --all or --state.
    """
    from ssmux.cli.output import print_text_table
    from ssmux.core.validation import validate_instance_state
    from ssmux.sync.inventory import Inventory
    from ssmux.sync.targets import load_targets, matching

    text = " ".join(query)
    wanted_tags = [parse_tag(tag) for tag in tags]
    wanted_state = validate_instance_state(state) if state is not None else None
    inventory = Inventory()
    found = matching(
        load_targets(text, inventory=inventory),
        text,
        group=group,
        tags=wanted_tags,
        state=wanted_state,
        include_all=show_all,
    )
    if as_json:
        from ssmux.cli.output import print_json

        print_json([target.to_dict() for target in found])
    else:
        containers = [index for index, target in enumerate(found) if target.container is not None]
        table = TABLE_WITH_KIND if containers else TABLE
        cells = attrgetter(*table)
        # Every cell goes through clean(), but only a value that is not printable pays the call (20,000 rows).
        rows = [
            [value if value and value.isprintable() else clean(value or "-") for value in cells(target)]
            for target in found
        ]
        at_id, at_ssm = table.index("instance_id"), table.index("ping_status")
        for row in rows:
            if row[0] == row[at_id]:
                row[0] = "-"  # no name: the id is in its own column
        for index in containers:
            ref = found[index].container
            if ref is not None:
                # The task id, not the 80-character SSM target (in --json): it names the task for connect.
                rows[index][at_id] = clean(ref.task_id)
                rows[index][at_ssm] = EXEC_READY if ref.exec_ready else NO_EXEC
        columns, rows = fit(list(table), rows, _terminal_width())
        print_text_table([_headings()[name] for name in columns], rows)
        if not found:
            click.echo(_nothing_found(text, inventory, show_all), err=True)
    if show_all or wanted_state not in (None, "running"):
        _warn_only_running()
    _warn_stale(inventory, group)


def _nothing_found(text: str, inventory: Inventory, show_all: bool) -> str:
    """Why the list is empty, and what to do: first steps on an empty home, else how to widen the search."""
    from ssmux.core.store import load_profiles, load_settings
    from ssmux.sync.engine import empty_state_hint

    if not load_profiles().profiles and not inventory.pair_keys():
        return empty_state_hint(load_settings())
    wider = "" if show_all else "--all (stopped and offline too), "
    if text:
        return f"no targets match {text!r}: try fewer words, {wider}or 'ssmux sync'"
    return f"no targets to list: try {wider}or 'ssmux sync'"


@cache
def _headings() -> dict[str, str]:
    from ssmux.sync.instance import HEADINGS

    # A target's instance attributes are named as the instance columns, whose headings come with them.
    return {**HEADINGS, "short_name": HEADINGS["name"], "group": "GROUP", "source": "SOURCE", "kind": "KIND"}


def _terminal_width() -> int | None:
    """The width to fit: ``COLUMNS`` when set, else the terminal's; ``None`` (no limit) for a pipe or file."""
    import os
    import shutil
    import sys

    if os.environ.get("COLUMNS", "").isdigit() or sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def fit(columns: list[str], rows: list[list[str]], width: int | None) -> tuple[list[str], list[list[str]]]:
    """The columns and cells of a table no wider than ``width`` (``None``: as they are).

    Columns of :data:`DROPPED_FIRST` are left out first, in order; then the :data:`SHORTENED` ones lose
    their ends to an ellipsis, the widest first, never below their minimum. The instance id is never cut:
    it is what a user copies. A table that still does not fit is printed as narrow as it gets.
    """
    if width is None:
        return columns, rows
    widths = {
        name: max([len(_headings()[name]), *(len(row[i]) for row in rows)]) for i, name in enumerate(columns)
    }

    def total(names: list[str]) -> int:
        return sum(widths[name] for name in names) + GAP * (len(names) - 1)

    kept = list(columns)
    for name in DROPPED_FIRST:
        if total(kept) <= width:
            break
        if name in kept:  # KIND is there only when containers are listed
            kept.remove(name)
    # One character at a time from the widest column that can still give one: the cut is shared fairly.
    for _ in range(total(kept) - width):
        widest = max(SHORTENED, key=lambda name: widths[name] - SHORTENED[name])
        if widths[widest] <= SHORTENED[widest]:
            break
        widths[widest] -= 1
    index = [columns.index(name) for name in kept]
    return kept, [[_shorten(row[i], widths[columns[i]]) for i in index] for row in rows]


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + ELLIPSIS


def _warn_only_running() -> None:
    """``--all`` or ``--state stopped`` while the sync keeps running instances only: say why none show."""
    from ssmux.core.store import load_settings

    if load_settings().sync_only_running:
        click.echo(
            "ssmux: note: the sync lists running instances only: to see the others run "
            "'ssmux settings set sync_only_running false', then 'ssmux sync'",
            err=True,
        )


def _warn_stale(inventory: Inventory, group: str | None) -> None:
    """One line on stderr per pair whose last sync (or last ECS listing) failed: its rows are older than
    they look."""
    for status in inventory.pairs():
        if group is not None and status.group != group:
            continue
        if not status.stale and status.containers_stale:
            since = (
                "showing containers from "
                f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(status.containers_last_success))}"
                if status.containers_last_success
                else "no containers listed"
            )
            reason = clean(status.ecs_error_message or status.ecs_error_code or "")
            click.echo(
                f"ssmux: warning: {status.group}'s containers are stale ({since}): "
                f"last ECS listing failed: {reason}",
                err=True,
            )
        if not status.stale:
            continue
        since = (
            f"showing instances from {time.strftime('%Y-%m-%d %H:%M', time.localtime(status.last_success))}"
            if status.last_success
            else "it never synced"
        )
        reason = clean(status.error_message or "")
        click.echo(f"ssmux: warning: {status.group} is stale ({since}): last sync failed: {reason}", err=True)
