"""``ssmux ui``: the app in the browser (or a desktop window), on loopback, behind a per-launch token."""

from __future__ import annotations

import logging
import os
import sys

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

    The first line printed is the address, with a one-time code: http://127.0.0.1:PORT/?token=...
    It opens the app once (the browser opens it for you); then http://127.0.0.1:PORT/ opens more tabs in
    that browser.
    """
    from ssmux.gui.app import run
    from ssmux.gui.server import ServeOptions, check_host

    debug_logging()
    options = ServeOptions(host=host, port=port, show=not no_show, native=native, allow_remote=allow_remote)
    check_host(options)  # a bad --host is the only line, before anything else is said
    if options.show and not native and not browser_available():
        click.echo("ssmux ui: no browser found to open here: open the address it prints in one.", err=True)
    run(options)


def browser_available() -> bool:
    """Whether Python's ``webbrowser`` finds a browser to open (none on a server without a display)."""
    import webbrowser

    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def debug_logging() -> None:
    """With ``ssmux --debug`` (or ``SSMUX_DEBUG``), the app's own log lines go to stderr, debug ones too."""
    root = click.get_current_context().find_root()
    if not root.params.get("debug") and os.environ.get("SSMUX_DEBUG", "") in ("", "0"):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("ssmux: debug: %(name)s: %(message)s"))
    logger = logging.getLogger("ssmux.gui")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
