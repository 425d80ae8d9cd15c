"""``ssmux connect TARGET``: a shell on an instance, in this terminal (or through pipes).

The options shared by ``connect``, ``exec`` and ``forward`` (TARGET resolution, ``--aws-profile``,
``--region``, ``--backend``, ``--reason``) are defined here once and reused by those commands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

BACKEND_NAMES = ("auto", "native", "plugin", "aws-cli")


def _checked(
    check: Callable[[str], str],
) -> Callable[[click.Context, click.Parameter, str | None], str | None]:
    """A click callback running one of the store's validators (the one-line error of any bad value)."""

    def callback(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        return None if value is None else check(value)

    return callback


def session_options(function: F) -> F:
    """TARGET and the options every session command takes; --aws-profile and --region are checked as
    ``pair add`` checks them, before anything is resolved or started."""
    from ssmux.core.validation import validate_aws_profile_name, validate_region

    decorators = [
        click.argument("target"),
        click.option(
            "--aws-profile",
            "aws_profile",
            metavar="P",
            callback=_checked(validate_aws_profile_name),
            help="AWS CLI profile (default: resolved).",
        ),
        click.option(
            "--region",
            metavar="R",
            callback=_checked(validate_region),
            help="AWS region (default: resolved).",
        ),
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


def run_session(target: str, kind: Any, **options: Any) -> NoReturn:
    """Open the session (:func:`ssmux.sessions.runner.open_session`) and exit with its status.

    An AWS error for an instance id no synced pair knows says so, with the profile and region tried: the
    id may simply be in another account or region.
    """
    from ssmux.errors import AwsError
    from ssmux.sessions.resolve_target import unknown_instance_note
    from ssmux.sessions.runner import open_session

    try:
        status = open_session(target, kind, **options)
    except AwsError as error:
        note = unknown_instance_note(
            target, aws_profile=options.get("aws_profile"), region=options.get("region")
        )
        if note is None:
            raise
        raise AwsError(f"{error.message} ({note})", error.code) from error
    raise SystemExit(status)


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
@click.option(
    "--command",
    metavar="CMD",
    help="Run CMD in a terminal instead of a shell (a container: default /bin/sh; an instance: with "
    "AWS-StartInteractiveCommand).",
)
def connect(
    target: str,
    aws_profile: str | None,
    region: str | None,
    backend: str | None,
    reason: str | None,
    document: str | None,
    parameters: tuple[str, ...],
    command: str | None,
) -> None:
    """Open a shell on TARGET: an instance id, a saved profile, or a name as 'ssmux ls' finds it; or on
    an ECS container (ECS Exec), named cluster/service/container, by its task id or its container name.

    On a terminal the session runs in raw mode: every key, Ctrl-C and Ctrl-Z included, goes to the
    remote shell; type Enter ~. to disconnect locally. With stdin not a terminal (echo 'uname' | ssmux
    connect web-1), stdin is read to its end and run as one sh script, as 'ssmux exec' runs a command: stdout
    and stderr carry only the script's own, with no prompt or echo, and the exit status is the script's.
    With --document, or on a Windows instance, stdin is instead typed into the session as it comes.
    Exit status: the remote exit code when known, else 0, or 1 on error.
    """
    from ssmux.sessions.runner import Kind

    options: dict[str, Any] = {
        "aws_profile": aws_profile,
        "region": region,
        "backend": backend,
        "reason": reason,
    }
    plain = document is None and not parameters and command is None
    piped = plain and not _on_windows(target, aws_profile, region)
    script = _piped_script() if piped else None
    if script is not None:
        run_session(target, Kind.EXEC, command=script, **options)
    run_session(target, Kind.SHELL, document=document, parameters=parse_parameters(parameters),
                command=command, **options)  # fmt: skip


def _on_windows(target: str, aws_profile: str | None, region: str | None) -> bool:
    """Whether the sync knows TARGET as a Windows instance, whose command sessions are no ``sh -c``.

    Only asked when stdin is not a terminal: a Windows instance then keeps the typed-input pipe mode.
    """
    import sys

    from ssmux.errors import SsmuxError
    from ssmux.sessions.resolve_target import lookup

    if sys.stdin is None or sys.stdin.isatty():
        return False
    try:
        found = lookup(target, aws_profile=aws_profile, region=region).targets
    except SsmuxError:
        return False  # resolving the session says what is wrong
    return bool(found) and all(item.platform == "windows" for item in found)


def _piped_script() -> str | None:
    """All of stdin when it is not a terminal (pipe mode), else ``None``.

    Why a script and not typed input: a shell fed through a pty echoes each line after a prompt and wraps
    its output in escape sequences, so its stdout cannot be used in a pipeline; a NonInteractiveCommands
    session (the one ``exec`` uses) gives exactly the commands' output and their exit status.

    Raises:
        InvalidValue: stdin is not UTF-8 text.
    """
    import sys

    from ssmux.errors import InvalidValue

    stdin = sys.stdin
    if stdin is None or stdin.isatty():
        return None
    data = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidValue(
            "stdin is not UTF-8 text: pipe a shell script, or use 'ssmux exec' for a single command"
        ) from None
