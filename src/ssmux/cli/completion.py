"""``ssmux completion SHELL``: the shell completion script for bash, zsh or fish, from click.

The script calls ``ssmux`` back with ``_SSMUX_COMPLETE`` set, so completions follow the installed commands
and options; nothing is generated ahead of time.
"""

from __future__ import annotations

import click

#: The shells click completes.
SHELLS = ("bash", "zsh", "fish")


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish).

    Load it from your shell's start-up file:

    \b
      eval "$(ssmux completion bash)"   # ~/.bashrc
      eval "$(ssmux completion zsh)"    # ~/.zshrc
      ssmux completion fish > ~/.config/fish/completions/ssmux.fish
    """
    from click.shell_completion import get_completion_class

    make = get_completion_class(shell)
    if make is None:  # click knows every shell of the choice above; a newer click dropping one lands here
        raise click.UsageError(f"click cannot complete {shell}")
    root = ctx.find_root().command
    click.echo(make(root, {}, "ssmux", "_SSMUX_COMPLETE").source())
