"""Signing in to IAM Identity Center with the device flow, against the emulator's sso-oidc and portal.

The emulator's :class:`~ssmux.emulator.sso.IdentityCenter` runs behind a real HTTP server on 127.0.0.1; the
client side is botocore's own ``sso-oidc`` and ``sso`` clients pointed at it. What the sign-in leaves in the
token cache is read back by botocore's own token provider, as ``aws`` and every SDK would read it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import botocore.session
import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from ssmux.emulator.sso import IdentityCenter, RoleGrant, SsoAccount, SsoDirectory
from ssmux.errors import AwsError
from ssmux.sso.login import Authorization, CodeLogin, DeviceLogin, LoginExpired, SsoTarget, refreshed
from ssmux.sso.tokens import TokenCache, token_key

START_URL = "https://d-1234567890.awsapps.com/start"
REGION = "eu-west-1"


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Clock:
    """The emulator's clock: real time plus an offset a test moves forward."""

    offset: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Center:
    service: IdentityCenter
    url: str
    clock: Clock

    def client(self, name: str) -> Any:
        config = Config(signature_version=UNSIGNED, retries={"max_attempts": 1})
        return botocore.session.Session().create_client(
            name, region_name=REGION, endpoint_url=self.url, config=config,
            aws_access_key_id="x", aws_secret_access_key="x",
        )  # fmt: skip


def directory(approve: str = "auto", accounts: int = 3) -> SsoDirectory:
    listed = tuple(
        SsoAccount(f"{n:012d}", f"team-{n}", f"team-{n}@example.com") for n in range(1, accounts + 1)
    )
    grants = tuple(
        RoleGrant(account.account_id, role, f"AKIA{account.account_id}{index}", "secret")
        for account in listed
        for index, role in enumerate(("ReadOnly", "Admin"))
    )
    return SsoDirectory(START_URL, REGION, listed, grants, approve)


def serve(directory: SsoDirectory) -> Iterator[Center]:
    clock = Clock()
    center = IdentityCenter(directory, now=clock)
    server = make_server("127.0.0.1", 0, center, server_class=_Server, handler_class=_Quiet)
    url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Center(center, url, clock)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def center() -> Iterator[Center]:
    yield from serve(directory())


@pytest.fixture
def manual_center() -> Iterator[Center]:
    yield from serve(directory(approve="manual"))


SESSION = SsoTarget(START_URL, REGION, "corp", ("sso:account:access",))
LEGACY = SsoTarget(START_URL, REGION)


def test_sign_in_writes_the_aws_cli_token_file(center: Center, tmp_path: Path) -> None:
    """An sso-session sign-in leaves the token where and as the aws CLI does: botocore's own token provider
    finds it by the session's name and hands out its access token."""
    cache = TokenCache(tmp_path / "cache")
    pending: list[Authorization] = []
    token = DeviceLogin(center.client("sso-oidc"), SESSION, cache).login(pending.append)
    assert pending == []  # auto-approved: the first CreateToken already succeeded, nothing to show
    path = tmp_path / "cache" / f"{token_key(START_URL, 'corp')}.json"
    data = json.loads(path.read_text())
    assert list(data) == [
        "startUrl", "region", "accessToken", "expiresAt", "clientId", "clientSecret", "registrationExpiresAt",
        "refreshToken",
    ]  # fmt: skip
    assert data["accessToken"] == token.access_token
    assert data["expiresAt"].endswith("Z") and len(data["expiresAt"]) == len("2026-11-30T12:00:00Z")
    assert path.read_text() == json.dumps(data)  # Python's default separators, no indent, as the CLI

    from botocore.tokens import SSOTokenProvider
    from botocore.utils import JSONFileCache

    config = tmp_path / "config"
    config.write_text(
        f"[sso-session corp]\nsso_start_url = {START_URL}\nsso_region = {REGION}\n"
        "sso_registration_scopes = sso:account:access\n\n[profile p]\nsso_session = corp\n"
    )
    session = botocore.session.Session()
    session.set_config_variable("config_file", str(config))
    session.set_config_variable("profile", "p")
    provider = SSOTokenProvider(session, cache=JSONFileCache(str(tmp_path / "cache")))
    assert provider.load_token().get_frozen_token().token == token.access_token


def test_the_token_opens_the_portal(center: Center, tmp_path: Path) -> None:
    """The token lists accounts (paged) and roles, and gets role credentials; other roles are refused."""
    token = DeviceLogin(center.client("sso-oidc"), LEGACY, TokenCache(tmp_path)).login(lambda a: None)
    assert token.refresh_token is None  # a legacy start URL registers no scopes: no refresh token
    portal = center.client("sso")
    pages = portal.get_paginator("list_accounts").paginate(accessToken=token.access_token, maxResults=2)
    accounts = [account["accountName"] for page in pages for account in page["accountList"]]
    assert accounts == ["team-1", "team-2", "team-3"]
    roles = portal.list_account_roles(accessToken=token.access_token, accountId="000000000002")["roleList"]
    assert sorted(role["roleName"] for role in roles) == ["Admin", "ReadOnly"]
    credentials = portal.get_role_credentials(
        accessToken=token.access_token, accountId="000000000002", roleName="Admin"
    )["roleCredentials"]
    assert credentials["accessKeyId"] == "AKIA0000000000021"
    assert credentials["expiration"] > time.time() * 1000
    with pytest.raises(portal.exceptions.ClientError) as refused:
        portal.get_role_credentials(
            accessToken=token.access_token, accountId="000000000002", roleName="Owner"
        )
    assert refused.value.response["Error"]["Code"] == "ForbiddenException"
    with pytest.raises(portal.exceptions.UnauthorizedException):
        portal.list_accounts(accessToken="not-a-token")


def test_waiting_for_approval_on_the_device_page(manual_center: Center, tmp_path: Path) -> None:
    """The user is shown the code once; the sign-in waits until the code is approved on the page."""
    shown: list[Authorization] = []

    def approve(authorization: Authorization) -> None:
        shown.append(authorization)

        def click() -> None:
            time.sleep(1.5)
            page = httpx.get(authorization.verification_uri_complete)
            assert authorization.user_code in page.text
            httpx.post(authorization.verification_uri, data={"user_code": authorization.user_code})

        threading.Thread(target=click, daemon=True).start()

    started = time.monotonic()
    token = DeviceLogin(manual_center.client("sso-oidc"), SESSION, TokenCache(tmp_path)).login(approve)
    assert len(shown) == 1 and shown[0].verification_uri_complete.endswith(f"user_code={shown[0].user_code}")
    assert time.monotonic() - started >= 1.5
    assert token.access_token


def test_polling_too_fast_is_slowed_down(manual_center: Center, tmp_path: Path) -> None:
    """A client that polls faster than the interval gets SlowDownException and waits 5 s more from then on,
    as RFC 8628 asks; the emulator counts it against the device code as AWS does."""
    waits: list[float] = []
    login = DeviceLogin(manual_center.client("sso-oidc"), SESSION, TokenCache(tmp_path), sleep=waits.append)
    authorization = login.authorize()
    _, interval = login._attempt(authorization, authorization.interval)
    _, interval = login._attempt(authorization, interval)  # at once: too soon
    assert interval == authorization.interval + 5


def test_an_expired_code_names_the_command(manual_center: Center, tmp_path: Path) -> None:
    def expire(authorization: Authorization) -> None:
        manual_center.clock.offset += 601  # the 10 minutes of a device code pass

    login = DeviceLogin(manual_center.client("sso-oidc"), SESSION, TokenCache(tmp_path), sleep=lambda s: None)
    with pytest.raises(LoginExpired, match="ssmux sso login --sso-session corp"):
        login.login(expire)


def test_refresh_renews_an_expired_token(center: Center, tmp_path: Path) -> None:
    cache = TokenCache(tmp_path)
    oidc = center.client("sso-oidc")
    token = DeviceLogin(oidc, SESSION, cache).login(lambda a: None)
    old = replace(token, expires_at=datetime.now(UTC) - timedelta(minutes=1))
    assert old.expired(datetime.now(UTC))
    new = refreshed(oidc, old, SESSION, cache)
    assert new.access_token != token.access_token and not new.expired(datetime.now(UTC))
    cached = cache.token(START_URL, "corp")
    assert cached is not None and cached.access_token == new.access_token
    assert cached.refresh_token == new.refresh_token != token.refresh_token
    portal = center.client("sso")
    assert portal.list_accounts(accessToken=new.access_token)["accountList"]
    with pytest.raises(AwsError, match=r"could not be renewed .*ssmux sso login --sso-session corp"):
        refreshed(oidc, old, SESSION, cache)  # a refresh token is good once


def test_a_legacy_token_cannot_refresh(center: Center, tmp_path: Path) -> None:
    token = DeviceLogin(center.client("sso-oidc"), LEGACY, TokenCache(tmp_path)).login(lambda a: None)
    with pytest.raises(
        AwsError, match=f"run 'ssmux sso login --start-url {START_URL} --sso-region {REGION}'"
    ):
        refreshed(center.client("sso-oidc"), token, LEGACY, TokenCache(tmp_path))


def test_the_registration_is_reused(center: Center, tmp_path: Path) -> None:
    cache = TokenCache(tmp_path)
    first = DeviceLogin(center.client("sso-oidc"), SESSION, cache)
    first.login(lambda a: None)
    second = DeviceLogin(center.client("sso-oidc"), SESSION, cache)
    second.login(lambda a: None)
    assert first.registration is not None and second.registration == first.registration


def browse(url: str) -> None:
    """The user's browser: opens the page and follows where it sends it (in the background, as a browser)."""
    threading.Thread(target=httpx.get, args=(url,), kwargs={"follow_redirects": True}, daemon=True).start()


def test_the_code_flow_signs_in_through_the_loopback_redirect(center: Center, tmp_path: Path) -> None:
    """Authorization code with PKCE: the page sends the browser back to ssmux's 127.0.0.1 server with a
    code; the token is the CLI's, and the registration is kept as one for the code flow."""
    cache = TokenCache(tmp_path)
    opened: list[str] = []

    def open_page(url: str) -> None:
        opened.append(url)
        browse(url)

    token = CodeLogin(center.client("sso-oidc"), SESSION, cache).login(open_page)
    assert opened and opened[0].startswith(center.url + "/authorize?response_type=code&client_id=")
    assert "code_challenge_method=S256" in opened[0] and "redirect_uri=http%3A%2F%2F127.0.0.1%3A" in opened[0]
    cached = cache.token(START_URL, "corp")
    assert cached is not None and cached.access_token == token.access_token and token.refresh_token
    again = CodeLogin(center.client("sso-oidc"), SESSION, cache)
    again.login(browse)
    assert again.registration is not None and again.registration.for_code_flow
    assert again.registration.client_id == cached.client_id  # the registration is reused


def test_the_code_flow_waits_for_allow_on_the_page(manual_center: Center, tmp_path: Path) -> None:
    def allow(url: str) -> None:
        def click() -> None:
            page = httpx.get(url)
            assert "Allow access" in page.text
            fields = dict(re.findall(r"name='([^']+)' value='([^']*)'", page.text))
            httpx.post(url.split("?")[0], data=fields, follow_redirects=True)

        threading.Thread(target=click, daemon=True).start()

    token = CodeLogin(manual_center.client("sso-oidc"), SESSION, TokenCache(tmp_path)).login(allow)
    assert token.access_token


def test_the_code_flow_gives_up_when_the_browser_never_comes_back(center: Center, tmp_path: Path) -> None:
    login = CodeLogin(center.client("sso-oidc"), SESSION, TokenCache(tmp_path), timeout=0.5)
    with pytest.raises(LoginExpired, match=r"did not come back .*ssmux sso login --sso-session corp"):
        login.login(lambda url: None)


def test_codes_are_checked_like_pkce_asks(center: Center) -> None:
    """A code is good once, for the registered redirect, with the verifier of its challenge only."""
    oidc = center.client("sso-oidc")
    client = oidc.register_client(
        clientName="t", clientType="public", grantTypes=["authorization_code", "refresh_token"],
        redirectUris=["http://127.0.0.1/oauth/callback"], issuerUrl=START_URL, scopes=["sso:account:access"],
    )  # fmt: skip
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    redirect = "http://127.0.0.1:4567/oauth/callback"

    def authorize(redirect_uri: str = redirect) -> httpx.Response:
        query = {
            "response_type": "code", "client_id": client["clientId"], "redirect_uri": redirect_uri,
            "state": "s", "code_challenge_method": "S256", "code_challenge": challenge,
            "scopes": "sso:account:access",
        }  # fmt: skip
        return httpx.get(center.url + "/authorize", params=query)

    assert authorize("http://evil.example/oauth/callback").status_code == 400
    location = authorize().headers["location"]
    assert location.startswith(redirect + "?code=") and location.endswith("&state=s")
    code = location.split("code=")[1].split("&")[0]
    secret = client["clientSecret"]
    grant = {"clientId": client["clientId"], "clientSecret": secret, "grantType": "authorization_code"}
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(**grant, code=code, redirectUri=redirect, codeVerifier="w" * 64)
    with pytest.raises(oidc.exceptions.InvalidGrantException):  # that attempt used the code up
        oidc.create_token(**grant, code=code, redirectUri=redirect, codeVerifier=verifier)
    code = authorize().headers["location"].split("code=")[1].split("&")[0]
    assert oidc.create_token(**grant, code=code, redirectUri=redirect, codeVerifier=verifier)["accessToken"]
