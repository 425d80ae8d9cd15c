"""``ssmux group``: groups of saved profiles, with AWS CLI profile and region overrides.

A group's AWS profile and region sit between a profile's own and the settings defaults. A group can also
exist only because a profile names it (hand-edited file); it is listed, and ``group edit`` declares it.
"""

from __future__ import annotations

from dataclasses import replace

import click

from ssmux.cli.output import HelpGroup, plural, print_json, print_lines, print_text_table
from ssmux.core.models import Group, ProfileBook
from ssmux.core.store import load_profiles, update_profiles
from ssmux.core.validation import validate_aws_profile_name, validate_group, validate_name, validate_region
from ssmux.errors import InvalidValue, NotFound


@click.group(cls=HelpGroup)
def group() -> None:
    """Groups of saved profiles, with AWS profile and region overrides."""


@group.command("add")
@click.argument("name")
@click.option("--aws-profile", help="AWS CLI profile for the group's profiles that set none.")
@click.option("--region", help="Region for the group's profiles that set none.")
def add_command(name: str, aws_profile: str | None, region: str | None) -> None:
    """Create group NAME, or give overrides to a group that exists without any."""
    new = validate_group(Group(name, aws_profile=aws_profile, region=region))
    adopted: list[bool] = []

    def change(book: ProfileBook) -> ProfileBook:
        old = book.get_group(name)
        # 'profile add --group web' makes group web with no overrides; 'group add web --aws-profile prod'
        # afterwards is what the user meant all along, and overwrites nothing. Only an add that would
        # replace an override, or change nothing at all, is refused.
        if old is not None and _bare(old) and not _bare(new):
            adopted.append(True)
            return book.replacing_group(name, new)
        return book.with_group(new)

    update_profiles(change)
    print_lines([f"{'updated' if adopted else 'added'} group {new.name!r}{_overrides(new)}"])


def _bare(group: Group) -> bool:
    return group.aws_profile is None and group.region is None


def _overrides(group: Group) -> str:
    parts = [f"aws profile {group.aws_profile}"] if group.aws_profile else []
    parts += [f"region {group.region}"] if group.region else []
    return f" ({', '.join(parts)})" if parts else ""


@group.command("edit")
@click.argument("name")
@click.option("--aws-profile", help="Set the AWS CLI profile.")
@click.option("--clear-aws-profile", is_flag=True, help="Remove the group's AWS CLI profile.")
@click.option("--region", help="Set the region.")
@click.option("--clear-region", is_flag=True, help="Remove the group's region.")
@click.option("--rename", help="New name; its profiles move along.")
def edit_command(
    name: str,
    aws_profile: str | None,
    clear_aws_profile: bool,
    region: str | None,
    clear_region: bool,
    rename: str | None,
) -> None:
    """Change group NAME; options not given stay as they are."""
    if aws_profile is not None and clear_aws_profile:
        raise click.UsageError("--aws-profile and --clear-aws-profile cannot be used together")
    if region is not None and clear_region:
        raise click.UsageError("--region and --clear-region cannot be used together")
    if aws_profile is None and region is None and rename is None and not (clear_aws_profile or clear_region):
        raise click.UsageError("nothing to change: give at least one option (see 'ssmux group edit --help')")
    checked_profile = None if aws_profile is None else validate_aws_profile_name(aws_profile)
    checked_region = None if region is None else validate_region(region)
    checked_name = None if rename is None else validate_name(rename, "group name")

    def change(book: ProfileBook) -> ProfileBook:
        book = _declared(book, name)
        old = book.group(name)
        new = replace(
            old,
            name=checked_name or old.name,
            aws_profile=None if clear_aws_profile else (checked_profile or old.aws_profile),
            region=None if clear_region else (checked_region or old.region),
        )
        return book.replacing_group(name, new)

    update_profiles(change)
    renamed = f" (now {checked_name!r})" if checked_name and checked_name != name else ""
    print_lines([f"updated group {name!r}{renamed}"])


@group.command("rm")
@click.argument("name")
@click.option("--force", is_flag=True, help="Remove it even with profiles in it; they move to no group.")
def rm_command(name: str, force: bool) -> None:
    """Remove group NAME (a group with profiles needs --force)."""
    moved: list[str] = []

    def change(book: ProfileBook) -> ProfileBook:
        members = book.profiles_in_group(name)
        if members and not force:
            raise InvalidValue(
                f"group {name!r} has {plural(len(members), 'profile')}: pass --force to remove it and move "
                "them to no group"
            )
        moved[:] = [p.name for p in members]
        return _declared(book, name).without_group(name)

    update_profiles(change)
    lines = [f"removed group {name!r}"]
    if moved:
        lines.append(f"moved {plural(len(moved), 'profile')} to no group: {', '.join(moved)}")
    print_lines(lines)


@group.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print JSON with stable field names.")
def ls_command(as_json: bool) -> None:
    """List groups with their overrides and how many profiles each holds."""
    book = load_profiles()
    groups = [book.get_group(name) or Group(name) for name in book.group_names()]
    counts = {g.name: len(book.profiles_in_group(g.name)) for g in groups}
    if as_json:
        print_json([{**g.to_dict(), "profiles": counts[g.name]} for g in groups])
        return
    if not groups:
        print_lines(["no groups: add one with 'ssmux group add' or 'ssmux profile add --group'"])
        return
    rows = [[g.name, g.aws_profile or "-", g.region or "-", counts[g.name]] for g in groups]
    print_text_table(["NAME", "AWS PROFILE", "REGION", "PROFILES"], rows)


def _declared(book: ProfileBook, name: str) -> ProfileBook:
    # A group known only because profiles name it is declared on first edit/removal.
    if book.get_group(name) is not None:
        return book
    if not book.profiles_in_group(name):
        raise NotFound(f"group {name!r} not found: see 'ssmux group ls'")
    return book.with_group(Group(name))
