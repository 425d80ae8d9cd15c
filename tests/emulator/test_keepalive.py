"""The emulator's HTTP server keeps connections alive as AWS's do, bounded, and ends them at stop."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ssmux.emulator import httpserver

CALLER = "Action=GetCallerIdentity&Version=2011-06-15"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _ignoring_body(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """An application that never reads the request body (the handler must skip it)."""
    data = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))])
    return [data]


def _streaming(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    """An application that gives no Content-Length: the answer goes chunked."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"one,"
    yield b"two"


@pytest.fixture
def server() -> Iterator[Any]:
    from werkzeug.serving import make_server

    made = make_server(
        "127.0.0.1", 0, _ignoring_body, threaded=True, request_handler=httpserver.QuietRequestHandler
    )
    thread = threading.Thread(target=made.serve_forever, daemon=True)
    thread.start()
    yield made
    made.shutdown()
    made.server_close()
    thread.join(5)


def _connect(server: Any) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)


def test_one_connection_carries_many_requests_even_with_unread_bodies(server: Any) -> None:
    """Requests follow one another on one connection; a body the application did not read is skipped, not
    taken for the next request."""
    connection = _connect(server)
    first: socket.socket | None = None
    for number in range(5):
        connection.request(
            "POST", f"/call/{number}", body=b"x" * 10_000 + b"\r\nGET /smuggled HTTP/1.1\r\n\r\n"
        )
        answer = connection.getresponse()
        assert (answer.status, answer.read()) == (200, f"POST /call/{number}".encode())
        assert answer.getheader("Connection") is None
        first = first or connection.sock
        assert connection.sock is first  # the same socket: kept alive
    connection.close()


def test_an_answer_without_length_is_chunked_and_the_connection_stays(server: Any) -> None:
    """An application's answer of unknown length goes chunked, and the connection still serves more."""
    server.app = _streaming
    connection = _connect(server)
    for _ in range(2):
        connection.request("GET", "/")
        answer = connection.getresponse()
        assert answer.getheader("Transfer-Encoding") == "chunked"
        assert answer.read() == b"one,two"
    connection.close()


def test_the_client_asking_to_close_and_too_many_connections_close(
    server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Connection: close`` from the client is honoured; past MAX_KEPT open connections, new ones are served
    once and closed."""
    connection = _connect(server)
    connection.request("GET", "/", headers={"Connection": "close"})
    answer = connection.getresponse()
    assert answer.getheader("Connection") == "close" and answer.read() == b"GET /"

    monkeypatch.setattr(httpserver, "MAX_KEPT", 1)
    kept = _connect(server)
    kept.request("GET", "/kept")
    assert kept.getresponse().read() == b"GET /kept"
    extra = _connect(server)
    extra.request("GET", "/extra")
    answer = extra.getresponse()
    assert answer.getheader("Connection") == "close" and answer.read() == b"GET /extra"
    kept.close()
    extra.close()


def test_stopping_the_emulator_ends_idle_kept_connections(tmp_path: Path) -> None:
    """An idle kept-alive connection does not outlive the emulator: stop() ends it (the client sees the
    connection close) instead of leaving a thread waiting for a request that never comes."""
    from ssmux.emulator.app import Emulator, EmulatorOptions

    emulator = Emulator(EmulatorOptions(fast=True, aws_config_dir=tmp_path))
    endpoint = emulator.start()["endpoint"]
    try:
        host, port = endpoint.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("POST", "/", body=CALLER, headers=FORM)
        answer = connection.getresponse()
        answer.read()
        assert answer.getheader("Connection") is None  # kept alive
        sock = connection.sock
    finally:
        emulator.stop()
    sock.settimeout(10)  # a bound for a broken stop, not a measurement
    try:
        assert sock.recv(1) == b""  # closed by the server
    except (TimeoutError, ConnectionResetError) as error:
        assert isinstance(error, ConnectionResetError), "the kept connection outlived the emulator"
    connection.close()
