"""``ssmux sso``: sign in to IAM Identity Center once, for ssmux, the aws CLI and every SDK."""

from __future__ import annotations

import sys
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ssmux.cli.output import HelpGroup, print_lines

F = TypeVar("F", bound=Callable[..., Any])


@click.group(cls=HelpGroup)
def sso() -> None:
    """IAM Identity Center: sign in, and find every account and role."""


def sign_in_options(function: F) -> F:
    """Which sign-in: ``--sso-session NAME``, or ``--start-url`` with ``--sso-region``, or the only one."""
    for option in reversed(
        [
            click.option(
                "--sso-session", "session_name", metavar="NAME", help="The [sso-session NAME] to use."
            ),
            click.option("--start-url", metavar="URL", help="The AWS access portal URL (with --sso-region)."),
            click.option(
                "--sso-region", metavar="REGION", help="IAM Identity Center's region (with --start-url)."
            ),
        ]
    ):
        function = option(function)
    return function


@sso.command("login")
@sign_in_options
@click.option("--no-browser", is_flag=True, help="Print the sign-in page and code; do not open a browser.")
def login_command(
    session_name: str | None, start_url: str | None, sso_region: str | None, no_browser: bool
) -> None:
    """Sign in with the device flow; the token goes where the aws CLI keeps it (~/.aws/sso/cache)."""
    from ssmux.core.aws import AwsClients
    from ssmux.core.validation import validate_region
    from ssmux.sso.login import Authorization, DeviceLogin, resolve_target

    if sso_region is not None:
        validate_region(sso_region)
    target, aws_profile = resolve_target(session_name=session_name, start_url=start_url, region=sso_region)
    oidc = AwsClients().unsigned_client("sso-oidc", aws_profile, target.region)

    def show(authorization: Authorization) -> None:
        # stderr: stdout stays for what the command reports.
        print(
            f"Sign in at {authorization.verification_uri_complete}\n"
            f"and check that the page shows the code {authorization.user_code}.",
            file=sys.stderr,
            flush=True,
        )
        if not no_browser and not webbrowser.open(authorization.verification_uri_complete):
            print(
                "(no browser could be opened: open the address above yourself)", file=sys.stderr, flush=True
            )

    token = DeviceLogin(oidc, target).login(show)
    until = token.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    print_lines([f"signed in to {target.start_url}; the sign-in is valid until {until}"])


@sso.command("discover")
@sign_in_options
@click.option("--role", "roles", multiple=True, metavar="PATTERN", help="Only roles named so (repeatable).")
@click.option(
    "--account", "accounts", multiple=True, metavar="PATTERN", help="Only accounts named so, or ids."
)
@click.option(
    "--write-aws-config", is_flag=True, help="Write a profile per role into the AWS config's ssmux block."
)
@click.option(
    "--region", "regions", multiple=True, metavar="REGION", help="Regions to sync (with --add-pairs)."
)
@click.option("--add-pairs", is_flag=True, help="Add a sync pair per written profile and --region.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON with stable field names.")
def discover_command(
    session_name: str | None,
    start_url: str | None,
    sso_region: str | None,
    roles: tuple[str, ...],
    accounts: tuple[str, ...],
    write_aws_config: bool,
    regions: tuple[str, ...],
    add_pairs: bool,
    as_json: bool,
) -> None:
    """List every account and role you can reach; optionally write AWS CLI profiles and sync pairs."""
    from ssmux.cli.output import print_json, print_text_table
    from ssmux.core.aws import AwsClients
    from ssmux.core.validation import validate_region
    from ssmux.errors import InvalidValue
    from ssmux.sso.discover import discover
    from ssmux.sso.login import resolve_target, usable_token

    regions = tuple(validate_region(region) for region in regions)
    if add_pairs and not (write_aws_config and regions):
        raise InvalidValue("--add-pairs needs --write-aws-config and at least one --region")
    if sso_region is not None:
        validate_region(sso_region)
    target, aws_profile = resolve_target(session_name=session_name, start_url=start_url, region=sso_region)
    clients = AwsClients()
    token = usable_token(target, lambda: clients.unsigned_client("sso-oidc", aws_profile, target.region))
    found = discover(clients.unsigned_client("sso", aws_profile, target.region), token, target)
    chosen = found.select(roles=roles, accounts=accounts)
    if as_json:
        print_json(
            {
                "roles": [
                    {"account_id": r.account_id, "account_name": r.account_name, "role_name": r.role_name}
                    for r in chosen
                ],
                "failed": [{"account_id": a, "error": e} for a, e in found.failed],
            }
        )
    else:
        print_text_table(
            ["ACCOUNT", "ACCOUNT ID", "ROLE"], [[r.account_name, r.account_id, r.role_name] for r in chosen]
        )
        for account_id, error in found.failed:
            click.echo(
                f"ssmux: warning: the roles of account {account_id} could not be listed: {error}", err=True
            )
    if write_aws_config:
        _write_profiles(target.session_name, aws_profile, chosen, regions, add_pairs)


def _write_profiles(
    session_name: str | None,
    aws_profile: str | None,
    chosen: list[Any],
    regions: tuple[str, ...],
    add_pairs: bool,
) -> None:
    from dataclasses import replace

    import botocore.session

    from ssmux.core.models import Settings, SyncPair
    from ssmux.core.store import update_settings
    from ssmux.errors import InvalidValue
    from ssmux.sso.config_block import write_block

    if session_name is None:
        raise InvalidValue(
            "--write-aws-config needs an sso-session (profiles of a bare start URL cannot refresh)"
        )
    session = botocore.session.Session()
    config_file = Path(session.get_config_variable("config_file")).expanduser()
    # The sign-in profile's endpoint_url (an emulator, a VPC endpoint) applies to the profiles made from it.
    settings = session.full_config.get("profiles", {}).get(aws_profile or "", {})
    written = write_block(
        config_file,
        session_name,
        chosen,
        region=regions[0] if regions else None,
        endpoint_url=settings.get("endpoint_url"),
    )
    click.echo(f"wrote {len(written.profiles)} profiles into {config_file}", err=True)
    for name in written.skipped:
        click.echo(f"ssmux: warning: profile {name} exists outside ssmux's block: left as it is", err=True)
    if not add_pairs:
        return
    new = [SyncPair(name, region) for name in written.profiles for region in regions]

    def change(current: Settings) -> Settings:
        known = {pair.key for pair in current.sync_pairs}
        return replace(current, sync_pairs=(*current.sync_pairs, *(p for p in new if p.key not in known)))

    update_settings(change)
    click.echo(
        f"sync pairs: {len(new)} for {len(written.profiles)} profiles x {len(regions)} regions", err=True
    )
