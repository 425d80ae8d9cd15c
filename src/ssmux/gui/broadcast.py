"""Broadcast input: while it is on, what is typed into one of the chosen tabs goes to every chosen tab.

One :class:`Broadcast` belongs to a page's tab strip (a browser window): turning it on there does not type
into another window's tabs. The tab strip's button turns it on (after choosing the tabs: every open tab at
first) and off; while on, each chosen tab shows a coloured banner above its terminal naming how many tabs
the keys go to, with a button that stops it, so nobody types into ten shells unawares. Keystrokes and
pastes are broadcast; terminal sizes are not (each tab keeps its own). A tab that closes leaves the set;
when fewer than two are left, broadcasting stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nicegui import ui

from ssmux.gui.session_manager import ManagedSession, SessionManager, Status
from ssmux.gui.session_problem import pair_text

#: The banner's colour: the warning colour of the app's theme, unmistakable over a dark terminal.
BANNER_CLASSES = "w-full items-center gap-2 px-2 py-1 no-wrap bg-orange-7 text-white"


@dataclass
class Broadcast:
    """The broadcast state of one page's tabs.

    Args:
        manager: the app's sessions (a chosen tab is a session id).
    """

    manager: SessionManager
    on: bool = False
    members: list[str] = field(default_factory=list)
    _banners: dict[str, ui.element] = field(default_factory=dict)
    _button: ui.button | None = None

    # Routing (the terminal's hook) ---------------------------------------------------------------------
    def route(self, session: ManagedSession, text: str) -> None:
        """Input typed into ``session``'s terminal: to every chosen tab while on and it is one of them."""
        if not (self.on and session.id in self.members):
            session.input(text)
            return
        session.input(text)
        for session_id in self.members:
            other = self.manager.get(session_id)
            if other is not None and other is not session and not other.closed:
                other.input(text)

    # Turning it on and off -----------------------------------------------------------------------------
    def start(self, session_ids: list[str]) -> None:
        """Broadcast between these tabs (at least two open ones), from now on."""
        self.members = [sid for sid in session_ids if self.manager.get(sid) is not None]
        self.on = len(self.members) >= 2
        self._refresh()

    def stop(self) -> None:
        """Stop broadcasting: each tab takes only its own keys again."""
        self.on = False
        self.members = []
        self._refresh()

    def forget(self, session_id: str) -> None:
        """A tab closed: it leaves the set (and its banner goes with it)."""
        self._banners.pop(session_id, None)
        if session_id in self.members:
            self.members.remove(session_id)
            if len(self.members) < 2:
                self.stop()
            else:
                self._refresh()

    # Elements ------------------------------------------------------------------------------------------
    def button(self) -> ui.button:
        """The tab strip's button: off, it asks which tabs and starts; on, it stops."""
        self._button = (
            ui.button(icon="settings_input_antenna", on_click=self._clicked)
            .props("flat dense round")
            .mark("broadcast-button")
            .tooltip("Broadcast input: type into several tabs at once")
        )
        return self._button

    def banner(self, session: ManagedSession) -> ui.element:
        """The banner above ``session``'s terminal (shown only while it receives broadcast keys)."""
        element = ui.element("div").classes("w-full").mark(f"broadcast-banner-slot-{session.id}")
        self._banners[session.id] = element
        self._fill(session.id)
        return element

    async def _clicked(self) -> None:
        if self.on:
            self.stop()
            return
        chosen = await self.choose()
        if chosen is not None:
            self.start(chosen)
            if not self.on:
                ui.notify("Broadcast needs at least two tabs", type="warning")

    async def choose(self) -> list[str] | None:
        """Ask which tabs: every open tab is checked at first; ``None`` when cancelled."""
        sessions = [s for s in self.manager.sessions.values() if not s.closed]
        picked = {s.id for s in sessions if s.status is not Status.ERROR}
        with ui.dialog() as dialog, ui.card().classes("w-96").mark("broadcast-dialog"):
            ui.label("Broadcast input").classes("text-h6")
            ui.label("Keys typed into one of these tabs go to all of them:").classes("text-sm")
            for session in sessions:
                ui.checkbox(
                    f"{session.title} ({pair_text(session.target)})",
                    value=session.id in picked,
                    on_change=lambda e, sid=session.id: (picked.add if e.value else picked.discard)(sid),
                ).props("dense").mark(f"broadcast-choice broadcast-choice-{session.id}")
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=lambda: dialog.submit(None)).props("flat").mark(
                    "broadcast-cancel"
                )
                ui.button(
                    "Start broadcasting",
                    on_click=lambda: dialog.submit([s.id for s in sessions if s.id in picked]),
                ).props("color=warning").mark("broadcast-start")
        dialog.open()
        result: list[str] | None = await dialog
        dialog.delete()
        return result

    def _refresh(self) -> None:
        for session_id in list(self._banners):
            self._fill(session_id)
        if self._button is not None and not self._button.is_deleted:
            self._button.props(f"color={'warning' if self.on else 'grey-8'}")
            self._button.props(remove="flat" if self.on else "unelevated")
            self._button.props("unelevated" if self.on else "flat")

    def _fill(self, session_id: str) -> None:
        slot = self._banners.get(session_id)
        if slot is None or slot.is_deleted:
            self._banners.pop(session_id, None)
            return
        slot.clear()
        if not (self.on and session_id in self.members):
            return
        with slot, ui.row().classes(BANNER_CLASSES).mark(f"broadcast-banner broadcast-banner-{session_id}"):
            ui.icon("settings_input_antenna")
            others = [self.manager.get(sid) for sid in self.members if sid != session_id]
            names = ", ".join(other.title for other in others if other is not None)
            tabs = "tab" if len(others) == 1 else "tabs"
            text = f"Broadcast on: keys typed here also go to {len(others)} other {tabs} ({names})"
            ui.label(text).classes("text-sm").mark(f"broadcast-text-{session_id}")
            ui.space()
            ui.button("Stop", on_click=self.stop).props("dense flat color=white").mark(
                f"broadcast-stop-{session_id}"
            )
