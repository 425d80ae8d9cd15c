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
    """List the sync pairs, sorted by AWS profile then region."""
    current = load_settings()
    pairs = sorted(current.sync_pairs, key=lambda p: p.key)
    if as_json:
        print_json([p.to_dict() for p in pairs])
        return
    if not pairs:
        print_lines(["no sync pairs: add one with 'ssmux pair add PROFILE/REGION'"])
        return
    rows = [[p.aws_profile, p.region, "yes" if p.enabled else "no"] for p in pairs]
    print_text_table(["AWS PROFILE", "REGION", "ENABLED"], rows)
    if not current.sync_enabled:
        print_lines(["(sync is off: ssmux settings set sync_enabled true)"])


def pair_arguments(function: F) -> F:
    """The pair as ``PROFILE/REGION`` (as ``sync --pair`` takes it) or ``PROFILE REGION``."""
    function = click.argument("region", required=False)(function)
    return click.argument("aws_profile", metavar="PROFILE/REGION")(function)


@pair.command("add")
@pair_arguments
@click.option("--disabled", is_flag=True, help="Add it switched off.")
def add_command(aws_profile: str, region: str | None, disabled: bool) -> None:
    """Add the pair PROFILE/REGION (or PROFILE REGION), e.g. dev/eu-central-1."""
    aws_profile, region = validate_pair_text(aws_profile, region)
    new = validate_pair(SyncPair(aws_profile, region, enabled=not disabled))

    def change(current: Settings) -> Settings:
        if any(p.key == new.key for p in current.sync_pairs):
            raise AlreadyExists(
                f"sync pair {new.aws_profile}/{new.region} already exists: see 'ssmux pair ls'"
            )
        return replace(current, sync_pairs=(*current.sync_pairs, new))

    update_settings(change)
    print_lines([f"added sync pair {new.aws_profile}/{new.region}{'' if new.enabled else ' (disabled)'}"])


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
