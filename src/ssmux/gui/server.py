"""Serving the app: bind the socket, print the address, run uvicorn behind the access guard, stop cleanly.

We bind the listening socket ourselves before starting uvicorn, so ``--port 0`` gives a real port that is
printed (and opened) before anything else happens, with no window in which another program could take it.
NiceGUI is mounted into a small FastAPI app with ``ui.run_with`` (its documented way to live inside your own
server), and the whole thing is wrapped by :class:`~ssmux.gui.security.AccessGuard`, so no page, route or
websocket of NiceGUI can be reached without the page key (which the URL's one-time code hands to the page).

The printed URL and the one the browser is given are the same: it carries the one-time code, never the page
key or the cookie, so the browser's command line (which ``ps`` shows to every user of the machine) opens
nothing once the page has loaded. uvicorn's access log is off: the first request carries the code in its
query string, socket.io's carry the key, and nothing a user types or reads may end up in a log.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from ssmux.errors import BackendUnavailable, InvalidValue
from ssmux.gui.security import KEY_PARAMETER, AccessGuard, AccessPolicy, is_loopback


@dataclass(frozen=True)
class ServeOptions:
    """How ``ssmux ui`` (and ``ssmux demo``) serve the app.

    Attributes:
        host: Address to listen on; loopback unless ``allow_remote``.
        port: Port to listen on; 0 lets the system pick a free one.
        show: Open the address in the default browser once the server is up.
        native: Open a desktop window (pywebview) instead of the browser; closing it stops the app.
        allow_remote: Accept a non-loopback ``host``.
        title: Window and page title.
    """

    host: str = "127.0.0.1"
    port: int = 0
    show: bool = True
    native: bool = False
    allow_remote: bool = False
    title: str = "ssmux"


def check_host(options: ServeOptions) -> str | None:
    """Refuse a non-loopback host without ``allow_remote``; return the warning to print when it is allowed.

    Raises:
        InvalidValue: ``host`` is not loopback and ``allow_remote`` is off.
    """
    if is_loopback(options.host):
        return None
    if not options.allow_remote:
        raise InvalidValue(
            f"--host {options.host} is not a loopback address: the app opens shells on your instances, so it "
            "only listens on 127.0.0.1 unless you add --allow-remote"
        )
    return (
        f"ssmux: warning: serving on {options.host}: anyone who can reach this port and learns the token can "
        "open shells on your instances, and plain HTTP sends the token unencrypted; prefer an SSH tunnel"
    )


def check_native() -> None:
    """Make sure a desktop window can be opened.

    Raises:
        BackendUnavailable: pywebview is not installed.
    """
    if importlib.util.find_spec("webview") is None:
        raise BackendUnavailable(
            "--native needs pywebview: pip install 'ssmux[native]' (or leave out --native to use the browser)"
        )


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: the system picks).

    Raises:
        InvalidValue: The address cannot be used (bad name, port taken, no permission).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise InvalidValue(
            f"--host {host}: cannot resolve it ({error.strerror}): give an IP address"
        ) from None
    # Prefer IPv4: "localhost" may resolve to ::1 first, but browsers and our URL use 127.0.0.1.
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if sys.platform != "win32":  # on Windows SO_REUSEADDR would let two servers share a port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise InvalidValue(
            f"cannot listen on {host}:{port}: {error.strerror or error}: "
            "pick another --port (0 = any free one)"
        ) from None
    sock.set_inheritable(False)
    return sock


def browse_host(host: str) -> str:
    """The host to put in the printed URL: a wildcard address is reached through 127.0.0.1."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - comparing, not binding


def serve(
    options: ServeOptions,
    setup: Callable[[AccessPolicy], Callable[[], Any] | None],
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> None:
    """Serve the app until Ctrl-C (or the native window closes).

    Args:
        options: Where and how to serve.
        setup: Registers the pages (called once, with the access policy, before the server starts); may
            return a shutdown callback run after the server stops.
        out: Where the URL line goes (stdout by default); it is the first line written there.
        err: Where warnings go (stderr by default).

    Raises:
        InvalidValue: Bad host or port.
        BackendUnavailable: ``--native`` without pywebview.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    warning = check_host(options)
    if options.native:
        check_native()
    sock = bind(options.host, options.port)
    port = sock.getsockname()[1]
    policy = AccessPolicy(port=port, allow_remote=options.allow_remote)
    url = policy.url(browse_host(options.host))
    out.write(url + "\n")
    out.flush()
    if warning:
        err.write(warning + "\n")
        err.flush()

    import uvicorn
    from fastapi import FastAPI
    from nicegui import app as nicegui_app
    from nicegui import ui

    cleanup = setup(policy)
    outer = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    ui.run_with(outer, title=options.title, show_welcome_message=False, reconnect_timeout=10.0)
    # The page (served only to holders of the key) hands the key to socket.io, which the guard requires.
    nicegui_app.config.socket_io_js_query_params[KEY_PARAMETER] = policy.key
    config = uvicorn.Config(
        AccessGuard(outer, policy),
        log_level="warning",
        access_log=False,
        ws="wsproto",  # what NiceGUI runs on; websockets 17 is for our own data-channel clients
        lifespan="on",
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    window: list[subprocess.Popen[bytes]] = []

    def on_started() -> None:
        if options.native:
            window.append(_open_native_window(url, options.title, server))
        elif options.show:
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()

    nicegui_app.on_startup(on_started)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        for process in window:
            _stop(process)
        if cleanup is not None:
            cleanup()


def _open_native_window(url: str, title: str, server: Any) -> subprocess.Popen[bytes]:
    # pywebview wants the main thread of its own process; when the window closes the app stops. The URL
    # (with its token) goes through stdin: a command line is readable by every user of the machine.
    process = subprocess.Popen([sys.executable, "-m", "ssmux.gui.native", title], stdin=subprocess.PIPE)
    assert process.stdin is not None
    process.stdin.write(url.encode() + b"\n")
    process.stdin.close()

    def watch() -> None:
        process.wait()
        server.should_exit = True

    threading.Thread(target=watch, daemon=True).start()
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
