"""Who may reach the app: the real ``ssmux ui``, its one-time code, page key, cookie, origins and hosts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
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
from tests.support.app import URL_LINE, RunningUi
from tests.support.app import running_ui as start_ui

pytestmark = pytest.mark.e2e
SOCKET_IO = "/_nicegui_ws/socket.io/?EIO=4&transport="
HANDED_KEY = re.compile(r'handed = "([A-Za-z0-9_-]{40,})"')


@pytest.fixture
def running_ui(tmp_path: Path) -> Iterator[RunningUi]:
    """``ssmux ui --no-show`` as a subprocess, stopped (and reaped) at the end."""
    with start_ui(tmp_path / "ui.log") as running:
        yield running


@dataclass
class Session:
    """What a browser holds after the one-time code: the cookie (in its client) and the page key."""

    client: httpx.Client
    key: str

    def page(self, url: str, **headers: str) -> httpx.Response:
        return self.client.get(url, headers={"X-Ssmux-Key": self.key, **headers})


def login(ui: RunningUi) -> Session:
    """Use the printed URL's one-time code as a browser does: keep the cookie and the key handed over."""
    client = httpx.Client(timeout=10.0)
    response = client.get(ui.url)
    assert response.status_code == 200
    match = HANDED_KEY.search(response.text)
    assert match, response.text
    return Session(client, match.group(1))


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


def test_code_works_once_and_hands_over_a_key_and_a_cookie(running_ui: RunningUi) -> None:
    """The code's first use sets an HttpOnly cookie and hands the key to the page; a second use is refused."""
    first = httpx.get(running_ui.url, timeout=5)
    assert first.status_code == 200
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert running_ui.token not in cookie and running_ui.token not in first.text
    assert 'clean = "/"' in first.text  # the page takes the code out of the address bar
    assert first.headers["cache-control"] == "no-store"
    again = httpx.get(running_ui.url, timeout=5)
    assert again.status_code == 403
    assert "already used" in again.text
    assert running_ui.token not in again.text


def test_pages_and_socket_need_the_key(running_ui: RunningUi) -> None:
    """With the cookie alone a page address gives only the small key-loading page; the key opens the app."""
    session = login(running_ui)
    boot = session.client.get(running_ui.base + "/")
    assert boot.status_code == 200
    assert "client_id" not in boot.text and session.key not in boot.text  # no app data, no key
    page = session.page(running_ui.base + "/")
    assert page.status_code == 200
    assert "<title>ssmux" in page.text and "client_id" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert session.client.get(running_ui.base + SOCKET_IO + "polling").status_code == 403
    polling = session.client.get(running_ui.base + SOCKET_IO + "polling&ssmux_key=" + session.key)
    assert polling.status_code == 200
    # A post (here socket.io's) must name our origin, as browsers do: a foreign program's is refused.
    posted = session.client.post(
        running_ui.base + SOCKET_IO + "polling&ssmux_key=" + session.key, content="x"
    )
    assert posted.status_code == 403
    wrong = session.page(running_ui.base + "/", **{"X-Ssmux-Key": "x" * 43})
    assert wrong.status_code == 403
    assert session.key not in wrong.text
    # Without the cookie the key alone is not enough either.
    assert httpx.get(running_ui.base + "/", headers={"X-Ssmux-Key": session.key}).status_code == 403


def test_websocket_needs_the_key_and_our_origin(running_ui: RunningUi) -> None:
    """socket.io's websocket opens with the key from our own origin; without it, or from elsewhere, no."""
    session = login(running_ui)
    cookie = "; ".join(f"{name}={value}" for name, value in session.client.cookies.items())
    ws_url = f"ws://127.0.0.1:{running_ui.port}" + SOCKET_IO + "websocket"
    keyed = ws_url + "&ssmux_key=" + session.key
    origin = running_ui.base
    with connect(keyed, origin=origin, additional_headers={"Cookie": cookie}, open_timeout=10) as ws:  # type: ignore[arg-type]
        assert ws.recv(timeout=10).startswith("0{")  # engine.io's open packet
    for url, headers, ws_origin in (
        (ws_url, {"Cookie": cookie}, origin),
        (keyed, {}, origin),
        (keyed, {"Cookie": cookie}, "http://evil.example"),
        (keyed, {"Cookie": cookie}, "null"),
        (keyed, {"Cookie": cookie}, None),
    ):
        with pytest.raises(InvalidStatus) as refused:
            connect(url, origin=ws_origin, additional_headers=headers, open_timeout=10)  # type: ignore[arg-type]
        assert refused.value.response.status_code == 403


def test_other_hosts_are_refused_even_with_the_key(running_ui: RunningUi) -> None:
    """A request naming another host (DNS rebinding) or coming from another origin is refused."""
    session = login(running_ui)
    assert session.page(running_ui.base + "/", Host=f"evil.example:{running_ui.port}").status_code == 403
    assert session.page(running_ui.base + "/", Origin="http://evil.example").status_code == 403
    assert session.page(running_ui.base + "/", Host=f"localhost:{running_ui.port}").status_code == 200


def test_no_secret_is_logged(running_ui: RunningUi) -> None:
    """Requests with the code, the key or the cookie are not written to the log (no access log)."""
    session = login(running_ui)
    session.page(running_ui.base + "/")
    running_ui.process.terminate()
    running_ui.process.wait(10)
    log = running_ui.log.read_text()
    assert running_ui.token not in log and session.key not in log


def test_browser_gets_only_the_one_time_code(tmp_path: Path) -> None:
    """The browser's command line holds only the one-time code; once used, it opens nothing."""
    recorded = tmp_path / "argv.json"
    browser = tmp_path / "fake-browser"
    browser.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(recorded)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
    )
    browser.chmod(0o755)
    process = subprocess.Popen(
        [sys.executable, "-m", "ssmux", "ui"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "BROWSER": f"{browser} %s"},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert URL_LINE.match(url)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not recorded.exists():
            time.sleep(0.1)
        argv = " ".join(json.loads(recorded.read_text()))
        assert argv == url  # the printed URL is the one the browser got: one code for both
        first = httpx.get(url, timeout=10)
        assert first.status_code == 200
        key = HANDED_KEY.search(first.text)
        assert key is not None
        cookie_value = first.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        assert key.group(1) not in argv and cookie_value not in argv
        # What ps showed is useless now.
        assert httpx.get(argv, timeout=10).status_code == 403
    finally:
        process.terminate()
        process.wait(20)
        if process.stdout is not None:
            process.stdout.close()


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
    assert policy.key_matches(policy.key) and not policy.key_matches(policy.token)
    assert len({policy.token, policy.key, policy.cookie_value}) == 3
    assert urlsplit(policy.url("127.0.0.1")).query == f"token={policy.token}"
