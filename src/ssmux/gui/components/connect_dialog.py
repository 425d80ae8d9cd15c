"""The ad-hoc connect dialog (Ctrl+T, the "+" by the tabs): instance id, AWS profile, region.

The AWS profile and region start from the settings' defaults; each field suggests its recent values (and
the AWS profile field the profiles found in the AWS config, the region field every known region). Values are
checked with the CLI's validators; on Connect they are used as typed, with no profile/group resolution, and
pushed onto the recent lists once the session is up.
"""

from __future__ import annotations

from dataclasses import dataclass

from nicegui import run, ui

from ssmux.core import validation
from ssmux.errors import SsmuxError
from ssmux.gui.components.dialogs import show_error, value_text
from ssmux.gui.session_manager import SessionTarget


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
                "Instance ID",
                value=defaults.recent_instance_ids[0] if defaults.recent_instance_ids else "",
                autocomplete=list(defaults.recent_instance_ids),
                placeholder="i-0123456789abcdef0",
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

        def submit() -> None:
            values: list[str | None] = []
            for field, check, required in (
                (instance_id, validation.validate_instance_id, True),
                (aws_profile, validation.validate_aws_profile_name, False),
                (region, validation.validate_region, False),
            ):
                text = value_text(field)
                if not text and not required:
                    show_error(field, None)
                    values.append(None)
                    continue
                try:
                    values.append(check(text))
                    show_error(field, None)
                except SsmuxError as error:
                    show_error(field, str(error))
                    values.append("")
            if "" in values:
                return
            target_id, profile, region_name = values
            assert target_id is not None
            dialog.submit(
                SessionTarget(title=target_id, instance_id=target_id, aws_profile=profile, region=region_name)
            )

        instance_id.on("keydown.enter", submit)
        region.on("keydown.enter", submit)
        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=lambda: dialog.submit(None)).props("flat").mark("dialog-cancel")
            ui.button("Connect", on_click=submit).mark("connect-submit")
    try:
        result = await dialog
    finally:
        dialog.delete()
    return result if isinstance(result, SessionTarget) else None
