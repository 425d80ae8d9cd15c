"""``ssmux sync``: list the instances of every enabled (AWS CLI profile, region) pair into the cache.

Pairs run concurrently (``--concurrency``, default 32, see :data:`ssmux.sync.engine.DEFAULT_CONCURRENCY`). On
a terminal a live display on stderr shows the progress while the sync runs and is cleared at the end: a line
per pair for a few pairs, one bar (pairs done, instances, errors) for many. The result is said once: a table
with one row per pair (its error too) on stdout, or ``--json``; past :data:`TABLE_LIMIT` pairs the failures
instead, grouped by what went wrong (one line for 212 pairs denied the same way; ``--per-pair`` or ``--json``
lists every pair). Then one summary line, on stdout when every pair synced and as the error line on stderr
when some failed. Exit status: 0 when every pair synced, 1 when any failed (the others are still saved), 130
on Ctrl-C (pairs already done are kept).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from ssmux.errors import ExitStatus

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ssmux.core.models import SyncPair
    from ssmux.sync.engine import Progress, SyncEvent, SyncResult

#: Up to this many pairs, the result is a table with a row per pair and the live display a line per pair.
TABLE_LIMIT = 20


def parse_pair(text: str) -> tuple[str, str]:
    """``PROFILE/REGION`` into ``(profile, region)``; split at the last ``/`` since regions have none.

    Raises:
        InvalidValue: not of that form, or an invalid profile name or region.
    """
    from ssmux.core.validation import validate_pair_text

    return validate_pair_text(text)


@click.command("sync")
@click.option(
    "--pair",
    "pairs",
    multiple=True,
    metavar="PROFILE/REGION",
    help="Sync this pair (repeatable); runs even when sync is disabled. Default: every enabled pair.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=32,  # ssmux.sync.engine.DEFAULT_CONCURRENCY, not imported: it would load the engine for --help
    show_default=True,
    help="Pairs synced at the same time.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--per-pair", is_flag=True, help=f"A row per pair even past {TABLE_LIMIT} pairs.")
def sync(pairs: tuple[str, ...], concurrency: int, as_json: bool, per_pair: bool) -> None:
    """Sync EC2 instances and SSM managed nodes of the sync pairs into the local cache.

    Instances are listed with EC2 DescribeInstances and SSM DescribeInstanceProperties (or
    DescribeInstanceInformation where that is not allowed), every pair at once. A pair that fails keeps
    its last good instances (shown as stale by ssmux ls).
    """
    from ssmux.core import store
    from ssmux.core.aws import AwsClients
    from ssmux.sync.ecs import pairs_without_containers
    from ssmux.sync.engine import pairs_to_sync, sync_pairs
    from ssmux.sync.inventory import Inventory

    named = [parse_pair(text) for text in pairs]
    settings = store.load_settings()
    keys = pairs_to_sync(settings, named)
    inventory = Inventory()
    # What discovery named each pair's account and role, to show beside (or instead of) PROFILE/REGION.
    titles = {pair.key: pair.title for pair in settings.sync_pairs if pair.account_name}
    with _ProgressDisplay(keys, titles) as progress:
        result = sync_pairs(
            keys,
            clients=AwsClients(),
            only_running=settings.sync_only_running,
            concurrency=concurrency,
            inventory=inventory,
            progress=progress,
            no_containers=pairs_without_containers(settings),
        )
    if not named and not result.cancelled:
        # A full sync is the truth about the enabled pairs: forget pairs disabled or removed since.
        inventory.forget_pairs(keys)
    from ssmux.cli.output import plural

    if as_json:
        from ssmux.cli.output import print_json

        print_json(result.to_dict())
    elif per_pair or len(result.outcomes) <= TABLE_LIMIT:
        _print_table(result, settings.sync_pairs)
    else:
        _print_groups(result, titles)
    total = len(result.outcomes)
    if result.cancelled:
        done = sum(1 for outcome in result.outcomes if not outcome.cancelled)
        click.echo(f"ssmux: interrupted: {done} of {plural(total, 'pair')} finished and kept", err=True)
        sys.exit(int(ExitStatus.INTERRUPTED))
    ok = sum(1 for outcome in result.outcomes if outcome.ok)
    instances, seconds = plural(result.instances, "instance"), f"{result.seconds:.2f} s"
    if ok == 0:
        click.echo(f"ssmux: error: {plural(total, 'pair')} failed", err=True)
    elif ok < total:
        others = "the other" if ok == 1 else f"the other {ok}"
        failed = f"{total - ok} of {plural(total, 'pair')} failed"
        click.echo(f"ssmux: error: {failed}; {instances} synced from {others} in {seconds}", err=True)
    elif not as_json:
        click.echo(f"{instances} from {plural(total, 'pair')} in {seconds}")
    # A pair whose ECS listing alone failed synced its instances, but its failure is one all the same.
    ecs_failed = sum(1 for outcome in result.outcomes if outcome.ecs_failed)
    if ecs_failed:
        which = "its" if ecs_failed == 1 else "their"
        click.echo(
            f"ssmux: error: the containers of {plural(ecs_failed, 'pair')} could not be listed "
            f"({which} instances were synced): see the errors above",
            err=True,
        )
    if ok < total or ecs_failed:
        sys.exit(int(ExitStatus.ERROR))


def _print_table(result: SyncResult, pairs: Sequence[SyncPair] = ()) -> None:
    """A row per pair; an ACCOUNT column (account and role, as discovery named them) when any is named."""
    from ssmux.cli.ls import clean
    from ssmux.cli.output import print_text_table

    accounts = {pair.key: pair.account for pair in pairs if pair.account}
    rows = [
        (
            f"{outcome.aws_profile}/{outcome.region}",
            *([clean(accounts.get((outcome.aws_profile, outcome.region)) or "-")] if accounts else []),
            outcome.status,
            str(outcome.instances) if outcome.ok else "-",
            str(outcome.containers) if outcome.container_items is not None else "-",
            f"{outcome.seconds:.2f}",
            clean(outcome.error_message or outcome.ecs_error_message or ""),
        )
        for outcome in result.outcomes
    ]
    headers = (
        "PAIR", *(["ACCOUNT"] if accounts else []), "STATUS", "INSTANCES", "CONTAINERS", "SECONDS", "ERROR"
    )  # fmt: skip
    print_text_table(headers, rows)


def _print_groups(result: SyncResult, titles: Mapping[tuple[str, str], str]) -> None:
    """Many pairs: the failures, one line per way of failing (every pair: ``--per-pair`` or ``--json``)."""
    from ssmux.cli.ls import clean
    from ssmux.sync.grouping import group_failures

    for group in group_failures(result.outcomes):
        click.echo(clean(group.line(titles=titles)))


class _ProgressDisplay:
    """A per-pair live display on a terminal (stderr), cleared when the sync ends; nothing otherwise.

    The table printed afterwards is the one record of each pair's result, so neither the live lines nor a
    line per finished pair stay behind to say it again.
    """

    def __init__(self, keys: list[tuple[str, str]], titles: Mapping[tuple[str, str], str]) -> None:
        self.keys = keys
        self.titles = titles
        self.live: Any = None
        self.tasks: dict[tuple[str, str], Any] = {}

    def __enter__(self) -> Progress:
        if sys.stderr.isatty() and len(self.keys) > TABLE_LIMIT:
            return self._start_bar()
        if sys.stderr.isatty():
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            from ssmux.cli.output import console

            self.live = Progress(
                SpinnerColumn(),
                TextColumn("{task.fields[pair]}", markup=False),
                BarColumn(bar_width=12),
                TextColumn("{task.fields[status]}", markup=False),
                TimeElapsedColumn(),
                console=console(stderr=True),
                transient=True,
            )
            self.live.start()
            for key in self.keys:
                self.tasks[key] = self.live.add_task(
                    "",
                    total=None,
                    start=False,
                    pair=self.titles.get(key) or f"{key[0]}/{key[1]}",
                    status="waiting",
                )
            return self._rich
        return _ignore

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()

    def _start_bar(self) -> Progress:
        """One bar for many pairs: a line per pair would not fit the terminal."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from ssmux.cli.output import console

        self.live = Progress(
            TextColumn("pairs"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}", markup=False),
            TimeElapsedColumn(),
            console=console(stderr=True),
            transient=True,
        )
        self.live.start()
        bar = self.live.add_task("", total=len(self.keys), status="")
        counts = {"instances": 0, "errors": 0}

        def update(event: SyncEvent) -> None:
            from ssmux.cli.output import plural

            outcome = event.outcome
            if outcome is None:
                return
            if outcome.ok:
                counts["instances"] += outcome.instances
            elif not outcome.cancelled:
                counts["errors"] += 1
            status = f"{plural(counts['instances'], 'instance')}, {plural(counts['errors'], 'error')}"
            self.live.update(bar, advance=1, status=status)

        return update

    def _rich(self, event: SyncEvent) -> None:
        from ssmux.cli.output import plural
        from ssmux.sync.engine import EventKind

        task = self.tasks.get((event.aws_profile, event.region))
        if task is None:
            return
        if event.kind is EventKind.STARTED:
            self.live.start_task(task)
            self.live.update(task, status="listing")
        elif event.kind is EventKind.PAGE:
            status = f"{plural(event.pages, 'page')}, {plural(event.instances, 'instance')}"
            self.live.update(task, status=status)
        elif event.outcome is not None:
            outcome = event.outcome
            # Shown while other pairs still run; the live lines go when the table comes.
            if outcome.ok:
                status = f"ok: {plural(outcome.instances, 'instance')}"
            else:
                status = f"{outcome.error_code}: {outcome.error_message}"
            self.live.update(task, total=1, completed=1, status=status)
            self.live.stop_task(task)


def _ignore(event: SyncEvent) -> None:
    """The progress callback when stderr is not a terminal: the table at the end says it all."""
