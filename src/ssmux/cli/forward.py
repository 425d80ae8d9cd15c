"""``ssmux forward TARGET LOCAL_PORT:REMOTE_PORT [--host HOST]``: port forwarding through an instance or
an ECS container."""

from __future__ import annotations

import click

from ssmux.cli.connect import run_session, session_options


def parse_ports(value: str) -> tuple[int, int]:
    """``LOCAL:REMOTE`` (or just ``PORT`` for the same on both sides) into two port numbers.

    LOCAL may be 0: the system picks a free port, printed in the "Port N opened" line.
    """
    local, sep, remote = value.partition(":")
    if not sep:
        remote = local
    try:
        ports = int(local), int(remote)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not LOCAL_PORT:REMOTE_PORT (e.g. 8080:80)") from None
    if not 0 <= ports[0] <= 65535 or not 1 <= ports[1] <= 65535:
        raise click.BadParameter(f"{value!r}: ports go from 1 to 65535 (0 for LOCAL picks a free port)")
    return ports


@click.command("forward")
@session_options
@click.argument("ports", metavar="LOCAL_PORT:REMOTE_PORT")
@click.option(
    "--host", metavar="HOST", help="Forward to HOST:REMOTE_PORT reached from the instance (RDS, ...)."
)
@click.option(
    "--bind", default="127.0.0.1", show_default=True, metavar="ADDRESS", help="Local address to listen on."
)
def forward(
    target: str,
    aws_profile: str | None,
    region: str | None,
    backend: str | None,
    reason: str | None,
    ports: str,
    host: str | None,
    bind: str,
) -> None:
    """Forward LOCAL_PORT on this machine to REMOTE_PORT on TARGET (or on --host, through TARGET).

    TARGET may be an ECS container (its task's ports; --host through it). Many connections at once share
    the session. Prints "Port N opened for sessionId ..." and "Waiting for
    connections..." like the plugin; Ctrl-C stops it cleanly.
    """
    from ssmux.sessions.forward import check_local_port
    from ssmux.sessions.runner import Kind

    local_port, remote_port = parse_ports(ports)
    # A taken port fails here, before a session is started on the instance for nothing.
    check_local_port(bind, local_port)
    run_session(
        target,
        Kind.FORWARD,
        aws_profile=aws_profile,
        region=region,
        backend=backend,
        reason=reason,
        local_port=local_port,
        remote_port=remote_port,
        remote_host=host,
        bind=bind,
    )
