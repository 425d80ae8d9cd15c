"""One heading of the profile panel with its rows, updated in place while the user types.

A keystroke in the search box usually changes only which rows a group shows. Rebuilding the group would
delete and create every row element (and make the browser unmount and mount them); instead
:meth:`GroupView.update` gives the existing rows their new targets, adds or removes the difference, and
updates the count and the "show more" button. Only a change of the groups themselves (a group appears,
disappears or is expanded or collapsed) rebuilds the list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from nicegui import ui

from ssmux.gui.components.panel_container_row import ContainerRow
from ssmux.gui.components.target_row import TargetRow
from ssmux.gui.panel_model import PanelGroup
from ssmux.sync.targets import Source

if TYPE_CHECKING:
    from ssmux.gui.services import Services

#: Rows rendered per group before "show more" (a panel shows about 20 at a time).
PAGE_ROWS = 50


class PanelActions(Protocol):
    """What a group view asks of its panel."""

    services: Services
    selected_key: str | None
    limits: dict[str, int]

    def toggle(self, key: str) -> None: ...
    def show_more(self, key: str) -> None: ...
    def select(self, row: TargetRow | None) -> None: ...
    def fill_status(self, group: PanelGroup, slot: ui.element) -> None: ...
    def row_connect(self, row: TargetRow) -> Any: ...
    def row_menu(self, row: TargetRow) -> None: ...
    def sync_group(self, group: PanelGroup) -> Any: ...
    def edit_group(self, name: str) -> Any: ...


def marker(key: str) -> str:
    """A marker-safe form of a panel key (markers are separated by spaces)."""
    return "".join(ch if ch.isalnum() or ch in "-_./:" else "_" for ch in key)


class GroupView:
    """The elements of one group: header, rows, "show more"."""

    def __init__(self, panel: PanelActions, group: PanelGroup, *, expanded: bool) -> None:
        self.panel = panel
        self.group = group
        self.expanded = expanded
        self.rows: list[TargetRow] = []
        key = marker(group.key)
        containers = group.parent is not None  # a cluster/service group under its pair
        with ui.element("div").classes("w-full").mark(f"group {key}") as self.root:
            with ui.element("div").classes("ssmux-group-header" + (" pl-5" if containers else "")):
                with ui.element("div").classes("flex items-center gap-1 flex-grow min-w-0") as toggle:
                    toggle.on("click", lambda: panel.toggle(self.group.key))
                    toggle.mark(f"group-toggle {key}")
                    ui.icon("expand_more" if expanded else "chevron_right").classes("text-grey-7")
                    icon = "hub" if containers else "folder" if group.source is Source.SAVED else "cloud_sync"
                    ui.icon(icon).classes("text-grey-7").mark(f"group-icon-{icon} {key}")
                    ui.label(group.title).classes("truncate").mark(f"group-title {key}")
                    self.count = ui.label("").classes("text-grey-6 font-normal").mark(f"group-count {key}")
                    self.status = ui.element("span").classes("flex items-center gap-1 min-w-0")
                # Outside the toggle: a click on it must not also fold the group.
                self.sign_in_slot = ui.element("span").classes("flex items-center")
                self._action_button(group, key)
            self.rows_box = ui.element("div").classes("w-full")
            self.more = (
                ui.button("", on_click=lambda: panel.show_more(self.group.key))
                .props("flat dense no-caps")
                .classes("ml-6")
                .mark(f"show-more {key}")
            )
        self.update(group)

    def _action_button(self, group: PanelGroup, key: str) -> None:
        if group.source is Source.SYNCED and group.pair is not None:
            ui.button(icon="sync", on_click=lambda: self.panel.sync_group(self.group)).props(
                "flat dense round size=sm"
            ).mark(f"sync-group {key}").tooltip(f"Sync {group.title}")
        elif group.name is not None:
            ui.button(icon="edit", on_click=lambda: self.panel.edit_group(self.group.name or "")).props(
                "flat dense round size=sm"
            ).mark(f"edit-group {key}").tooltip("Edit group")

    def update(self, group: PanelGroup) -> None:
        """Show ``group``'s current rows, count and status, reusing the row elements already there."""
        self.group = group
        shown = len(group.targets)
        self.count.set_text(f"({shown} of {group.total})" if shown != group.total else f"({group.total})")
        self.fill_status()
        limit = self.panel.limits.get(group.key, PAGE_ROWS) if self.expanded else 0
        wanted = group.targets[:limit]
        for row, target in zip(self.rows, wanted, strict=False):
            row.set_target(target, selected=target.key == self.panel.selected_key)
        for target in wanted[len(self.rows) :]:
            with self.rows_box:
                self.rows.append(self._new_row(target))
        for row in self.rows[len(wanted) :]:
            self.rows_box.remove(row)
        del self.rows[len(wanted) :]
        hidden = len(group.targets) - limit
        self.more.set_text(f"Show {min(hidden, PAGE_ROWS)} more of {hidden}" if hidden > 0 else "")
        self.more.set_visibility(self.expanded and hidden > 0)

    def fill_status(self) -> None:
        self.panel.fill_status(self.group, self.status)
        self._offer_sign_in()

    def _offer_sign_in(self) -> None:
        """A "Sign in" button on a synced group whose last sync failed for want of a valid SSO sign-in."""
        from ssmux.gui.sync_controller import SIGN_IN_CODES

        group, sync = self.group, self.panel.services.sync
        self.sign_in_slot.clear()
        if group.pair is None or sync.running:
            return
        if sync.error_code(group.pair, group.status.code if group.status else "") not in SIGN_IN_CODES:
            return
        with self.sign_in_slot:
            ui.button("Sign in", icon="login", on_click=self._sign_in).props(
                "dense no-caps size=sm color=primary"
            ).mark(f"group-sign-in {marker(group.key)}")

    async def _sign_in(self) -> None:
        from ssmux.gui.components.sign_in import sign_in

        if self.group.pair is not None:
            await sign_in(self.panel.services, aws_profile=self.group.pair[0])

    def _new_row(self, target: Any) -> TargetRow:
        # A container group holds containers only, so a row reused for another target keeps its kind.
        kind = ContainerRow if target.container is not None else TargetRow
        row = kind(target, selected=target.key == self.panel.selected_key).mark("target-row")
        if target.container is not None:
            row.mark("target-row container-row")
        # The handlers read row.target when called: a reused row acts on the target it shows now.
        row.on("select", _bind(self.panel.select, row))
        row.on("connect", _bind(self.panel.row_connect, row))
        row.on("menu", _bind(self.panel.row_menu, row))
        return row


def _bind(method: Callable[[TargetRow], Any], row: TargetRow) -> Callable[[], Any]:
    return lambda: method(row)
