"""The app's sync by account: a row per account (pairs done of all, instances, errors) updating live, and the
failures grouped by what went wrong, each group expandable to its pairs, as ``ssmux sync`` groups them.

It listens on the sync controller's ``changed`` hub (at most one redraw per ``REFRESH_SECONDS``); the
groups are rebuilt only when their membership changes, so a group the user opened stays open while other
pairs go on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nicegui import ui

if TYPE_CHECKING:
    from ssmux.gui.sync_controller import SyncController

COLUMNS: list[dict[str, Any]] = [
    {"name": "account", "label": "Account", "field": "account", "sortable": True, "align": "left"},
    {"name": "pairs", "label": "Pairs done", "field": "pairs", "align": "right"},
    {"name": "instances", "label": "Instances", "field": "instances", "sortable": True, "align": "right"},
    {"name": "errors", "label": "Errors", "field": "errors", "sortable": True, "align": "right"},
]
#: Pairs listed under an opened group; the rest are counted (a group of 212 pairs stays readable).
SHOWN_PAIRS = 50


class SyncAccounts:
    """The card; it draws itself from ``sync`` now and on every change until its page goes."""

    def __init__(self, sync: SyncController) -> None:
        self.sync = sync
        self._groups_shown: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
        with ui.card().classes("w-full").mark("sync-accounts") as self.card:
            with ui.row().classes("w-full items-center gap-2"):
                ui.label("Sync by account").classes("text-lg font-medium")
                ui.space()
                self.summary = ui.label("").classes("text-sm text-grey-7").mark("sync-accounts-summary")
            self.table = (
                ui.table(columns=COLUMNS, rows=[], row_key="account", pagination=25)
                .props("dense flat")
                .classes("w-full")
                .mark("sync-accounts-table")
            )
            self.groups = ui.column().classes("w-full gap-1").mark("sync-accounts-errors")
        ui.context.client.on_delete(sync.changed.subscribe(self.update))
        self.update()

    def update(self) -> None:
        """Redraw the rows, and the groups when their membership changed."""
        if self.card.is_deleted:
            return
        self.card.set_visibility(bool(self.sync.progress))
        self.summary.set_text(self.sync.summary())
        self.table.rows = [
            {
                "account": row.account,
                "pairs": f"{row.done} of {row.pairs}",
                "instances": row.instances,
                "errors": row.errors,
            }
            for row in self.sync.account_rows()
        ]
        groups = self.sync.failure_groups()
        shown = tuple((group.code, group.pairs) for group in groups)
        if shown == self._groups_shown:
            return
        self._groups_shown = shown
        self.groups.clear()
        with self.groups:
            for group in groups:
                line = group.line(titles=self.sync.titles)
                with (
                    ui.expansion(line, icon="error_outline")
                    .classes("w-full text-negative")
                    .props("dense")
                    .mark(f"sync-error-group {group.code}")
                ):
                    for pair in group.pairs[:SHOWN_PAIRS]:
                        message = self.sync.progress[pair].message if pair in self.sync.progress else ""
                        ui.label(f"{self.sync.title(pair)}: {message}").classes("text-sm text-grey-8").mark(
                            "sync-error-pair"
                        )
                    if len(group.pairs) > SHOWN_PAIRS:
                        ui.label(f"and {len(group.pairs) - SHOWN_PAIRS} more").classes("text-sm")
