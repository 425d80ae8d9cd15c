"""The request handler of the emulator's threaded WSGI server: moto's, with its per-request log lines
sent to :mod:`logging` at debug level instead of stderr (stderr is the emulator's log, kept readable)."""

from __future__ import annotations

import logging
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler

log = logging.getLogger("ssmux.emulator.http")


class QuietRequestHandler(MotoRequestHandler):
    """moto's handler (it keeps headers with underscores) that logs through :mod:`logging`."""

    def log(self, type: str, message: str, *args: Any) -> None:
        level = logging.ERROR if type == "error" else logging.DEBUG
        log.log(level, "%s %s", self.address_string(), message % args)
