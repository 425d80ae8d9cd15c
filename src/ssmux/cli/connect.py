"""``ssmux connect TARGET``: a shell on an instance, in this terminal (or through pipes).

The options shared by ``connect``, ``exec`` and ``forward`` (TARGET resolution, ``--aws-profile``,
``--region``, ``--backend``, ``--reason``) are defined here once and reused by those commands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

BACKEND_NAMES = ("auto", "native", "plugin", "aws-cli")


def session_options(function: F) -> F:
    """TARGET and the options every session command takes."""
    decorators = [
        click.argument("target"),
        click.option(
            "--aws-profile", "aws_profile", metavar="P", help="AWS CLI profile (default: resolved)."
        ),
        click.option("--region", metavar="R", help="AWS region (default: resolved)."),
        click.option(
            "--backend",
            type=click.Choice(BACKEND_NAMES, case_sensitive=False),
            help="Session backend (default: the 'backend' setting, auto).",
        ),
        click.option("--reason", metavar="R", help="Reason recorded with the session."),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def parse_parameters(values: tuple[str, ...]) -> dict[str, list[str]]:
    """``K=V`` options into StartSession Parameters; a key given twice gets both values, in order."""
    parameters: dict[str, list[str]] = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE (e.g. --parameter portNumber=80)")
        parameters.setdefault(key.strip(), []).append(item)
    return parameters


@click.command("connect")
@session_options
@click.option("--document", metavar="D", help="SSM document (default: the account's shell document).")
@click.option(
    "--parameter", "parameters", multiple=True, metavar="K=V", help="Document parameter; repeatable."
)
def connect(
    target: str,
    aws_profile: str | None,
    region: str | None,
    backend: str | None,
    reason: str | None,
    document: str | None,
    parameters: tuple[str, ...],
) -> None:
    """Open a shell on TARGET: an instance id, a saved profile, or a synced name.

    On a terminal the session runs in raw mode: every key, Ctrl-C and Ctrl-Z included, goes to the
    remote shell; type Enter ~. to disconnect locally. With stdin not a terminal, stdin is sent as typed
    input, output goes to stdout (ssmux's own lines to stderr), and the command ends with the session.
    Exit status: the remote exit code when known, else 0, or 1 on error.
    """
    from ssmux.sessions.runner import Kind, open_session

    status = open_session(
        target,
        Kind.SHELL,
        aws_profile=aws_profile,
        region=region,
        backend=backend,
        reason=reason,
        document=document,
        parameters=parse_parameters(parameters),
    )
    raise SystemExit(status)
