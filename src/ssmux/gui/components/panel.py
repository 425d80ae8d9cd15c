"""The profile panel: saved profiles by group, synced instances by ``profile/region``, search, tags, keys.

A pair's ECS containers are listed under it, one group per cluster and service, with their own row
(:mod:`ssmux.gui.components.panel_container_row`); folding the pair folds them too. A container ECS Exec
cannot reach is greyed, says why on hover, and is not connected to.

Rows are :class:`~ssmux.gui.components.target_row.TargetRow` elements (one element each, drawn in the
browser). Only what a user can see is rendered: each expanded group shows its first :data:`PAGE_ROWS`
matching rows and a "show more" button, so 20,000 targets cost a few hundred elements; a keystroke in the
search box re-filters precomputed text in Python (see :mod:`ssmux.gui.panel_model`) and gives the rows
already shown their new targets (see :mod:`ssmux.gui.components.panel_group`).

Keys (on the list, and arrows/Enter from the search box): Up/Down/Home/End move the selection, Enter
connects, F2 edits, Delete deletes (after a confirmation). Right-click opens the context menu of a row.
Synced rows are read-only: they can be connected and saved as a profile, not edited or deleted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from nicegui import background_tasks, events, run, ui

from ssmux.errors import SsmuxError
from ssmux.gui.components.dialogs import confirm
from ssmux.gui.components.panel_group import PAGE_ROWS, GroupView, marker
from ssmux.gui.components.profile_dialogs import (
    Choices,
    duplicate_of,
    group_dialog,
    load_choices,
    profile_dialog,
)
from ssmux.gui.components.target_row import TargetRow
from ssmux.gui.multi_run import run_command_dialog
from ssmux.gui.panel_model import GroupState, PanelGroup, PanelTarget, TagMode, build_groups, refines
from ssmux.gui.rdp import offered as rdp_offered
from ssmux.gui.rdp import open_rdp
from ssmux.gui.services import Services
from ssmux.gui.sync_controller import PairState
from ssmux.sync.targets import Source

log = logging.getLogger(__name__)

# Only these keys go to the server (and lose their default action); typing stays in the browser.
_KEYS_JS = "(e) => {{ if ({keys}.includes(e.key)) {{ e.preventDefault(); emit(e.key); }} }}"
_LIST_KEYS_JS = _KEYS_JS.format(
    keys=json.dumps(["ArrowUp", "ArrowDown", "Home", "End", "Enter", "F2", "Delete"])
)
_SEARCH_KEYS_JS = _KEYS_JS.format(keys=json.dumps(["ArrowUp", "ArrowDown", "Enter"]))

ConnectHandler = Callable[[PanelTarget], Awaitable[None] | None]


class ProfilePanel:
    """The panel on the left of the main page.

    Args:
        services: The app's shared state.
        on_connect: Opens a session tab for a target.
        on_external: Opens a target in an external terminal window.
    """

    def __init__(
        self, services: Services, *, on_connect: ConnectHandler, on_external: ConnectHandler
    ) -> None:
        self.services = services
        self.on_connect = on_connect
        self.on_external = on_external
        self.query = ""
        self.tags: list[str] = []
        self.mode: TagMode = "any"
        self.collapsed: set[str] = set()
        self.limits: dict[str, int] = {}
        self.rows: list[TargetRow] = []
        self.selected_key: str | None = None
        self.groups: list[PanelGroup] = []
        self.views: dict[str, GroupView] = {}
        self._layout: tuple[Any, ...] | None = None
        self._last_filter: tuple[Any, str, tuple[str, ...], str, list[PanelTarget]] | None = None
        self._build()
        client = ui.context.client
        for hub, callback in (
            (services.panel.changed, self.render),
            (services.sync.changed, self._sync_changed),
        ):
            client.on_delete(hub.subscribe(callback))
        self.render()

    # Layout --------------------------------------------------------------------------------------------
    def _build(self) -> None:
        with ui.column().classes("w-full h-full gap-1 no-wrap") as self.root:
            with ui.row().classes("w-full items-center gap-1 no-wrap"):
                self.search = (
                    ui.input(placeholder="Search name, id, tag, IP…", on_change=self._search_changed)
                    .props("dense clearable debounce=0")
                    .classes("flex-grow")
                    .mark("panel-search")
                )
                self.search.on("keydown", self._search_key, js_handler=_SEARCH_KEYS_JS)
                with (
                    ui.button(icon="sell")
                    .props("flat dense round")
                    .mark("tag-filter-button") as self.tag_button
                ):
                    ui.tooltip("Filter by tags")
                    with ui.menu().props("no-focus") as self.tag_menu, ui.column().classes("p-2 w-64"):
                        self.tag_select = (
                            ui.select([], multiple=True, label="Tags", on_change=self._tags_changed)
                            .props("use-chips dense")
                            .classes("w-full")
                            .mark("tag-filter")
                        )
                        self.mode_toggle = ui.toggle(
                            {"any": "Any", "all": "All"}, value="any", on_change=self._mode_changed
                        ).mark("tag-mode")
                        ui.button("Clear", on_click=self._clear_tags).props("flat dense").mark("tag-clear")
                ui.button(icon="add", on_click=self.add_profile).props("flat dense round").mark(
                    "add-profile"
                ).tooltip("New profile")
                ui.button(icon="create_new_folder", on_click=self.add_group).props("flat dense round").mark(
                    "add-group"
                ).tooltip("New group")
                ui.button(icon="unfold_more", on_click=self.expand_all).props("flat dense round").mark(
                    "expand-all"
                ).tooltip("Expand all")
                ui.button(icon="unfold_less", on_click=self.collapse_all).props("flat dense round").mark(
                    "collapse-all"
                ).tooltip("Collapse all")
            self.banner = ui.label("").classes("text-negative text-sm").mark("panel-error")
            self.list = (
                ui.element("div")
                .classes("ssmux-panel-list w-full flex-grow overflow-auto")
                .props("tabindex=0")
                .mark("panel-list")
            )
            self.list.on("keydown", self._list_key, js_handler=_LIST_KEYS_JS)
            with self.list:
                self.menu = ui.context_menu().mark("target-menu")
                self.body = ui.element("div").classes("w-full")

    # Rendering -----------------------------------------------------------------------------------------
    def render(self) -> None:
        """Redraw the list from the current data, search and filter."""
        data = self.services.panel.data
        self.banner.set_text(self.services.panel.error)
        self.banner.set_visibility(bool(self.services.panel.error))
        all_tags = data.all_tags()
        if self.tag_select.options != all_tags:
            self.tag_select.set_options(all_tags, value=[tag for tag in self.tags if tag in all_tags])
        self.tag_button.props(f"color={'primary' if self.tags else 'grey-8'}")
        candidates = None
        last = self._last_filter
        same_data = last is not None and last[0] is data and last[2:4] == (tuple(self.tags), self.mode)
        if last is not None and same_data and refines(self.query, last[1]):
            candidates = last[4]  # typing on narrows the last matches: no need to scan every row
        self.groups = build_groups(data, self.query, self.tags, self.mode, candidates=candidates)
        matched = [target for group in self.groups for target in group.targets]
        self._last_filter = (data, self.query, tuple(self.tags), self.mode, matched)
        filtering = bool(self.query.strip() or self.tags)
        if not filtering:  # a folded pair hides its container groups
            self.groups = [group for group in self.groups if group.parent not in self.collapsed]
        expanded = {group.key: filtering or group.key not in self.collapsed for group in self.groups}
        empty = self._empty_text(data)
        layout = (tuple(expanded.items()), empty)
        if layout == self._layout and set(self.views) == set(expanded):
            for group in self.groups:  # the same groups: only their rows changed
                self.views[group.key].update(group)
        else:
            self._layout = layout
            self.body.clear()
            with self.body:
                if empty:
                    ui.label(empty).classes("p-4 text-grey-7").mark("panel-empty")
                self.views = {
                    group.key: GroupView(self, group, expanded=expanded[group.key]) for group in self.groups
                }
        self.rows = [row for view in self.views.values() for row in view.rows]
        self._restore_selection()

    def _empty_text(self, data: Any) -> str:
        if not data.targets and not data.groups:
            if not self.services.panel.loaded:
                return "Loading…"
            return "No profiles found: create one with +, or enable sync in Settings."
        return "" if self.groups else "Nothing found."

    def fill_status(self, group: PanelGroup, slot: ui.element) -> None:
        """Show a synced group's sync progress or its last sync's error in its heading."""
        slot.clear()
        if group.source is not Source.SYNCED or group.pair is None:
            return
        progress = self.services.sync.progress.get(group.pair)
        with slot:
            if (
                progress is not None
                and progress.state in (PairState.QUEUED, PairState.RUNNING)
                and self.services.sync.running
            ):
                ui.spinner(size="xs")
                ui.label(
                    f"{progress.instances} found, {progress.pages} pages" if progress.pages else "syncing…"
                ).classes("text-xs text-grey-7 font-normal").mark(f"group-progress {marker(group.key)}")
                return
            if progress is not None and progress.state is PairState.ERROR and not self.services.sync.running:
                # Fresher than the cache's record until the panel data is reloaded.
                state = GroupState.STALE if group.total else GroupState.ERROR
                message = progress.message
            elif group.status is not None:
                state, message = group.status.state, group.status.message
            else:
                return
            if state in (GroupState.STALE, GroupState.ERROR):
                stale = state is GroupState.STALE
                since = group.status.last_success if group.status is not None else ""
                text = "stale" if stale else "sync failed"
                badge = ui.badge(text, color="warning" if stale else "negative").mark(
                    f"group-badge {marker(group.key)}"
                )
                with badge:
                    tip = message + (f"\nlast good sync: {since}" if since and stale else "")
                    ui.tooltip(tip).classes("whitespace-pre-wrap text-sm")
                ui.label(message).classes("text-xs text-negative font-normal truncate max-w-[14rem]").mark(
                    f"group-error {marker(group.key)}"
                )
            elif state is GroupState.NEVER:
                ui.badge("not synced", color="grey-6").mark(f"group-badge {marker(group.key)}")
            self._ecs_status(group)

    def _ecs_status(self, group: PanelGroup) -> None:
        """A badge on a pair whose last ECS listing failed: its containers are older than they look."""
        status = group.status
        if status is None or not status.ecs_message:
            return
        since = f"\ncontainers from: {status.containers_since}" if status.containers_since else ""
        with ui.badge("containers stale", color="warning").mark(f"group-ecs-badge {marker(group.key)}"):
            ui.tooltip(f"ECS listing failed: {status.ecs_message}{since}").classes(
                "whitespace-pre-wrap text-sm"
            )

    def _sync_changed(self) -> None:
        for view in self.views.values():
            if view.group.source is Source.SYNCED:
                view.fill_status()

    # Expansion -----------------------------------------------------------------------------------------
    def toggle(self, key: str) -> None:
        if key in self.collapsed:
            self.collapsed.discard(key)
        else:
            self.collapsed.add(key)
        self.render()

    def expand_all(self) -> None:
        self.collapsed.clear()
        self.render()

    def collapse_all(self) -> None:
        self.collapsed = {group.key for group in self.services.panel.data.groups}
        self.render()

    def show_more(self, key: str) -> None:
        self.limits[key] = self.limits.get(key, PAGE_ROWS) + PAGE_ROWS
        self.render()

    # Search and tags -----------------------------------------------------------------------------------
    def _search_changed(self, event: events.ValueChangeEventArguments[str | None]) -> None:
        self.query = event.value or ""
        self.render()

    def _tags_changed(self, event: events.ValueChangeEventArguments[list[str] | None]) -> None:
        self.tags = list(event.value or [])
        self.render()

    def _mode_changed(self, event: events.ValueChangeEventArguments[str]) -> None:
        self.mode = "all" if event.value == "all" else "any"
        self.render()

    def _clear_tags(self) -> None:
        self.tag_select.set_value([])

    # Selection and keys --------------------------------------------------------------------------------
    @property
    def selected(self) -> PanelTarget | None:
        row = self._selected_row()
        return row.target if row is not None else None

    def _selected_row(self) -> TargetRow | None:
        return next((row for row in self.rows if row.target.key == self.selected_key), None)

    def select(self, row: TargetRow | None) -> None:
        for other in self.rows:
            other.set_selected(other is row)
        self.selected_key = row.target.key if row is not None else None
        if row is not None:
            # getElement() is the Vue component; scrolling needs its DOM element.
            ui.run_javascript(f"getHtmlElement({row.id})?.scrollIntoView({{block: 'nearest'}})")

    def _restore_selection(self) -> None:
        if self.selected_key is not None and self._selected_row() is None:
            self.selected_key = None

    def move(self, step: int) -> None:
        """Move the selection by ``step`` rows (clamped); from no selection, Down picks the first row."""
        if not self.rows:
            return
        current = self._selected_row()
        index = self.rows.index(current) if current is not None else (-1 if step > 0 else len(self.rows))
        self.select(self.rows[max(0, min(len(self.rows) - 1, index + step))])

    def _search_key(self, event: events.GenericEventArguments) -> None:
        key = event.args
        if key in ("ArrowDown", "ArrowUp"):
            self.move(1 if key == "ArrowDown" else -1)
            self.list.run_method("focus")
        elif key == "Enter":
            if self.selected_key is None and self.rows:
                self.select(self.rows[0])
            self._key("Enter")

    def _list_key(self, event: events.GenericEventArguments) -> None:
        self._key(str(event.args))

    def _key(self, key: str) -> None:
        """Moves happen at once; the actions that open dialogs or sessions run as tasks."""
        target = self.selected
        if key == "ArrowDown":
            self.move(1)
        elif key == "ArrowUp":
            self.move(-1)
        elif key == "Home":
            self.move(-len(self.rows))
        elif key == "End":
            self.move(len(self.rows))
        elif key == "Enter" and target is not None:
            self._spawn(self._connect(target))
        elif key == "F2" and target is not None and target.source is Source.SAVED:
            self._spawn(self.edit_profile(target))
        elif key == "Delete" and target is not None and target.source is Source.SAVED:
            self._spawn(self.delete_profile(target))

    def _spawn(self, action: Coroutine[Any, Any, None]) -> None:
        async def run() -> None:
            with self.list:  # a new task has no slot of its own: dialogs and notifications go to this page
                await action

        background_tasks.create(run(), name="ssmux-panel-action")

    # Context menu --------------------------------------------------------------------------------------
    def row_connect(self, row: TargetRow) -> Awaitable[None]:
        """Double-click on a row."""
        return self._connect(row.target)

    def row_menu(self, row: TargetRow) -> None:
        """Right-click on a row: select it and fill the context menu for it."""
        self.select(row)
        target = row.target
        self.menu.clear()
        with self.menu:
            ui.menu_item("Connect", on_click=lambda: self._connect(target)).mark("menu-connect")
            ui.menu_item("Connect in external terminal", on_click=lambda: self._external(target)).mark(
                "menu-external"
            )
            if rdp_offered(target):
                ui.menu_item("Open RDP", on_click=lambda: self._spawn(open_rdp(self.services, target))).mark(
                    "menu-rdp"
                )
            if target.container is None:
                ui.menu_item("Run command…", on_click=lambda: self._run_command(target)).mark("menu-run")
            ui.separator()
            if target.source is Source.SAVED:
                ui.menu_item("Edit…", on_click=lambda: self.edit_profile(target)).mark("menu-edit")
                ui.menu_item("Duplicate…", on_click=lambda: self.duplicate_profile(target)).mark(
                    "menu-duplicate"
                )
                ui.menu_item("Delete…", on_click=lambda: self.delete_profile(target)).mark("menu-delete")
            elif target.container is None:  # a profile names an instance; a container has none
                ui.menu_item("Save as profile…", on_click=lambda: self.save_synced(target)).mark("menu-save")
            copy = "Copy SSM target" if target.container is not None else "Copy instance id"
            ui.menu_item(copy, on_click=lambda: self.copy_id(target)).mark("menu-copy")

    # Actions -------------------------------------------------------------------------------------------
    async def _connect(self, target: PanelTarget) -> None:
        if target.container is not None and not target.container.exec_ready:
            # ECS refuses it for sure (no exec on the task, agent not running): say why, call nothing.
            ui.notify(
                target.problem or "this container is not ready for ECS Exec", type="warning", multi_line=True
            )
            return
        if target.problem and not await confirm(f"{target.problem}\n\nTry to connect anyway?", ok="Connect"):
            return
        result = self.on_connect(target)
        if result is not None:
            await result

    async def _run_command(self, target: PanelTarget) -> None:
        # The dialog starts with this row checked; more are picked there (by group, filter or one by one).
        await run_command_dialog(self.services.panel, self.services.aws, {target.key})

    async def _external(self, target: PanelTarget) -> None:
        result = self.on_external(target)
        if result is not None:
            await result

    def copy_id(self, target: PanelTarget) -> None:
        ui.clipboard.write(target.instance_id)
        ui.notify(f"Copied {target.instance_id}")

    async def _choices(self) -> tuple[Any, Choices] | None:
        from ssmux.core import store

        try:
            book = await run.io_bound(store.load_profiles, self.services.store_cache)
            if book is None:
                return None
            choices = await run.io_bound(load_choices, book)
        except SsmuxError as error:
            ui.notify(str(error), type="negative", multi_line=True)
            return None
        return book, choices or Choices()

    async def add_profile(self) -> None:
        loaded = await self._choices()
        if (
            loaded is not None
            and await profile_dialog(loaded[1], store_cache=self.services.store_cache) is not None
        ):
            await self.services.panel.reload()

    async def edit_profile(self, target: PanelTarget) -> None:
        loaded = await self._choices()
        if loaded is None or target.profile_name is None:
            return
        book, choices = loaded
        profile = book.get_profile(target.profile_name)
        if profile is None:
            ui.notify(f"profile {target.profile_name!r} no longer exists", type="warning")
            await self.services.panel.reload()
            return
        saved = await profile_dialog(choices, existing=profile, store_cache=self.services.store_cache)
        if saved is not None:
            self.selected_key = f"saved:{saved.name}"
            await self.services.panel.reload()

    async def duplicate_profile(self, target: PanelTarget) -> None:
        loaded = await self._choices()
        if loaded is None or target.profile_name is None:
            return
        book, choices = loaded
        profile = book.get_profile(target.profile_name)
        if (
            profile is not None
            and await profile_dialog(
                choices,
                initial=duplicate_of(profile, book),
                title="Duplicate profile",
                store_cache=self.services.store_cache,
            )
            is not None
        ):
            await self.services.panel.reload()

    async def delete_profile(self, target: PanelTarget) -> None:
        from ssmux.core import store

        name = target.profile_name
        if name is None or not await confirm(f"Delete profile {name!r}?"):
            return
        try:
            await run.io_bound(
                store.update_profiles, lambda book: book.without_profile(name), self.services.store_cache
            )
        except SsmuxError as error:
            ui.notify(str(error), type="negative", multi_line=True)
            return
        ui.notify(f"Deleted profile {name!r}")
        await self.services.panel.reload()

    async def save_synced(self, target: PanelTarget) -> None:
        from ssmux.core.models import Profile

        loaded = await self._choices()
        if loaded is None:
            return
        book, choices = loaded
        base = target.name.removesuffix(f" ({target.instance_id})")
        name = base if book.get_profile(base) is None else f"{base} ({target.instance_id})"
        initial = Profile(
            name=name, instance_id=target.instance_id, aws_profile=target.aws_profile, region=target.region
        )
        saved = await profile_dialog(
            choices, initial=initial, title="Save as profile", store_cache=self.services.store_cache
        )
        if saved is not None:
            self.selected_key = f"saved:{saved.name}"
            await self.services.panel.reload()

    async def add_group(self) -> None:
        loaded = await self._choices()
        if (
            loaded is not None
            and await group_dialog(loaded[1], store_cache=self.services.store_cache) is not None
        ):
            await self.services.panel.reload()

    async def edit_group(self, name: str) -> None:
        from ssmux.core.models import Group

        loaded = await self._choices()
        if loaded is None:
            return
        book, choices = loaded
        existing = book.get_group(name) or Group(name)
        if await group_dialog(choices, existing=existing, store_cache=self.services.store_cache) is not None:
            await self.services.panel.reload()

    async def sync_group(self, group: PanelGroup) -> None:
        if group.pair is None:
            return
        try:
            await self.services.sync.sync_pair(*group.pair)
        except SsmuxError as error:
            ui.notify(str(error), type="warning")
