"""The ``ssmux`` command: wires the command modules, and turns errors into one line and an exit status.

Command modules are imported only when their command runs, so ``ssmux --help`` and quick commands start fast;
each entry of :data:`COMMANDS` names the module attribute and the one-line help shown in ``ssmux --help``.
"""

from __future__ import annotations

import os
import sys
import traceback
from importlib import import_module
from typing import Any

import click

from ssmux import __version__
from ssmux.errors import ExitStatus, SsmuxError

# name -> (module:attribute, short help). Keep in the order `ssmux --help` should list them.
COMMANDS: dict[str, tuple[str, str]] = {
    "profile": ("ssmux.cli.profile:profile", "Saved profiles: add, edit, rm, ls, show."),
    "group": ("ssmux.cli.group:group", "Groups of saved profiles, with AWS profile and region overrides."),
    "settings": ("ssmux.cli.settings:settings", "Show or change settings."),
    "pair": ("ssmux.cli.pair:pair", "Sync pairs: (AWS CLI profile, region) to sync instances from."),
    "aws-profiles": (
        "ssmux.cli.aws_profiles:aws_profiles",
        "AWS CLI profiles found in the AWS config files.",
    ),
    "import": ("ssmux.cli.transfer:import_command", "Import profiles and groups from a TOML or CSV file."),
    "export": ("ssmux.cli.transfer:export_command", "Export profiles and groups to a TOML or CSV file."),
    "sync": ("ssmux.cli.sync:sync", "Sync instances of the (AWS CLI profile, region) pairs into the cache."),
    "ls": ("ssmux.cli.ls:ls", "List every target: saved profiles and synced instances; search them."),
    "connect": ("ssmux.cli.connect:connect", "Open a shell on an instance in this terminal."),
    "exec": ("ssmux.cli.exec_command:exec_command", "Run a command on an instance; exit with its exit code."),
    "forward": ("ssmux.cli.forward:forward", "Forward a local port to a port on or behind an instance."),
    "session-manager-plugin": ("ssmux.cli.plugin_shim:session_manager_plugin", "Drop-in for AWS's plugin."),
    "install-plugin-shim": ("ssmux.cli.plugin_shim:install_plugin_shim", "Put the drop-in plugin on PATH."),
    "emulator": (
        "ssmux.cli.emulator:emulator",
        "Run a local stand-in for AWS (EC2, STS, KMS, SSM sessions).",
    ),
    "demo": ("ssmux.cli.demo:demo", "Start the emulator with the demo fleet and show what to try."),
    "ui": ("ssmux.cli.ui:ui", "Open the app: profiles, sync and sessions in tabs, in the browser."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use, and which owns error reporting."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.lazy, *sorted(set(self.commands) - set(self.lazy))]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in self.lazy:
            return None
        module_name, attribute = self.lazy[cmd_name][0].split(":")
        command = getattr(import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module_name}:{attribute} is not a click command")
        self.commands[cmd_name] = command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help comes from the table, so listing commands imports none of them.
        rows = [(name, help_text) for name, (_, help_text) in self.lazy.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SsmuxError as error:
            if _debug(ctx):
                traceback.print_exc()
            click.echo(f"ssmux: error: {error}", err=True)
            ctx.exit(int(error.exit_status))
        except KeyboardInterrupt:
            click.echo("ssmux: interrupted", err=True)
            ctx.exit(int(ExitStatus.INTERRUPTED))
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as error:  # a bug: say so in one line unless --debug asks for the traceback
            if _debug(ctx):
                raise
            click.echo(
                f"ssmux: error: unexpected {type(error).__name__}: {error} (run with --debug)", err=True
            )
            ctx.exit(int(ExitStatus.ERROR))


def _debug(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool(root.params.get("debug")) or os.environ.get("SSMUX_DEBUG", "") not in ("", "0")


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks and AWS call details.")
@click.version_option(__version__, prog_name="ssmux")
def cli(debug: bool) -> None:
    """Reach EC2 instances and managed nodes through AWS Systems Manager Session Manager."""


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        cli.main(args=argv, prog_name="ssmux")
    except KeyboardInterrupt:
        click.echo("ssmux: interrupted", err=True)
        sys.exit(int(ExitStatus.INTERRUPTED))
