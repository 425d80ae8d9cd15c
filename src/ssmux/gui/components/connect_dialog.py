"""The ad-hoc connect dialog (Ctrl+T, the "+" by the tabs): target, AWS profile, region.

The target is an instance id or a name, matched as the CLI's ``connect`` matches it
(:func:`ssmux.sessions.resolve_target.lookup`): one match is used; several are listed in the dialog to pick
from; none keeps the dialog open with the closest names. An instance id that matches nothing is used as
typed. The AWS profile and region start from the settings' defaults; each field suggests its recent values
(and the AWS profile field the profiles found in the AWS config, the region field every known region).
Values are checked with the CLI's validators. For a matched target, the profile and region are its own
unless the user changed the fields; the values are pushed onto the recent lists once the session is up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nicegui import background_tasks, run, ui

from ssmux.core import validation
from ssmux.errors import SsmuxError
from ssmux.gui.components.dialogs import ask, show_error, value_text
from ssmux.gui.session_manager import SessionTarget
from ssmux.sessions.resolve_target import candidate_label, lookup, unknown_target_message


@dataclass(frozen=True)
class ConnectDefaults:
    """What the dialog starts with and suggests."""

    aws_profile: str = ""
    region: str = ""
    recent_instance_ids: tuple[str, ...] = ()
    aws_profiles: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()


def load_defaults() -> ConnectDefaults:
    """Read the settings and the AWS config (blocking: call through ``run.io_bound``)."""
    from ssmux.core import store
    from ssmux.core.awsconfig import aws_profile_names

    settings = store.load_settings()
    try:
        found = aws_profile_names()
    except SsmuxError:
        found = []
    return ConnectDefaults(
        aws_profile=settings.default_aws_profile or "",
        region=settings.default_region or "",
        recent_instance_ids=settings.recent_instance_ids,
        aws_profiles=tuple(dict.fromkeys([*settings.recent_aws_profiles, *found])),
        regions=tuple(dict.fromkeys([*settings.recent_regions, *sorted(validation.known_regions())])),
    )


async def connect_dialog() -> SessionTarget | None:
    """Ask what to connect to; None when cancelled."""
    try:
        defaults = await run.io_bound(load_defaults) or ConnectDefaults()
    except SsmuxError as error:
        ui.notify(str(error), type="negative")
        defaults = ConnectDefaults()
    with ui.dialog().mark("connect-dialog") as dialog, ui.card().classes("w-[28rem]"):
        ui.label("New connection").classes("text-lg font-medium")
        instance_id = (
            ui.input(
                "Instance ID or name",
                value=defaults.recent_instance_ids[0] if defaults.recent_instance_ids else "",
                autocomplete=list(defaults.recent_instance_ids),
                placeholder="i-0123456789abcdef0 or web-1",
            )
            .classes("w-full")
            .mark("connect-instance-id")
        )
        aws_profile = (
            ui.input(
                "AWS profile (empty: the AWS CLI's default)",
                value=defaults.aws_profile,
                autocomplete=list(defaults.aws_profiles),
            )
            .classes("w-full")
            .mark("connect-aws-profile")
        )
        region = (
            ui.input(
                "Region (empty: the profile's)", value=defaults.region, autocomplete=list(defaults.regions)
            )
            .classes("w-full")
            .mark("connect-region")
        )
        if defaults.recent_instance_ids:
            ui.label("Recent: " + ", ".join(defaults.recent_instance_ids[:5])).classes("text-xs text-grey-7")
        choices = ui.column().classes("w-full gap-1").mark("connect-choices")

        def options() -> tuple[str | None, str | None] | None:
            """The AWS profile and region fields, checked; None (with messages shown) when one is bad."""
            values: list[str | None] = []
            bad = False
            for field, check in (
                (aws_profile, validation.validate_aws_profile_name),
                (region, validation.validate_region),
            ):
                text = value_text(field)
                try:
                    values.append(check(text) if text else None)
                    show_error(field, None)
                except SsmuxError as error:
                    show_error(field, str(error))
                    bad = True
            return None if bad else (values[0], values[1])

        def submit() -> None:
            # Synchronous up to the lookup: every field's message shows at once, before any I/O.
            choices.clear()
            checked = options()
            text = value_text(instance_id)
            problem = target_text_error(text)
            show_error(instance_id, problem)
            if checked is not None and problem is None:
                background_tasks.create(find(text, *checked), name="ssmux-connect-lookup")

        async def find(text: str, profile: str | None, region_name: str | None) -> None:
            # The fields start from the settings' defaults: only a value the user changed is a choice.
            wanted_profile = profile if profile != (defaults.aws_profile or None) else None
            wanted_region = region_name if region_name != (defaults.region or None) else None
            try:
                match = await run.io_bound(lookup, text, aws_profile=wanted_profile, region=wanted_region)
            except SsmuxError as error:
                show_error(instance_id, str(error))
                return
            if match is None:  # the app is shutting down
                return
            if not match.targets:
                unknown = unknown_target_message(text, match.suggestions)
                if unknown is not None:
                    show_error(instance_id, unknown)
                    return
                dialog.submit(SessionTarget(text, text, aws_profile=profile, region=region_name))
                return
            made = [_session_target(found, wanted_profile, wanted_region) for found in match.targets]
            if len(made) == 1:
                dialog.submit(made[0])
                return
            _show_choices(choices, match.targets, made, dialog.submit)

        instance_id.on("keydown.enter", submit)
        region.on("keydown.enter", submit)
        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=lambda: dialog.submit(None)).props("flat").mark("dialog-cancel")
            ui.button("Connect", on_click=submit).mark("connect-submit")
    result = await ask(dialog)  # None when the page closed meanwhile
    return result if isinstance(result, SessionTarget) else None


def target_text_error(text: str) -> str | None:
    """What is wrong with a target typed in the app before it is looked up; ``None``: look it up.

    Empty, or meant as an instance id (``i-``, ``mi-``) and malformed: the validator's message, at once.
    """
    if not text:
        return "give an instance id (i-0123456789abcdef0) or a name, as 'ssmux ls' lists them"
    if text.startswith(("i-", "mi-")) and not validation.is_instance_id(text):
        try:
            validation.validate_instance_id(text)
        except SsmuxError as error:
            return str(error)
    return None


def _session_target(found: Any, aws_profile: str | None, region: str | None) -> SessionTarget:
    """A matched target as a tab's target; a profile or region the user typed wins over its own."""
    saved = found.source == "saved"
    return SessionTarget(
        title=found.short_name,
        instance_id=found.instance_id,
        aws_profile=aws_profile or found.aws_profile,
        region=region or found.region,
        profile_name=found.name if saved else None,
    )


def _show_choices(
    choices: ui.column, found: Sequence[Any], made: Sequence[SessionTarget], submit: Any
) -> None:
    """List the candidates of an ambiguous target in the dialog; clicking one connects to it."""
    choices.clear()
    with choices:
        ui.label(f"{len(made)} targets match: choose one").classes("text-sm").mark("connect-choices-title")
        for index, (target, session_target) in enumerate(zip(found, made, strict=True)):
            ui.button(candidate_label(target), on_click=lambda chosen=session_target: submit(chosen)).props(
                "flat dense no-caps align=left"
            ).classes("w-full font-mono text-xs").mark(f"connect-choice connect-choice-{index}")
