"""The frame every page shares: header with navigation and the sync controls, and the app's CSS."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import ui

from ssmux.errors import NoPairEnabled, SsmuxError, SyncDisabled
from ssmux.gui.services import Services
from ssmux.gui.sync_controller import PairState
from ssmux.gui.theme import CSS

PAGES = (
    ("/", "Sessions", "terminal"),
    ("/forwards", "Forwards", "swap_horiz"),
    ("/accounts", "Accounts", "account_tree"),
    ("/settings", "Settings", "settings"),
)


@contextmanager
def frame(services: Services, current: str) -> Iterator[None]:
    """The header (title, page links, sync controls) around a page's content."""
    ui.add_css(CSS)
    ui.page_title(f"ssmux · {next(name for path, name, _ in PAGES if path == current)}")
    with ui.header().classes("items-center py-1 px-3 gap-2 bg-slate-800"):
        ui.label("ssmux").classes("text-lg font-bold mr-4")
        for path, name, icon in PAGES:
            link = ui.link(target=path).classes(
                "no-underline text-white flex items-center gap-1 px-2 rounded"
            )
            if path == current:
                link.classes("bg-slate-600")
            with link:
                ui.icon(icon)
                ui.label(name)
            link.mark(f"nav-{name.lower()}")
        ui.space()
        SyncControls(services)
    yield


# A pair's state in the sync details menu: (icon, color).
_STATE_ICONS = {
    PairState.QUEUED: ("schedule", "grey"),
    PairState.RUNNING: ("sync", "primary"),
    PairState.OK: ("check_circle", "positive"),
    PairState.ERROR: ("error", "negative"),
    PairState.CANCELLED: ("cancel", "grey"),
}


class SyncControls:
    """ "Sync all", a live summary, cancel, and a per-pair details menu."""

    def __init__(self, services: Services) -> None:
        self.services = services
        with ui.row().classes("items-center gap-2 no-wrap"):
            self.spinner = ui.spinner(color="white", size="sm")
            self.summary = ui.label("").classes("text-sm").mark("sync-summary")
            with ui.button(icon="list").props("flat dense round color=white").mark("sync-details-button"):
                ui.tooltip("Sync details")
                with (
                    ui.menu().props("no-focus"),
                    ui.column().classes("p-2 gap-1 min-w-[22rem]").mark("sync-details") as self.details,
                ):
                    pass
            self.cancel = (
                ui.button("Cancel", on_click=services.sync.cancel)
                .props("flat dense color=white")
                .mark("sync-cancel")
            )
            self.button = (
                ui.button("Sync all", icon="sync", on_click=self.sync_all)
                .props("dense color=white text-color=dark")
                .mark("sync-all")
            )
        ui.context.client.on_delete(services.sync.changed.subscribe(self.update))
        self.update()

    async def sync_all(self) -> None:
        # The engine's messages name CLI commands; in the app the fix is on the Settings page.
        try:
            await self.services.sync.sync_all()
        except SyncDisabled:
            message = "Sync is disabled: turn it on in Settings (and enable the pairs to sync)."
        except NoPairEnabled:
            message = "No sync pair is enabled: add or enable one in Settings."
        except SsmuxError as error:
            message = str(error)
        else:
            return
        ui.notify(message, type="warning", multi_line=True)

    def update(self) -> None:
        sync = self.services.sync
        self.spinner.set_visibility(sync.running)
        self.cancel.set_visibility(sync.running)
        self.button.set_enabled(not sync.running)
        self.summary.set_text(sync.summary() or sync.last_error)
        self.details.clear()
        with self.details:
            if not sync.progress:
                ui.label("No sync yet in this session.").classes("text-grey-7")
            for item in sync.progress.values():
                with ui.row().classes("w-full items-start gap-2 no-wrap").mark(f"sync-pair {item.label}"):
                    icon, color = _STATE_ICONS[item.state]
                    ui.icon(icon, color=color)
                    with ui.column().classes("gap-0"):
                        ui.label(item.label).classes("font-medium")
                        detail = f"{item.instances} instances, {item.pages} pages"
                        if item.state in (PairState.OK, PairState.ERROR) and item.seconds:
                            detail += f", {item.seconds:.1f} s"
                        ui.label(item.message or detail).classes(
                            "text-xs " + ("text-negative" if item.state is PairState.ERROR else "text-grey-7")
                        ).mark(f"sync-pair-detail {item.label}")
