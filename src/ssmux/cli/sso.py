"""``ssmux sso``: sign in to IAM Identity Center once, for ssmux, the aws CLI and every SDK."""

from __future__ import annotations

import webbrowser
from collections.abc import Callable
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
@click.option("--use-device-code", is_flag=True, help="Sign in with a code, e.g. on another device.")
def login_command(
    session_name: str | None,
    start_url: str | None,
    sso_region: str | None,
    no_browser: bool,
    use_device_code: bool,
) -> None:
    """Sign in; the token goes where the aws CLI keeps it (~/.aws/sso/cache).

    An sso-session signs in in this machine's browser (authorization code with PKCE, as the aws CLI does);
    with --use-device-code or --no-browser, with no browser here, or for a bare start URL, you confirm a
    code on a page you can open anywhere.
    """
    from ssmux.cli.ui import browser_available
    from ssmux.core.aws import AwsClients
    from ssmux.core.validation import validate_region
    from ssmux.sso.login import Authorization, CodeLogin, DeviceLogin, resolve_target

    if sso_region is not None:
        validate_region(sso_region)
    target, aws_profile = resolve_target(session_name=session_name, start_url=start_url, region=sso_region)
    oidc = AwsClients().unsigned_client("sso-oidc", aws_profile, target.region)
    if target.session_name and not (use_device_code or no_browser) and browser_available():
        token = CodeLogin(oidc, target).login(_open_sign_in_page)
    else:

        def show(authorization: Authorization) -> None:
            # stderr: stdout stays for what the command reports.
            click.echo(
                f"Sign in at {authorization.verification_uri_complete}\n"
                f"and check that the page shows the code {authorization.user_code}.",
                err=True,
            )
            if not no_browser and not webbrowser.open(authorization.verification_uri_complete):
                click.echo("(no browser could be opened: open the address above yourself)", err=True)

        token = DeviceLogin(oidc, target).login(show)
    until = token.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    print_lines([f"signed in to {target.start_url}; the sign-in is valid until {until}"])


def _open_sign_in_page(url: str) -> None:
    click.echo(
        "Sign in in the browser that opened; if none did, open this address on this machine:\n" + url,
        err=True,
    )
    webbrowser.open(url)


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
@click.option(
    "--all-regions",
    is_flag=True,
    help="Every region enabled in each account (account:ListRegions, else EC2 DescribeRegions).",
)
@click.option("--add-pairs", is_flag=True, help="Add a sync pair per chosen role and --region.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON with stable field names.")
def discover_command(
    session_name: str | None,
    start_url: str | None,
    sso_region: str | None,
    roles: tuple[str, ...],
    accounts: tuple[str, ...],
    write_aws_config: bool,
    regions: tuple[str, ...],
    all_regions: bool,
    add_pairs: bool,
    as_json: bool,
) -> None:
    """List every account and role you can reach; optionally add sync pairs and AWS CLI profiles for them.

    --add-pairs adds a pair per chosen role and --region that signs as the role itself
    (sso:SESSION/ACCOUNT/ROLE); with --write-aws-config the roles become AWS CLI profiles in a marked block
    of the AWS config, and the pairs use those. --all-regions instead of --region asks each account, as
    its role, which regions it has enabled, and pairs each role with those. Pairs show the account's name
    and the role; running discovery again updates them.
    """
    from ssmux.cli.output import print_json, print_text_table
    from ssmux.core.aws import AwsClients
    from ssmux.core.validation import validate_region
    from ssmux.errors import InvalidValue
    from ssmux.sso.discover import discover
    from ssmux.sso.login import resolve_target, usable_token

    regions = tuple(validate_region(region) for region in regions)
    if all_regions and regions:
        raise InvalidValue("give --region or --all-regions, not both")
    if add_pairs and not (regions or all_regions):
        raise InvalidValue("--add-pairs needs at least one --region, or --all-regions")
    if sso_region is not None:
        validate_region(sso_region)
    target, aws_profile = resolve_target(session_name=session_name, start_url=start_url, region=sso_region)
    clients = AwsClients()
    token = usable_token(target, lambda: clients.unsigned_client("sso-oidc", aws_profile, target.region))
    found = discover(clients.unsigned_client("sso", aws_profile, target.region), token, target)
    chosen = found.select(roles=roles, accounts=accounts)
    enabled = _enabled_regions(clients, target.session_name, chosen) if all_regions else None
    if as_json:
        document: dict[str, Any] = {
            "roles": [
                {"account_id": r.account_id, "account_name": r.account_name, "role_name": r.role_name}
                for r in chosen
            ],
            "failed": [{"account_id": a, "error": e} for a, e in found.failed],
        }
        if enabled is not None:
            document["regions"] = {account: list(names) for account, names in enabled.regions.items()}
            document["regions_failed"] = [{"account_id": a, "error": e} for a, e in enabled.failed]
        print_json(document)
    else:
        print_text_table(
            ["ACCOUNT", "ACCOUNT ID", "ROLE"], [[r.account_name, r.account_id, r.role_name] for r in chosen]
        )
        for account_id, error in found.failed:
            click.echo(
                f"ssmux: warning: the roles of account {account_id} could not be listed: {error}", err=True
            )
    from ssmux.cli.output import plural
    from ssmux.sso.organization import vanished_role_pairs

    if not found.failed:  # with accounts unlisted, a missing role may only be unlisted
        gone = vanished_role_pairs(target.session_name, found.roles)
        if gone:
            names = ", ".join(f"{pair.aws_profile}/{pair.region}" for pair in gone[:3])
            more = f" and {len(gone) - 3} more" if len(gone) > 3 else ""
            click.echo(
                f"ssmux: warning: {plural(len(gone), 'sync pair')} of roles you can no longer reach "
                f"({names}{more}): remove with 'ssmux pair rm PROFILE/REGION'",
                err=True,
            )
    if enabled is not None and not as_json:
        _say_enabled(enabled)
    per_account = enabled.regions if enabled is not None else regions
    if write_aws_config:
        _write_profiles(target.session_name, aws_profile, chosen, per_account, add_pairs)
    elif add_pairs:
        from ssmux.sso.organization import add_role_pairs

        added = add_role_pairs(target.session_name, chosen, per_account)
        click.echo(
            f"sync pairs: {len(added)} added for {len(chosen)} roles x {_regions_text(per_account)}, each "
            "signing as its role (no AWS CLI profile written)",
            err=True,
        )


def _enabled_regions(clients: Any, session_name: str | None, chosen: list[Any]) -> Any:
    from ssmux.errors import InvalidValue
    from ssmux.sso.regions import enabled_regions

    if session_name is None:
        raise InvalidValue("--all-regions asks each account as its role: give --sso-session NAME")
    return enabled_regions(clients, session_name, chosen)


def _say_enabled(enabled: Any) -> None:
    from ssmux.cli.output import plural

    counts = sorted({len(names) for names in enabled.regions.values()}) or [0]
    spread = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    line = f"regions: {spread} enabled in each of {plural(len(enabled.regions), 'account')}"
    if enabled.fell_back:
        line += f" ({len(enabled.fell_back)} denied account:ListRegions: asked with ec2:DescribeRegions)"
    click.echo(line, err=True)
    for account_id, error in enabled.failed:
        click.echo(
            f"ssmux: warning: the regions of account {account_id} could not be listed (no pairs): {error}",
            err=True,
        )


def _regions_text(regions: Any) -> str:
    from collections.abc import Mapping

    if isinstance(regions, Mapping):
        return "the regions enabled in each account"
    return f"{len(regions)} regions"


def _write_profiles(
    session_name: str | None,
    aws_profile: str | None,
    chosen: list[Any],
    regions: Any,
    add_pairs: bool,
) -> None:
    from ssmux.sso.organization import write_profiles

    done = write_profiles(session_name, aws_profile, chosen, regions, add_pairs=add_pairs)
    click.echo(f"wrote {len(done.written.profiles)} profiles into {done.config_file}", err=True)
    for name in done.written.skipped:
        click.echo(f"ssmux: warning: profile {name} exists outside ssmux's block: left as it is", err=True)
    if add_pairs:
        profiles, pairs = len(done.written.profiles), len(done.pairs)
        click.echo(f"sync pairs: {pairs} for {profiles} profiles x {_regions_text(regions)}", err=True)
