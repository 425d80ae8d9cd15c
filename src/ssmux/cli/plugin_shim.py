"""``ssmux session-manager-plugin ARGS...`` (the drop-in) and ``ssmux install-plugin-shim [DIR]``."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(
    "session-manager-plugin",
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def session_manager_plugin(args: tuple[str, ...]) -> None:
    """Drop-in for AWS's session-manager-plugin: same arguments, ssmux's native client.

    This is what `aws ssm start-session` runs once `ssmux install-plugin-shim` has put a
    session-manager-plugin launcher on PATH.
    """
    from ssmux.sessions.runner import run_plugin_call

    raise SystemExit(run_plugin_call(list(args)))


@click.command("install-plugin-shim")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def install_plugin_shim(directory: Path | None) -> None:
    """Put a session-manager-plugin launcher in DIRECTORY (default: next to this Python's scripts).

    The launcher runs `ssmux session-manager-plugin` with this Python, so `aws ssm start-session` and other
    tools that run the plugin use ssmux's native client; no AWS plugin needs to be installed.
    """
    import sys
    import sysconfig

    from ssmux.sessions.shim import install_shim, on_path

    folder = directory or Path(sysconfig.get_path("scripts"))
    path = install_shim(folder)
    click.echo(f"Installed {path}")
    if not on_path(folder):
        click.echo(
            f"Note: {folder} is not on PATH; add it so the aws CLI finds session-manager-plugin.", err=True
        )
    if sys.platform == "win32":
        click.echo("Note: the aws CLI finds session-manager-plugin.cmd through PATHEXT.", err=True)
