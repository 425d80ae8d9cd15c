"""Small dialog helpers shared by the pages: asking, confirmation, and showing a field's validation message.

Anything a page awaits (a dialog, an AWS call, a thread) may outlive the page: when the browser closes,
NiceGUI deletes the page's client and all its elements once the reconnect timeout passes, while the task
that awaited keeps running. Touching the page after that (removing a dialog, a notification) is an error
with a long stack in the server's log. So a dialog is awaited through :func:`ask`, which gives ``None`` when
the page is gone, and code that goes on after an await checks :func:`page_gone` first.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui


def page_gone(element: ui.element) -> bool:
    """Whether ``element`` is gone, with its page when the browser closed: nothing may be done with it."""
    # A deleted client marks all its elements deleted first, so the element's own flag says both.
    return element.is_deleted


async def ask(dialog: ui.dialog) -> Any:
    """Open ``dialog``, wait for its answer, then remove it; ``None`` when the page closed meanwhile."""
    try:
        return await dialog
    finally:
        # NiceGUI already removed the dialog with its page: removing it again would raise.
        if not page_gone(dialog):
            dialog.delete()


async def confirm(message: str, *, ok: str = "Delete", marker: str = "confirm-dialog") -> bool:
    """Ask a yes/no question; True when the user chose ``ok``."""
    with ui.dialog().mark(marker) as dialog, ui.card():
        ui.label(message).classes("whitespace-pre-wrap")
        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=lambda: dialog.submit(False)).props("flat").mark("confirm-cancel")
            ui.button(ok, on_click=lambda: dialog.submit(True)).props("color=negative").mark("confirm-ok")
    return bool(await ask(dialog))


def show_error(field: ui.element, message: str | None) -> None:
    """Show ``message`` under an input (``None`` clears it)."""
    if message:
        field.props["error"] = True
        field.props["error-message"] = message
    else:
        field.props.pop("error", None)
        field.props.pop("error-message", None)
    field.update()


def value_text(field: ui.element) -> str:
    """An input's or select's value as stripped text (``""`` for none)."""
    value = getattr(field, "value", None)
    return "" if value is None else str(value).strip()
