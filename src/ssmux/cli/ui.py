"""``ssmux ui``: the app in the browser (or a desktop window), on loopback, behind a per-launch token."""

from __future__ import annotations

import click

SERVE_OPTIONS = [
    click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on."),
    click.option(
        "--port",
        default=0,
        show_default=True,
        type=click.IntRange(0, 65535),
        help="Port to listen on (0: any free port).",
    ),
    click.option(
        "--native", is_flag=True, help="Open a desktop window (needs pywebview) instead of the browser."
    ),
    click.option("--no-show", is_flag=True, help="Do not open the browser; just print the URL."),
    click.option(
        "--allow-remote",
        is_flag=True,
        help="Allow a non-loopback --host (anyone who reaches the port and has the token gets shells).",
    ),
]


def serve_options(function: click.decorators.FC) -> click.decorators.FC:
    """The options ``ui`` and ``demo`` share."""
    for option in reversed(SERVE_OPTIONS):
        function = option(function)
    return function


@click.command("ui")
@serve_options
def ui(host: str, port: int, native: bool, no_show: bool, allow_remote: bool) -> None:
    """Open the app: profiles, sync and sessions in tabs.

    The first line printed is the address, with its access token: http://127.0.0.1:PORT/?token=...
    """
    from ssmux.gui.app import run
    from ssmux.gui.server import ServeOptions

    run(ServeOptions(host=host, port=port, show=not no_show, native=native, allow_remote=allow_remote))
