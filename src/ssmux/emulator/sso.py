"""IAM Identity Center as the emulator serves it: the OIDC device flow (``sso-oidc``), the portal (``sso``).

Both are REST-JSON services that botocore calls unsigned (``authtype: none`` in their models), so they are
told apart from the others by path: ``/client/register``, ``/device_authorization`` and ``/token`` are
sso-oidc; ``/assignment/*``, ``/federation/credentials`` and ``/logout`` are the portal, which takes the
access token in the ``x-amz-sso_bearer_token`` header. What each call checks and answers follows the
service's API references (*IAM Identity Center OIDC API Reference*, *IAM Identity Center Portal API
Reference*) and the shapes in botocore's ``sso-oidc`` and ``sso`` models:

* RegisterClient accepts only ``clientType: public``; the secret expires after 90 days.
* StartDeviceAuthorization gives a device code and a user code valid 10 minutes, with a polling interval.
* CreateToken answers ``AuthorizationPendingException`` until the user approves, ``SlowDownException`` when
  polled faster than the interval, ``ExpiredTokenException`` once the device code expired, and
  ``InvalidGrantException`` for a code already used; the access token lives 8 hours. A refresh token is
  given to clients registered with scopes (the aws CLI registers ``sso:account:access`` for ``sso-session``
  profiles; legacy profiles register none and get none) or with the ``refresh_token`` grant.
* The portal answers ``UnauthorizedException`` (401) for a missing, unknown or expired token, and HTTP 403
  ``ForbiddenException: No access`` for a role the user is not assigned: the model does not list it, but it
  is what the aws CLI reports from AWS (aws/aws-cli issue 7871, aws/aws-sam-cli issue 2129). Role
  credentials last one hour (a permission set's default session duration).

The authorization-code sign-in with PKCE (what aws-cli v2 does by default for an ``sso-session``) is served
too: RegisterClient with the ``authorization_code`` grant, a loopback redirect URI and the issuer URL; the
un-modelled ``GET /authorize`` that the browser opens, which sends it back to the redirect URI (any port, as
RFC 8252 §7.3 has it for loopback addresses) with a one-time code and the state; and CreateToken with that
code, the same redirect URI and the verifier whose SHA-256 is the challenge (RFC 7636, S256 only). Codes
are good once, for five minutes.

Approval is either automatic (the demo and most tests) or waits for the user on a local page,
``/device?user_code=…`` (device flow) or the ``/authorize`` page (code flow), with an Allow button.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from ssmux.emulator.wire import ApiError, StartResponse

if TYPE_CHECKING:
    from ssmux.emulator.scenario import ScenarioSso

#: A client secret is valid this long (RegisterClient: ``clientSecretExpiresAt``).
CLIENT_SECRET_LIFETIME = 90 * 24 * 3600
#: Device and user codes expire after this (StartDeviceAuthorization: ``expiresIn``).
DEVICE_CODE_LIFETIME = 600
#: Seconds a client waits between CreateToken polls (StartDeviceAuthorization: ``interval``).
POLL_INTERVAL = 1
#: An access token lives this long (CreateToken: ``expiresIn``).
ACCESS_TOKEN_LIFETIME = 8 * 3600
#: Role credentials last this long (GetRoleCredentials: ``expiration``).
ROLE_CREDENTIALS_LIFETIME = 3600
#: Default and largest page size of ListAccounts and ListAccountRoles (the portal's ``max_result``).
PAGE_SIZE = 20

OIDC_PATHS = frozenset({"/client/register", "/device_authorization", "/token"})
AUTHORIZE_PAGE = "/authorize"
AUTH_CODE_GRANT = "authorization_code"
#: An authorization code is good this long (RFC 6749 §4.1.2 asks for short; AWS does not say).
AUTH_CODE_LIFETIME = 300
PORTAL_PATHS = frozenset({"/assignment/accounts", "/assignment/roles", "/federation/credentials", "/logout"})
DEVICE_PAGE = "/device"

_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # no vowels: no words in codes, as AWS's codes
_TOKEN_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class RoleGrant:
    """A role the user may take in an account, and the keys that role's calls are signed with.

    Attributes:
        account_id: 12-digit account.
        role_name: Permission set name (``AdministratorAccess``, ``ReadOnly``).
        access_key_id: Access key GetRoleCredentials hands out; the emulator maps it to the account.
        secret_access_key: Its secret.
    """

    account_id: str
    role_name: str
    access_key_id: str
    secret_access_key: str


@dataclass(frozen=True)
class SsoAccount:
    """An account of the organization as the portal lists it."""

    account_id: str
    name: str
    email: str


@dataclass(frozen=True)
class SsoDirectory:
    """What the signed-in user can reach: the organization's accounts and the user's role grants.

    Attributes:
        start_url: The AWS access portal URL (``https://<id>.awsapps.com/start``).
        region: The region Identity Center runs in.
        accounts: Accounts in listing order.
        grants: Roles per account the user is assigned.
        approve: ``auto`` approves every device code at once; ``manual`` waits for the device page.
    """

    start_url: str
    region: str
    accounts: tuple[SsoAccount, ...]
    grants: tuple[RoleGrant, ...]
    approve: str = "auto"

    def roles(self, account_id: str) -> list[RoleGrant]:
        return [grant for grant in self.grants if grant.account_id == account_id]

    @classmethod
    def of(cls, sso: ScenarioSso) -> SsoDirectory:
        """The directory of a scenario's ``sso`` block."""
        return cls(
            start_url=sso.start_url,
            region=sso.region,
            accounts=tuple(SsoAccount(*account) for account in sso.accounts),
            grants=tuple(
                RoleGrant(g.account_id, g.role or "", g.access_key_id, g.secret_access_key)
                for g in sso.grants
            ),
            approve=sso.approve,
        )


@dataclass
class _Client:
    secret: str
    expires_at: float
    grant_types: frozenset[str]
    scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...] = ()

    @property
    def may_refresh(self) -> bool:
        return bool(self.scopes) or "refresh_token" in self.grant_types


@dataclass
class _Device:
    client_id: str
    user_code: str
    expires_at: float
    approved: bool = False
    denied: bool = False
    used: bool = False
    last_poll: float | None = None
    interval: float = POLL_INTERVAL


@dataclass
class _AuthCode:
    client_id: str
    redirect_uri: str
    challenge: str
    expires_at: float


@dataclass
class _Token:
    client_id: str
    expires_at: float
    scopes: tuple[str, ...] = field(default_factory=tuple)


class IdentityCenter:
    """sso-oidc and the portal over one :class:`SsoDirectory`; thread-safe (the WSGI server is threaded).

    Args:
        directory: The organization and the user's grants.
        now: The clock (tests move it to expire codes and tokens).
    """

    def __init__(self, directory: SsoDirectory, now: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self.now = now
        self._lock = threading.Lock()
        self._clients: dict[str, _Client] = {}
        self._devices: dict[str, _Device] = {}
        self._access: dict[str, _Token] = {}
        self._refresh: dict[str, str] = {}  # refresh token -> client id
        self._codes: dict[str, _AuthCode] = {}
        self._by_key = {grant.access_key_id: grant for grant in directory.grants}

    @staticmethod
    def handles(path: str) -> bool:
        """Whether a request for ``path`` is Identity Center's."""
        return path in OIDC_PATHS or path in PORTAL_PATHS or path in (DEVICE_PAGE, AUTHORIZE_PAGE)

    def grant_for_key(self, access_key_id: str) -> RoleGrant | None:
        """The role grant whose credentials carry ``access_key_id``."""
        return self._by_key.get(access_key_id)

    # ------------------------------------------------------------------------------------ WSGI

    def __call__(self, environ: Mapping[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        query = {key: values[-1] for key, values in parse_qs(str(environ.get("QUERY_STRING", ""))).items()}
        try:
            if path == DEVICE_PAGE:
                return self._device_page(environ, query, start_response)
            if path == AUTHORIZE_PAGE:
                return self._authorize_page(environ, query, start_response)
            if path in OIDC_PATHS:
                body = _json_body(environ)
                # The verification page is served here too: its link names the host the client called.
                host = str(environ.get("HTTP_HOST") or "127.0.0.1")
                answer = self._oidc(path, body, f"{environ.get('wsgi.url_scheme', 'http')}://{host}")
            else:
                token = str(environ.get("HTTP_X_AMZ_SSO_BEARER_TOKEN", ""))
                answer = self._portal(path, query, token)
        except ApiError as error:
            return _error(start_response, error)
        return _json(start_response, answer)

    # ------------------------------------------------------------------------------------ OIDC

    def _oidc(self, path: str, body: Mapping[str, Any], base_url: str) -> dict[str, Any]:
        with self._lock:
            if path == "/client/register":
                return self._register(body)
            if path == "/device_authorization":
                return self._start_device(body, base_url)
            return self._create_token(body)

    def _register(self, body: Mapping[str, Any]) -> dict[str, Any]:
        name = body.get("clientName")
        if not isinstance(name, str) or not name:
            raise _invalid_request("clientName is required")
        if body.get("clientType") != "public":
            raise ApiError("InvalidClientMetadataException", "Invalid client type", 400)
        grant_types = body.get("grantTypes") or ["urn:ietf:params:oauth:grant-type:device_code"]
        redirect_uris = tuple(str(uri) for uri in body.get("redirectUris") or ())
        if AUTH_CODE_GRANT in grant_types:
            if not redirect_uris or not all(_loopback(uri) for uri in redirect_uris):
                raise ApiError("InvalidRedirectUriException", "Invalid redirect URI", 400)
            if body.get("issuerUrl") != self.directory.start_url:
                raise ApiError("InvalidClientMetadataException", "Invalid issuer URL", 400)
        issued = int(self.now())
        client_id = _random(22)
        client = _Client(
            secret=_random(48),
            expires_at=issued + CLIENT_SECRET_LIFETIME,
            grant_types=frozenset(str(grant) for grant in grant_types),
            scopes=tuple(str(scope) for scope in body.get("scopes") or ()),
            redirect_uris=redirect_uris,
        )
        self._clients[client_id] = client
        return {
            "clientId": client_id,
            "clientSecret": client.secret,
            "clientIdIssuedAt": issued,
            "clientSecretExpiresAt": int(client.expires_at),
        }

    def _client(self, body: Mapping[str, Any]) -> tuple[str, _Client]:
        client_id = str(body.get("clientId", ""))
        client = self._clients.get(client_id)
        if client is None or client.secret != body.get("clientSecret"):
            raise _oauth("InvalidClientException", "invalid_client", "Invalid client", 401)
        if client.expires_at <= self.now():
            raise _oauth("InvalidClientException", "invalid_client", "Client secret has expired", 401)
        return client_id, client

    def _start_device(self, body: Mapping[str, Any], base_url: str) -> dict[str, Any]:
        client_id, _ = self._client(body)
        if body.get("startUrl") != self.directory.start_url:
            raise _invalid_request("Invalid start URL")
        device_code = _random(64)
        user_code = "-".join("".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(4)) for _ in range(2))
        device = _Device(client_id, user_code, self.now() + DEVICE_CODE_LIFETIME)
        device.approved = self.directory.approve == "auto"
        self._devices[device_code] = device
        verification = f"{base_url}{DEVICE_PAGE}"
        return {
            "deviceCode": device_code,
            "userCode": user_code,
            "verificationUri": verification,
            "verificationUriComplete": f"{verification}?user_code={user_code}",
            "expiresIn": DEVICE_CODE_LIFETIME,
            "interval": POLL_INTERVAL,
        }

    def _create_token(self, body: Mapping[str, Any]) -> dict[str, Any]:
        client_id, client = self._client(body)
        grant = body.get("grantType")
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            return self._token_for_device(client_id, client, str(body.get("deviceCode", "")))
        if grant == "refresh_token":
            return self._token_for_refresh(client_id, client, str(body.get("refreshToken", "")))
        if grant == AUTH_CODE_GRANT:
            return self._token_for_code(client_id, client, body)
        raise _oauth("UnsupportedGrantTypeException", "unsupported_grant_type", "Unsupported grant type", 400)

    def _token_for_device(self, client_id: str, client: _Client, device_code: str) -> dict[str, Any]:
        device = self._devices.get(device_code)
        if device is None or device.client_id != client_id or device.used:
            raise _oauth("InvalidGrantException", "invalid_grant", "Invalid grant provided", 400)
        now = self.now()
        if device.expires_at <= now:
            raise _oauth("ExpiredTokenException", "expired_token", "Device code has expired", 400)
        if device.denied:
            raise _oauth("AccessDeniedException", "access_denied", "Authorization was denied", 400)
        if not device.approved:
            too_soon = device.last_poll is not None and now - device.last_poll < device.interval
            device.last_poll = now
            if too_soon:
                device.interval += 5  # RFC 8628 §3.5: the client must then wait 5 s more
                raise _oauth("SlowDownException", "slow_down", "Client is polling too fast", 400)
            raise _oauth(
                "AuthorizationPendingException",
                "authorization_pending",
                "Authorization is still pending",
                400,
            )
        device.used = True
        return self._issue(client_id, client)

    def _token_for_code(self, client_id: str, client: _Client, body: Mapping[str, Any]) -> dict[str, Any]:
        code = self._codes.pop(str(body.get("code", "")), None)  # good once, whatever happens next
        invalid = _oauth("InvalidGrantException", "invalid_grant", "Invalid grant provided", 400)
        if code is None or code.client_id != client_id or code.expires_at <= self.now():
            raise invalid
        if body.get("redirectUri") != code.redirect_uri:
            raise invalid
        verifier = str(body.get("codeVerifier", ""))
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        if not hmac.compare_digest(digest, code.challenge.rstrip("=")):
            raise invalid
        return self._issue(client_id, client)

    def _token_for_refresh(self, client_id: str, client: _Client, refresh_token: str) -> dict[str, Any]:
        if not client.may_refresh:
            raise _oauth("UnauthorizedClientException", "unauthorized_client", "Unauthorized client", 400)
        if self._refresh.pop(refresh_token, None) != client_id:
            raise _oauth("InvalidGrantException", "invalid_grant", "Invalid refresh token provided", 400)
        return self._issue(client_id, client)

    def _issue(self, client_id: str, client: _Client) -> dict[str, Any]:
        access = "aoa" + _random(120)
        self._access[access] = _Token(client_id, self.now() + ACCESS_TOKEN_LIFETIME, client.scopes)
        answer: dict[str, Any] = {
            "accessToken": access,
            "tokenType": "Bearer",
            "expiresIn": ACCESS_TOKEN_LIFETIME,
        }
        if client.may_refresh:
            refresh = "aor" + _random(120)
            self._refresh[refresh] = client_id
            answer["refreshToken"] = refresh
        return answer

    # ---------------------------------------------------------------------------------- portal

    def _portal(self, path: str, query: Mapping[str, str], token: str) -> dict[str, Any]:
        with self._lock:
            record = self._access.get(token)
            if record is None or record.expires_at <= self.now():
                raise ApiError("UnauthorizedException", "Session token not found or invalid", 401)
            if path == "/logout":
                del self._access[token]
                return {}
        if path == "/assignment/accounts":
            accounts = [a for a in self.directory.accounts if self.directory.roles(a.account_id)]
            page, next_token = _page(accounts, query)
            listed = [
                {"accountId": a.account_id, "accountName": a.name, "emailAddress": a.email} for a in page
            ]
            return _with_next({"accountList": listed}, next_token)
        account_id = query.get("account_id", "")
        if not account_id:
            raise _invalid_request("account_id is required")
        grants = self.directory.roles(account_id)
        if path == "/assignment/roles":
            roles, next_token = _page(grants, query)
            listed = [{"roleName": g.role_name, "accountId": g.account_id} for g in roles]
            return _with_next({"roleList": listed}, next_token)
        role_name = query.get("role_name", "")
        grant = next((g for g in grants if g.role_name == role_name), None)
        if grant is None:
            raise ApiError("ForbiddenException", "No access", 403)
        expiration = int((self.now() + ROLE_CREDENTIALS_LIFETIME) * 1000)
        return {
            "roleCredentials": {
                "accessKeyId": grant.access_key_id,
                "secretAccessKey": grant.secret_access_key,
                "sessionToken": "sso-" + _random(64),
                "expiration": expiration,
            }
        }

    # ----------------------------------------------------------------------------- device page

    def approve(self, user_code: str) -> bool:
        """Approve the pending device authorization with ``user_code`` (the page's button, or a test)."""
        with self._lock:
            for device in self._devices.values():
                if device.user_code == user_code and not device.used and device.expires_at > self.now():
                    device.approved = True
                    return True
        return False

    def _authorize_page(
        self, environ: Mapping[str, Any], query: Mapping[str, str], start_response: StartResponse
    ) -> Iterable[bytes]:
        """The page the browser opens for the code flow: checks the request, then (once allowed) sends the
        browser back to the client's loopback redirect with a code and the state."""
        if environ.get("REQUEST_METHOD") == "POST":
            query = {k: v[-1] for k, v in parse_qs(_read(environ).decode("utf-8", "replace")).items()}
        client_id, redirect_uri = query.get("client_id", ""), query.get("redirect_uri", "")
        with self._lock:
            client = self._clients.get(client_id)
            problem = None
            if client is None or AUTH_CODE_GRANT not in client.grant_types:
                problem = "This application is not registered for this sign-in."
            elif not any(_same_redirect(uri, redirect_uri) for uri in client.redirect_uris):
                problem = "The redirect address is not the one the application registered."
            elif query.get("response_type") != "code" or query.get("code_challenge_method") != "S256":
                problem = "The request must ask for a code with an S256 challenge."
            elif not query.get("code_challenge"):
                problem = "The request has no code challenge."
        if problem is not None:
            return _html(start_response, "400 Bad Request", f"<p id='problem'>{html.escape(problem)}</p>")
        allowed = self.directory.approve == "auto" or environ.get("REQUEST_METHOD") == "POST"
        if not allowed:
            fields = "".join(
                f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
                for k, v in query.items()
            )
            form = (
                f"<form method='post'>{fields}<button id='allow' type='submit'>Allow access</button></form>"
            )
            return _html(start_response, "200 OK", "<h1>Allow access?</h1>" + form)
        code = _random(40)
        with self._lock:
            self._codes[code] = _AuthCode(
                client_id, redirect_uri, query["code_challenge"], self.now() + AUTH_CODE_LIFETIME
            )
        location = f"{redirect_uri}?{urlencode({'code': code, 'state': query.get('state', '')})}"
        start_response("302 Found", [("Location", location), ("Content-Length", "0")])
        return [b""]

    def _device_page(
        self, environ: Mapping[str, Any], query: Mapping[str, str], start_response: StartResponse
    ) -> Iterable[bytes]:
        user_code = query.get("user_code", "")
        if environ.get("REQUEST_METHOD") == "POST":
            form = {k: v[-1] for k, v in parse_qs(_read(environ).decode("utf-8", "replace")).items()}
            user_code = form.get("user_code", user_code)
            text = (
                "Request approved. You can close this window."
                if self.approve(user_code)
                else ("This code is not valid or has expired.")
            )
        else:
            text = ""
        code = html.escape(user_code)
        page = (
            "<!doctype html><title>Authorize request</title><h1>Authorize request</h1>"
            f"<p>Code: <b id='user-code'>{code}</b></p>"
            + (
                f"<p id='result'>{html.escape(text)}</p>"
                if text
                else (
                    "<form method='post'><input type='hidden' name='user_code' value='"
                    f"{code}'><button id='approve' type='submit'>Allow access</button></form>"
                )
            )
        ).encode()
        start_response(
            "200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(page)))]
        )
        return [page]


def _loopback(uri: str) -> bool:
    """An ``http://127.0.0.1…`` (or ``localhost``) redirect, the only kind a native client may register."""
    parts = urlsplit(uri)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


def _same_redirect(registered: str, given: str) -> bool:
    """RFC 8252 §7.3: a loopback redirect matches whatever its port."""
    a, b = urlsplit(registered), urlsplit(given)
    return (a.scheme, a.hostname, a.path) == (b.scheme, b.hostname, b.path)


def _page(items: list[Any], query: Mapping[str, str]) -> tuple[list[Any], str | None]:
    try:
        size = min(max(int(query.get("max_result", PAGE_SIZE)), 1), PAGE_SIZE)
        start = int(query.get("next_token") or 0)
    except ValueError:
        raise _invalid_request("Invalid pagination parameters") from None
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


def _with_next(answer: dict[str, Any], next_token: str | None) -> dict[str, Any]:
    if next_token is not None:
        answer["nextToken"] = next_token
    return answer


def _random(length: int) -> str:
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(length))


def _invalid_request(description: str) -> ApiError:
    return _oauth("InvalidRequestException", "invalid_request", description, 400)


class _OAuthError(ApiError):
    """An sso-oidc error: its body carries OAuth's ``error`` and ``error_description``."""

    def __init__(self, code: str, error: str, description: str, status: int) -> None:
        super().__init__(code, description, status)
        self.error = error


def _oauth(code: str, error: str, description: str, status: int) -> ApiError:
    return _OAuthError(code, error, description, status)


def _read(environ: Mapping[str, Any]) -> bytes:
    try:
        length = min(int(environ.get("CONTENT_LENGTH") or 0), 65536)
    except ValueError:
        length = 0
    stream = environ["wsgi.input"]
    data: bytes = stream.read(length) if length else b""
    return data


def _json_body(environ: Mapping[str, Any]) -> dict[str, Any]:
    import json

    raw = _read(environ)
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise _invalid_request("Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _invalid_request("Request body must be a JSON object")
    return body


def _json(
    start_response: StartResponse, answer: Mapping[str, Any], status: str = "200 OK"
) -> Iterable[bytes]:
    import json

    data = json.dumps(answer).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("x-amzn-RequestId", secrets.token_hex(16)),
        ],
    )
    return [data]


def _error(start_response: StartResponse, error: ApiError) -> Iterable[bytes]:
    import json

    if isinstance(error, _OAuthError):
        body: dict[str, Any] = {"error": error.error, "error_description": error.message}
    else:
        body = {"message": error.message}
    data = json.dumps(body).encode()
    reasons = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
    start_response(
        f"{error.status} {reasons.get(error.status, 'Error')}",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("x-amzn-ErrorType", error.code),
            ("x-amzn-RequestId", secrets.token_hex(16)),
        ],
    )
    return [data]


def _html(start_response: StartResponse, status: str, body: str) -> Iterable[bytes]:
    page = f"<!doctype html><title>Sign in</title>{body}".encode()
    start_response(status, [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(page)))])
    return [page]
