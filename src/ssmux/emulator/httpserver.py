"""The request handler of the emulator's threaded WSGI server: moto's, with its per-request log lines
sent to :mod:`logging` at debug level instead of stderr (stderr is the emulator's log, kept readable)."""

from __future__ import annotations

import logging
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler

log = logging.getLogger("ssmux.emulator.http")

#: The IAM Identity Center portal takes its access token in this header (botocore's ``sso`` model). werkzeug
#: drops every header with an underscore (moto keeps only S3's ``x-amz-meta-*``), so it is put back here.
SSO_BEARER_HEADER = "x-amz-sso_bearer_token"


class QuietRequestHandler(MotoRequestHandler):
    """moto's handler (it keeps headers with underscores) that logs through :mod:`logging`."""

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        token = self.headers.get(SSO_BEARER_HEADER)
        if token is not None:
            environ["HTTP_X_AMZ_SSO_BEARER_TOKEN"] = token
        return environ

    def log(self, type: str, message: str, *args: Any) -> None:
        level = logging.ERROR if type == "error" else logging.DEBUG
        log.log(level, "%s %s", self.address_string(), message % args)
