"""``ssmux rdp TARGET``: Remote Desktop to a Windows instance through a forwarded port (no open 3389).

See :mod:`ssmux.sessions.rdp` for the clients, :mod:`ssmux.sessions.rdp_password` for ``--password``.
"""

from __future__ import annotations

from pathlib import Path

import click

from ssmux.cli.ssh import on_terminal, profile_and_region


@click.command("rdp")
@click.argument("target")
@profile_and_region
@click.option("--reason", metavar="R", help="Reason recorded with the session.")
@click.option("--client", "client", metavar="PATH", help="The RDP client to run (default: the platform's).")
@click.option("--user", metavar="NAME", help="User name handed to the client (--password: Administrator).")
@click.option(
    "--port",
    "remote_port",
    type=click.IntRange(1, 65535),
    default=3389,
    show_default=True,
    help="The instance's RDP port.",
)
@click.option(
    "--password", is_flag=True, help="Print the Administrator password first (GetPasswordData, needs --key)."
)
@click.option(
    "--key",
    "key_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Private key (.pem) of the instance's key pair, to decrypt --password.",
)
def rdp(
    target: str,
    aws_profile: str | None,
    region: str | None,
    reason: str | None,
    client: str | None,
    user: str | None,
    remote_port: int,
    password: bool,
    key_file: Path | None,
) -> None:
    """Forward TARGET's RDP port to a free local port and open the RDP client on it.

    The client is mstsc on Windows, Microsoft Remote Desktop on macOS, xfreerdp or remmina on Linux;
    --client picks another. The forward ends when the client exits. With --password --key FILE the
    Administrator password is fetched, decrypted and printed on stdout before the client starts.
    Exit status: the client's.
    """
    import asyncio
    import sys

    from ssmux.errors import ExitStatus, InvalidValue
    from ssmux.sessions.rdp import client_argv, run_rdp
    from ssmux.sessions.runner import Kind, build_request
    from ssmux.sessions.ssh import resolve_ssh_target

    if password and key_file is None:
        raise InvalidValue("--password needs the key pair's private key: add --key FILE.pem")
    if client is not None:
        client_argv(0, override=client)  # a client that is not there fails now, before any session
    resolved = resolve_ssh_target(target, aws_profile=aws_profile, region=region, interactive=on_terminal())
    user = user or resolved.user
    if password and key_file is not None:
        from ssmux.sessions.rdp_password import administrator_password

        secret = administrator_password(
            resolved.instance_id, key_file, aws_profile=resolved.aws_profile, region=resolved.region
        )
        user = user or "Administrator"
        click.echo(f"{user} password: {secret}")
    request = build_request(
        Kind.FORWARD, resolved.instance_id, resolved.aws_profile, resolved.region, reason=reason,
        remote_port=remote_port, local_port=0,
    )  # fmt: skip

    def started(port: int, argv: object) -> None:
        sys.stderr.write(f"RDP to {resolved.instance_id} on {port}: the forward ends when the client exits\n")
        sys.stderr.flush()

    def argv_for(port: int) -> list[str]:
        return client_argv(port, override=client, user=user)

    try:
        result = asyncio.run(run_rdp(request, argv_for, started=started))
    except KeyboardInterrupt:
        raise SystemExit(int(ExitStatus.INTERRUPTED)) from None
    raise SystemExit(result.exit_code)
