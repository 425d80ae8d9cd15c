"""Signing in to IAM Identity Center: the OAuth device authorization flow against ``sso-oidc``, and refresh.

The flow is the aws CLI's (``SSOTokenFetcher`` in aws-cli v2's ``botocore/utils.py``), so the files it leaves
are the CLI's too (:mod:`ssmux.sso.tokens`):

1. RegisterClient, once per (start URL, region, scopes, session), cached until the registration expires;
2. StartDeviceAuthorization: a user code and the verification page to confirm it on;
3. CreateToken until the user approved: ``AuthorizationPendingException`` means wait ``interval`` seconds and
   ask again, ``SlowDownException`` adds 5 seconds to the interval for good (RFC 8628 §3.5),
   ``ExpiredTokenException`` ends the attempt (the code timed out unapproved).

One CreateToken is tried before the user is told anything, as the CLI does: a client that is already
authorized gets its token without a page to visit. A token that expired (or will within 15 minutes) is
refreshed with its refresh token when it has one (sso-session sign-ins do); otherwise the user must sign in
again, and the error says with which command.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from ssmux.errors import AwsError, SsmuxError
from ssmux.sso.tokens import Registration, SsoToken, TokenCache, registration_key

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CODE_GRANTS = ("authorization_code", "refresh_token")
DEFAULT_SCOPE = "sso:account:access"
#: The redirect registered for the code flow; the sign-in adds the port it listens on (RFC 8252 §7.3).
REDIRECT_URI = "http://127.0.0.1/oauth/callback"
#: How long the code flow waits for the browser to come back (the CLI's ``_OVERALL_TIMEOUT``).
CODE_FLOW_TIMEOUT = 600.0
SLOW_DOWN_DELAY = 5.0  # RFC 8628 §3.5
DEFAULT_INTERVAL = 5.0  # RFC 8628 §3.2, when the service gives none


class LoginExpired(SsmuxError):
    """The device code expired before the user approved it."""


@dataclass(frozen=True)
class SsoTarget:
    """Where to sign in: a start URL and its region, and the sso-session it belongs to (``None``: legacy).

    Attributes:
        start_url: ``https://<id>.awsapps.com/start`` (or the emulator's).
        region: The region of IAM Identity Center.
        session_name: The ``[sso-session NAME]`` of the AWS config, or ``None`` for a bare start URL.
        scopes: Registration scopes (an sso-session defaults to ``sso:account:access``, which gives a
            refresh token); none for a legacy start URL.
    """

    start_url: str
    region: str
    session_name: str | None = None
    scopes: tuple[str, ...] = ()

    @property
    def login_command(self) -> str:
        """The command that signs in to this target again."""
        if self.session_name:
            return f"ssmux sso login --sso-session {self.session_name}"
        return f"ssmux sso login --start-url {self.start_url} --sso-region {self.region}"


@dataclass(frozen=True)
class Authorization:
    """What the user does to approve the sign-in: open ``verification_uri_complete`` (or enter the code)."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_at: datetime
    device_code: str
    interval: float


class _Login:
    """What both sign-ins share: the client registration (cached), the token, the error mapping."""

    #: True for the authorization-code sign-in: its registration has the code grant and a redirect.
    code_flow = False

    def __init__(
        self,
        oidc: Any,
        target: SsoTarget,
        cache: TokenCache | None = None,
        *,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.oidc = oidc
        self.target = target
        self.cache = cache or TokenCache()
        self.now = now or (lambda: datetime.now(UTC))
        self.registration: Registration | None = None

    def _registration(self) -> Registration:
        target = self.target
        scopes = list(target.scopes) or None
        key = registration_key(target.start_url, target.region, scopes, target.session_name)
        cached = self.cache.registration(key)
        if (
            cached is not None
            and cached.expires_at - self.now() > timedelta(minutes=15)
            and cached.for_code_flow == self.code_flow
        ):
            self.registration = cached
            return cached
        name = target.session_name or str(int(self.now().timestamp()))
        params: dict[str, Any] = {"clientName": f"botocore-client-{name}", "clientType": "public"}
        if self.code_flow:
            params.update(
                grantTypes=list(CODE_GRANTS),
                redirectUris=[REDIRECT_URI],
                issuerUrl=target.start_url,
                scopes=scopes or [DEFAULT_SCOPE],
            )
        elif scopes:
            params["scopes"] = scopes
        response = self._call("RegisterClient", self.oidc.register_client, **params)
        registration = Registration(
            response["clientId"],
            response["clientSecret"],
            datetime.fromtimestamp(int(response["clientSecretExpiresAt"]), UTC),
            tuple(params.get("scopes") or ()),
            tuple(params.get("grantTypes") or ()),
        )
        self.cache.write(key, registration.to_json())
        self.registration = registration
        return registration

    def _token(self, response: dict[str, Any], registration: Registration) -> SsoToken:
        return SsoToken(
            start_url=self.target.start_url,
            region=self.target.region,
            access_token=response["accessToken"],
            expires_at=self.now() + timedelta(seconds=int(response["expiresIn"])),
            client_id=registration.client_id,
            client_secret=registration.client_secret,
            registration_expires_at=registration.expires_at,
            refresh_token=response.get("refreshToken"),
        )

    def _call(self, operation: str, method: Callable[..., dict[str, Any]], **params: Any) -> dict[str, Any]:
        try:
            return method(**params)
        except Exception as error:
            raise _translate(error, operation) from error


class DeviceLogin(_Login):
    """One sign-in with the device flow.

    Args:
        oidc: An unsigned botocore ``sso-oidc`` client in the target's region.
        target: Where to sign in.
        cache: The token cache (default: the aws CLI's).
        now: The clock (UTC).
        sleep: How to wait between polls.
    """

    def __init__(
        self,
        oidc: Any,
        target: SsoTarget,
        cache: TokenCache | None = None,
        *,
        now: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(oidc, target, cache, now=now)
        self.sleep = sleep

    def login(self, on_pending: Callable[[Authorization], None]) -> SsoToken:
        """Sign in: register, authorize, poll; the token, written to the cache.

        ``on_pending`` is called once, if the user has to approve (show the code, open the page).

        Raises:
            LoginExpired: the code was not approved in time.
            AwsError: sso-oidc refused (an unknown start URL, a network failure).
        """
        authorization = self.authorize()
        interval = authorization.interval
        token, interval = self._attempt(authorization, interval)
        if token is None:
            on_pending(authorization)
        while token is None:
            self.sleep(interval)
            token, interval = self._attempt(authorization, interval)
        self.cache.save_token(token, self.target.session_name)
        return token

    def authorize(self) -> Authorization:
        """Register (or reuse the cached registration) and start a device authorization."""
        registration = self._registration()
        response = self._call(
            "StartDeviceAuthorization",
            self.oidc.start_device_authorization,
            clientId=registration.client_id,
            clientSecret=registration.client_secret,
            startUrl=self.target.start_url,
        )
        return Authorization(
            user_code=response["userCode"],
            verification_uri=response["verificationUri"],
            verification_uri_complete=response["verificationUriComplete"],
            expires_at=self.now() + timedelta(seconds=int(response["expiresIn"])),
            device_code=response["deviceCode"],
            interval=float(response.get("interval") or DEFAULT_INTERVAL),
        )

    def _attempt(self, authorization: Authorization, interval: float) -> tuple[SsoToken | None, float]:
        registration = self.registration
        assert registration is not None
        errors = self.oidc.exceptions
        try:
            response = self.oidc.create_token(
                grantType=DEVICE_GRANT,
                clientId=registration.client_id,
                clientSecret=registration.client_secret,
                deviceCode=authorization.device_code,
            )
        except errors.SlowDownException:
            return None, interval + SLOW_DOWN_DELAY
        except errors.AuthorizationPendingException:
            return None, interval
        except errors.ExpiredTokenException:
            raise LoginExpired(
                f"the sign-in code {authorization.user_code} expired before it was approved: run "
                f"'{self.target.login_command}' again"
            ) from None
        except Exception as error:
            raise _translate(error, "CreateToken") from error
        return self._token(response, registration), interval


class CodeLogin(_Login):
    """One sign-in with the authorization code and PKCE (aws-cli v2's default for an sso-session).

    The browser opens sso-oidc's ``/authorize`` page; once the user allows it, it is sent back to a server
    this sign-in runs on 127.0.0.1 (any free port), with a one-time code and the state this sign-in made;
    CreateToken then trades the code and the PKCE verifier for the token. No code to type, no polling.

    Args:
        oidc: An unsigned botocore ``sso-oidc`` client in the target's region.
        target: Where to sign in (an sso-session: the code flow needs its scopes).
        cache: The token cache (default: the aws CLI's).
        timeout: Seconds to wait for the browser to come back.
    """

    code_flow = True

    def __init__(
        self,
        oidc: Any,
        target: SsoTarget,
        cache: TokenCache | None = None,
        *,
        now: Callable[[], datetime] | None = None,
        timeout: float = CODE_FLOW_TIMEOUT,
    ) -> None:
        super().__init__(oidc, target, cache, now=now)
        self.timeout = timeout

    def login(self, open_page: Callable[[str], None]) -> SsoToken:
        """Sign in: ``open_page`` gets the page to open in a browser; the token, written to the cache.

        Raises:
            LoginExpired: the browser did not come back in time, or came back refused.
            AwsError: sso-oidc refused the registration or the code.
        """
        registration = self._registration()
        verifier = "".join(secrets.choice(string.ascii_letters + string.digits + "-._~") for _ in range(64))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        state = str(uuid.uuid4())
        with _Callback() as callback:
            redirect = callback.redirect_uri
            query = {
                "response_type": "code",
                "client_id": registration.client_id,
                "redirect_uri": redirect,
                "state": state,
                "code_challenge_method": "S256",
                "scopes": " ".join(registration.scopes or (DEFAULT_SCOPE,)),
                "code_challenge": challenge,
            }
            base = str(self.oidc.meta.endpoint_url).rstrip("/")
            open_page(f"{base}/authorize?{urlencode(query)}")
            answer = callback.wait(self.timeout)
        again = f"run '{self.target.login_command}' again"
        if answer is None:
            raise LoginExpired(f"the browser did not come back from the sign-in page in time: {again}")
        if answer.get("state") != state or not answer.get("code"):
            why = answer.get("error") or "no code"
            raise LoginExpired(f"the sign-in page answered without a valid code ({why}): {again}")
        response = self._call(
            "CreateToken",
            self.oidc.create_token,
            grantType="authorization_code",
            clientId=registration.client_id,
            clientSecret=registration.client_secret,
            redirectUri=redirect,
            codeVerifier=verifier,
            code=answer["code"],
        )
        token = self._token(response, registration)
        self.cache.save_token(token, self.target.session_name)
        return token


class _Callback:
    """The loopback server the browser is sent back to: it takes one ``/oauth/callback`` and says so."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        done = threading.Event()
        answer: dict[str, str] = {}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/oauth/callback" or done.is_set():
                    self.send_error(404)
                    return
                answer.update({k: v[-1] for k, v in parse_qs(parts.query).items()})
                page = b"<!doctype html><title>ssmux</title><p>Signed in. You can close this tab.</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)
                done.set()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the query holds the code: never logged

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._done = done
        self._answer = answer
        self.redirect_uri = f"http://127.0.0.1:{self._server.server_port}/oauth/callback"

    def __enter__(self) -> _Callback:
        threading.Thread(target=self._server.serve_forever, name="sso-callback", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout: float) -> dict[str, str] | None:
        """The callback's query once the browser came back, or ``None`` after ``timeout`` seconds."""
        return dict(self._answer) if self._done.wait(timeout) else None


def refreshed(oidc: Any, token: SsoToken, target: SsoTarget, cache: TokenCache | None = None) -> SsoToken:
    """A new access token for ``token`` through its refresh token, written to the cache.

    Raises:
        AwsError: there is no refresh token, or the service refused it: the message names the command that
            signs in again.
    """
    again = f"run '{target.login_command}'"
    if not token.refresh_token:
        raise AwsError(
            f"the IAM Identity Center sign-in for {target.start_url} expired: {again}", code="ExpiredToken"
        )
    try:
        response = oidc.create_token(
            grantType="refresh_token",
            clientId=token.client_id,
            clientSecret=token.client_secret,
            refreshToken=token.refresh_token,
        )
    except Exception as error:
        code = getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)
        raise AwsError(
            f"the IAM Identity Center sign-in for {target.start_url} expired and could not be renewed "
            f"({code}): {again}",
            code="ExpiredToken",
        ) from None
    new = SsoToken(
        start_url=token.start_url,
        region=token.region,
        access_token=response["accessToken"],
        expires_at=datetime.now(UTC) + timedelta(seconds=int(response["expiresIn"])),
        client_id=token.client_id,
        client_secret=token.client_secret,
        registration_expires_at=token.registration_expires_at,
        refresh_token=response.get("refreshToken") or token.refresh_token,
    )
    (cache or TokenCache()).save_token(new, target.session_name)
    return new


def _translate(error: Exception, operation: str) -> SsmuxError:
    from ssmux.core import aws

    return aws.translate(error, aws_profile=None, region=None, action=operation)


def resolve_target(
    *, session_name: str | None = None, start_url: str | None = None, region: str | None = None
) -> tuple[SsoTarget, str | None]:
    """Where to sign in, from the options and the AWS config; and an AWS CLI profile that uses it.

    ``--sso-session NAME`` reads ``[sso-session NAME]``; ``--start-url`` with ``--sso-region`` is a legacy
    sign-in (no scopes, no refresh token); neither takes the config's only sso-session. The profile returned
    is the first one using that sign-in (its settings, such as ``endpoint_url``, apply to the sign-in calls,
    as they do for ``aws sso login --profile``), or ``None``.

    Raises:
        InvalidValue: the session is not in the config, or what is given is incomplete or ambiguous.
    """
    import botocore.session

    from ssmux.errors import InvalidValue

    config = botocore.session.Session().full_config
    sessions: dict[str, dict[str, Any]] = config.get("sso_sessions", {})
    profiles: dict[str, dict[str, Any]] = config.get("profiles", {})
    if start_url or region:
        if session_name or not (start_url and region):
            raise InvalidValue("give --start-url with --sso-region, or --sso-session alone")
        target = SsoTarget(start_url, region)
        return target, next((p for p, v in profiles.items() if v.get("sso_start_url") == start_url), None)
    if session_name is None:
        if len(sessions) != 1:
            listed = ", ".join(sorted(sessions)) or "none in the AWS config"
            raise InvalidValue(
                f"name the sign-in with --sso-session NAME (sso-sessions: {listed}), or give --start-url URL "
                "--sso-region REGION"
            )
        session_name = next(iter(sessions))
    section = sessions.get(session_name)
    if section is None:
        raise InvalidValue(
            f"no [sso-session {session_name}] in the AWS config: add it with 'aws configure sso-session', or "
            "give --start-url URL --sso-region REGION"
        )
    url, sso_region = section.get("sso_start_url"), section.get("sso_region")
    if not url or not sso_region:
        raise InvalidValue(f"[sso-session {session_name}] needs sso_start_url and sso_region")
    raw_scopes = str(section.get("sso_registration_scopes") or "sso:account:access")
    scopes = tuple(scope.strip() for scope in raw_scopes.split(",") if scope.strip())
    target = SsoTarget(str(url), str(sso_region), session_name, scopes)
    return target, next((p for p, v in profiles.items() if v.get("sso_session") == session_name), None)


def usable_token(target: SsoTarget, oidc: Callable[[], Any], cache: TokenCache | None = None) -> SsoToken:
    """The cached token of ``target``, refreshed first if it expired (``oidc`` makes the client for that).

    Raises:
        AwsError: there is no sign-in, or it expired and cannot be refreshed; the message names the command.
    """
    cache = cache or TokenCache()
    token = cache.token(target.start_url, target.session_name)
    if token is None:
        raise AwsError(
            f"not signed in to IAM Identity Center at {target.start_url}: run '{target.login_command}'",
            code="ExpiredToken",
        )
    if token.expired(datetime.now(UTC)):
        token = refreshed(oidc(), token, target, cache)
    return token
