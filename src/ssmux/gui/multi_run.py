"""The app's "Run command…": one command on several targets at once, and a result per target.

The dialog lists the panel's instances (containers run one at a time, in their tab) with a checkbox each,
narrowed by a search box and a group; the panel may hand it the rows selected there (``preselected``).
Run sends the command to every checked target through :func:`ssmux.sessions.exec_many.run_many`, the same
runs as ``ssmux exec --group``, on the app's event loop and its shared :class:`~ssmux.core.aws.AwsClients`;
each target's row then shows its status (running, ok, failed, unreachable), exit code and duration as soon
as it ends, and expands to its stdout and stderr. Stop ends every session still running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nicegui import background_tasks, ui

from ssmux.gui.panel_model import PanelTarget, query_words
from ssmux.sessions.exec_many import ExecTarget, ManyResult, Outcome, ResultHandler, RunOptions, TargetResult
from ssmux.sync.targets import TargetKind

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients
    from ssmux.gui.services import PanelSource

log = logging.getLogger(__name__)

#: Checkboxes drawn at most; the others stay checked or not, and the count says how many are hidden.
SHOWN = 200
#: Each target's output shown in its row, at most (the run keeps 1 MiB; a browser row needs less).
SHOWN_OUTPUT = 64 << 10
#: Icon and colour of a row by outcome (``None``: still running).
STATUS_LOOK: dict[Outcome | None, tuple[str, str]] = {
    None: ("hourglass_empty", "grey-7"),
    Outcome.OK: ("check_circle", "positive"),
    Outcome.FAILED: ("cancel", "negative"),
    Outcome.UNREACHABLE: ("cloud_off", "warning"),
}


def exec_targets(targets: Sequence[PanelTarget]) -> list[ExecTarget]:
    """Panel rows as the targets of a run (a name shared by two rows gets the instance id)."""
    from ssmux.sessions.exec_targets import distinct_names

    return distinct_names(
        [ExecTarget(target.name, target.instance_id, target.aws_profile, target.region) for target in targets]
    )


def runnable(targets: Iterable[PanelTarget]) -> list[PanelTarget]:
    """The rows a command can run on: instances (one row per instance, profile and region)."""
    seen: set[tuple[str, str | None, str | None]] = set()
    kept = []
    for target in targets:
        key = (target.instance_id, target.aws_profile, target.region)
        if target.kind is TargetKind.INSTANCE and key not in seen:
            seen.add(key)
            kept.append(target)
    return kept


def narrow(targets: Sequence[PanelTarget], query: str, group: str | None) -> list[PanelTarget]:
    """The rows of ``group`` (``None``: all) whose search text has every word of ``query``."""
    words = query_words(query)
    return [
        target
        for target in targets
        if (group is None or target.group == group) and all(word in target.search_text for word in words)
    ]


@dataclass
class _Row:
    """One target's line in the results."""

    expansion: ui.expansion
    icon: ui.icon
    caption: ui.label
    stdout: ui.label
    stderr: ui.label


class MultiRunDialog:
    """The dialog: choose targets, type the command, run, read the results.

    Args:
        panel: the app's panel data (the targets to choose from).
        clients: the app's AWS sessions and clients.
        preselected: keys of panel rows checked at first (the panel's selection); none: nothing checked.
    """

    def __init__(self, panel: PanelSource, clients: AwsClients, preselected: Iterable[str] = ()) -> None:
        self.clients = clients
        self.targets = runnable(panel.data.targets)
        self.groups = sorted({target.group for target in self.targets})
        keys = set(preselected)
        self.checked: set[str] = {t.key for t in self.targets if t.key in keys} if keys else set()
        self.query = ""
        self.group: str | None = None
        self.result: ManyResult | None = None
        self._task: asyncio.Task[ManyResult] | None = None
        self._rows: dict[ExecTarget, _Row] = {}
        with ui.dialog().props("persistent") as self.dialog, ui.card().classes("w-[56rem] max-w-full"):
            self.dialog.mark("multirun-dialog")
            ui.label("Run a command on several targets").classes("text-h6")
            self._chooser()
            with ui.row().classes("w-full items-center no-wrap gap-2"):
                self.command = (
                    ui.input("Command (run by sh on each target)", on_change=self._update_buttons)
                    .props("dense autofocus")
                    .classes("flex-grow font-mono")
                    .mark("multirun-command")
                )
                self.command.on("keydown.enter", self.run)
                self.run_button = ui.button("Run", icon="play_arrow", on_click=self.run).mark("multirun-run")
                self.stop_button = ui.button("Stop", icon="stop", on_click=self.stop).props("flat")
                self.stop_button.mark("multirun-stop").set_visibility(False)
            self.summary = ui.label("").classes("text-sm").mark("multirun-summary")
            self.results = (
                ui.column().classes("w-full gap-0 max-h-[45vh] overflow-auto").mark("multirun-results")
            )
            with ui.row().classes("w-full justify-end"):
                ui.button("Close", on_click=self.close).props("flat").mark("multirun-close")
        self._show_choices()

    # Choosing ------------------------------------------------------------------------------------------
    def _chooser(self) -> None:
        with ui.row().classes("w-full items-center no-wrap gap-2"):
            ui.input(placeholder="Filter: name, id, tag, IP…", on_change=self._query_changed).props(
                "dense clearable debounce=0"
            ).classes("flex-grow").mark("multirun-search")
            options = {"": "All groups", **{group: group.removeprefix("synced:") for group in self.groups}}
            ui.select(options, value="", on_change=self._group_changed).props("dense").classes("w-56").mark(
                "multirun-group"
            )
            ui.button("All", on_click=self._check_shown).props("flat dense").mark("multirun-check-all")
            ui.button("None", on_click=self._uncheck_all).props("flat dense").mark("multirun-check-none")
        self.count = ui.label("").classes("text-sm text-grey-7").mark("multirun-count")
        self.choices = ui.column().classes("w-full gap-0 max-h-[30vh] overflow-auto").mark("multirun-targets")

    def _shown(self) -> list[PanelTarget]:
        return narrow(self.targets, self.query, self.group)

    def _show_choices(self) -> None:
        shown = self._shown()
        self.choices.clear()
        with self.choices:
            for target in shown[:SHOWN]:
                label = f"{target.name}  ·  {target.instance_id}  ·  {target.aws_profile}/{target.region}"
                if target.problem:
                    label += f"  ·  {target.ping_status or target.state}"
                ui.checkbox(
                    label,
                    value=target.key in self.checked,
                    on_change=lambda event, key=target.key: self._toggle(key, bool(event.value)),
                ).props("dense").mark(f"multirun-target multirun-target-{target.name}")
            if len(shown) > SHOWN:
                ui.label(f"… and {len(shown) - SHOWN} more: filter to see them").classes("text-grey-7")
        self._update_buttons()

    def _toggle(self, key: str, on: bool) -> None:
        if on:
            self.checked.add(key)
        else:
            self.checked.discard(key)
        self._update_buttons()

    def _check_shown(self) -> None:
        self.checked |= {target.key for target in self._shown()}
        self._show_choices()

    def _uncheck_all(self) -> None:
        self.checked.clear()
        self._show_choices()

    def _query_changed(self, event: object) -> None:
        self.query = str(getattr(event, "value", "") or "")
        self._show_choices()

    def _group_changed(self, event: object) -> None:
        self.group = str(getattr(event, "value", "") or "") or None
        self._show_choices()

    def _update_buttons(self) -> None:
        running = self._task is not None and not self._task.done()
        count = len(self.checked)
        self.count.set_text(f"{count} of {len(self.targets)} targets chosen")
        self.run_button.set_enabled(not running and count > 0 and bool((self.command.value or "").strip()))
        self.stop_button.set_visibility(running)

    def chosen(self) -> list[PanelTarget]:
        """The checked rows, in panel order."""
        return [target for target in self.targets if target.key in self.checked]

    # Running -------------------------------------------------------------------------------------------
    async def run(self) -> None:
        """Run the command on every checked target (nothing while a run is going or nothing is chosen)."""
        command = (self.command.value or "").strip()
        chosen = exec_targets(self.chosen())
        if not command or not chosen or (self._task is not None and not self._task.done()):
            return
        self.result = None
        self._rows.clear()
        self.results.clear()
        with self.results:
            for target in chosen:
                self._rows[target] = self._result_row(target)
        self.summary.set_text(f"Running on {len(chosen)} targets…")
        done: list[TargetResult] = []

        def finished(result: TargetResult) -> None:
            done.append(result)
            self._show_result(result)
            self.summary.set_text(f"Running: {len(done)} of {len(chosen)} done…")

        coroutine = _run(chosen, command, self.clients, finished)
        self._task = background_tasks.create(coroutine, name="ssmux-multi-run")
        self._update_buttons()
        try:
            self.result = await self._task
        except asyncio.CancelledError:
            self.summary.set_text(f"Stopped: {len(done)} of {len(chosen)} had ended; the others were ended")
            return
        finally:
            self._update_buttons()
        self.summary.set_text(self.result.summary_line())

    def stop(self) -> None:
        """End every session of the run still going."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def close(self) -> None:
        self.stop()
        self.dialog.close()

    def _result_row(self, target: ExecTarget) -> _Row:
        icon_name, colour = STATUS_LOOK[None]
        with ui.expansion(target.name, caption="running…").classes("w-full").props("dense") as expansion:
            expansion.mark(f"multirun-result multirun-result-{target.name}")
            with expansion.add_slot("header"), ui.row().classes("w-full items-center no-wrap gap-2"):
                icon = ui.icon(icon_name, color=colour).mark(f"multirun-status-{target.name}")
                ui.label(target.name).classes("font-medium")
                ui.label(f"{target.instance_id} · {target.aws_profile}/{target.region}").classes(
                    "text-xs text-grey-7"
                )
                ui.space()
                caption = ui.label("running…").classes("text-sm").mark(f"multirun-outcome-{target.name}")
            stdout = ui.label("").classes("ssmux-multirun-output whitespace-pre-wrap font-mono text-sm")
            stdout.mark(f"multirun-stdout-{target.name}")
            stderr = ui.label("").classes("whitespace-pre-wrap font-mono text-sm text-negative")
            stderr.mark(f"multirun-stderr-{target.name}")
        return _Row(expansion, icon, caption, stdout, stderr)

    def _show_result(self, result: TargetResult) -> None:
        row = self._rows.get(result.target)
        if row is None:
            return
        icon_name, colour = STATUS_LOOK[result.outcome]
        row.icon.set_name(icon_name)
        row.icon.props(f"color={colour}")
        row.caption.set_text(outcome_text(result))
        row.stdout.set_text(_shown(result.stdout))
        row.stderr.set_text(_shown(result.stderr) if result.stderr else (result.error or ""))


def outcome_text(result: TargetResult) -> str:
    """What a row says once its target ended: ``ok · exit 0 · 0.4 s``, ``unreachable · <why>``."""
    parts = [str(result.outcome)]
    if result.exit_code is not None:
        parts.append(f"exit {result.exit_code}")
    elif result.error:
        parts.append(result.error if len(result.error) <= 120 else result.error[:119] + "…")
    parts.append(f"{result.duration:.1f} s")
    return " · ".join(parts)


def _shown(data: bytes) -> str:
    text = data[:SHOWN_OUTPUT].decode("utf-8", "replace")
    return text + ("\n… (more output not shown)" if len(data) > SHOWN_OUTPUT else "")


async def _run(
    targets: list[ExecTarget], command: str, clients: AwsClients, finished: ResultHandler
) -> ManyResult:
    from ssmux.sessions.exec_many import run_many

    options = RunOptions(output_limit=SHOWN_OUTPUT + 1)  # a row shows no more: keep no more per target
    return await run_many(targets, command, clients, options, on_result=finished)


async def run_command_dialog(
    panel: PanelSource, clients: AwsClients, preselected: Iterable[str] = ()
) -> ManyResult | None:
    """Open the dialog; when it is closed, the last run's result (``None`` if nothing ran to its end)."""
    dialog = MultiRunDialog(panel, clients, preselected)
    dialog.dialog.open()
    await dialog.dialog
    dialog.dialog.delete()
    return dialog.result


def run_command_button(panel: PanelSource, clients: AwsClients) -> ui.button:
    """The tab strip's "Run command…" button (the dialog with no row preselected)."""

    async def clicked() -> None:
        await run_command_dialog(panel, clients)

    return (
        ui.button(icon="playlist_play", on_click=clicked)
        .props("flat dense round")
        .mark("run-command-button")
        .tooltip("Run a command on several targets…")
    )
