"""The signed dial: SigV4 headers for the websocket upgrade of a session's ``StreamUrl``.

Since plugin 1.2.764.0 (AWS's documented minimum) the client signs its ``GET StreamUrl`` upgrade request
with Signature Version 4 for the service ``ssmmessages`` in the session's region, over an empty body, and
sends the signed headers (``Authorization``, ``X-Amz-Date``, ``X-Amz-Security-Token`` when the credentials
have one) on the upgrade; the token message still comes first on the socket. A ``StreamUrl`` that arrives
already presigned (any ``X-Amz-*`` signing parameter in its query) is dialled as given, without headers.
(session-manager-plugin ``src/communicator/websocketchannel.go``: ``getV4SignatureHeader``,
``isPresignedURL``; docs/ssm-protocol.md, corrections 1 and 2.)

botocore does the signing, with the same credentials the session's other calls use; this module only says
what to sign and which headers to put on the upgrade.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from ssmux.protocol.payloads import DATA_CHANNEL_SERVICE as SERVICE

if TYPE_CHECKING:
    from botocore.credentials import Credentials

#: Query parameters that make a StreamUrl presigned (the plugin's list in ``isPresignedURL``).
PRESIGNED_PARAMETERS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
)


def is_presigned(url: str) -> bool:
    """Whether ``url`` carries its own SigV4 query signature (then it is dialled as given, never resumed)."""
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    return any(name in query for name in PRESIGNED_PARAMETERS)


def upgrade_headers(url: str, credentials: Credentials, region: str) -> dict[str, str]:
    """The headers that sign ``GET url`` for ``ssmmessages`` in ``region``; none for a presigned URL.

    Args:
        url: the StreamUrl to dial (``wss://ssmmessages.<region>.amazonaws.com/v1/data-channel/<id>?...``).
        credentials: botocore credentials (refreshable ones are frozen here, so they are current).
        region: the session's region.
    """
    if is_presigned(url):
        return {}
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    frozen = (
        credentials.get_frozen_credentials()
        if hasattr(credentials, "get_frozen_credentials")
        else credentials
    )
    request = AWSRequest(method="GET", url=url, data=b"")
    SigV4Auth(frozen, SERVICE, region).add_auth(request)
    # The Host header is the URL's, which the websocket client sends by itself.
    return {name: str(value) for name, value in request.headers.items() if name.lower() != "host"}
