"""Add/edit dialogs for saved profiles and groups, with the same validation and messages as the CLI.

Each field is checked by the validator the CLI uses (:mod:`ssmux.core.validation`), and its message is shown
under that field; the whole change then goes through :func:`ssmux.core.store.update_profiles`, whose own
checks (a taken name, an unreadable file) land in the dialog's error line. The dialog stays open until the
change is written, so nothing is lost to a typo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from nicegui import run, ui

from ssmux.core import validation
from ssmux.core.models import Group, Profile, ProfileBook
from ssmux.errors import SsmuxError
from ssmux.gui.components.dialogs import ask, confirm, show_error, value_text

if TYPE_CHECKING:
    from ssmux.core.store import StoreCache


@dataclass(frozen=True)
class Choices:
    """What the dialogs offer in their drop-downs."""

    groups: tuple[str, ...] = ()
    aws_profiles: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()


def load_choices(book: ProfileBook) -> Choices:
    """Group names of ``book``, AWS CLI profiles from the AWS config, and known regions (blocking)."""
    from ssmux.core.awsconfig import aws_profile_names

    try:
        aws_profiles = tuple(aws_profile_names())
    except SsmuxError:
        aws_profiles = ()  # an unreadable AWS config must not block editing; the field stays free text
    return Choices(
        groups=book.group_names(),
        aws_profiles=aws_profiles,
        regions=tuple(sorted(validation.known_regions())),
    )


def _check(field: ui.element, check: Callable[[str], str], *, optional: bool = True) -> str | None:
    """Run ``check`` on a field's text and show its message under the field; the value, or None if bad."""
    text = value_text(field)
    if optional and not text:
        show_error(field, None)
        return ""
    try:
        value = check(text)
    except SsmuxError as error:
        show_error(field, str(error))
        return None
    show_error(field, None)
    return value


def _free_select(label: str, options: tuple[str, ...], value: str | None, marker: str) -> ui.input:
    # Free text with suggestions: a value not offered (an AWS profile not in the config yet, a new group)
    # is as easy to give as one that is, and nothing typed is lost for want of pressing Enter.
    return ui.input(label, value=value or "", autocomplete=list(options)).classes("w-full").mark(marker)


async def profile_dialog(
    choices: Choices,
    *,
    existing: Profile | None = None,
    initial: Profile | None = None,
    title: str = "",
    store_cache: StoreCache | None = None,
) -> Profile | None:
    """Open the profile editor; return the profile as written, or None when cancelled.

    Args:
        choices: Drop-down contents.
        existing: The profile being edited (None: a new profile is added).
        initial: Values to start from (a duplicate, a synced instance being saved).
        title: Dialog title; by default "New profile" or "Edit profile".
        store_cache: The app's parsed store files (the save skips re-parsing an unchanged file).
    """
    start = existing or initial or Profile(name="", instance_id="")
    with ui.dialog().props("persistent").mark("profile-dialog") as dialog, ui.card().classes("w-[32rem]"):
        ui.label(title or ("Edit profile" if existing else "New profile")).classes("text-lg font-medium")
        name = ui.input("Name", value=start.name).classes("w-full").mark("profile-name")
        instance_id = ui.input("Instance ID", value=start.instance_id, placeholder="i-0123456789abcdef0")
        instance_id.classes("w-full").mark("profile-instance-id")
        group = _free_select("Group", choices.groups, start.group, "profile-group")
        tags = (
            ui.input_chips("Tags", value=sorted(start.tags), new_value_mode="add-unique")
            .classes("w-full")
            .mark("profile-tags")
        )
        aws_profile = _free_select(
            "AWS profile (empty: group, then settings)",
            choices.aws_profiles,
            start.aws_profile,
            "profile-aws-profile",
        )
        region = _free_select(
            "Region (empty: group, then settings)", choices.regions, start.region, "profile-region"
        )
        description = (
            ui.textarea("Description", value=start.description).classes("w-full").mark("profile-description")
        )
        error = ui.label("").classes("text-negative whitespace-pre-wrap").mark("dialog-error")
        error.set_visibility(False)

        async def save() -> None:
            checked = [
                _check(name, lambda v: validation.validate_name(v, "profile name"), optional=False),
                _check(instance_id, validation.validate_instance_id, optional=False),
                _check(group, lambda v: validation.validate_name(v, "group name")),
                _check(aws_profile, validation.validate_aws_profile_name),
                _check(region, validation.validate_region),
            ]
            if any(value is None for value in checked):
                return
            new_name, new_id, new_group, new_aws_profile, new_region = (value or "" for value in checked)
            profile = Profile(
                name=new_name,
                instance_id=new_id,
                group=new_group or None,
                tags=frozenset(str(tag).strip() for tag in (tags.value or []) if str(tag).strip()),
                description=description.value or "",
                aws_profile=new_aws_profile or None,
                region=new_region or None,
            )

            def change(book: ProfileBook) -> ProfileBook:
                if profile.group and book.get_group(profile.group) is None:
                    book = book.with_group(Group(profile.group))  # a group typed here is created with it
                if existing is None:
                    return book.with_profile(profile)
                return book.replacing_profile(existing.name, profile)

            try:
                written = await run.io_bound(_update_profiles, change, store_cache)
            except SsmuxError as failure:
                error.set_text(str(failure))
                error.set_visibility(True)
                return
            found = written.get_profile(profile.name) if written is not None else None
            dialog.submit(found or profile)

        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=lambda: dialog.submit(None)).props("flat").mark("dialog-cancel")
            ui.button("Save", on_click=save).mark("dialog-save")
    result = await ask(dialog)
    return result if isinstance(result, Profile) else None


async def group_dialog(
    choices: Choices, *, existing: Group | None = None, store_cache: StoreCache | None = None
) -> Group | None:
    """Open the group editor; return the group as written, or None when cancelled (``store_cache``: the
    app's parsed store files)."""
    start = existing or Group(name="")
    with ui.dialog().props("persistent").mark("group-dialog") as dialog, ui.card().classes("w-[28rem]"):
        ui.label("Edit group" if existing else "New group").classes("text-lg font-medium")
        name = ui.input("Name", value=start.name).classes("w-full").mark("group-name")
        aws_profile = _free_select(
            "AWS profile (empty: settings)", choices.aws_profiles, start.aws_profile, "group-aws-profile"
        )
        region = _free_select("Region (empty: settings)", choices.regions, start.region, "group-region")
        error = ui.label("").classes("text-negative whitespace-pre-wrap").mark("dialog-error")
        error.set_visibility(False)

        async def save() -> None:
            checked = [
                _check(name, lambda v: validation.validate_name(v, "group name"), optional=False),
                _check(aws_profile, validation.validate_aws_profile_name),
                _check(region, validation.validate_region),
            ]
            if any(value is None for value in checked):
                return
            new_name, new_aws_profile, new_region = (value or "" for value in checked)
            group = Group(name=new_name, aws_profile=new_aws_profile or None, region=new_region or None)

            def change(book: ProfileBook) -> ProfileBook:
                if existing is None:
                    return book.with_group(group)
                if book.get_group(existing.name) is None:  # named only by profiles so far: declare it
                    book = book.with_group(Group(existing.name))
                return book.replacing_group(existing.name, group)

            try:
                await run.io_bound(_update_profiles, change, store_cache)
            except SsmuxError as failure:
                error.set_text(str(failure))
                error.set_visibility(True)
                return
            dialog.submit(group)

        async def delete() -> None:
            assert existing is not None
            name = existing.name
            if not await confirm(f"Delete group {name!r}? Its profiles stay, in no group."):
                return

            def change(book: ProfileBook) -> ProfileBook:
                if (
                    book.get_group(name) is None
                ):  # named only by profiles: declaring it first makes it deletable
                    book = book.with_group(Group(name))
                return book.without_group(name)

            try:
                await run.io_bound(_update_profiles, change, store_cache)
            except SsmuxError as failure:
                error.set_text(str(failure))
                error.set_visibility(True)
                return
            dialog.submit(existing)

        with ui.row().classes("w-full justify-end"):
            if existing is not None:
                ui.button("Delete group", on_click=delete).props("flat color=negative").mark("group-delete")
                ui.space()
            ui.button("Cancel", on_click=lambda: dialog.submit(None)).props("flat").mark("dialog-cancel")
            ui.button("Save", on_click=save).mark("dialog-save")
    result = await ask(dialog)
    return result if isinstance(result, Group) else None


def duplicate_of(profile: Profile, book: ProfileBook) -> Profile:
    """A copy of ``profile`` under a free name: ``name (copy)``, ``name (copy 2)``, ..."""
    candidate = f"{profile.name} (copy)"
    number = 2
    while book.get_profile(candidate) is not None:
        candidate = f"{profile.name} (copy {number})"
        number += 1
    return replace(profile, name=candidate)


def _update_profiles(
    change: Callable[[ProfileBook], ProfileBook], store_cache: StoreCache | None
) -> ProfileBook:
    from ssmux.core import store

    return store.update_profiles(change, store_cache)
