"""A container row of the profile panel: an ECS task's container, with its own icon, greyed when not ready.

It is a :class:`~ssmux.gui.components.target_row.TargetRow` (same events, selection and reuse while the user
types) drawn by ``panel_container_row.js``: the container's name, its task id, task definition and launch
type, and whether ECS Exec can reach it; a container that cannot be reached is greyed, the reason its tooltip.
"""

from __future__ import annotations

from typing import Any

from ssmux.gui.components.target_row import TargetRow
from ssmux.gui.panel_model import PanelTarget

_INSTANCE_ONLY = ("state", "ping", "platform", "tags", "description")


class ContainerRow(TargetRow, component="panel_container_row.js"):
    """One container: icon, name, task id, task definition, launch type, exec readiness."""

    def __init__(self, target: PanelTarget, *, selected: bool = False) -> None:
        super().__init__(target, selected=selected)
        for name in _INSTANCE_ONLY:  # an instance row's props this component does not declare
            self._props.pop(name, None)
        self._props.update(container_props(target, selected))

    def set_target(self, target: PanelTarget, *, selected: bool) -> None:
        """Show another container (rows are reused while the user types in the search box)."""
        if target == self.target and self._props["selected"] == selected:
            return
        self.target = target
        self._props.update(container_props(target, selected))

    def _displayed_contents(self, *, only_visible: bool) -> list[Any]:
        # What a user reads on the row (tests and ElementFilter find rows by it), the reason included.
        props = self._props
        shown = [props["name"], props["task_id"], props["task_definition"], props["launch_type"]]
        return [*shown, "exec" if props["ready"] else "no exec", props["problem"]]


def container_props(target: PanelTarget, selected: bool) -> dict[str, Any]:
    """The props ``panel_container_row.js`` draws ``target`` (a container row) from."""
    ref = target.container
    return {
        "name": target.name,
        "full_name": ref.name if ref is not None else target.name,
        "instance_id": target.instance_id,
        "task_id": ref.task_id if ref is not None else "",
        "task_definition": ref.task_definition if ref is not None else "",
        "launch_type": ref.launch_type if ref is not None else "",
        "ready": ref is not None and ref.exec_ready,
        "problem": target.problem or "",
        "selected": selected,
    }
