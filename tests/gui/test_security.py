"""Who may reach the app: the real ``ssmux ui`` process, its token, its cookie, origins and hosts."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from ssmux.errors import InvalidValue
from ssmux.gui.security import AccessPolicy, is_loopback
from ssmux.gui.server import ServeOptions, check_host

pytestmark = pytest.mark.e2e
URL_LINE = re.compile(r"^http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]{40,})$")
SOCKET_IO = "/_nicegui_ws/socket.io/?EIO=4&transport="


@dataclass
class RunningUi:
    url: str
    base: str
    port: int
    token: str
    process: subprocess.Popen[str]
    log: Path


@pytest.fixture
def running_ui(tmp_path: Path) -> Iterator[RunningUi]:
    """``ssmux ui --no-show`` as a subprocess, stopped (and reaped) at the end."""
    log = tmp_path / "ui.log"
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "ssmux", "ui", "--no-show"],
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            text=True,
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        match = URL_LINE.match(line)
        assert match, f"first line is not the URL: {line!r}; log: {log.read_text()}"
        port = int(match.group(1))
        base = f"http://127.0.0.1:{port}"
        # The URL is printed before the server accepts; wait (bounded) until it answers.
        for _ in range(200):
            try:
                httpx.get(base + "/", timeout=1.0)
                break
            except httpx.TransportError:
                import time

                time.sleep(0.05)
        yield RunningUi(line, base, port, match.group(2), process, log)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def login(ui: RunningUi) -> httpx.Client:
    """A client holding the cookie that the token URL hands out."""
    client = httpx.Client(timeout=10.0)
    response = client.get(ui.url)
    assert response.status_code == 303
    return client


def test_first_line_is_the_url_with_a_real_port(running_ui: RunningUi) -> None:
    """``ssmux ui --port 0`` prints http://127.0.0.1:PORT/?token=... with the port it really listens on."""
    assert running_ui.port > 0
    response = httpx.get(running_ui.base + "/", timeout=5)
    assert response.status_code == 403


def test_requests_without_the_token_are_refused(running_ui: RunningUi) -> None:
    """Pages, static files and socket.io answer 403 without the token or its cookie; a wrong token too."""
    from nicegui import __version__

    for path in ("/", "/settings", f"/_nicegui/{__version__}/static/nicegui.js", SOCKET_IO + "polling"):
        response = httpx.get(running_ui.base + path, timeout=5)
        assert response.status_code == 403, path
        assert "token" in response.text
        assert running_ui.token not in response.text
    wrong = httpx.get(running_ui.base + "/?token=" + "x" * 43, timeout=5)
    assert wrong.status_code == 403


def test_token_becomes_a_cookie_and_leaves_the_address(running_ui: RunningUi) -> None:
    """The token URL sets an HttpOnly SameSite cookie and redirects to the same page without the token."""
    response = httpx.get(running_ui.url, timeout=5)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert running_ui.token not in cookie
    client = login(running_ui)
    page = client.get(running_ui.base + "/")
    assert page.status_code == 200
    assert "<title>ssmux" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert client.get(running_ui.base + SOCKET_IO + "polling").status_code == 200


def test_websocket_needs_the_cookie_and_our_origin(running_ui: RunningUi) -> None:
    """socket.io's websocket opens with the cookie from our own origin; without it, or from elsewhere, no."""
    client = login(running_ui)
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    ws_url = f"ws://127.0.0.1:{running_ui.port}" + SOCKET_IO + "websocket"
    origin = running_ui.base
    with connect(ws_url, origin=origin, additional_headers={"Cookie": cookie}, open_timeout=10) as ws:
        assert ws.recv(timeout=10).startswith("0{")  # engine.io's open packet
    for headers, ws_origin in (
        ({}, origin),
        ({"Cookie": cookie}, "http://evil.example"),
        ({"Cookie": cookie}, "null"),
    ):
        with pytest.raises(InvalidStatus) as refused:
            connect(ws_url, origin=ws_origin, additional_headers=headers, open_timeout=10)
        assert refused.value.response.status_code == 403


def test_other_hosts_are_refused_even_with_the_cookie(running_ui: RunningUi) -> None:
    """A request naming another host (DNS rebinding) or coming from another origin is refused."""
    client = login(running_ui)
    assert (
        client.get(running_ui.base + "/", headers={"Host": f"evil.example:{running_ui.port}"}).status_code
        == 403
    )
    assert client.get(running_ui.base + "/", headers={"Origin": "http://evil.example"}).status_code == 403
    assert (
        client.get(running_ui.base + "/", headers={"Host": f"localhost:{running_ui.port}"}).status_code == 200
    )


def test_the_token_is_never_logged(running_ui: RunningUi) -> None:
    """Requests with the token are not written to the log (no access log)."""
    login(running_ui).get(running_ui.base + "/")
    running_ui.process.terminate()
    running_ui.process.wait(10)
    assert running_ui.token not in running_ui.log.read_text()


def test_non_loopback_host_needs_allow_remote() -> None:
    """--host 0.0.0.0 without --allow-remote: one line saying why, exit 1, nothing served."""
    result = subprocess.run(
        [sys.executable, "-m", "ssmux", "ui", "--no-show", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("ssmux: error: --host 0.0.0.0 is not a loopback address")
    assert "--allow-remote" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_allow_remote_warns() -> None:
    """With --allow-remote a non-loopback host is accepted, with a warning that says what it exposes."""
    warning = check_host(ServeOptions(host="0.0.0.0", allow_remote=True))
    assert warning is not None and "warning" in warning and "token" in warning
    assert check_host(ServeOptions(host="127.0.0.1")) is None
    with pytest.raises(InvalidValue):
        check_host(ServeOptions(host="192.168.1.10"))


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
        ("example.com", False),
        ("localhost.evil.com", False),
    ],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    """Only loopback addresses and localhost count as loopback."""
    assert is_loopback(host) is loopback


def test_policy_matches_hosts_and_origins_exactly() -> None:
    """Host and Origin must name our port on a loopback address; the token compares exactly."""
    policy = AccessPolicy(port=8123)
    assert policy.host_allowed("127.0.0.1:8123")
    assert policy.host_allowed("[::1]:8123")
    assert not policy.host_allowed("127.0.0.1:8124")
    assert not policy.host_allowed("127.0.0.1")
    assert policy.origin_allowed("", "127.0.0.1:8123")
    assert policy.origin_allowed("http://127.0.0.1:8123", "127.0.0.1:8123")
    assert not policy.origin_allowed("http://localhost:8123", "127.0.0.1:8123")
    assert not policy.origin_allowed("null", "127.0.0.1:8123")
    assert policy.token_matches(policy.token)
    assert not policy.token_matches(policy.token[:-1])
    assert urlsplit(policy.url("127.0.0.1")).query == f"token={policy.token}"
