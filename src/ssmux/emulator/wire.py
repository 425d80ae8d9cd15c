"""What an AWS request says (caller, service, action) and how AWS shapes answers and errors, per protocol.

Errors must look exactly like AWS's so botocore raises a ``ClientError`` with the right code:

* JSON 1.1 (SSM, KMS; ``X-Amz-Target``): HTTP 400 (500 for server faults), ``{"__type": code, "message": …}``.
* EC2 query: XML ``<Response><Errors><Error><Code>…`` with the status EC2 uses (403 UnauthorizedOperation,
  503 RequestLimitExceeded).
* Other query services (STS, IAM): XML ``<ErrorResponse><Error><Type>Sender</Type><Code>…``.
* REST-JSON services: ``x-amzn-ErrorType`` header and a JSON body.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

StartResponse = Callable[..., Any]

# Credential=AKID/20240101/eu-west-1/ec2/aws4_request
_CREDENTIAL = re.compile(r"Credential=([A-Za-z0-9]+)/\d{8}/([a-z0-9-]+)/([a-z0-9.-]+)/aws4_request")
MAX_BODY = 16 * 1024 * 1024


class ApiError(Exception):
    """An AWS error to send back: code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class AwsRequest:
    """The parts of a signed AWS request the emulator decides on.

    Attributes:
        access_key_id: Access key from the SigV4 ``Authorization`` header ("" when unsigned).
        region: Region from the credential scope.
        service: Signing name (``ec2``, ``ssm``, ``kms``, ``sts``...).
        action: Operation name (``DescribeInstances``, ``StartSession``...), "" when unknown.
        protocol: ``json``, ``ec2``, ``query`` or ``rest``.
        body: The raw request body.
    """

    access_key_id: str
    region: str
    service: str
    action: str
    protocol: str
    body: bytes

    def json_body(self) -> dict[str, Any]:
        """The JSON 1.1 body as a dict (an empty body is ``{}``)."""
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            raise ApiError("SerializationException", "request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ApiError("SerializationException", "request body must be a JSON object")
        return data


def read_request(environ: dict[str, Any]) -> AwsRequest:
    """Parse what the emulator needs from a WSGI request, leaving the body readable for moto."""
    try:
        length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    access_key, region, service = match.groups() if match else ("", "", "")
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return AwsRequest(access_key, region, service, target.rpartition(".")[2], "json", body)
    fields = parse_qs(environ.get("QUERY_STRING", ""))
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        fields.update(parse_qs(body.decode("utf-8", "replace")))
    action = fields.get("Action", [""])[0]
    if action:
        return AwsRequest(access_key, region, service, action, "ec2" if service == "ec2" else "query", body)
    return AwsRequest(access_key, region, service, "", "rest", body)


def json_response(start_response: StartResponse, body: dict[str, Any], status: int = 200) -> Iterable[bytes]:
    """Answer with a JSON 1.1 body. An answer that carries its own JSON text (``ecs_api.EncodedAnswer``) is
    sent as that text: DescribeTasks of thousands of tasks would otherwise encode each task again per call."""
    encoded = getattr(body, "encoded", None)
    data = encoded if isinstance(encoded, bytes) else json.dumps(body, default=_json_default).encode()
    start_response(
        f"{status} {_REASONS.get(status, 'OK')}",
        [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Content-Length", str(len(data))),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ],
    )
    return [data]


def xml_response(start_response: StartResponse, data: bytes) -> Iterable[bytes]:
    """Answer 200 with an XML body (EC2 and other query protocols)."""
    return _send(start_response, "200 OK", "text/xml;charset=UTF-8", data, str(uuid.uuid4()))


def error_response(start_response: StartResponse, request: AwsRequest, error: ApiError) -> Iterable[bytes]:
    """Answer with ``error`` shaped the way the request's protocol expects."""
    request_id = str(uuid.uuid4())
    status = f"{error.status} {_REASONS.get(error.status, 'Error')}"
    if request.protocol == "json":
        return json_response(start_response, {"__type": error.code, "message": error.message}, error.status)
    if request.protocol == "ec2":
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
            f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
        return _send(start_response, status, "text/xml;charset=UTF-8", xml.encode(), request_id)
    if request.protocol == "query":
        kind = "Receiver" if error.status >= 500 else "Sender"
        xml = (
            f"<ErrorResponse><Error><Type>{kind}</Type><Code>{escape(error.code)}</Code>"
            f"<Message>{escape(error.message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return _send(start_response, status, "text/xml", xml.encode(), request_id)
    data = json.dumps({"message": error.message, "Message": error.message}).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("x-amzn-ErrorType", error.code),
            ("x-amzn-RequestId", request_id),
        ],
    )
    return [data]


def _send(
    start_response: StartResponse, status: str, content_type: str, data: bytes, request_id: str
) -> Iterable[bytes]:
    start_response(
        status,
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(data))),
            ("x-amzn-RequestId", request_id),
        ],
    )
    return [data]


def _json_default(value: Any) -> Any:
    # JSON 1.1 sends timestamps as epoch seconds.
    if hasattr(value, "timestamp"):
        return value.timestamp()
    raise TypeError(f"cannot serialise {type(value).__name__}")


_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
