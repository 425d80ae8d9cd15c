"""The ``ssmux`` command: wires the command modules, and turns errors into one line and an exit status.

Command modules are imported only when their command runs, so ``ssmux --help`` and quick commands start fast;
each entry of :data:`COMMANDS` names the module attribute and the one-line help shown in ``ssmux --help``.

Every error is one line on stderr, ``ssmux: error: <what is wrong>: <what to do>``, and the exit status says
its kind (:class:`~ssmux.errors.ExitStatus`):

* a bad command line (click's usage errors: a missing argument, an unknown option, a bad option value; an
  argument that is not UTF-8) exits 2, its line ending with ``see 'ssmux CMD --help'``;
* an :class:`~ssmux.errors.SsmuxError` exits with its status (1);
* anything else is a bug, or the system refusing (a file that cannot be written, input nested too deeply):
  known kinds get their own line, the rest ``unexpected <Type>`` and ``--debug`` for the traceback; 1.

A group run with no subcommand (``ssmux settings``) shows its help and exits 0: nothing went wrong.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from importlib import import_module
from typing import Any

import click

from ssmux import __version__
from ssmux.errors import ExitStatus, SsmuxError

#: A word (a run without spaces) longer than this in an error line is shown by its ends: messages quote what
#: was typed, which may be a 100 KB value; paths and names of any sane length still come out whole.
_WORD_LIMIT = 200
#: What click (8.2+) raises for a group run with no subcommand; click 8.1 shows the help and exits 0 itself.
_NO_ARGS_IS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())

# name -> (module:attribute, short help). Keep in the order `ssmux --help` should list them.
COMMANDS: dict[str, tuple[str, str]] = {
    "profile": ("ssmux.cli.profile:profile", "Saved profiles: add, edit, rm, ls, show."),
    "group": ("ssmux.cli.group:group", "Groups of saved profiles, with AWS profile and region overrides."),
    "settings": ("ssmux.cli.settings:settings", "Show or change settings."),
    "pair": ("ssmux.cli.pair:pair", "Sync pairs: (AWS CLI profile, region) to sync instances from."),
    "sso": ("ssmux.cli.sso:sso", "IAM Identity Center: sign in once for ssmux, the aws CLI and SDKs."),
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
    "cp": ("ssmux.cli.cp:cp", "Copy files to or from an instance: no S3, no SSH keys; resumable."),
    "ssh": ("ssmux.cli.ssh:ssh", "Run the system ssh to an instance through Session Manager."),
    "proxy": ("ssmux.cli.ssh:proxy", "Relay stdin/stdout to a port on an instance: ssh's ProxyCommand."),
    "ssh-config": ("ssmux.cli.ssh:ssh_config", "Host entries for ~/.ssh/config: ssh, scp, VS Code by name."),
    "rdp": ("ssmux.cli.rdp:rdp", "Open the RDP client on a Windows instance through a forwarded port."),
    "session-manager-plugin": ("ssmux.cli.plugin_shim:session_manager_plugin", "Drop-in for AWS's plugin."),
    "install-plugin-shim": ("ssmux.cli.plugin_shim:install_plugin_shim", "Put the drop-in plugin on PATH."),
    "emulator": (
        "ssmux.cli.emulator:emulator",
        "Run a local stand-in for AWS (EC2, STS, KMS, SSM sessions).",
    ),
    "demo": ("ssmux.cli.demo:demo", "Start the emulator with the demo fleet and show what to try."),
    "ui": ("ssmux.cli.ui:ui", "Open the app: profiles, sync and sessions in tabs, in the browser."),
    "completion": ("ssmux.cli.completion:completion", "Print the shell completion script (bash, zsh, fish)."),
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

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            if parent is None:
                _check_utf8(args)
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as error:  # the root's own options, or no subcommand at all
            raise _usage_exit(error) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SsmuxError as error:
            if _debug(ctx):
                traceback.print_exc()
            click.echo(f"ssmux: error: {bounded(str(error))}", err=True)
            ctx.exit(int(error.exit_status))
        except KeyboardInterrupt:
            click.echo("ssmux: interrupted", err=True)
            ctx.exit(int(ExitStatus.INTERRUPTED))
        except click.UsageError as error:
            raise _usage_exit(error) from None
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as error:  # a bug, or the system refusing: one line unless --debug asks for more
            if _debug(ctx):
                raise
            click.echo(f"ssmux: error: {_describe_unexpected(error)}", err=True)
            ctx.exit(int(ExitStatus.ERROR))


def _usage_exit(error: click.UsageError) -> click.exceptions.Exit:
    """Show a usage error in ssmux's one-line style; returns the Exit to raise (2, or 0 for a bare group)."""
    ctx = error.ctx
    if isinstance(error, _NO_ARGS_IS_HELP) and ctx is not None:
        click.echo(ctx.get_help())  # a group run bare: its help is the answer, not an error
        return click.exceptions.Exit(int(ExitStatus.OK))
    message = bounded(" ".join(error.format_message().split()).rstrip("."))
    command = ctx.command_path if ctx is not None else "ssmux"
    click.echo(f"ssmux: error: {message}: see '{command} --help'", err=True)
    return click.exceptions.Exit(int(ExitStatus.USAGE))


def bounded(message: str) -> str:
    """``message`` with every word over :data:`_WORD_LIMIT` characters cut to its start and end."""
    half = _WORD_LIMIT // 2
    return re.sub(
        rf"\S{{{_WORD_LIMIT + 1},}}",
        lambda word: f"{word[0][:half]}…{word[0][-half:]} ({len(word[0])} characters)",
        message,
    )


def _check_utf8(args: list[str]) -> None:
    """Refuse an argument that is not UTF-8 (on POSIX it arrives with its bytes as lone surrogates)."""
    for position, arg in enumerate(args, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            if len(shown) > 60:
                shown = shown[:57] + "..."
            click.echo(
                f"ssmux: error: argument {position} '{shown}' is not valid UTF-8: "
                "retype it, or convert it (iconv -t UTF-8)",
                err=True,
            )
            raise click.exceptions.Exit(int(ExitStatus.USAGE)) from None


def _describe_unexpected(error: Exception) -> str:
    """One line for an exception that is not an SsmuxError: what the system refused, or a bug's type."""
    if isinstance(error, OSError) and error.filename:
        return bounded(f"cannot use {error.filename}: {error.strerror or error}")
    if isinstance(error, RecursionError):
        return "the input is too deeply nested to read: flatten it"
    if isinstance(error, (UnicodeEncodeError, UnicodeDecodeError)):
        return f"text that is not valid UTF-8 ({error.reason}): use UTF-8 in arguments, files and settings"
    return bounded(f"unexpected {type(error).__name__}: {' '.join(str(error).split())} (run with --debug)")


def _debug(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool(root.params.get("debug")) or os.environ.get("SSMUX_DEBUG", "") not in ("", "0")


@click.group("ssmux", cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
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
