"""Sessions in tabs: one tab per session, a status dot, a menu (Reconnect, Duplicate, Close), a terminal.

The tabs mirror :class:`~ssmux.gui.session_manager.SessionManager`: a page builds one tab per live session
when it loads (that is how tabs survive a reload) and follows the manager's ``added``/``removed``/``status``
events, so a session opened in one browser window shows up in another too. Closing a tab asks the manager
to end the session; every page then drops its tab.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nicegui import ui

from ssmux.gui.components.terminal import TerminalView
from ssmux.gui.session_manager import Change, ManagedSession, SessionManager, Status


@dataclass
class _Tab:
    session: ManagedSession
    tab: ui.tab
    panel: ui.tab_panel
    dot: ui.element
    bar: ui.row
    reason: ui.label
    view: TerminalView
    search: ui.input


class SessionTabs:
    """The tab strip and the terminals of the main page.

    Args:
        manager: The app's sessions.
        on_new: Opens the connect dialog (the "+" button and the empty state).
    """

    def __init__(self, manager: SessionManager, on_new: Callable[[], Awaitable[None] | None]) -> None:
        self.manager = manager
        self.on_new = on_new
        self.entries: dict[str, _Tab] = {}
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
            bar, reason = self._status_bar(session)
            find_row, search = self._find_row(session)
            view = TerminalView(session)
            view.element.classes("flex-grow")
        entry = _Tab(session, tab, panel, self._tab_label(session, tab, find_row), bar, reason, view, search)
        self._wire_find(entry, find_row)
        self.entries[session.id] = entry
        self._show_status(entry)

    def _tab_label(self, session: ManagedSession, tab: ui.tab, find_row: ui.row) -> ui.element:
        """Status dot, title, the tab's menu and its close button; returns the dot."""
        with tab, ui.row().classes("items-center gap-1 no-wrap"):
            dot = ui.element("span").classes(f"ssmux-dot ssmux-dot-{session.status.value}")
            dot.mark(f"status-dot dot-{session.id}")
            ui.label(session.title).classes("normal-case").mark(f"tab-title-{session.id}")
            menu_button = ui.button(icon="more_vert").props("flat dense round size=xs")
            with menu_button.mark(f"tab-menu-{session.id}"), ui.menu():
                for text, action, marker in (
                    ("Reconnect", session.reconnect, "tab-reconnect"),
                    ("Duplicate", lambda: self.manager.duplicate(session.id), "tab-duplicate"),
                    ("Find in scrollback…", lambda: find_row.set_visibility(True), "tab-find"),
                    ("Close", lambda: self.manager.close(session.id), "tab-close"),
                ):
                    ui.menu_item(text, on_click=action).mark(f"{marker}-{session.id}")
            ui.button(icon="close", on_click=lambda: self.manager.close(session.id)).props(
                "flat dense round size=xs"
            ).mark(f"tab-x-{session.id}").tooltip("Close: ends the session")
        return dot

    @staticmethod
    def _status_bar(session: ManagedSession) -> tuple[ui.row, ui.label]:
        """Why the session ended, and Reconnect (shown only once it has ended)."""
        bar = (
            ui.row()
            .classes("w-full items-center gap-2 px-2 py-1 bg-grey-2")
            .mark(f"session-bar-{session.id}")
        )
        with bar:
            reason = ui.label("").classes("text-sm").mark(f"session-reason-{session.id}")
            ui.space()
            ui.button("Reconnect", on_click=session.reconnect).props("dense").mark(
                f"session-reconnect-{session.id}"
            )
        return bar, reason

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
        entry.view.detach()
        self.tabs.remove(entry.tab)
        self.panels.remove(entry.panel)
        if was_selected:
            self.tabs.set_value(next(reversed(self.entries)) if self.entries else None)

    def _show_status(self, entry: _Tab) -> None:
        status = entry.session.status
        entry.dot.classes(replace=f"ssmux-dot ssmux-dot-{status.value}")
        entry.dot.props(f'title="{status.value}"')
        ended = status in (Status.ENDED, Status.ERROR)
        entry.bar.set_visibility(ended)
        if ended:
            entry.reason.set_text(
                ("Session ended: " if status is Status.ENDED else "Error: ") + entry.session.reason
            )
            entry.reason.classes(replace="text-sm " + ("text-negative" if status is Status.ERROR else ""))

    def _update_empty(self) -> None:
        self.empty.set_visibility(not self.entries)
        self.panels.set_visibility(bool(self.entries))

    def _selected(self) -> None:
        entry = self.entries.get(str(self.tabs.value))
        if entry is not None:
            entry.view.focus()
