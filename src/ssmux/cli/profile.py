"""``ssmux profile``: add, edit, rm, ls and show saved profiles.

Values are validated before the store is touched, and the store validates the whole book again under its lock,
so a bad value changes nothing. User text (names, tags, descriptions) is printed verbatim and never reaches a
shell.
"""

from __future__ import annotations

from dataclasses import replace

import click

from ssmux.cli.output import HelpGroup, print_json, print_lines, print_text_table
from ssmux.core.models import Group, Profile, ProfileBook
from ssmux.core.resolve import Resolution, Source, resolve
from ssmux.core.store import load_profiles, load_settings, update_profiles
from ssmux.core.validation import (
    validate_aws_profile_name,
    validate_description,
    validate_instance_id,
    validate_name,
    validate_profile,
    validate_region,
    validate_tag,
)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON with stable field names.")


@click.group(cls=HelpGroup)
def profile() -> None:
    """Saved profiles: add, edit, rm, ls, show."""


@profile.command("add")
@click.argument("name")
@click.option("--instance-id", required=True, help="i-… (8 or 17 hex digits) or mi-… (17).")
@click.option("--group", help="Group to put it in (created when new).")
@click.option("--tag", "tags", multiple=True, help="A tag; repeat for several.")
@click.option("--aws-profile", help="AWS CLI profile; default: the group's, then the settings'.")
@click.option("--region", help="Region; default: the group's, then the settings'.")
@click.option("--description", default="", help="Free text.")
def add_command(
    name: str,
    instance_id: str,
    group: str | None,
    tags: tuple[str, ...],
    aws_profile: str | None,
    region: str | None,
    description: str,
) -> None:
    """Save a profile NAME for an instance."""
    new = validate_profile(
        Profile(
            name=name,
            instance_id=instance_id,
            group=group,
            tags=frozenset(tags),
            description=description,
            aws_profile=aws_profile,
            region=region,
        )
    )
    update_profiles(lambda book: _declare_group(book.with_profile(new), new.group))
    print_lines([f"added profile {new.name!r} ({new.instance_id})"])


@profile.command("edit")
@click.argument("name")
@click.option("--instance-id", help="New instance id.")
@click.option("--group", help="Move to this group (created when new).")
@click.option("--clear-group", is_flag=True, help="Move to no group.")
@click.option("--tag", "tags", multiple=True, help="Replace the tags; repeat for several.")
@click.option("--add-tag", "add_tags", multiple=True, help="Add a tag; repeatable.")
@click.option("--remove-tag", "remove_tags", multiple=True, help="Remove a tag; repeatable.")
@click.option("--clear-tags", is_flag=True, help="Remove every tag.")
@click.option("--aws-profile", help="Set the AWS CLI profile.")
@click.option("--clear-aws-profile", is_flag=True, help="Inherit the AWS CLI profile again.")
@click.option("--region", help="Set the region.")
@click.option("--clear-region", is_flag=True, help="Inherit the region again.")
@click.option("--description", help="Replace the description.")
@click.option("--rename", help="New name.")
def edit_command(
    name: str,
    instance_id: str | None,
    group: str | None,
    clear_group: bool,
    tags: tuple[str, ...],
    add_tags: tuple[str, ...],
    remove_tags: tuple[str, ...],
    clear_tags: bool,
    aws_profile: str | None,
    clear_aws_profile: bool,
    region: str | None,
    clear_region: bool,
    description: str | None,
    rename: str | None,
) -> None:
    """Change profile NAME; options not given stay as they are."""
    _exclusive(("--group", group is not None), ("--clear-group", clear_group))
    _exclusive(("--tag", bool(tags)), ("--clear-tags", clear_tags))
    _exclusive(("--aws-profile", aws_profile is not None), ("--clear-aws-profile", clear_aws_profile))
    _exclusive(("--region", region is not None), ("--clear-region", clear_region))
    given = [instance_id, group, aws_profile, region, description, rename]
    flags = [clear_group, clear_tags, clear_aws_profile, clear_region, tags, add_tags, remove_tags]
    if all(value is None for value in given) and not any(flags):
        raise click.UsageError(
            "nothing to change: give at least one option (see 'ssmux profile edit --help')"
        )
    # Check each given value first, so the message names the option's value, not the whole profile.
    checked_id = None if instance_id is None else validate_instance_id(instance_id)
    checked_group = None if group is None else validate_name(group, "group name")
    checked_profile = None if aws_profile is None else validate_aws_profile_name(aws_profile)
    checked_region = None if region is None else validate_region(region)
    checked_description = None if description is None else validate_description(description)
    checked_name = None if rename is None else validate_name(rename, "profile name")
    new_tags = {validate_tag(tag) for tag in tags}
    added = {validate_tag(tag) for tag in add_tags}
    removed = {validate_tag(tag) for tag in remove_tags}
    result: dict[str, Profile] = {}

    def change(book: ProfileBook) -> ProfileBook:
        old = book.profile(name)
        current_tags = set() if clear_tags else (new_tags if tags else set(old.tags))
        new = replace(
            old,
            name=checked_name or old.name,
            instance_id=checked_id or old.instance_id,
            group=None if clear_group else (checked_group or old.group),
            tags=frozenset((current_tags | added) - removed),
            description=old.description if checked_description is None else checked_description,
            aws_profile=None if clear_aws_profile else (checked_profile or old.aws_profile),
            region=None if clear_region else (checked_region or old.region),
        )
        result["profile"] = new
        return _declare_group(book.replacing_profile(name, new), new.group)

    update_profiles(change)
    new = result["profile"]
    renamed = f" (now {new.name!r})" if new.name != name else ""
    print_lines([f"updated profile {name!r}{renamed}"])


@profile.command("rm")
@click.argument("names", nargs=-1, required=True)
def rm_command(names: tuple[str, ...]) -> None:
    """Remove the saved profiles NAMES (all or none: an unknown name removes nothing)."""

    def change(book: ProfileBook) -> ProfileBook:
        for name in names:
            book = book.without_profile(name)
        return book

    update_profiles(change)
    print_lines([f"removed profile {name!r}" for name in names])


@profile.command("ls")
@click.option("--group", help="Only profiles of this group.")
@click.option("--tag", "tags", multiple=True, help="Only profiles with this tag (repeat: all of them).")
@json_option
def ls_command(group: str | None, tags: tuple[str, ...], as_json: bool) -> None:
    """List saved profiles, with the AWS profile and region each resolves to."""
    book = load_profiles()
    settings = load_settings()
    found = book.find_profiles(group=group, tags=tags)
    if as_json:
        print_json([p.to_dict() for p in found])
        return
    if not found:
        filtered = group is not None or bool(tags)
        print_lines(
            ["no profiles match" if filtered else "no saved profiles: add one with 'ssmux profile add'"]
        )
        return
    rows = []
    for p in found:
        resolution = resolve(p, book, settings)
        rows.append(
            [
                p.name,
                p.instance_id,
                p.group or "",
                ", ".join(sorted(p.tags)),
                _with_source(resolution.aws_profile, resolution.aws_profile_source),
                _with_source(resolution.region, resolution.region_source),
            ]
        )
    print_text_table(["NAME", "INSTANCE", "GROUP", "TAGS", "AWS PROFILE", "REGION"], rows)


@profile.command("show")
@click.argument("name")
@json_option
def show_command(name: str, as_json: bool) -> None:
    """Show profile NAME, with its resolved AWS profile and region and where each came from."""
    book = load_profiles()
    found = book.profile(name)
    resolution = resolve(found, book, load_settings())
    if as_json:
        print_json({**found.to_dict(), "resolved": resolution.to_dict()})
        return
    print_lines(_show_lines(found, resolution))


def _show_lines(found: Profile, resolution: Resolution) -> list[str]:
    lines = [
        f"name:         {found.name}",
        f"instance id:  {found.instance_id}",
        f"group:        {found.group or '-'}",
        f"tags:         {', '.join(sorted(found.tags)) or '-'}",
        f"aws profile:  {_with_source(resolution.aws_profile, resolution.aws_profile_source)}",
        f"region:       {_with_source(resolution.region, resolution.region_source)}",
    ]
    if found.description:
        lines.append("description:")
        lines.extend(f"  {line}" for line in found.description.split("\n"))
    else:
        lines.append("description:  -")
    return lines


def _with_source(value: str | None, source: Source) -> str:
    if value is None:
        return "(AWS SDK default)"
    return value if source is Source.PROFILE else f"{value} (from {source})"


def _declare_group(book: ProfileBook, group: str | None) -> ProfileBook:
    # A profile's group becomes a declared group, so 'ssmux group ls' and 'group edit' know it.
    if group is None or book.get_group(group) is not None:
        return book
    return book.with_group(Group(group))


def _exclusive(*options: tuple[str, bool]) -> None:
    given = [name for name, present in options if present]
    if len(given) > 1:
        raise click.UsageError(f"{' and '.join(given)} cannot be used together")


from ssmux.cli.profile_synced import save_synced  # noqa: E402  # lives with the sync commands

profile.add_command(save_synced)
