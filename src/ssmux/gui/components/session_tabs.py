"""Sessions in tabs: one tab per session, a status dot, a menu (Reconnect, Duplicate, Close), a terminal.

A tab names its target and the AWS profile/region it runs in (two ``web-2`` of dev and prod differ by
that line and its colour). A session that ended shows a bar above its terminal; one that failed shows an
error card instead: what happened in the app's words and the button that fixes it (see
:mod:`ssmux.gui.session_problem`).

The tabs mirror :class:`~ssmux.gui.session_manager.SessionManager`: a page builds one tab per live session
when it loads (that is how tabs survive a reload) and follows the manager's ``added``/``removed``/``status``
events, so a session opened in one browser window shows up in another too. Closing a tab asks the manager
to end the session; every page then drops its tab.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nicegui import ui

from ssmux.errors import SsmuxError
from ssmux.gui.broadcast import Broadcast
from ssmux.gui.components.terminal import TerminalView
from ssmux.gui.session_manager import Change, ManagedSession, SessionManager, SessionTarget, Status
from ssmux.gui.session_problem import Fix, Problem, pair_text, problem_of
from ssmux.gui.transfer_panel import Transfers, download_dialog, drop_zone

if TYPE_CHECKING:
    from ssmux.gui.sync_controller import SyncController

#: Colours of the AWS profiles on the tabs (picked by the profile's name, so stable across runs).
PAIR_COLOURS = ("#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#ad1457", "#4e342e")


def pair_colour(aws_profile: str | None) -> str:
    """The colour of an AWS profile (an account, usually) on the tabs."""
    return PAIR_COLOURS[zlib.crc32((aws_profile or "").encode()) % len(PAIR_COLOURS)]


#: The icon of a container's tab (an instance's tab has none: most tabs are instances).
CONTAINER_ICON = "view_in_ar"


def tab_tooltip(target: SessionTarget) -> str:
    """What hovering a tab tells: the target, its id and where it runs."""
    kind = "container " if target.is_container else ""
    return f"{kind}{target.title} ({target.instance_id}) in {pair_text(target)}"


@dataclass
class _Tab:
    session: ManagedSession
    tab: ui.tab
    panel: ui.tab_panel
    dot: ui.element
    notice: ui.element
    view: TerminalView
    search: ui.input


class SessionTabs:
    """The tab strip and the terminals of the main page.

    Args:
        manager: The app's sessions.
        on_new: Opens the connect dialog (the "+" button and the empty state).
        sync: The app's sync, for the Sync button of a tab whose target is offline or gone.
    """

    def __init__(
        self,
        manager: SessionManager,
        on_new: Callable[[], Awaitable[None] | None],
        sync: SyncController | None = None,
    ) -> None:
        self.manager = manager
        self.on_new = on_new
        self.sync = sync
        self.entries: dict[str, _Tab] = {}
        self.broadcast = Broadcast(manager)
        with ui.column().classes("w-full h-full gap-0 no-wrap"):
            with ui.row().classes("w-full items-center no-wrap gap-0"):
                self.tabs = (
                    ui.tabs(on_change=self._selected)
                    .props("dense align=left outside-arrows mobile-arrows inline-label no-caps")
                    .classes("min-w-0")
                    .mark("session-tabs")
                )
                ui.button(icon="add", on_click=on_new).props("flat dense round").mark("new-tab").tooltip(
                    "New connection (Ctrl+T; Alt+T in a browser that keeps Ctrl+T)"
                )
                self.broadcast.button()
                if sync is not None:
                    from ssmux.gui.multi_run import run_command_button

                    run_command_button(sync.panel, sync.clients)
            with (
                ui.column()
                .classes("w-full flex-grow items-center justify-center")
                .mark("no-sessions") as self.empty
            ):
                ui.icon("terminal", size="3rem").classes("text-grey-5")
                ui.label("No sessions. Double-click a target in the panel, or:").classes("text-grey-7")
                ui.button("New connection…", on_click=on_new).props("outline").mark("empty-new-connection")
            self.panels = ui.tab_panels(self.tabs, animated=False, keep_alive=True).classes(
                "w-full flex-grow ssmux-tab-panels"
            )
        for session in manager.sessions.values():
            self._add(session)
        if self.entries:
            self.tabs.set_value(next(reversed(self.entries)))
        self._update_empty()
        ui.context.client.on_delete(manager.changed.subscribe(self._changed))

    # Following the manager -----------------------------------------------------------------------------
    def _changed(self, change: Change, session: ManagedSession) -> None:
        if change is Change.ADDED and session.id not in self.entries:
            self._add(session)
            self.tabs.set_value(session.id)
        elif change is Change.REMOVED:
            self._remove(session.id)
        elif change is Change.STATUS and session.id in self.entries:
            self._show_status(self.entries[session.id])
        self._update_empty()

    def _add(self, session: ManagedSession) -> None:
        with self.tabs:
            tab = ui.tab(session.id, label="").props("no-caps").mark(f"session-tab tab-{session.id}")
        with self.panels:
            panel = ui.tab_panel(session.id).classes("h-full p-0").mark(f"session-panel-{session.id}")
        with panel, ui.column().classes("w-full h-full gap-0 no-wrap"):
            notice = ui.element("div").classes("w-full").mark(f"session-notice-{session.id}")
            self.broadcast.banner(session)
            find_row, search = self._find_row(session)
            view = TerminalView(session, on_input=self.broadcast.route)
            view.element.classes("flex-grow")
            if not session.target.is_container:  # `cp` reaches instances (a container has no second session)
                drop_zone(self._transfers(session), panel)
        entry = _Tab(session, tab, panel, self._tab_label(session, tab, find_row), notice, view, search)
        self._wire_find(entry, find_row)
        self.entries[session.id] = entry
        self._show_status(entry)

    def _transfers(self, session: ManagedSession) -> Transfers:
        """Copies to and from the tab's target, with the app's AWS clients."""
        return Transfers(session.target, self.sync.clients if self.sync is not None else None)

    def _tab_label(self, session: ManagedSession, tab: ui.tab, find_row: ui.row) -> ui.element:
        """Status dot, title, pair, the tab's menu and its close button; returns the dot."""
        target = session.target
        with tab:
            ui.tooltip(tab_tooltip(target)).mark(f"tab-tooltip-{session.id}")
        with tab, ui.row().classes("items-center gap-1 no-wrap"):
            dot = ui.element("span").classes(f"ssmux-dot ssmux-dot-{session.status.value}")
            dot.mark(f"status-dot dot-{session.id}")
            if target.is_container:
                ui.icon(CONTAINER_ICON, size="xs").classes("text-grey-7").mark(f"tab-container-{session.id}")
            ui.label(session.title).classes("normal-case").mark(f"tab-title-{session.id}")
            ui.label(pair_text(target)).classes("ssmux-tab-pair").style(
                f"color: {pair_colour(target.aws_profile)}; border-color: {pair_colour(target.aws_profile)}"
            ).mark(f"tab-pair-{session.id}")
            menu_button = ui.button(icon="more_vert").props("flat dense round size=xs")
            with menu_button.mark(f"tab-menu-{session.id}"), ui.menu():
                items: list[tuple[str, Callable[[], object], str]] = [
                    ("Reconnect", session.reconnect, "tab-reconnect"),
                    ("Duplicate", lambda: self.manager.duplicate(session.id), "tab-duplicate"),
                    ("Find in scrollback…", lambda: find_row.set_visibility(True), "tab-find"),
                ]
                if not target.is_container:
                    items.append(
                        ("Download…", lambda: download_dialog(self._transfers(session)), "tab-download")
                    )
                items.append(("Close", lambda: self.manager.close(session.id), "tab-close"))
                for text, action, marker in items:
                    ui.menu_item(text, on_click=action).mark(f"{marker}-{session.id}")
            ui.button(icon="close", on_click=lambda: self.manager.close(session.id)).props(
                "flat dense round size=xs"
            ).mark(f"tab-x-{session.id}").tooltip("Close: ends the session")
        return dot

    def _fill_notice(self, entry: _Tab) -> None:
        """Above the terminal: nothing while it runs; a bar once it ended; an error card if it failed."""
        session = entry.session
        entry.notice.clear()
        with entry.notice:
            if session.status is Status.ENDED:
                self._ended_bar(session)
            elif session.status is Status.ERROR:
                problem = problem_of(session.end, session.target) or Problem(
                    f"The session to {session.title} failed", session.reason, Fix.RECONNECT
                )
                self._error_card(session, problem)

    @staticmethod
    def _ended_bar(session: ManagedSession) -> None:
        with (
            ui.row()
            .classes("w-full items-center gap-2 px-2 py-1 bg-grey-2")
            .mark(f"session-bar-{session.id}")
        ):
            # "session ended (exit code 0): bye", "session terminated": the reason is the sentence.
            reason = session.reason or "session ended"
            ui.label(reason[:1].upper() + reason[1:]).classes("text-sm").mark(f"session-reason-{session.id}")
            ui.space()
            ui.button("Reconnect", on_click=session.reconnect).props("dense").mark(
                f"session-reconnect-{session.id}"
            )

    def _error_card(self, session: ManagedSession, problem: Problem) -> None:
        """One readable card: what happened, why, and the button for the fix (Reconnect always too)."""
        with ui.element("div").classes("ssmux-error-card").mark(f"session-error-{session.id}"):
            ui.icon("error_outline", size="1.5rem").classes("ssmux-error-icon")
            with ui.element("div").classes("ssmux-error-text"):
                ui.label(problem.title).classes("ssmux-error-title").mark(f"session-error-title-{session.id}")
                ui.label(problem.detail).classes("ssmux-error-detail").mark(
                    f"session-error-detail-{session.id}"
                )
                if problem.code:
                    ui.label(problem.code).classes("ssmux-error-code").mark(
                        f"session-error-code-{session.id}"
                    )
            with ui.element("div").classes("ssmux-error-actions"):
                ui.button(problem.fix.label, on_click=lambda: self._fix(session, problem.fix)).props(
                    "unelevated color=negative no-caps"
                ).mark(f"session-fix-{session.id}")
                if problem.fix is not Fix.RECONNECT:
                    ui.button("Reconnect", on_click=session.reconnect).props(
                        "flat color=negative no-caps"
                    ).mark(f"session-reconnect-{session.id}")

    async def _fix(self, session: ManagedSession, fix: Fix) -> None:
        if fix is Fix.RECONNECT:
            await session.reconnect()
        elif fix is Fix.SETTINGS:
            ui.navigate.to("/settings")
        else:
            await self._sync_target(session.target)

    async def _sync_target(self, target: SessionTarget) -> None:
        """Sync the target's pair (every enabled pair when the tab uses the default profile or region)."""
        if self.sync is None:
            return
        try:
            if target.aws_profile and target.region:
                result = await self.sync.sync_pair(target.aws_profile, target.region)
            else:
                result = await self.sync.sync_all()
        except SsmuxError as error:
            ui.notify(str(error), type="warning", multi_line=True)
            return
        if result is not None:
            ui.notify(f"Synced {pair_text(target)}: the panel shows {target.title}'s current state")

    @staticmethod
    def _find_row(session: ManagedSession) -> tuple[ui.row, ui.input]:
        """Search in the scrollback (Ctrl+Shift+F in the terminal, or the tab's menu)."""
        with ui.row().classes("w-full items-center gap-1 px-2 no-wrap") as row:
            search = ui.input(placeholder="Find in scrollback (Enter: next)").props("dense clearable")
            search.classes("flex-grow").mark(f"session-find-{session.id}")
        row.set_visibility(False)
        return row, search

    @staticmethod
    def _wire_find(entry: _Tab, row: ui.row) -> None:
        async def find() -> None:
            if entry.search.value and not await entry.view.search(entry.search.value):
                ui.notify(f"{entry.search.value!r} not found", type="info")

        def close() -> None:
            row.set_visibility(False)
            entry.view.focus()

        def show() -> None:
            row.set_visibility(True)
            entry.search.run_method("focus")

        entry.search.on("keydown.enter", find)
        entry.search.on("keydown.escape", close)
        entry.view.element.on("find", show)

    def _remove(self, session_id: str) -> None:
        entry = self.entries.pop(session_id, None)
        if entry is None:
            return
        was_selected = self.tabs.value == session_id
        self.broadcast.forget(session_id)
        entry.view.detach()
        self.tabs.remove(entry.tab)
        self.panels.remove(entry.panel)
        if was_selected:
            self.tabs.set_value(next(reversed(self.entries)) if self.entries else None)

    def _show_status(self, entry: _Tab) -> None:
        status = entry.session.status
        entry.dot.classes(replace=f"ssmux-dot ssmux-dot-{status.value}")
        entry.dot.props(f'title="{status.value}"')
        self._fill_notice(entry)

    def _update_empty(self) -> None:
        self.empty.set_visibility(not self.entries)
        self.panels.set_visibility(bool(self.entries))

    def _selected(self) -> None:
        entry = self.entries.get(str(self.tabs.value))
        if entry is not None:
            entry.view.focus()
