"""ssmux as a drop-in ``session-manager-plugin``: the plugin's argv contract, run by the native client.

``aws ssm start-session`` (and every tool that execs the plugin) calls ``session-manager-plugin`` with the
contract of docs/ssm-protocol.md §2. ``ssmux session-manager-plugin ARGS...`` accepts exactly that, and
:func:`install_shim` writes a small ``session-manager-plugin`` launcher (a ``sh`` script, or a ``.cmd`` on
Windows) that runs it with this Python (through :mod:`ssmux.cli.dropin`, which skips the command group), so
the aws CLI works with no AWS plugin installed.

As the plugin does:

* no arguments: prints that the plugin is installed;
* ``--version``: prints :data:`~ssmux.sessions.PLUGIN_VERSION` (greater than 1.2.497.0, so the aws
  CLI passes the session response through ``AWS_SSM_START_SESSION_RESPONSE`` and the token stays out of the
  process list);
* 2 or 3 arguments: "Unknown operation";
* 4 arguments: an old aws CLI without the profile argument: the session runs, but KMS encryption is refused
  (the plugin does the same, because it could not know which credentials to use);
* argv[1] starting with ``AWS_SSM_START_SESSION_RESPONSE``: the response is read from that environment
  variable, which is then removed from the environment;
* ``aws ecs execute-command`` (aws-cli ``awscli/customizations/ecs/executecommand.py``): argv[1] is
  ExecuteCommand's ``session`` with lower-case keys (matched without regard to case, as Go does), argv[5]'s
  Target is ``ecs:<cluster>_<task-id>_<container-runtime-id>``, and argv[6] is the **ECS** endpoint: the
  plugin sends ResumeSession and TerminateSession there (signed for SSM), and so does the shim.

Unlike the plugin, a session that cannot start exits with status 1 and one line on stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ssmux.errors import InvalidValue, SessionError
from ssmux.protocol.versions import START_SESSION_RESPONSE_ENV_VAR as ENV_PREFIX
from ssmux.sessions import PLUGIN_VERSION

INSTALLED_MESSAGE = (
    "\nThe Session Manager plugin was installed successfully. Use the AWS CLI to start a session.\n\n"
)
SHIM_NAME = "session-manager-plugin"


@dataclass(frozen=True)
class PluginCall:
    """A parsed plugin invocation that starts a session."""

    session_id: str
    token: str
    stream_url: str
    region: str
    operation: str
    aws_profile: str | None
    target: str
    request: dict[str, Any] = field(default_factory=dict)
    endpoint_url: str | None = None
    old_cli: bool = False  # 4 arguments: no profile was passed, so KMS is refused


@dataclass(frozen=True)
class Reply:
    """A plugin invocation answered by printing ``text`` (no session): ``--version``, no arguments..."""

    text: str
    exit_status: int = 0


def parse_plugin_args(args: Sequence[str], environ: MutableMapping[str, str]) -> PluginCall | Reply:
    """Interpret ``session-manager-plugin`` arguments (without argv[0]) as the plugin does.

    Args:
        args: the arguments after the program name.
        environ: the environment; a response variable named by argv[1] is read and removed from it.

    Raises:
        InvalidValue: the response or request JSON cannot be used (one line naming the argument).
    """
    if not args:
        return Reply(INSTALLED_MESSAGE)
    if len(args) == 1 and args[0] == "--version":
        return Reply(PLUGIN_VERSION + "\n")
    if len(args) < 3:
        return Reply(
            f"\nUnknown operation {args[0]}. \nUse session-manager-plugin --version to check the version.\n\n"
        )
    raw = args[0]
    if raw.startswith(ENV_PREFIX):
        # Read, then drop it: the token must not leak into anything this process starts.
        raw = environ.pop(raw, "")
        source = f"environment variable {args[0]}"
    else:
        source = "argument 1"
    operation = args[2]
    if operation != "StartSession":
        return Reply("Invalid Operation", 1)
    try:
        response = json.loads(raw)
        session_id, token, stream_url = (
            _go_field(response, key) for key in ("SessionId", "TokenValue", "StreamUrl")
        )
    except (ValueError, KeyError, TypeError):
        raise InvalidValue(
            f"{source} is not a StartSession response (JSON with SessionId, TokenValue, StreamUrl): "
            "run this through 'aws ssm start-session' or 'aws ecs execute-command'"
        ) from None
    request: dict[str, Any] = {}
    if len(args) >= 5:
        try:
            parsed = json.loads(args[4])
        except ValueError:
            raise InvalidValue("argument 5 is not the StartSession request JSON") from None
        if isinstance(parsed, dict):
            request = parsed
    return PluginCall(
        session_id=session_id,
        token=token,
        stream_url=stream_url,
        region=args[1],
        operation=operation,
        aws_profile=(args[3] or None) if len(args) >= 4 else None,
        target=str(request.get("Target", "")),
        request=request,
        endpoint_url=(args[5] or None) if len(args) >= 6 else None,
        old_cli=len(args) == 3,
    )


#: The module the launcher runs: the plugin contract without the ``ssmux`` command group.
ENTRY_MODULE = "ssmux.cli.dropin"


def _go_field(response: Any, name: str) -> str:
    """The string field ``name`` of the response object, its key matched as Go's ``json.Unmarshal`` does.

    The plugin reads the response into aws-sdk-go's ``StartSessionOutput``, and Go matches JSON keys to
    field names without regard to case (a later key wins over an earlier one): that is how the lower-case
    ``sessionId``, ``streamUrl``, ``tokenValue`` of ECS ExecuteCommand's ``session``, which ``aws ecs
    execute-command`` passes as argv[1], reach the same fields as StartSession's own keys
    (session-manager-plugin ``src/sessionmanagerplugin/session/session.go``, ValidateInputAndStartSession).

    Raises:
        KeyError: no such key; TypeError: not an object, or the value is not a string.
    """
    if not isinstance(response, dict):
        raise TypeError("not a JSON object")
    wanted = name.lower()
    found: Any = None
    for key, value in response.items():
        if key.lower() == wanted:
            found = value
    if found is None:
        raise KeyError(name)
    if not isinstance(found, str):
        raise TypeError(f"{name} is not a string")
    return found


def shim_script(python: str, windows: bool) -> str:
    """The launcher's text: run ``python -m ssmux.cli.dropin`` with all arguments, verbatim.

    ``python`` is quoted for the launcher's own interpreter so that any path (spaces, quotes, ``$``) works.
    The ``sh`` launcher answers the two calls that start no session itself, as the plugin answers them:
    ``--version`` (the aws CLI asks it before every ``ssm start-session``) and no arguments (``aws ecs
    execute-command`` checks the plugin is there so), so they cost no Python start. The ``.cmd`` one leaves
    them to Python: cmd's ``if "%~1"==`` breaks on the quotes of the JSON argument the session call passes.
    """
    if windows:
        if '"' in python or "%" in python:
            raise InvalidValue(f'cannot write a .cmd launcher for a Python path containing " or %: {python}')
        return f'@echo off\r\n"{python}" -m {ENTRY_MODULE} %*\r\nexit /b %ERRORLEVEL%\r\n'
    version, installed = _sh_quote(PLUGIN_VERSION), _sh_quote(INSTALLED_MESSAGE)
    return (
        "#!/bin/sh\n"
        "# Written by ssmux install-plugin-shim: ssmux's native client as the plugin.\n"
        f'if [ "$#" -eq 1 ] && [ "$1" = "--version" ]; then printf "%s\\n" {version}; exit 0; fi\n'
        f'if [ "$#" -eq 0 ]; then printf "%s" {installed}; exit 0; fi\n'
        f'exec {_sh_quote(python)} -m {ENTRY_MODULE} "$@"\n'
    )


def _sh_quote(text: str) -> str:
    """``text`` as one single-quoted ``sh`` word (newlines stay literal inside the quotes)."""
    return "'" + text.replace("'", "'\"'\"'") + "'"


def install_shim(directory: Path, python: str | None = None, *, windows: bool | None = None) -> Path:
    """Write the ``session-manager-plugin`` launcher into ``directory`` and return its path.

    The file is written to a temporary name and renamed, so a half-written launcher never exists.

    Raises:
        SessionError: the folder cannot be created or written.
    """
    windows = sys.platform == "win32" if windows is None else windows
    python = python or sys.executable
    text = shim_script(python, windows)
    target = directory / (SHIM_NAME + (".cmd" if windows else ""))
    temporary = directory / f".{target.name}.{os.getpid()}.tmp"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text, encoding="utf-8", newline="")
        mode = stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
        temporary.chmod(mode)
        temporary.replace(target)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise SessionError(
            f"cannot write {target}: {error.strerror or error}: choose another folder"
        ) from None
    return target


def on_path(directory: Path) -> bool:
    """True when ``directory`` is one of the folders of PATH."""
    wanted = directory.resolve()
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if entry and Path(entry).expanduser().resolve() == wanted:
            return True
    return False
