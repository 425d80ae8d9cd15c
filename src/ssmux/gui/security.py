"""Who may talk to the app: a one-time code, the page key it becomes, and the cookie, origin and host checks.

The app drives shells on remote machines, so a page or a websocket of it is as good as a shell prompt.
Anything on the machine (or, with ``--allow-remote``, the network) can reach its port, and any web page the
user opens can make the browser send requests to it. Cookies do not help much on their own: browsers send a
``127.0.0.1`` cookie to every port of ``127.0.0.1``, so any other local web server the browser visits
receives it. So access rests on a secret that only our own origin can hold:

- The printed (and opened) URL carries ``?token=<code>``: a **one-time code**. Its first use answers with a
  small page that stores the **page key** in the origin's ``localStorage`` (which other ports cannot read)
  and sets a cookie; the code is then dead, so what ``ps`` showed of the browser's command line, or a
  history entry, opens nothing. The key never appears in a URL or on a command line.
- Every page is first answered by that small page (:mod:`ssmux.gui.access_page`, no app data in it): its
  script reads the key and fetches the real page with an ``X-Ssmux-Key`` header, then writes it into the
  document. NiceGUI's socket.io connection carries the key as a query parameter (the page puts it there).
  Everything but NiceGUI's public static files needs the key, and a wrong key is refused. So app code that
  makes requests of its own from the page (an upload, a fetched download: :mod:`ssmux.gui.transfer_panel`)
  sends the key in that header too.
- The cookie (``HttpOnly``, ``SameSite=Lax``) is still needed on every request, static files too: it keeps
  strangers without it from even the small page.
- A request whose ``Origin`` is not the app's own origin is refused, with or without the key; a websocket
  or a post must name our origin (browsers always send it). That stops cross-site websockets and posts.
- Unless ``--allow-remote`` was given, the ``Host`` header must name a loopback address with our port. This
  defeats DNS rebinding: a hostile name that resolves to 127.0.0.1 still sends its own name as Host.

All secrets are made fresh at every launch and compared in constant time. Refusals are plain 403 responses
(or a refused websocket handshake) that say what to do; they never echo a secret, and nothing about a
request is logged.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ssmux.gui.access_page import boot_page

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_PARAMETER = "token"  # noqa: S105 - the name of the query parameter, not a secret
KEY_PARAMETER = "ssmux_key"  # the page key on socket.io's URL (a browser cannot add headers to a websocket)
KEY_HEADER = "x-ssmux-key"
SOCKET_PREFIX = "/_nicegui_ws/"

#: Response headers added to every HTTP answer: no framing by other sites (clickjacking), no Referer leaks.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
)

REFUSED_TEXT = (
    "ssmux: access refused. Open the address that 'ssmux ui' printed (it ends in ?token=...); "
    "it changes at every launch."
)
USED_TEXT = (
    "ssmux: this address was already used: its code opens the app once. In the browser that opened it, go to "
    "{base}/ ; elsewhere, restart 'ssmux ui' for a new address."
)


def new_secret() -> str:
    """A fresh random value for a code, a key or a cookie (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def is_loopback(host: str) -> bool:
    """True if ``host`` is a loopback address or ``localhost`` (brackets around IPv6 allowed)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def url_host(host: str) -> str:
    """``host`` as it is written in a URL: IPv6 addresses in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@dataclass(frozen=True)
class AccessPolicy:
    """The per-launch secrets and what the app accepts.

    Attributes:
        port: The port the app listens on (part of the allowed hosts and origins).
        token: The one-time code expected in ``?token=`` (good for one use: see :class:`AccessGuard`).
        key: The page key: kept by the page in ``localStorage``, required on pages and socket.io.
        cookie_value: The value the cookie carries once the code was used.
        allow_remote: Accept any ``Host`` header (the user chose to serve beyond loopback).
    """

    port: int
    token: str = field(default_factory=new_secret, repr=False)
    key: str = field(default_factory=new_secret, repr=False)
    cookie_value: str = field(default_factory=new_secret, repr=False)
    allow_remote: bool = False

    @property
    def cookie_name(self) -> str:
        """Named after the port, so two apps on one machine do not overwrite each other's cookie."""
        return f"ssmux_access_{self.port}"

    def url(self, host: str, path: str = "/") -> str:
        """The address to print and open: ``http://HOST:PORT/?token=CODE``."""
        return f"http://{url_host(host)}:{self.port}{path}?{TOKEN_PARAMETER}={self.token}"

    def host_allowed(self, host_header: str) -> bool:
        """Whether a ``Host`` header names us (always true with ``allow_remote``)."""
        if self.allow_remote:
            return True
        host, port = _split_host_port(host_header)
        return port == self.port and is_loopback(host)

    def origin_allowed(self, origin: str, host_header: str) -> bool:
        """Whether an ``Origin`` header is our own origin (the scheme and authority of the page)."""
        if origin in ("", "null"):
            return origin == ""
        scheme, _, authority = origin.partition("://")
        if scheme not in ("http", "https") or not authority:
            return False
        # Same origin: the browser's Origin authority equals the Host it addressed us by.
        return authority.lower() == host_header.lower() and self.host_allowed(authority)

    def token_matches(self, candidate: str) -> bool:
        return _same(candidate, self.token)

    def key_matches(self, candidate: str) -> bool:
        return _same(candidate, self.key)

    def cookie_matches(self, candidate: str) -> bool:
        return _same(candidate, self.cookie_value)


def _same(candidate: str, secret: str) -> bool:
    return hmac.compare_digest(candidate.encode(), secret.encode())


def _split_host_port(value: str) -> tuple[str, int | None]:
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
    else:
        host, port_text = value, ""
    try:
        port = int(port_text) if port_text else 80
    except ValueError:
        return host, None
    return host, port


def _headers(scope: Scope) -> dict[str, str]:
    # Header names are lower-case bytes in ASGI; the last value wins, as in most servers.
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope.get("headers", [])}


def _cookie(headers: dict[str, str], name: str) -> str:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is treated as no cookie, never as an error page
        return ""
    morsel = jar.get(name)
    return morsel.value if morsel is not None else ""


def is_public_asset(path: str) -> bool:
    """NiceGUI's own scripts, styles and fonts: the same for every install, no data of the user's."""
    from nicegui import __version__

    return path.startswith(f"/_nicegui/{__version__}/") or path == "/favicon.ico"


class AccessGuard:
    """ASGI middleware that applies an :class:`AccessPolicy` to every HTTP request and websocket.

    It sits outside NiceGUI's own app so it also covers socket.io (mounted under ``/_nicegui_ws``), static
    files and any route added later: everything needs the key unless it is a public asset. It holds the
    one state of the access rules: whether the one-time code was used. Lifespan events pass through.
    """

    def __init__(self, app: ASGIApp, policy: AccessPolicy) -> None:
        self.app = app
        self.policy = policy
        self.code_used = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        host = headers.get("host", "")
        origin = headers.get("origin", "")
        if (
            not self.policy.host_allowed(host)
            or not self.policy.origin_allowed(origin, host)
            or (not origin and _changes_state(scope))
        ):
            await _refuse(kind, send)
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        if TOKEN_PARAMETER in query:
            await self._redeem(scope, query, send)
            return
        if not self.policy.cookie_matches(_cookie(headers, self.policy.cookie_name)):
            await _refuse(kind, send)
            return
        offered = headers.get(KEY_HEADER, query.get(KEY_PARAMETER))
        if offered is None and kind == "http" and _asks_for_page(scope):
            # A navigation cannot carry the key: the boot page (no data in it) fetches the page with it.
            await _send_page(send, boot_page(), cookie=None)
            return
        if offered is None and not (kind == "http" and is_public_asset(scope.get("path", ""))):
            await _refuse(kind, send)
            return
        if offered is not None and not self.policy.key_matches(offered):
            await _refuse(kind, send)
            return
        if kind == "http":
            await self.app(scope, receive, _with_security_headers(send))
        else:
            await self.app(scope, receive, send)

    async def _redeem(self, scope: Scope, query: dict[str, str], send: Send) -> None:
        """The one-time code: on its first use, the page that stores the key; afterwards, a refusal."""
        kind = scope["type"]
        offered = query[TOKEN_PARAMETER]
        if kind != "http" or scope.get("method") != "GET" or not self.policy.token_matches(offered):
            await _refuse(kind, send)
            return
        if "prefetch" in _header(scope, "sec-purpose"):
            # A browser's guess ahead of the user (prerendering a typed address) must not spend the code.
            await _refuse(kind, send)
            return
        if self.code_used:
            base = f"http://{_header(scope, 'host')}"
            await _refuse(kind, send, USED_TEXT.format(base=base))
            return
        self.code_used = True
        rest = {name: value for name, value in query.items() if name != TOKEN_PARAMETER}
        clean = scope.get("root_path", "") + scope.get("path", "/") + (f"?{urlencode(rest)}" if rest else "")
        cookie = f"{self.policy.cookie_name}={self.policy.cookie_value}; Path=/; HttpOnly; SameSite=Lax"
        await _send_page(send, boot_page(key=self.policy.key, clean_url=clean), cookie=cookie)


def _changes_state(scope: Scope) -> bool:
    # Browsers name the page's origin on these (websockets, posts); only a foreign program leaves it out.
    return scope["type"] == "websocket" or scope.get("method") not in ("GET", "HEAD", "OPTIONS")


def _header(scope: Scope, name: str) -> str:
    return _headers(scope).get(name, "")


def _asks_for_page(scope: Scope) -> bool:
    # Any GET but socket.io's and NiceGUI's public files: the boot page is harmless where it is not needed.
    path = scope.get("path", "")
    return scope.get("method") == "GET" and not path.startswith(SOCKET_PREFIX) and not is_public_asset(path)


async def _send_page(send: Send, html: str, *, cookie: str | None) -> None:
    body = html.encode()
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *SECURITY_HEADERS,
    ]
    if cookie is not None:
        headers.append((b"set-cookie", cookie.encode("latin-1")))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse(kind: str, send: Send, text: str = REFUSED_TEXT) -> None:
    if kind == "websocket":
        # Closing before accepting makes the server answer the handshake with 403.
        await send({"type": "websocket.close", "code": 1008})
        return
    body = (text + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _with_security_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {name.lower() for name, _ in message.get("headers", [])}
            extra = [header for header in SECURITY_HEADERS if header[0] not in present]
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return wrapped
