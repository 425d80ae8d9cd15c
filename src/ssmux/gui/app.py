"""The app: wires the pages to the shared services, and runs it (``ssmux ui`` / ``ssmux demo``).

Each page is a module of :mod:`ssmux.gui.pages` with one ``create(services)``; :func:`register` calls them
all. Tests call :func:`register` inside NiceGUI's user simulation; :func:`run` serves the same pages for real
(see :mod:`ssmux.gui.server` for the socket, the token and the access guard).
"""

from __future__ import annotations

import logging
from typing import Any

from ssmux.gui.server import ServeOptions, serve
from ssmux.gui.services import Services, create_services

log = logging.getLogger(__name__)


def register(services: Services) -> None:
    """Register every page, and load the panel and stop every session with the app."""
    from nicegui import app

    from ssmux.gui.pages import accounts, forwards, main, settings

    main.create(services)
    settings.create(services)
    forwards.create(services)
    accounts.create(services)
    app.on_startup(services.panel.reload)
    app.on_shutdown(services.close)
    # Tasks of a closed page may still be running: ``ssmux --debug ui`` shows when its elements went away.
    app.on_delete(lambda: log.debug("a closed page was removed with its elements"))


def run(options: ServeOptions, *, services: Services | None = None, **serve_options: Any) -> None:
    """Serve the app until Ctrl-C (prints the URL line first).

    Raises:
        InvalidValue: Bad ``--host``/``--port``.
        BackendUnavailable: ``--native`` without pywebview.
    """
    chosen = services

    def setup(_policy: object) -> None:
        # Sessions and forwards are ended by the shutdown hook, on the server's own event loop.
        register(chosen or create_services())

    serve(options, setup, **serve_options)
