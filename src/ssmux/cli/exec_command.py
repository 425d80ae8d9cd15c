"""``ssmux exec TARGET -- COMMAND...``: a command line run by the remote sh; stdout, stderr, exit code.

How it is run on AWS: :mod:`ssmux.sessions.remote_exec`.
"""

from __future__ import annotations

import click

from ssmux.cli.connect import run_session, session_options
from ssmux.cli.exec_many import ExecDispatch


# ExecDispatch hands `exec --group G | --tag K=V | TARGET... -- CMD` to ssmux.cli.exec_many.
@click.command("exec", cls=ExecDispatch, context_settings={"ignore_unknown_options": True})
@session_options
@click.option(
    "--document",
    metavar="D",
    help="Document with a 'command' parameter (default: AWS-StartNonInteractiveCommand).",
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_command(
    target: str,
    aws_profile: str | None,
    region: str | None,
    backend: str | None,
    reason: str | None,
    document: str | None,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND on TARGET and exit with its exit code.

    Put COMMAND after -- so its options are not taken for ssmux's. The words of COMMAND are joined with
    spaces and run by the remote sh, as ssh does: 'a; b' runs a, then b. The remote stdout goes to stdout
    and its stderr to stderr, when the document takes separateOutputStream (AWS-StartNonInteractiveCommand
    does in its recent versions); with a document that does not, stderr comes merged into stdout, and a
    note says so. Ctrl-C sends SIGINT to the remote sh; a second one ends the session. With backend auto
    this uses the native client, the only one that keeps the two streams apart and reports the exit code.

    On an ECS container (ECS Exec, interactive only) the command runs in a pty: stderr comes merged into
    stdout, and the exit code is read from a marker the native client removes.
    """
    from ssmux.sessions.remote_exec import command_line
    from ssmux.sessions.runner import Kind

    run_session(
        target,
        Kind.EXEC,
        aws_profile=aws_profile,
        region=region,
        backend=backend,
        reason=reason,
        document=document,
        command=command_line(command),
    )
