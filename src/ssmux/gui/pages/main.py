"""The main page: the profile panel on the left, sessions in tabs on the right."""

from __future__ import annotations

from nicegui import run, ui

from ssmux.errors import SsmuxError
from ssmux.gui.components.connect_dialog import connect_dialog
from ssmux.gui.components.panel import ProfilePanel
from ssmux.gui.components.session_tabs import SessionTabs
from ssmux.gui.layout import frame
from ssmux.gui.panel_model import PanelTarget
from ssmux.gui.services import Services
from ssmux.gui.session_manager import SessionTarget

# Ctrl+T (and Alt+T, which browsers leave to pages) opens the connect dialog, even from inside a terminal:
# the listener runs in the capture phase, before xterm.js sees the key.
_NEW_TAB_KEYS = """
<script>
document.addEventListener('keydown', (e) => {
  const key = e.key.toLowerCase();
  if (key === 't' && !e.shiftKey && ((e.ctrlKey && !e.altKey) || (e.altKey && !e.ctrlKey))) {
    e.preventDefault(); e.stopPropagation(); emitEvent('ssmux_new_tab');
  }
}, true);
</script>
"""


def session_target(target: PanelTarget) -> SessionTarget:
    """What a panel row connects to: titled by the profile name, or a synced instance's Name tag (or id)."""
    title = target.profile_name or target.name.removesuffix(f" ({target.instance_id})") or target.instance_id
    return SessionTarget(
        title=title,
        instance_id=target.instance_id,
        aws_profile=target.aws_profile,
        region=target.region,
        profile_name=target.profile_name,
    )


def create(services: Services) -> None:
    """Register the main page."""

    @ui.page("/")
    def main_page() -> None:
        async def new_connection() -> None:
            target = await connect_dialog()
            if target is not None:
                services.sessions.open(target)

        def connect(target: PanelTarget) -> None:
            services.sessions.open(session_target(target))

        async def external(target: PanelTarget) -> None:
            from ssmux.gui.external import open_external

            try:
                await run.io_bound(open_external, target.instance_id, target.aws_profile, target.region)
            except SsmuxError as error:
                ui.notify(str(error), type="warning", multi_line=True)
                return
            ui.notify(f"Opened {target.name} in a terminal window")

        ui.add_head_html(_NEW_TAB_KEYS)
        ui.on("ssmux_new_tab", new_connection)
        ui.query(".nicegui-content").classes("h-[calc(100vh-3rem)] p-0")
        with frame(services, "/"):
            with ui.left_drawer(value=True, bordered=True).props("width=400 behavior=desktop").classes("p-2"):
                ProfilePanel(services, on_connect=connect, on_external=external)
            SessionTabs(services.sessions, on_new=new_connection)
            if not services.panel.loaded:
                ui.timer(0.01, services.panel.reload, once=True)
