"""A row of the profile panel: one element, drawn in the browser from its props (see ``target_row.js``)."""

from __future__ import annotations

from typing import Any

from nicegui.element import Element

from ssmux.gui.panel_model import PanelTarget

#: Tags shown on a row; the rest are still searchable and filterable.
MAX_ROW_TAGS = 4


class TargetRow(Element, component="target_row.js"):
    """One target: status dot, name, instance id, platform, state, SSM status and a few tags."""

    def __init__(self, target: PanelTarget, *, selected: bool = False) -> None:
        super().__init__()
        self.target = target
        self._props.update(_props(target, selected))

    def set_target(self, target: PanelTarget, *, selected: bool) -> None:
        """Show another target (rows are reused while the user types in the search box)."""
        if target == self.target and self._props["selected"] == selected:
            return
        self.target = target
        self._props.update(_props(target, selected))

    def set_selected(self, selected: bool) -> None:
        """Highlight the row (keyboard and click selection)."""
        if self._props["selected"] != selected:
            self._props["selected"] = selected
            self.update()

    @property
    def selected(self) -> bool:
        return bool(self._props["selected"])

    def _displayed_contents(self, *, only_visible: bool) -> list[Any]:
        # What a user reads on the row, so tests (and ElementFilter) find rows by what they show.
        props = self._props
        return [
            props["name"],
            props["instance_id"],
            props["state"],
            props["ping"],
            props["platform"],
            *props["tags"],
        ]


def _props(target: PanelTarget, selected: bool) -> dict[str, Any]:
    return {
        "name": target.name,
        "instance_id": target.instance_id,
        "state": target.state or "",
        "ping": target.ping_status or "",
        "platform": target.platform or "",
        "tags": list(target.tags[:MAX_ROW_TAGS]),
        "problem": target.problem or "",
        "description": target.description,
        "selected": selected,
    }
