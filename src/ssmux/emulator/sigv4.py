"""Signature Version 4, checked the way an AWS endpoint checks it: header-signed and presigned requests.

Written from AWS's public description of SigV4 ("Create a signed AWS API request" and "Elements of an AWS
API request signature" in the IAM user guide), not from botocore, so that the emulator is an independent
check of the client, which signs with botocore. The tests pin this module to AWS's own SigV4 test-suite
vector (``get-vanilla``) and to botocore's signatures.

Only what the data channel needs is here: ``GET`` requests with an empty body, for one service. A
request is refused with a :class:`SignatureRefused` whose message is what AWS would answer.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlencode

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
#: How far the request's X-Amz-Date may be from the server's clock. AWS documents that a signed request
#: must arrive within five minutes of its timestamp (IAM user guide, "Elements of an AWS API request
#: signature"); the emulator holds clients to that.
MAX_SKEW = timedelta(minutes=5)
#: Longest validity of a presigned URL (X-Amz-Expires), seven days as in SigV4's query signing.
MAX_EXPIRES = 7 * 24 * 3600
_DATE_FORMAT = "%Y%m%dT%H%M%SZ"


class SignatureRefused(Exception):
    """The request is not signed, or not signed right; the message says why, as AWS would."""


@dataclass(frozen=True)
class Signer:
    """Who signed a request that checked out: the access key, and the scope's region and service."""

    access_key_id: str
    region: str
    service: str


SecretLookup = Callable[[str], str | None]


def verify_headers(
    method: str,
    target: str,
    headers: Mapping[str, str],
    secret_for: SecretLookup,
    *,
    service: str,
    now: datetime | None = None,
) -> Signer:
    """Check a request signed with an ``Authorization`` header.

    Args:
        method: the HTTP method.
        target: the request target, path and query (``/v1/data-channel/id?role=...``).
        headers: the request headers (any case).
        secret_for: the secret key of an access key id, or None when the key is unknown.
        service: the service the scope must name.
        now: the server's clock (default: now).

    Raises:
        SignatureRefused: missing, malformed, stale or wrong signature.
    """
    lower = {name.lower(): value for name, value in headers.items()}
    authorization = lower.get("authorization", "")
    if not authorization:
        raise SignatureRefused("Missing Authentication Token")
    algorithm, _, fields_text = authorization.partition(" ")
    if algorithm != ALGORITHM:
        raise SignatureRefused(f"Unsupported signature algorithm {algorithm!r}; use {ALGORITHM}")
    fields = _auth_fields(fields_text)
    credential, signed, signature = (fields.get(k, "") for k in ("Credential", "SignedHeaders", "Signature"))
    if not credential or not signed or not signature:
        raise SignatureRefused("Authorization header requires Credential, SignedHeaders and Signature")
    amz_date = lower.get("x-amz-date", "")
    signed_names = signed.split(";")
    if "host" not in signed_names or "x-amz-date" not in signed_names or not amz_date:
        raise SignatureRefused("The host and x-amz-date headers must be signed")
    missing = [name for name in signed_names if name not in lower]
    if missing:
        raise SignatureRefused(f"Signed header {missing[0]} is not in the request")
    signer, scope = _scope(credential, service, amz_date)
    _check_time(amz_date, now, expires=None)
    path, _, query = target.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    payload_hash = lower.get("x-amz-content-sha256", EMPTY_SHA256)
    canonical = _canonical_request(method, path, pairs, lower, signed_names, payload_hash)
    _compare(signature, _signature(secret_for, signer, scope, amz_date, canonical))
    return signer


def verify_query(
    method: str,
    target: str,
    headers: Mapping[str, str],
    secret_for: SecretLookup,
    *,
    service: str,
    now: datetime | None = None,
) -> Signer:
    """Check a presigned request: the signature and its parameters are in the query string.

    Raises:
        SignatureRefused: missing, malformed, expired or wrong signature.
    """
    lower = {name.lower(): value for name, value in headers.items()}
    path, _, query = target.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    params = dict(pairs)
    if params.get("X-Amz-Algorithm") != ALGORITHM:
        raise SignatureRefused(f"X-Amz-Algorithm must be {ALGORITHM}")
    credential, amz_date = params.get("X-Amz-Credential", ""), params.get("X-Amz-Date", "")
    signed, signature = params.get("X-Amz-SignedHeaders", ""), params.get("X-Amz-Signature", "")
    try:
        expires = int(params.get("X-Amz-Expires", ""))
    except ValueError:
        raise SignatureRefused("X-Amz-Expires must be a number of seconds") from None
    if not 0 < expires <= MAX_EXPIRES:
        raise SignatureRefused(f"X-Amz-Expires must be between 1 and {MAX_EXPIRES} seconds")
    if not credential or not amz_date or not signature or "host" not in signed.split(";"):
        raise SignatureRefused("the presigned URL lacks X-Amz-Credential, X-Amz-Date or X-Amz-Signature")
    signer, scope = _scope(credential, service, amz_date)
    _check_time(amz_date, now, expires=expires)
    signed_names = signed.split(";")
    if any(name not in lower for name in signed_names):
        raise SignatureRefused("a signed header of the presigned URL is not in the request")
    unsigned = [(k, v) for k, v in pairs if k != "X-Amz-Signature"]
    canonical = _canonical_request(method, path, unsigned, lower, signed_names, EMPTY_SHA256)
    _compare(signature, _signature(secret_for, signer, scope, amz_date, canonical))
    return signer


def presign(
    url: str, access_key_id: str, secret: str, *, region: str, service: str, expires: int, now: datetime
) -> str:
    """``url`` (scheme, host and target) with a SigV4 query signature valid for ``expires`` seconds."""
    scheme, _, rest = url.partition("://")
    host, slash, target = rest.partition("/")
    path, _, query = (slash + target).partition("?")
    amz_date = now.strftime(_DATE_FORMAT)
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    pairs = [
        *parse_qsl(query, keep_blank_values=True),
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{access_key_id}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", "host"),
    ]
    canonical = _canonical_request("GET", path, pairs, {"host": host}, ["host"], EMPTY_SHA256)
    signer = Signer(access_key_id, region, service)
    signature = _signature(lambda _key: secret, signer, scope, amz_date, canonical)
    return f"{scheme}://{host}{path}?{urlencode([*pairs, ('X-Amz-Signature', signature)])}"


# ------------------------------------------------------------------------------------------ internals


def _canonical_request(
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: Mapping[str, str],
    signed_names: list[str],
    payload_hash: str,
) -> str:
    """SigV4's canonical request; ``headers`` have lower-case names and include every signed one."""
    canonical_headers = "".join(f"{name}:{_trim(headers[name])}\n" for name in signed_names)
    return "\n".join(
        [method, _canonical_path(path), _canonical_query(query), canonical_headers, ";".join(signed_names),
         payload_hash]
    )  # fmt: skip


def _auth_fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in text.split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    return fields


def _scope(credential: str, service: str, amz_date: str) -> tuple[Signer, str]:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise SignatureRefused("Credential should be scoped to a valid region, service and date")
    access_key_id, date, region, scope_service = parts[:4]
    if scope_service != service:
        raise SignatureRefused(f"Credential should be scoped to correct service: '{service}'.")
    if date != amz_date[:8]:
        raise SignatureRefused("Date in Credential scope does not match YYYYMMDD from X-Amz-Date")
    return Signer(access_key_id, region, scope_service), "/".join(parts[1:])


def _check_time(amz_date: str, now: datetime | None, *, expires: int | None) -> None:
    try:
        signed_at = datetime.strptime(amz_date, _DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise SignatureRefused(f"X-Amz-Date {amz_date!r} is not a date like 20240131T120000Z") from None
    now = now or datetime.now(UTC)
    if expires is not None:
        if now > signed_at + timedelta(seconds=expires) or signed_at > now + MAX_SKEW:
            raise SignatureRefused("Request has expired")
    elif abs(now - signed_at) > MAX_SKEW:
        raise SignatureRefused(
            f"Signature expired: {amz_date} is now earlier or later than the server's clock by more than "
            "5 minutes"
        )


def _signature(secret_for: SecretLookup, signer: Signer, scope: str, amz_date: str, canonical: str) -> str:
    secret = secret_for(signer.access_key_id)
    if secret is None:
        raise SignatureRefused("The security token included in the request is invalid.")
    string_to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (scope.split("/")[0], signer.region, signer.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def _compare(given: str, expected: str) -> None:
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise SignatureRefused(
            "The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method."
        )


def _uri_encode(text: str, *, keep_slash: bool = False) -> str:
    # RFC 3986 unreserved characters stay; everything else is %XX with capitals (SigV4's UriEncode).
    return quote(text, safe="-_.~/" if keep_slash else "-_.~")


def _canonical_path(path: str) -> str:
    # Services other than S3 normalize the path and encode each segment twice over the raw request path;
    # the path arrives percent-encoded, so encoding it once more is the second encoding.
    return _uri_encode(path or "/", keep_slash=True)


def _canonical_query(pairs: list[tuple[str, str]]) -> str:
    encoded = sorted((_uri_encode(k), _uri_encode(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def _trim(value: str) -> str:
    return " ".join(value.split())
