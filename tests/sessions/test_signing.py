"""The client's signed dial: the headers it puts on the upgrade are botocore's SigV4 of the same request."""

from __future__ import annotations

from datetime import datetime

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, RefreshableCredentials

from ssmux.emulator import sigv4
from ssmux.sessions.signing import is_presigned, upgrade_headers

URL = "wss://ssmmessages.us-east-2.amazonaws.com/v1/data-channel/dev-0abc?role=publish_subscribe&cell-number=Zm9v"
FIXED = datetime(2026, 1, 31, 12, 0, 0)


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: FIXED)


def test_upgrade_headers_are_botocores_signature_of_the_get(fixed_clock: None) -> None:
    """Authorization, X-Amz-Date and the token: byte for byte what botocore signs for GET StreamUrl."""
    credentials = Credentials("AKIAEXAMPLEKEY000001", "secret", "session-token")
    headers = upgrade_headers(URL, credentials, "us-east-2")
    reference = AWSRequest(method="GET", url=URL, data=b"")
    SigV4Auth(credentials, "ssmmessages", "us-east-2").add_auth(reference)
    assert headers == dict(reference.headers.items())
    assert set(headers) == {"Authorization", "X-Amz-Date", "X-Amz-Security-Token"}
    assert headers["X-Amz-Date"] == "20260131T120000Z"
    assert headers["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEKEY000001/20260131/us-east-2/ssmmessages/aws4_request, "
        "SignedHeaders=host;x-amz-date;x-amz-security-token, Signature="
    )
    # And the emulator's independent verifier, at the same instant, accepts them.
    target = URL.split(".amazonaws.com", 1)[1]
    sigv4.verify_headers(
        "GET",
        target,
        {**headers, "Host": "ssmmessages.us-east-2.amazonaws.com"},
        {"AKIAEXAMPLEKEY000001": "secret"}.get,
        service="ssmmessages",
        now=FIXED.replace(tzinfo=sigv4.UTC),
    )


def test_refreshable_credentials_are_refreshed_before_signing(fixed_clock: None) -> None:
    """Credentials about to expire (SSO, assume-role) are renewed for the dial, as on every resume."""
    calls: list[int] = []

    def refresh() -> dict[str, str]:
        calls.append(1)
        return {
            "access_key": f"AKIAEXAMPLEKEY00000{len(calls)}",
            "secret_key": "s",
            "token": "t",
            "expiry_time": "2000-01-01T00:00:00Z" if len(calls) == 1 else "2999-01-01T00:00:00Z",
        }

    credentials = RefreshableCredentials.create_from_metadata(refresh(), refresh, "test")
    headers = upgrade_headers(URL, credentials, "us-east-2")
    assert "Credential=AKIAEXAMPLEKEY000002/" in headers["Authorization"]


def test_presigned_urls_get_no_headers() -> None:
    presigned = URL + "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2Fb&X-Amz-Signature=00"
    assert is_presigned(presigned) and not is_presigned(URL)
    assert upgrade_headers(presigned, Credentials("a", "b"), "us-east-2") == {}
    assert is_presigned("wss://h/p?X-Amz-Security-Token=x")
