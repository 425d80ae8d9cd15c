"""The request handler of the emulator's threaded WSGI server: moto's, serving HTTP/1.1 keep-alive as AWS's
endpoints do, with its per-request log lines sent to :mod:`logging` at debug level instead of stderr (stderr
is the emulator's log, kept readable).

werkzeug's development server answers every request with ``Connection: close`` (its handler cannot tell
where a request body it did not read ends), so an organization's sync opened a connection per call: 2,400
for 1,200 pairs. AWS keeps connections open (botocore's and aiohttp's pools reuse them), and so does this
handler: the request body is handed to the application through a reader that stops at ``Content-Length``,
and what the application left unread is read and dropped before the next request (up to
:data:`MAX_DRAIN`, else the connection is closed). Bounded: a connection idle for :data:`IDLE_TIMEOUT`
seconds is closed, past :data:`MAX_KEPT` open connections new ones are served once and closed, a request
with a chunked body closes its connection after the answer, and when the server stops (its listening
socket closed) every idle connection ends within :data:`STOP_POLL` seconds.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler

log = logging.getLogger("ssmux.emulator.http")

#: The IAM Identity Center portal takes its access token in this header (botocore's ``sso`` model). werkzeug
#: drops every header with an underscore (moto keeps only S3's ``x-amz-meta-*``), so it is put back here.
SSO_BEARER_HEADER = "x-amz-sso_bearer_token"
#: Seconds a connection may wait for its next request (clients' pools close theirs sooner: aiohttp 15 s).
IDLE_TIMEOUT = 30.0
#: Open connections kept alive at most; one more is answered with ``Connection: close``.
MAX_KEPT = 256
#: Bytes of an unread request body read and dropped to keep the connection; a bigger rest closes it.
MAX_DRAIN = 1024 * 1024
#: How often an idle connection looks whether the server stopped.
STOP_POLL = 0.2


class _Body:
    """A request body as the application reads it: ends at ``Content-Length``, counts what is left."""

    def __init__(self, stream: Any, length: int) -> None:
        self.stream = stream
        self.left = length

    def read(self, size: int = -1) -> bytes:
        wanted = self.left if size is None or size < 0 else min(size, self.left)
        data: bytes = self.stream.read(wanted) if wanted > 0 else b""
        self.left -= len(data)
        if wanted > 0 and not data:
            self.left = 0  # the client went away mid-body: nothing more will come
        return data

    def readline(self, size: int = -1) -> bytes:
        wanted = self.left if size is None or size < 0 else min(size, self.left)
        data: bytes = self.stream.readline(wanted) if wanted > 0 else b""
        self.left -= len(data)
        return data

    def readlines(self, hint: int = -1) -> list[bytes]:
        return self.read().splitlines(keepends=True)

    def __iter__(self) -> Any:
        return iter(self.readlines())

    def drain(self) -> bool:
        """Read and drop what the application left; whether the connection can carry another request."""
        if self.left > MAX_DRAIN:
            return False
        while self.left > 0:
            if not self.read(min(self.left, 64 * 1024)):
                return False
        return True


class _Open:
    """The connections a server holds open, to bound how many are kept alive."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0


class QuietRequestHandler(MotoRequestHandler):
    """moto's handler (it keeps headers with underscores) with keep-alive, logging through :mod:`logging`."""

    protocol_version = "HTTP/1.1"

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        token = self.headers.get(SSO_BEARER_HEADER)
        if token is not None:
            environ["HTTP_X_AMZ_SSO_BEARER_TOKEN"] = token
        return environ

    def log(self, type: str, message: str, *args: Any) -> None:
        level = logging.ERROR if type == "error" else logging.DEBUG
        log.log(level, "%s %s", self.address_string(), message % args)

    # Connections -------------------------------------------------------------------------------------------
    def setup(self) -> None:
        super().setup()
        # Answers go out as they are written: with Nagle's algorithm a kept connection's small writes wait
        # for the client's delayed acknowledgement (~40 ms a request on Linux).
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._served = 0
        self._open = vars(self.server).setdefault("_ssmux_open", _Open())
        with self._open.lock:
            self._open.count += 1
            self._may_keep = self._open.count <= MAX_KEPT

    def finish(self) -> None:
        with self._open.lock:
            self._open.count -= 1
        super().finish()

    def handle_one_request(self) -> None:
        if self._served and not self._next_request_comes():
            self.close_connection = True
            return
        self._served += 1
        super().handle_one_request()

    def _next_request_comes(self) -> bool:
        """Wait (bounded) for the next request; ``False`` when idle too long or the server stopped."""
        if self._buffered():
            return True
        waited = 0.0
        with selectors.DefaultSelector() as selector:
            selector.register(self.connection, selectors.EVENT_READ)
            while waited < IDLE_TIMEOUT:
                if self.server.socket.fileno() == -1:  # server_close(): the emulator is stopping
                    return False
                if selector.select(STOP_POLL):
                    return True
                waited += STOP_POLL
        return False

    def _buffered(self) -> bool:
        """Whether the next request's bytes already sit in the read buffer (a client that pipelines)."""
        connection: socket.socket = self.connection
        timeout = connection.gettimeout()
        connection.setblocking(False)
        try:
            return bool(self.rfile.peek(1))  # type: ignore[attr-defined]  # a BufferedReader
        except OSError:
            return False
        finally:
            connection.settimeout(timeout)

    # One request -------------------------------------------------------------------------------------------
    def run_wsgi(self) -> None:
        """Serve one request (werkzeug's ``run_wsgi``, without its ``Connection: close``)."""
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        body: _Body | None = None
        if environ.get("wsgi.input_terminated"):
            self.close_connection = True  # a chunked body: where it ends is the application's to find
        else:
            try:
                length = max(0, int(environ.get("CONTENT_LENGTH") or 0))
            except ValueError:
                length, self.close_connection = 0, True
            body = _Body(environ["wsgi.input"], length)
            environ["wsgi.input"] = body
        if not self._may_keep:
            self.close_connection = True
        sent: list[bool] = [False]
        try:
            self._execute(self.server.app, environ, sent)
        except (ConnectionError, TimeoutError) as error:
            self.close_connection = True
            self.connection_dropped(error, environ)
            return
        except Exception:
            self.close_connection = True
            log.exception("%s %s failed", self.command, self.path)
            if not sent[0]:
                from werkzeug.exceptions import InternalServerError

                with contextlib.suppress(Exception):  # the client is gone: nothing more to tell it
                    self._execute(InternalServerError(), environ, sent)
            return
        if body is not None and not body.drain():
            self.close_connection = True

    def _execute(self, app: Any, environ: dict[str, Any], sent: list[bool]) -> None:
        status_and_headers: list[Any] = []
        chunked = False

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if exc_info and sent[0]:
                raise exc_info[1].with_traceback(exc_info[2])
            status_and_headers[:] = [status, headers]
            return write

        def write(data: bytes) -> None:
            nonlocal chunked
            head = b""
            if not sent[0]:
                sent[0] = True
                status, headers = status_and_headers
                code_text, _, reason = status.partition(" ")
                code = int(code_text)
                self.send_response(code, reason)
                names = set()
                for name, value in headers:
                    if name.lower() != "connection":
                        self.send_header(name, value)
                    names.add(name.lower())
                if not ("content-length" in names or self.command == "HEAD" or 100 <= code < 200
                        or code in (204, 304)):  # fmt: skip
                    if self.request_version >= "HTTP/1.1":
                        chunked = True
                        self.send_header("Transfer-Encoding", "chunked")
                    else:
                        self.close_connection = True  # an HTTP/1.0 body without a length ends at close
                if self.close_connection:
                    self.send_header("Connection", "close")
                elif self.request_version < "HTTP/1.1":
                    self.send_header("Connection", "keep-alive")
                # What end_headers() would write, sent with the first bytes of the body in one write.
                buffered: list[bytes] = getattr(self, "_headers_buffer", [])  # http.server's, private
                head = b"".join(buffered) + b"\r\n"
                buffered.clear()
            if data and chunked:
                data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
            if head or data:
                self.wfile.write(head + data)

        answer = app(environ, start_response)
        try:
            for data in answer:
                write(data)
            if not sent[0]:
                write(b"")
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()
