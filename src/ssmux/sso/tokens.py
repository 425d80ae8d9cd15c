"""The IAM Identity Center token cache the aws CLI keeps in ``~/.aws/sso/cache``, read and written its way.

``aws sso login``, botocore's SSO credential and token providers and ssmux share these files, so a sign-in by
any of them serves all. The format is the aws CLI v2's (``awscli/customizations/sso/utils.py`` and
``SSOTokenFetcher`` in its ``botocore/utils.py``):

* a token is ``<sha1 of the sso-session name, or of the start URL for a legacy profile>.json`` holding
  ``startUrl``, ``region``, ``accessToken``, ``expiresAt``, ``clientId``, ``clientSecret``,
  ``registrationExpiresAt`` and, when the service gave one, ``refreshToken``, in that order;
* a client registration is ``<sha1 of a sorted JSON of tool, startUrl, region, scopes, session_name>.json``
  holding ``clientId``, ``clientSecret``, ``expiresAt`` and the ``scopes`` it was registered with;
* times are UTC as ``YYYY-MM-DDTHH:MM:SSZ``; JSON with Python's default separators; each file replaced
  atomically through a temporary file in the same folder, as botocore's ``JSONFileCache`` does.

A token is used until 15 minutes before it expires (the CLI's and botocore's window).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ssmux.errors import StoreError

#: A token this close to its expiry is treated as expired (botocore's ``_EXPIRY_WINDOW``).
EXPIRY_WINDOW = timedelta(minutes=15)
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def cache_dir() -> Path:
    """``~/.aws/sso/cache``: fixed by the aws CLI and botocore (no environment variable moves it)."""
    return Path.home() / ".aws" / "sso" / "cache"


def token_key(start_url: str, session_name: str | None) -> str:
    """The file stem of a token: the sso-session's name, or the start URL of a legacy profile, hashed."""
    return hashlib.sha1((session_name or start_url).encode()).hexdigest()  # noqa: S324 (a name, not security)


def registration_key(start_url: str, region: str, scopes: list[str] | None, session_name: str | None) -> str:
    """The file stem of a client registration (the CLI's ``_registration_cache_key``)."""
    args = {
        "tool": "botocore",
        "startUrl": start_url,
        "region": region,
        "scopes": scopes,
        "session_name": session_name,
    }
    return hashlib.sha1(json.dumps(args, sort_keys=True).encode()).hexdigest()  # noqa: S324


def format_time(moment: datetime) -> str:
    """A UTC time the way the cache writes it."""
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """A cached time (``2026-11-30T12:00:00Z``; an offset or fractional seconds are accepted too)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Registration:
    """A client registered with sso-oidc."""

    client_id: str
    client_secret: str
    expires_at: datetime
    scopes: tuple[str, ...] = ()
    grant_types: tuple[str, ...] = ()  # given for the code flow's registrations only, as the CLI writes them

    @property
    def for_code_flow(self) -> bool:
        """Whether it was registered for the authorization-code sign-in (the CLI's test, too)."""
        return "authorization_code" in self.grant_types

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "expiresAt": format_time(self.expires_at),
        }
        if self.scopes:
            data["scopes"] = list(self.scopes)
        if self.grant_types:
            data["grantTypes"] = list(self.grant_types)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Registration:
        return cls(
            str(data["clientId"]),
            str(data["clientSecret"]),
            parse_time(str(data["expiresAt"])),
            tuple(str(scope) for scope in data.get("scopes") or ()),
            tuple(str(grant) for grant in data.get("grantTypes") or ()),
        )


@dataclass(frozen=True)
class SsoToken:
    """An access token of IAM Identity Center, with what refreshing it needs."""

    start_url: str
    region: str
    access_token: str
    expires_at: datetime
    client_id: str
    client_secret: str
    registration_expires_at: datetime
    refresh_token: str | None = None

    def expired(self, now: datetime) -> bool:
        """Whether the token is expired or within :data:`EXPIRY_WINDOW` of it."""
        return self.expires_at - now < EXPIRY_WINDOW

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "startUrl": self.start_url,
            "region": self.region,
            "accessToken": self.access_token,
            "expiresAt": format_time(self.expires_at),
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "registrationExpiresAt": format_time(self.registration_expires_at),
        }
        if self.refresh_token:
            data["refreshToken"] = self.refresh_token
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SsoToken:
        return cls(
            start_url=str(data["startUrl"]),
            region=str(data["region"]),
            access_token=str(data["accessToken"]),
            expires_at=parse_time(str(data["expiresAt"])),
            client_id=str(data.get("clientId", "")),
            client_secret=str(data.get("clientSecret", "")),
            registration_expires_at=parse_time(str(data.get("registrationExpiresAt") or data["expiresAt"])),
            refresh_token=data.get("refreshToken") or None,
        )


class TokenCache:
    """The cache folder (default :func:`cache_dir`)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or cache_dir()

    def read(self, key: str) -> dict[str, Any] | None:
        """The JSON of ``key``, or ``None`` when missing or unreadable (the CLI treats both as absent)."""
        try:
            data = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write(self, key: str, data: dict[str, Any]) -> None:
        """Replace ``key`` atomically, readable by this user only.

        Raises:
            StoreError: the folder or file cannot be written.
        """
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as file:
                    file.write(json.dumps(data))
                    file.flush()
                    os.fsync(file.fileno())
                Path(temp).replace(self.folder / f"{key}.json")
            except BaseException:
                with contextlib.suppress(OSError):
                    Path(temp).unlink()
                raise
        except OSError as error:
            raise StoreError(f"cannot write the SSO token cache in {self.folder}: {error.strerror}") from None

    def token(self, start_url: str, session_name: str | None) -> SsoToken | None:
        """The cached token of a start URL or sso-session, or ``None``."""
        data = self.read(token_key(start_url, session_name))
        if data is None:
            return None
        try:
            return SsoToken.from_json(data)
        except (KeyError, ValueError):
            return None

    def save_token(self, token: SsoToken, session_name: str | None) -> None:
        self.write(token_key(token.start_url, session_name), token.to_json())

    def registration(self, key: str) -> Registration | None:
        data = self.read(key)
        if data is None:
            return None
        try:
            return Registration.from_json(data)
        except (KeyError, ValueError):
            return None
