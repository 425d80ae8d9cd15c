"""Signed AWS calls without a botocore client: what the sync's listings and a session's start share.

A botocore client costs its service model (~30 ms for SSM, ~90 ms for EC2, parsed before the first call)
and ~17 ms of CPU per client; ``ssmux connect`` and the drop-in wait for it, an organization's sync pays it
per pair. Here botocore keeps what it is the reference for, through :mod:`ssmux.core.aws`: credentials as
the aws CLI resolves them, the endpoint a client would call, SigV4 signing per attempt, and its ``standard``
retry rules; failures are the botocore exceptions a client raises, so :func:`~ssmux.core.aws.translate`
makes the same one-line errors.

Two front ends use these pieces: the sync's async ``Caller`` (:mod:`ssmux.sync.calls`, aiohttp, many
pairs) and :class:`JsonCalls` below, blocking, over botocore's own HTTP session (the one a client sends
with: proxies from the environment, ``ca_bundle``), for a session's few calls (StartSession, ResumeSession,
TerminateSession, KMS GenerateDataKey), so starting a session imports neither boto3 nor aiohttp.
"""

from __future__ import annotations

import http
import json
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from ssmux.core import aws

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients

#: Content type of the JSON 1.1 protocol (SSM, KMS, ECS), as botocore sends it.
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
#: The ``X-Amz-Target`` prefix of each JSON-protocol service (its model's ``targetPrefix``).
TARGET_PREFIXES = {"ssm": "AmazonSSM", "kms": "TrentService", "ecs": "AmazonEC2ContainerServiceV20141113"}
USER_AGENT = "ssmux (botocore signing)"


def json_headers(service: str, action: str) -> dict[str, str]:
    """The headers of a JSON-protocol call of ``action`` (before signing)."""
    return {"Content-Type": JSON_CONTENT_TYPE, "X-Amz-Target": f"{TARGET_PREFIXES[service]}.{action}"}


def error_of(status: int, headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
    """An error answer's code and message, read as botocore does for the query (XML) and JSON protocols.

    A body that says nothing (a proxy's page) gives the status as the code and its phrase as the message.
    """
    code = message = ""
    if body.lstrip().startswith(b"<"):
        try:
            root = ElementTree.fromstring(body)  # noqa: S314  # from the AWS endpoint the user configured
        except ElementTree.ParseError:
            root = None
        if root is not None:
            for element in root.iter():
                name = element.tag.rpartition("}")[2]
                if name == "Code" and not code:
                    code = element.text or ""
                elif name == "Message" and not message:
                    message = element.text or ""
    else:
        try:
            parsed = json.loads(body) if body else {}
        except ValueError:
            parsed = {}
        if isinstance(parsed, dict):
            code = str(parsed.get("__type") or parsed.get("code") or "")
            message = str(parsed.get("message") or parsed.get("Message") or "")
        header = headers.get("x-amzn-errortype")
        if header:
            code = header.split(":")[0]
        code = code.rsplit("#", 1)[-1]
    if not code:
        code = str(status)
        message = message or _phrase(status)
    return code, message


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


class JsonCalls:
    """Blocking JSON-protocol calls of one AWS CLI profile and region, signed per attempt. Thread-safe.

    Args:
        clients: the caller's :class:`~ssmux.core.aws.AwsClients` (the profile's botocore session).
        aws_profile: AWS CLI profile, or ``None`` for the SDK default chain.
        region: the region the calls go to and are signed for (already resolved).
        endpoints: a URL per service to use instead of the resolved one (the plugin's endpoint argument).
        budget: seconds one call may spend retrying, on top of botocore's attempts.
    """

    def __init__(
        self,
        clients: AwsClients,
        aws_profile: str | None,
        region: str,
        *,
        endpoints: Mapping[str, str] | None = None,
        budget: float = 60.0,
    ) -> None:
        self.clients = clients
        self.aws_profile = aws_profile
        self.region = region
        self.budget = budget
        self._endpoints = dict(endpoints or {})
        self._rules: dict[str, aws.RetryRules] = {}
        self._http: dict[str, Any] = {}  # endpoint URL -> botocore's HTTP session
        self._lock = threading.Lock()

    def endpoint(self, service: str) -> str:
        """The URL calls of ``service`` go to.

        Raises:
            AwsError: unknown profile, an invalid region or endpoint setting.
        """
        url = self._endpoints.get(service)
        if url is None:
            url = self.clients.service_endpoint(service, self.aws_profile, self.region)
            self._endpoints[service] = url
        return url

    def call(self, service: str, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """One call of ``action``, retried as a botocore client retries it; the parsed JSON answer.

        Raises:
            AwsError: no credentials, unknown profile, invalid region (already one line).
            Exception: the botocore exception a client would raise for the failure (``ClientError`` with its
                ``response``, ``EndpointConnectionError``...), after the retries: translate it.
        """
        url = self.endpoint(service)
        credentials = self.clients.signing_credentials(self.aws_profile)
        body = json.dumps(params).encode()
        headers = {**json_headers(service, action), "User-Agent": USER_AGENT}
        rules = self._rules_for(service)
        context: dict[str, Any] = {}
        deadline = time.monotonic() + rules.budget
        attempt = 0
        while True:
            attempt += 1
            try:
                signed = aws.sign(credentials, service, self.region, url, body, headers)
            except Exception as error:
                raise aws.translate(error, aws_profile=self.aws_profile, region=self.region) from error
            answer = self._attempt(rules, attempt, context, url, body, signed, action)
            if isinstance(answer, dict):
                return answer
            failure, delay = answer
            if delay is None or time.monotonic() + delay > deadline:
                raise failure
            time.sleep(delay)

    def _attempt(
        self,
        rules: aws.RetryRules,
        attempt: int,
        context: dict[str, Any],
        url: str,
        body: bytes,
        headers: dict[str, str],
        action: str,
    ) -> dict[str, Any] | tuple[Exception, float | None]:
        """One attempt: the answer on success, else ``(the botocore error, seconds to wait or None)``."""
        from botocore.awsrequest import AWSRequest
        from botocore.exceptions import ConnectionError as Unreachable
        from botocore.exceptions import HTTPClientError

        request = AWSRequest(method="POST", url=url, data=body, headers=headers)
        try:
            response = self._session(url).send(request.prepare())
        except (HTTPClientError, Unreachable) as error:  # refused, timed out, closed: botocore's classes
            return error, rules.delay(attempt, context, exception=error)
        status, received, content = response.status_code, response.headers, response.content
        if status == 200:
            rules.succeeded(200, context)
            try:
                parsed = json.loads(content) if content else {}
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                return aws.unparsable_answer("not a JSON object"), None
            return parsed
        code, message = error_of(status, received, content)
        failure = aws.service_error(code, message, status=status, headers=dict(received), operation=action)
        return failure, rules.delay(attempt, context, status=status, headers=received, error_code=code)

    def _rules_for(self, service: str) -> aws.RetryRules:
        with self._lock:
            rules = self._rules.get(service)
            if rules is None:
                attempts = self.clients.max_attempts(self.aws_profile)
                rules = self._rules[service] = aws.RetryRules(
                    service, max_attempts=attempts, budget=self.budget
                )
            return rules

    def _session(self, url: str) -> Any:
        """botocore's HTTP session for ``url``, as a client's endpoint makes it (proxies, CA, timeouts)."""
        with self._lock:
            made = self._http.get(url)
            if made is None:
                from botocore.httpsession import URLLib3Session
                from botocore.utils import get_environ_proxies

                session = self.clients.botocore_session(self.aws_profile)
                verify = session.get_config_variable("ca_bundle") or _requests_ca_bundle()
                made = self._http[url] = URLLib3Session(
                    verify=verify,
                    proxies=get_environ_proxies(url),  # EndpointCreator._get_proxies, per endpoint
                    timeout=(aws.DEFAULT_CONNECT_TIMEOUT, aws.DEFAULT_READ_TIMEOUT),
                )
            return made


def _requests_ca_bundle() -> str | bool:
    """``REQUESTS_CA_BUNDLE`` or verification on, as botocore's ``EndpointCreator._get_verify_value``."""
    import os

    return os.environ.get("REQUESTS_CA_BUNDLE") or True
