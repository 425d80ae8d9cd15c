"""Small dialog helpers shared by the pages: confirmation, and showing a field's validation message."""

from __future__ import annotations

from nicegui import ui


async def confirm(message: str, *, ok: str = "Delete", marker: str = "confirm-dialog") -> bool:
    """Ask a yes/no question; True when the user chose ``ok``."""
    with ui.dialog().mark(marker) as dialog, ui.card():
        ui.label(message).classes("whitespace-pre-wrap")
        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=lambda: dialog.submit(False)).props("flat").mark("confirm-cancel")
            ui.button(ok, on_click=lambda: dialog.submit(True)).props("color=negative").mark("confirm-ok")
    try:
        return bool(await dialog)
    finally:
        dialog.delete()


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
