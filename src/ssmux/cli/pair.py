"""``ssmux pair``: the (AWS CLI profile, region) pairs the sync lists instances from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import click

from ssmux.cli.output import HelpGroup, print_json, print_lines, print_text_table
from ssmux.core.models import Settings, SyncPair
from ssmux.core.store import load_settings, update_settings
from ssmux.core.validation import validate_pair, validate_pair_text
from ssmux.errors import AlreadyExists

F = TypeVar("F", bound=Callable[..., Any])


@click.group(cls=HelpGroup)
def pair() -> None:
    """Sync pairs: (AWS CLI profile, region) to sync instances from."""


@pair.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print JSON with stable field names.")
def ls_command(as_json: bool) -> None:
    """List the sync pairs, sorted by AWS profile then region, with the account and role discovery found."""
    current = load_settings()
    pairs = sorted(current.sync_pairs, key=lambda p: p.key)
    if as_json:
        print_json([p.to_dict() for p in pairs])
        return
    if not pairs:
        print_lines(["no sync pairs: add one with 'ssmux pair add PROFILE/REGION'"])
        return
    # Account and role columns only once some pair has them (discovered or sso:), as `ls` adds KIND.
    named = any(p.account_name or pair_role(p) for p in pairs)
    heading = ["AWS PROFILE", "REGION", *(["ACCOUNT", "ROLE"] if named else []), "ENABLED", "CONTAINERS"]
    rows = [
        [
            p.aws_profile,
            p.region,
            *([p.account_name or "-", pair_role(p) or "-"] if named else []),
            "yes" if p.enabled else "no",
            "yes" if p.containers else "no",
        ]
        for p in pairs
    ]
    print_text_table(heading, rows)
    if not current.sync_enabled:
        print_lines(["(sync is off: ssmux settings set sync_enabled true)"])


def pair_role(pair: SyncPair) -> str | None:
    """The role a pair signs in as: what discovery stored, else what its ``sso:`` name says."""
    if pair.role_name:
        return pair.role_name
    from ssmux.sso.credentials import RoleSource

    source = RoleSource.parse(pair.aws_profile)
    return source.role if source else None


def pair_arguments(function: F) -> F:
    """The pair as ``PROFILE/REGION`` (as ``sync --pair`` takes it) or ``PROFILE REGION``."""
    function = click.argument("region", required=False)(function)
    return click.argument("aws_profile", metavar="PROFILE/REGION")(function)


def containers_option(function: F) -> F:
    """``--containers/--no-containers``: whether the sync lists the pair's ECS containers."""
    return click.option(
        "--containers/--no-containers",
        default=None,
        help="List the pair's ECS containers too (the default), or not.",
    )(function)


@pair.command("add")
@pair_arguments
@click.option("--disabled", is_flag=True, help="Add it switched off.")
@containers_option
def add_command(aws_profile: str, region: str | None, disabled: bool, containers: bool | None) -> None:
    """Add the pair PROFILE/REGION (or PROFILE REGION), e.g. dev/eu-central-1."""
    aws_profile, region = validate_pair_text(aws_profile, region)
    new = validate_pair(
        SyncPair(aws_profile, region, enabled=not disabled, containers=containers is not False)
    )

    def change(current: Settings) -> Settings:
        if any(p.key == new.key for p in current.sync_pairs):
            raise AlreadyExists(
                f"sync pair {new.aws_profile}/{new.region} already exists: see 'ssmux pair ls'"
            )
        return replace(current, sync_pairs=(*current.sync_pairs, new))

    update_settings(change)
    notes = ("" if new.enabled else " (disabled)") + ("" if new.containers else " (no containers)")
    print_lines([f"added sync pair {new.aws_profile}/{new.region}{notes}"])


@pair.command("edit")
@pair_arguments
@containers_option
@click.option("--account-name", metavar="NAME", help="The account's name shown beside the pair ('' clears).")
@click.option("--role-name", metavar="NAME", help="The role shown beside the pair ('' clears).")
def edit_command(
    aws_profile: str,
    region: str | None,
    containers: bool | None,
    account_name: str | None,
    role_name: str | None,
) -> None:
    """Change the pair PROFILE/REGION (or PROFILE REGION): whether it lists containers, its labels."""
    from ssmux.errors import InvalidValue

    aws_profile, region = _split(aws_profile, region)
    if containers is None and account_name is None and role_name is None:
        raise InvalidValue(
            "nothing to change: give --containers, --no-containers, --account-name or --role-name"
        )
    changes: dict[str, Any] = {}
    if containers is not None:
        changes["containers"] = containers
    if account_name is not None:
        changes["account_name"] = account_name.strip() or None
    if role_name is not None:
        changes["role_name"] = role_name.strip() or None

    def change(current: Settings) -> Settings:
        found = current.pair(aws_profile, region)
        edited = validate_pair(replace(found, **changes))
        pairs = tuple(edited if p.key == found.key else p for p in current.sync_pairs)
        return replace(current, sync_pairs=pairs)

    update_settings(change)
    print_lines([f"changed sync pair {aws_profile}/{region}"])


@pair.command("rm")
@pair_arguments
def rm_command(aws_profile: str, region: str | None) -> None:
    """Remove the pair PROFILE/REGION (or PROFILE REGION)."""
    aws_profile, region = _split(aws_profile, region)

    def change(current: Settings) -> Settings:
        found = current.pair(aws_profile, region)
        return replace(current, sync_pairs=tuple(p for p in current.sync_pairs if p.key != found.key))

    update_settings(change)
    print_lines([f"removed sync pair {aws_profile}/{region}"])


@pair.command("enable")
@pair_arguments
def enable_command(aws_profile: str, region: str | None) -> None:
    """Switch the pair PROFILE/REGION (or PROFILE REGION) on."""
    _set_enabled(*_split(aws_profile, region), True)


@pair.command("disable")
@pair_arguments
def disable_command(aws_profile: str, region: str | None) -> None:
    """Switch the pair PROFILE/REGION (or PROFILE REGION) off."""
    _set_enabled(*_split(aws_profile, region), False)


def _split(first: str, region: str | None) -> tuple[str, str]:
    # An existing pair is looked up as written (the settings' own check would refuse a bad one anyway);
    # only the one-word form needs splitting.
    if region is not None:
        return first, region
    return validate_pair_text(first)


def _set_enabled(aws_profile: str, region: str, enabled: bool) -> None:
    def change(current: Settings) -> Settings:
        found = current.pair(aws_profile, region)
        pairs = tuple(replace(p, enabled=enabled) if p.key == found.key else p for p in current.sync_pairs)
        return replace(current, sync_pairs=pairs)

    update_settings(change)
    print_lines([f"{'enabled' if enabled else 'disabled'} sync pair {aws_profile}/{region}"])
