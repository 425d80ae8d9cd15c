"""What the message gateway (MGS) checks before it upgrades a websocket, and the StreamUrls it hands out.

A StreamUrl is ``ws://<host>:<port>/v1/data-channel/<session-id>?role=publish_subscribe&cell-number=<c>``.
The cell number is new at every ResumeSession, and the emulator refuses a URL whose cell is not the
session's current one: AWS's ResumeSession may return a new StreamUrl (another ``cell-number``) and the
plugin dials that one since 1.2.835.0 (session-manager-plugin ``sessionhandler.go``,
``ResumeSessionHandler``); refusing the old one is stricter than AWS is known to be, so that a test proves
the client adopts the new URL.

The upgrade must be signed (plugin >= 1.2.764.0, ``websocketchannel.go`` ``getV4SignatureHeader``): SigV4
for ``ssmmessages`` in the session's region, by a key of the session's account. With ``presign`` the
gateway hands out presigned StreamUrls instead (the query carries the signature, made with the gateway's
own key); such a URL is dialled as given. Every refusal is an HTTP 403 on the upgrade with one line that
says why, as MGS answers an unauthenticated upgrade.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from ssmux.emulator import sigv4
from ssmux.emulator.sessions import EmulatedSession, SessionRegistry
from ssmux.protocol.payloads import DATA_CHANNEL_PATH as PATH_PREFIX
from ssmux.protocol.payloads import DATA_CHANNEL_SERVICE as SERVICE

#: Seconds a presigned StreamUrl stays valid: enough to dial it right after StartSession.
PRESIGNED_EXPIRES = 300


@dataclass(frozen=True)
class AccessKey:
    """A key the emulator knows: its secret and the account it belongs to."""

    secret: str
    account_id: str


KeyLookup = Callable[[str], AccessKey | None]


def plain_stream_url(base: str, session: EmulatedSession) -> str:
    """The StreamUrl of ``session``'s current cell under ``base``, without a signature of its own."""
    return f"{base}{PATH_PREFIX}{session.session_id}?role=publish_subscribe&cell-number={session.cell}"


class Refused(Exception):
    """The upgrade is refused (HTTP 403); the message says why."""


class Gateway:
    """StreamUrls and the upgrade check of one emulator run.

    Args:
        registry: the sessions (a URL names one by id).
        keys: the access keys of the scenario's profiles.
        presign: hand out presigned StreamUrls instead of expecting signed upgrades.
    """

    def __init__(self, registry: SessionRegistry, keys: KeyLookup, *, presign: bool = False) -> None:
        self.registry = registry
        self.keys = keys
        self.presign = presign
        # The gateway's own key, for presigned URLs: never given to a client.
        self._own_key = AccessKey(secrets.token_urlsafe(30), "")
        self._own_key_id = "ASIAMGS" + secrets.token_hex(7).upper()[:13]

    def stream_url(self, base: str, session: EmulatedSession) -> str:
        """The StreamUrl of ``session``'s current cell, under ``base`` (``ws://host:port``)."""
        url = plain_stream_url(base, session)
        if not self.presign:
            return url
        return sigv4.presign(
            url, self._own_key_id, self._own_key.secret, region=session.region, service=SERVICE,
            expires=PRESIGNED_EXPIRES, now=datetime.now(UTC),
        )  # fmt: skip

    def check_upgrade(self, target: str, headers: dict[str, str]) -> EmulatedSession:
        """The session an upgrade request for ``target`` (path and query) may open.

        Raises:
            Refused: unknown session, a stale cell, or a missing or bad signature.
        """
        parts = urlsplit(target)
        if not parts.path.startswith(PATH_PREFIX):
            raise Refused(f"no data channel at {parts.path}")
        session = self.registry.get(parts.path.removeprefix(PATH_PREFIX))
        if session is None or not session.active:
            raise Refused("the session does not exist or has ended")
        query = parse_qs(parts.query)
        if query.get("cell-number") != [session.cell]:
            raise Refused("this StreamUrl is no longer valid: ResumeSession gave the session a new one")
        try:
            if "X-Amz-Signature" in query:
                if not self.presign:
                    raise Refused("this gateway does not accept presigned StreamUrls")
                sigv4.verify_query("GET", target, headers, self._own_secret, service=SERVICE)
                return session
            signer = sigv4.verify_headers("GET", target, headers, self._secret, service=SERVICE)
        except sigv4.SignatureRefused as error:
            raise Refused(str(error)) from None
        key = self.keys(signer.access_key_id)
        if key is None or key.account_id != session.account_id:
            raise Refused(f"the signing key is not of the account that owns session {session.session_id}")
        if signer.region != session.region:
            raise Refused(
                f"Credential should be scoped to a valid region: the session is in {session.region}, not "
                f"{signer.region}"
            )
        return session

    def _secret(self, access_key_id: str) -> str | None:
        key = self.keys(access_key_id)
        return key.secret if key is not None else None

    def _own_secret(self, access_key_id: str) -> str | None:
        return self._own_key.secret if access_key_id == self._own_key_id else None
