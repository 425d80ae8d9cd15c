"""``ssmux exec TARGET -- COMMAND...``: run a command on an instance; stdout and stderr apart, exit code."""

from __future__ import annotations

import click

from ssmux.cli.connect import session_options


@click.command("exec", context_settings={"ignore_unknown_options": True})
@session_options
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_command(
    target: str,
    aws_profile: str | None,
    region: str | None,
    backend: str | None,
    reason: str | None,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND on TARGET with AWS-StartNonInteractiveCommand and exit with its exit code.

    Put COMMAND after -- so its options are not taken for ssmux's. The words of COMMAND are joined with
    spaces and run by the remote shell, as ssh does. The remote
    stdout goes to stdout and its stderr to stderr. Ctrl-C interrupts the remote command; a second one ends
    the session. With backend auto this uses the native client, the only one that keeps the two streams
    apart and reports the exit code.
    """
    from ssmux.sessions.runner import Kind, open_session

    status = open_session(
        target,
        Kind.EXEC,
        aws_profile=aws_profile,
        region=region,
        backend=backend,
        reason=reason,
        command=" ".join(command),
    )
    raise SystemExit(status)
