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

# The splitter between the panel and the tabs. The width lives in a CSS variable, restored from the
# browser's localStorage before the page draws (no jump) and saved when a drag (or an arrow key on the
# focused splitter) ends; dragging never talks to the server.
_SPLITTER = """
<script>
(() => {
  const KEY = "ssmux.panelWidth";
  const root = document.documentElement;
  const set = (px) => root.style.setProperty("--ssmux-panel-width", Math.round(px) + "px");
  const current = (handle) => handle.previousElementSibling.getBoundingClientRect().width;
  const saved = parseInt(localStorage.getItem(KEY) || "", 10);
  if (saved > 0) set(saved);
  const save = (handle) => localStorage.setItem(KEY, String(Math.round(current(handle))));
  document.addEventListener("pointerdown", (e) => {
    const handle = e.target.closest && e.target.closest(".ssmux-splitter");
    if (!handle || e.button !== 0) return;
    e.preventDefault();
    const start = current(handle) - e.clientX;  // the panel follows the pointer from where it grabbed
    handle.setPointerCapture(e.pointerId);
    handle.classList.add("ssmux-splitter-dragging");
    const move = (ev) => set(start + ev.clientX);
    const up = () => {
      handle.removeEventListener("pointermove", move);
      handle.removeEventListener("pointerup", up);
      handle.removeEventListener("pointercancel", up);
      handle.classList.remove("ssmux-splitter-dragging");
      save(handle);  // the CSS limits apply: what is saved is the width shown
    };
    handle.addEventListener("pointermove", move);
    handle.addEventListener("pointerup", up);
    handle.addEventListener("pointercancel", up);
  });
  document.addEventListener("keydown", (e) => {
    const handle = e.target.closest && e.target.closest(".ssmux-splitter");
    if (!handle || (e.key !== "ArrowLeft" && e.key !== "ArrowRight")) return;
    e.preventDefault();
    set(current(handle) + (e.key === "ArrowLeft" ? -16 : 16));
    requestAnimationFrame(() => save(handle));
  });
})();
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

        ui.add_head_html(_NEW_TAB_KEYS + _SPLITTER)
        ui.on("ssmux_new_tab", new_connection)
        ui.query(".nicegui-content").classes("h-[calc(100vh-3rem)] p-0")
        with frame(services, "/"), ui.element("div").classes("ssmux-split"):
            with ui.element("div").classes("ssmux-split-panel p-2").mark("panel-pane"):
                ProfilePanel(services, on_connect=connect, on_external=external)
            ui.element("div").classes("ssmux-splitter").props(
                'tabindex=0 role=separator aria-orientation=vertical title="Drag to resize the panel"'
            ).mark("panel-splitter")
            with ui.element("div").classes("ssmux-split-main"):
                SessionTabs(services.sessions, on_new=new_connection, sync=services.sync)
            if not services.panel.loaded:
                ui.timer(0.01, services.panel.reload, once=True)
