"""The port forwarding page: start a forward (target, local port, remote port, optional remote host), see
its connections and the lines the plugin would print, stop it.

The target is an instance id or a name, matched as the CLI's ``forward`` matches it
(:func:`ssmux.sessions.resolve_target.lookup`): one match is used, several are listed under the form to
pick from, none is refused with the closest names.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from nicegui import background_tasks, run, ui

from ssmux.core import validation
from ssmux.errors import InvalidValue, SsmuxError
from ssmux.gui.components.connect_dialog import target_text_error
from ssmux.gui.components.dialogs import show_error, value_text
from ssmux.gui.forwards import ForwardSpec, RunningForward
from ssmux.gui.layout import frame
from ssmux.gui.services import Services
from ssmux.sessions.launch import ForwardState
from ssmux.sessions.resolve_target import candidate_label, lookup, unknown_target_message

_STATE_COLORS = {
    ForwardState.STARTING: "warning",
    ForwardState.LISTENING: "positive",
    ForwardState.ENDED: "grey",
    ForwardState.ERROR: "negative",
}


def parse_port(text: str, what: str, *, allow_zero: bool = False) -> int:
    """A TCP port number from text.

    Raises:
        InvalidValue: not a number in 1..65535 (0 too when ``allow_zero``: the system picks).
    """
    low = 0 if allow_zero else 1
    if not text.strip().isdigit() or not low <= int(text) <= 65535:
        extra = " (0: any free port)" if allow_zero else ""
        raise InvalidValue(f"invalid {what} {text!r}: give a number from {low} to 65535{extra}")
    return int(text)


def validate_host(text: str) -> str:
    """A remote host name or address (no spaces or control characters)."""
    value = text.strip()
    if not value or any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise InvalidValue(f"invalid remote host {text!r}: give a host name or IP address, without spaces")
    return value


class ForwardsPage:
    """The form and the list of forwards."""

    def __init__(self, services: Services) -> None:
        self.services = services
        with ui.column().classes("w-full max-w-4xl mx-auto p-4 gap-4"):
            with ui.card().classes("w-full"):
                ui.label("New port forward").classes("text-lg font-medium")
                with ui.grid(columns=3).classes("w-full gap-x-4"):
                    self.target = ui.input(
                        "Instance ID or name", placeholder="i-0123456789abcdef0 or web-1"
                    ).mark("forward-target")
                    self.aws_profile = ui.input("AWS profile (optional)").mark("forward-aws-profile")
                    self.region = ui.input("Region (optional)").mark("forward-region")
                    self.local_port = ui.input("Local port (0: any free)", value="0").mark(
                        "forward-local-port"
                    )
                    self.remote_port = ui.input("Remote port", placeholder="22").mark("forward-remote-port")
                    self.remote_host = ui.input("Remote host (optional, e.g. a database)").mark(
                        "forward-remote-host"
                    )
                self.choices = ui.column().classes("w-full gap-1").mark("forward-choices")
                with ui.row().classes("w-full justify-end"):
                    ui.button("Start", icon="play_arrow", on_click=self.start).mark("forward-start")
            self.list = ui.column().classes("w-full gap-2").mark("forward-list")
        self._scheduled = False
        ui.context.client.on_delete(services.forwards.changed.subscribe(lambda *_: self.schedule()))
        # Connection counts change without an event (a connection closing): refresh them now and then.
        ui.timer(1.0, lambda: self.schedule() if services.forwards.forwards else None)
        self.render()

    def schedule(self) -> None:
        """Redraw soon, once for a burst of changes."""
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_later(0.2, self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        if not self.list.is_deleted:
            self.render()

    def _field(self, field: ui.element, check: object, *, optional: bool = False) -> object:
        text = value_text(field)
        if optional and not text:
            show_error(field, None)
            return ""
        try:
            value = check(text)  # type: ignore[operator]
        except SsmuxError as error:
            show_error(field, str(error))
            return None
        show_error(field, None)
        return value

    def start(self) -> None:
        # Synchronous up to the lookup: every field's message shows at once, before any I/O.
        self.choices.clear()
        values = [
            self._field(self.aws_profile, validation.validate_aws_profile_name, optional=True),
            self._field(self.region, validation.validate_region, optional=True),
            self._field(self.local_port, lambda t: parse_port(t, "local port", allow_zero=True)),
            self._field(self.remote_port, lambda t: parse_port(t, "remote port")),
            self._field(self.remote_host, validate_host, optional=True),
        ]
        text = value_text(self.target)
        problem = target_text_error(text)
        show_error(self.target, problem)
        if problem is not None or any(value is None for value in values):
            return
        aws_profile, region, local_port, remote_port, remote_host = values
        spec = ForwardSpec(
            instance_id=text,
            local_port=int(local_port),  # type: ignore[call-overload]
            remote_port=int(remote_port),  # type: ignore[call-overload]
            remote_host=str(remote_host) or None,
            aws_profile=str(aws_profile) or None,
            region=str(region) or None,
        )
        background_tasks.create(self._find(text, spec), name="ssmux-forward-lookup")

    async def _find(self, text: str, spec: ForwardSpec) -> None:
        """Look the target up as the CLI does: start its forward, list candidates, or say what is wrong."""
        try:
            match = await run.io_bound(lookup, text, aws_profile=spec.aws_profile, region=spec.region)
        except SsmuxError as error:
            show_error(self.target, str(error))
            return
        if match is None:  # the app is shutting down
            return
        if not match.targets:
            message = unknown_target_message(text, match.suggestions)
            show_error(self.target, message)
            if message is None:  # an instance id no pair knows: used as typed
                self.services.forwards.start(spec)
            return
        specs = [_spec_for(spec, found) for found in match.targets]
        if len(specs) == 1:
            self.services.forwards.start(specs[0])
            return
        self._show_choices(match.targets, specs)

    def _show_choices(self, found: Any, specs: list[ForwardSpec]) -> None:
        """List the candidates of an ambiguous target under the form; clicking one starts its forward."""

        def choose(spec: ForwardSpec) -> None:
            self.choices.clear()
            self.services.forwards.start(spec)

        self.choices.clear()
        with self.choices:
            ui.label(f"{len(specs)} targets match: choose one").classes("text-sm").mark(
                "forward-choices-title"
            )
            for index, (target, spec) in enumerate(zip(found, specs, strict=True)):
                ui.button(candidate_label(target), on_click=lambda s=spec: choose(s)).props(
                    "flat dense no-caps align=left"
                ).classes("w-full font-mono text-xs").mark(f"forward-choice forward-choice-{index}")

    def render(self) -> None:
        self.list.clear()
        with self.list:
            if not self.services.forwards.forwards:
                ui.label("No forwards running.").classes("text-grey-7").mark("forward-empty")
            for forward in self.services.forwards.forwards.values():
                self._render_one(forward)

    def _render_one(self, forward: RunningForward) -> None:
        spec = forward.spec
        port = forward.port or spec.local_port
        label = spec.label.replace(f"localhost:{spec.local_port or '?'}", f"localhost:{port or '?'}")
        with ui.card().classes("w-full").mark(f"forward forward-{forward.id}"):
            with ui.row().classes("w-full items-center gap-2"):
                ui.badge(forward.state, color=_STATE_COLORS[forward.state]).mark(
                    f"forward-state-{forward.id}"
                )
                ui.label(label).classes("font-mono")
                ui.space()
                ui.label(f"{forward.active} open, {forward.accepted} accepted").classes(
                    "text-sm text-grey-7"
                ).mark(f"forward-connections-{forward.id}")
                ui.button(
                    "Stop", icon="stop", on_click=lambda f=forward: self.services.forwards.stop(f.id)
                ).props("flat dense color=negative").mark(f"forward-stop-{forward.id}")
            if forward.message:
                ui.label(forward.message).classes(
                    "text-sm " + ("text-negative" if forward.state is ForwardState.ERROR else "text-grey-7")
                ).mark(f"forward-message-{forward.id}")
            if forward.lines:
                ui.label("\n".join(list(forward.lines)[-6:])).classes(
                    "text-xs font-mono whitespace-pre-wrap"
                ).mark(f"forward-lines-{forward.id}")


def _spec_for(spec: ForwardSpec, found: Any) -> ForwardSpec:
    """``spec`` aimed at a matched target; a profile or region typed in the form wins over its own."""
    return replace(
        spec,
        instance_id=found.instance_id,
        aws_profile=spec.aws_profile or found.aws_profile,
        region=spec.region or found.region,
        name=found.short_name if found.short_name != found.instance_id else None,
    )


def create(services: Services) -> None:
    """Register the forwards page."""

    @ui.page("/forwards")
    def forwards_page() -> None:
        with frame(services, "/forwards"):
            ForwardsPage(services)
