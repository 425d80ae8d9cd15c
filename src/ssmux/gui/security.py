"""Who may talk to the app: the per-launch token, the cookie it becomes, and the origin and host checks.

The app drives shells on remote machines, so a page or a websocket of it is as good as a shell prompt.
Anything on the machine (or, with ``--allow-remote``, the network) can reach its port, and any web page the
user opens can make the browser send requests to it. So every request must prove it comes from someone who
saw the URL that ``ssmux ui`` printed:

- The URL carries ``?token=<random>``. A request with the right token gets a cookie holding a second random
  value and is redirected to the same address without the token, so the token does not linger in the
  address bar, history or Referer headers. Later requests (pages, static files, NiceGUI's socket.io
  websocket, our own endpoints) need that cookie. Both values are made fresh at every launch and compared in
  constant time.
- The cookie is ``HttpOnly`` and ``SameSite=Lax``: pages of other sites cannot read it, and browsers do not
  send it on their sub-requests, forms or websockets. (Lax rather than Strict so the link still works when
  it is clicked in another application; a top-level GET only renders the page, it changes nothing.)
- A request whose ``Origin`` is not the app's own origin is refused, with or without the cookie: that stops
  cross-site websockets, which browsers open with cookies attached.
- Unless ``--allow-remote`` was given, the ``Host`` header must name a loopback address with our port. This
  defeats DNS rebinding: a hostile name that resolves to 127.0.0.1 still sends its own name as Host.

Refusals are plain 403 responses (or a refused websocket handshake) that say what to do; they never echo the
token or the cookie, and nothing about a request is logged.
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

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_PARAMETER = "token"  # noqa: S105 - the name of the query parameter, not a secret

#: Response headers added to every HTTP answer: no framing by other sites (clickjacking), no Referer leaks.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
)

REFUSED_TEXT = (
    "ssmux: access refused. Open the address that 'ssmux ui' printed (it ends in ?token=...); "
    "the token changes at every launch."
)


def new_secret() -> str:
    """A fresh random value for a token or a cookie (256 bits, URL-safe)."""
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
        token: The value expected in ``?token=``.
        cookie_value: The value the cookie carries once the token was shown.
        allow_remote: Accept any ``Host`` header (the user chose to serve beyond loopback).
        cookie_name: Named after the port, so two apps on one machine do not overwrite each other's cookie.
    """

    port: int
    token: str = field(default_factory=new_secret, repr=False)
    cookie_value: str = field(default_factory=new_secret, repr=False)
    allow_remote: bool = False

    @property
    def cookie_name(self) -> str:
        return f"ssmux_access_{self.port}"

    def url(self, host: str, path: str = "/") -> str:
        """The address to print and open: ``http://HOST:PORT/?token=...``."""
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
        return hmac.compare_digest(candidate.encode(), self.token.encode())

    def cookie_matches(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self.cookie_value.encode())


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


class AccessGuard:
    """ASGI middleware that applies an :class:`AccessPolicy` to every HTTP request and websocket.

    It sits outside NiceGUI's own app so it also covers socket.io (mounted under ``/_nicegui_ws``), static
    files and any route added later. Lifespan events pass through untouched.
    """

    def __init__(self, app: ASGIApp, policy: AccessPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        host = headers.get("host", "")
        if not self.policy.host_allowed(host) or not self.policy.origin_allowed(
            headers.get("origin", ""), host
        ):
            await self._refuse(kind, send)
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        offered = query.get(TOKEN_PARAMETER)
        if offered is not None:
            if not self.policy.token_matches(offered):
                await self._refuse(kind, send)
                return
            if kind == "http":
                await self._redirect_with_cookie(scope, query, send)
                return
        elif not self.policy.cookie_matches(_cookie(headers, self.policy.cookie_name)):
            await self._refuse(kind, send)
            return
        if kind == "http":
            await self.app(scope, receive, _with_security_headers(send))
        else:
            await self.app(scope, receive, send)

    async def _redirect_with_cookie(self, scope: Scope, query: dict[str, str], send: Send) -> None:
        rest = {key: value for key, value in query.items() if key != TOKEN_PARAMETER}
        location = (
            scope.get("root_path", "") + scope.get("path", "/") + (f"?{urlencode(rest)}" if rest else "")
        )
        cookie = (
            f"{self.policy.cookie_name}={self.policy.cookie_value}; Path=/; HttpOnly; SameSite=Lax"
        ).encode("latin-1")
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", location.encode("latin-1")),
                    (b"set-cookie", cookie),
                    (b"cache-control", b"no-store"),
                    (b"content-length", b"0"),
                    *SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    @staticmethod
    async def _refuse(kind: str, send: Send) -> None:
        if kind == "websocket":
            # Closing before accepting makes the server answer the handshake with 403.
            await send({"type": "websocket.close", "code": 1008})
            return
        body = (REFUSED_TEXT + "\n").encode()
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
