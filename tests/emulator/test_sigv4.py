"""The emulator's SigV4 check against independent references: AWS's test-suite vector and botocore.

The emulator's verifier is written from AWS's description of SigV4; ssmux's client signs with botocore.
Neither may be the reference for the other, so each is pinned to something outside ssmux: the verifier to
the ``get-vanilla`` case of AWS's published SigV4 test suite, and to botocore's own signatures.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ssmux.emulator import sigv4

# AWS SigV4 test suite, case get-vanilla: GET / on example.amazonaws.com, service "service", us-east-1.
VANILLA_KEY, VANILLA_SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
VANILLA_SIGNATURE = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
VANILLA_TIME = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)

URL = "wss://ssmmessages.eu-west-1.amazonaws.com/v1/data-channel/dev-0123456789abcdef0?role=publish_subscribe&cell-number=Qm9vaw"
TARGET = URL.split(".amazonaws.com", 1)[1]
HOST = "ssmmessages.eu-west-1.amazonaws.com"
KEYS = {"AKIAEXAMPLEKEY000001": "secret-one", "AKIAEXAMPLEKEY000002": "secret-two"}


def botocore_headers(
    url: str = URL,
    key: str = "AKIAEXAMPLEKEY000001",
    secret: str = "secret-one",
    *,
    region: str = "eu-west-1",
    service: str = "ssmmessages",
    token: str | None = None,
) -> dict[str, str]:
    request = AWSRequest(method="GET", url=url, data=b"")
    SigV4Auth(Credentials(key, secret, token), service, region).add_auth(request)
    return {**dict(request.headers.items()), "Host": HOST}


def test_the_verifier_computes_aws_get_vanilla_vector() -> None:
    """AWS's own test vector checks out, and one changed hex digit of its signature does not."""
    headers = {
        "Host": "example.amazonaws.com",
        "X-Amz-Date": "20150830T123600Z",
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential={VANILLA_KEY}/20150830/us-east-1/service/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={VANILLA_SIGNATURE}"
        ),
    }
    signer = sigv4.verify_headers(
        "GET", "/", headers, {VANILLA_KEY: VANILLA_SECRET}.get, service="service", now=VANILLA_TIME
    )
    assert (signer.access_key_id, signer.region, signer.service) == (VANILLA_KEY, "us-east-1", "service")
    headers["Authorization"] = headers["Authorization"][:-1] + "0"
    with pytest.raises(sigv4.SignatureRefused, match="does not match"):
        sigv4.verify_headers(
            "GET", "/", headers, {VANILLA_KEY: VANILLA_SECRET}.get, service="service", now=VANILLA_TIME
        )


@pytest.mark.parametrize("token", [None, "FQoGZXIvYXdzE-session-token"])
def test_botocore_signed_upgrades_are_accepted(token: str | None) -> None:
    """What botocore signs for ssmmessages (with and without a session token) verifies, as on AWS."""
    headers = botocore_headers(token=token)
    signer = sigv4.verify_headers("GET", TARGET, headers, KEYS.get, service="ssmmessages")
    assert signer.access_key_id == "AKIAEXAMPLEKEY000001" and signer.region == "eu-west-1"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda h: h.pop("Authorization"), "Missing Authentication Token"),
        (lambda h: h.update(Host="ssmmessages.eu-west-2.amazonaws.com"), "does not match"),
        (lambda h: h.update({"X-Amz-Date": "20200101T000000Z"}), "Date in Credential scope"),
        (lambda h: h.update({"X-Amz-Security-Token": "another"}), "does not match"),
    ],
    ids=["unsigned", "other-host", "other-date", "other-token"],
)
def test_changed_or_missing_signatures_are_refused(change: object, reason: str) -> None:
    headers = botocore_headers(token="a-token")
    change(headers)  # type: ignore[operator]
    with pytest.raises(sigv4.SignatureRefused, match=reason):
        sigv4.verify_headers("GET", TARGET, headers, KEYS.get, service="ssmmessages")


def test_wrong_secret_service_key_and_stale_time_are_refused() -> None:
    with pytest.raises(sigv4.SignatureRefused, match="does not match"):
        sigv4.verify_headers(
            "GET", TARGET, botocore_headers(secret="guessed"), KEYS.get, service="ssmmessages"
        )
    with pytest.raises(sigv4.SignatureRefused, match="correct service"):
        sigv4.verify_headers("GET", TARGET, botocore_headers(service="ssm"), KEYS.get, service="ssmmessages")
    with pytest.raises(sigv4.SignatureRefused, match="security token included in the request is invalid"):
        sigv4.verify_headers(
            "GET", TARGET, botocore_headers(key="AKIAUNKNOWN000000000"), KEYS.get, service="ssmmessages"
        )
    later = datetime.now(UTC) + timedelta(minutes=6)
    with pytest.raises(sigv4.SignatureRefused, match="Signature expired"):
        sigv4.verify_headers("GET", TARGET, botocore_headers(), KEYS.get, service="ssmmessages", now=later)
    with pytest.raises(sigv4.SignatureRefused, match="does not match"):
        sigv4.verify_headers(
            "GET", TARGET.replace("Qm9vaw", "other"), botocore_headers(), KEYS.get, service="ssmmessages"
        )


def test_presigned_urls_verify_until_they_expire() -> None:
    """A URL presigned here verifies as given; tampered or expired, it does not."""
    now = datetime.now(UTC)
    url = sigv4.presign(
        "ws://127.0.0.1:5000/v1/data-channel/s?role=publish_subscribe",
        "AKIAEXAMPLEKEY000001",
        "secret-one",
        region="eu-west-1",
        service="ssmmessages",
        expires=60,
        now=now,
    )
    target, headers = url.removeprefix("ws://127.0.0.1:5000"), {"Host": "127.0.0.1:5000"}
    assert sigv4.verify_query("GET", target, headers, KEYS.get, service="ssmmessages").region == "eu-west-1"
    with pytest.raises(sigv4.SignatureRefused, match="does not match"):
        sigv4.verify_query(
            "GET",
            target.replace("role=publish_subscribe", "role=x"),
            headers,
            KEYS.get,
            service="ssmmessages",
        )
    with pytest.raises(sigv4.SignatureRefused, match="expired"):
        sigv4.verify_query(
            "GET", target, headers, KEYS.get, service="ssmmessages", now=now + timedelta(seconds=61)
        )
