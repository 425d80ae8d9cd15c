"""``ssmux ls [QUERY]``: every connectable target, saved profiles and synced instances together.

This path must stay fast with 20,000 cached instances (the GUI's and the picker's data come from the same
functions): it reads the profile files and the SQLite cache, never imports boto3 or rich, and prints with a
plain-text table.
"""

from __future__ import annotations

import time
import unicodedata
from operator import attrgetter
from typing import TYPE_CHECKING

import click

from ssmux.errors import InvalidValue

if TYPE_CHECKING:
    from ssmux.sync.inventory import Inventory


#: The columns of the table, as attributes of a target, in order.
TABLE = ("name", "instance_id", "group", "state", "ping_status", "platform", "private_ip", "source")


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
    """List saved profiles and synced instances; QUERY words must all match.

    A word matches, case-insensitively, a name, an instance id, a tag value, an IP or a DNS name; results
    are sorted by relevance, then name. Stopped instances are listed only with --all or --state.
    """
    from ssmux.cli.output import print_text_table
    from ssmux.sync.instance import HEADINGS
    from ssmux.sync.inventory import Inventory
    from ssmux.sync.targets import filter_targets, load_targets, search

    # A target's instance attributes are named as the instance columns, whose headings come with them.
    headings = {**HEADINGS, "group": "GROUP", "source": "SOURCE"}
    text = " ".join(query)
    wanted_tags = [parse_tag(tag) for tag in tags]
    inventory = Inventory()
    found = search(load_targets(text, inventory=inventory), text)
    found = filter_targets(found, group=group, tags=wanted_tags, state=state, include_all=show_all)
    if as_json:
        from ssmux.cli.output import print_json

        print_json([target.to_dict() for target in found])
        return
    cells = attrgetter(*TABLE)
    # Every cell goes through clean(), but only a value that is not printable pays the call (20,000 rows).
    rows = (
        tuple([value if value and value.isprintable() else clean(value or "-") for value in cells(target)])
        for target in found
    )
    print_text_table(tuple(headings[name] for name in TABLE), rows)
    if not found:
        click.echo("no targets match: try fewer words, --all, or ssmux sync", err=True)
    _warn_stale(inventory, group)


def _warn_stale(inventory: Inventory, group: str | None) -> None:
    """One line on stderr per pair whose last sync failed: its rows are older than they look."""
    for status in inventory.pairs():
        if not status.stale or (group is not None and status.group != group):
            continue
        since = (
            f"showing instances from {time.strftime('%Y-%m-%d %H:%M', time.localtime(status.last_success))}"
            if status.last_success
            else "it never synced"
        )
        reason = clean(status.error_message or "")
        click.echo(f"ssmux: warning: {status.group} is stale ({since}): last sync failed: {reason}", err=True)
