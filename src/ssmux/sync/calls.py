"""The sync's call layer: every pair's listing calls through one async HTTP client, signed per request.

Why not a botocore client per pair: making one costs ~17 ms of CPU (endpoint rules, handlers, the model
bound to it), which at an organization's 1,200 pairs is 40 s before the first call; and threads per pair do
not scale either. Here botocore keeps what it is the reference for, through :mod:`ssmux.core.aws`:

- **credentials**: the profile's session resolves them exactly as the aws CLI (SSO, assume-role,
  ``credential_process``...); refreshable ones are frozen per request, off the event loop when a refresh
  is due;
- **endpoints**: the URL a client would call (``endpoint_url``, ``AWS_ENDPOINT_URL*``, FIPS...), resolved
  by botocore once per distinct setting;
- **signing**: ``SigV4Auth`` on an ``AWSRequest``, again per attempt (a fresh date);
- **retries**: botocore's ``standard`` mode (its own classes decide what and how long), per (profile,
  region, service) as a client has them, bounded in total by :data:`RETRY_BUDGET`;
- **errors**: each failure becomes the botocore exception a client would raise, then
  :func:`~ssmux.core.aws.translate` makes the same one-line :class:`~ssmux.errors.AwsError`.

The HTTP side is one ``aiohttp.ClientSession``: connections are kept per endpoint (host and port) and
shared by every pair that calls it. Why aiohttp rather than httpx: measured on 2,400 POSTs of 20 KB
answers, httpx used 4.4 s of CPU on connections the server closes and 14 s on kept-alive ones, aiohttp
1.6 s and 0.9 s (its HTTP parser is in C); at an organization's scale that is the CPU budget. Both come
with NiceGUI already (error answers are read by :func:`ssmux.core.calls.error_of`, shared with the
session start). Responses are read by the lean parsers (:mod:`ssmux.sync.ec2`, :mod:`ssmux.sync.ssm`).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from ssmux.core import aws
from ssmux.core.calls import error_of, json_headers

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients

#: Seconds one call may spend retrying (backoff included); botocore's attempts stop it sooner in practice.
RETRY_BUDGET = 60.0
#: Threads resolving credentials and endpoints (the blocking part: SSO, assume-role, credential_process).
RESOLVER_THREADS = 8
#: EC2's query API version, as botocore sends it.
EC2_API_VERSION = "2016-11-15"
_USER_AGENT = "ssmux-sync (aiohttp; botocore signing)"


@dataclass(frozen=True)
class Target:
    """Where one pair's calls go and with what keys: resolved once per pair, off the loop."""

    aws_profile: str
    region: str
    credentials: Any  # botocore credentials, frozen per request
    urls: Mapping[str, str]  # service -> endpoint URL
    max_attempts: int


class Caller:
    """The HTTP client, retry state and resolver threads of one sync. Use as ``async with``.

    Args:
        clients: the caller's :class:`~ssmux.core.aws.AwsClients` (sessions per profile, shared config).
        connections: HTTP connections kept open at most (over all endpoints).
    """

    def __init__(self, clients: AwsClients, *, connections: int = 64) -> None:
        import os

        import aiohttp

        self.clients = clients
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=connections, ssl=_tls_context(os.environ.get("AWS_CA_BUNDLE"))
            ),
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=aws.DEFAULT_CONNECT_TIMEOUT, sock_read=aws.DEFAULT_READ_TIMEOUT
            ),
            headers={"User-Agent": _USER_AGENT},
            # HTTPS_PROXY / NO_PROXY as botocore honours them, read once per endpoint (_proxy): aiohttp's
            # trust_env reads the environment on every request, ~0.25 ms of CPU each (measured).
            trust_env=False,
        )
        self._proxies: dict[str, str | None] = {}
        self._threads = ThreadPoolExecutor(RESOLVER_THREADS, thread_name_prefix="ssmux-sync-resolve")
        self._rules: dict[tuple[str, str, str], aws.RetryRules] = {}

    async def __aenter__(self) -> Caller:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connections; resolutions in flight end on their own."""
        self._threads.shutdown(wait=False, cancel_futures=True)
        await self.http.close()

    async def target(self, aws_profile: str, region: str, services: tuple[str, ...]) -> Target:
        """The pair's credentials and endpoints (in a resolver thread: botocore may block).

        Raises:
            AwsError: unknown profile, no credentials, an invalid region.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, self._resolve, aws_profile, region, services)

    def _resolve(self, aws_profile: str, region: str, services: tuple[str, ...]) -> Target:
        credentials = self.clients.signing_credentials(aws_profile)
        try:
            credentials.get_frozen_credentials()  # SSO, assume-role...: the first fetch happens here
        except Exception as error:
            raise aws.translate(error, aws_profile=aws_profile) from error
        urls = {service: self.clients.service_endpoint(service, aws_profile, region) for service in services}
        attempts = self.clients.max_attempts(aws_profile)
        return Target(aws_profile, region, credentials, urls, attempts)

    def _proxy(self, url: str) -> str | None:
        """The proxy of ``url`` from the environment (HTTP(S)_PROXY, NO_PROXY), looked up once per URL."""
        if url not in self._proxies:
            from urllib.parse import urlsplit
            from urllib.request import getproxies, proxy_bypass

            parts = urlsplit(url)
            found = getproxies().get(parts.scheme)
            self._proxies[url] = None if not found or proxy_bypass(parts.hostname or "") else found
        return self._proxies[url]

    def _rules_for(self, target: Target, service: str) -> aws.RetryRules:
        key = (target.aws_profile, target.region, service)
        rules = self._rules.get(key)
        if rules is None:
            rules = self._rules[key] = aws.RetryRules(
                service, max_attempts=target.max_attempts, budget=RETRY_BUDGET
            )
        return rules

    async def ec2(self, target: Target, action: str, params: Mapping[str, str]) -> bytes:
        """One EC2 query-protocol call; the 200 answer's body.

        Raises:
            AwsError: the call failed (retries spent); its botocore error is the ``__cause__``.
        """
        body = urlencode({"Action": action, "Version": EC2_API_VERSION, **params}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        return await self._call(target, "ec2", action, body, headers)

    async def ssm(self, target: Target, action: str, params: Mapping[str, Any]) -> bytes:
        """One SSM JSON-protocol call; the 200 answer's body (see :meth:`json_call`)."""
        return await self.json_call(target, "ssm", action, params)

    async def json_call(self, target: Target, service: str, action: str, params: Mapping[str, Any]) -> bytes:
        """One JSON-protocol call (SSM, ECS); the 200 answer's body.

        Raises:
            AwsError: the call failed (retries spent); its botocore error is the ``__cause__``.
        """
        headers = json_headers(service, action)
        return await self._call(target, service, action, json.dumps(params).encode(), headers)

    async def _call(
        self, target: Target, service: str, action: str, body: bytes, headers: dict[str, str]
    ) -> bytes:
        url = target.urls[service]
        rules = self._rules_for(target, service)
        context: dict[str, Any] = {}
        deadline = time.monotonic() + rules.budget
        attempt = 0
        while True:
            attempt += 1
            signed = await self._sign(target, service, url, body, headers)
            answer = await self._attempt(rules, attempt, context, url, body, signed, action)
            if isinstance(answer, bytes):
                return answer
            failure, delay = answer
            if delay is None or time.monotonic() + delay > deadline:
                raise aws.translate(
                    failure,
                    aws_profile=target.aws_profile,
                    region=target.region,
                    action=f"{service}:{action}",
                ) from failure
            await asyncio.sleep(delay)

    async def _attempt(
        self,
        rules: aws.RetryRules,
        attempt: int,
        context: dict[str, Any],
        url: str,
        body: bytes,
        headers: dict[str, str],
        action: str,
    ) -> bytes | tuple[Exception, float | None]:
        """One attempt: the body on success, else ``(the botocore error, seconds to wait or None)``."""
        import aiohttp

        try:
            async with self.http.post(url, data=body, headers=headers, proxy=self._proxy(url)) as response:
                status, answer, received = response.status, await response.read(), response.headers
        except (aiohttp.ClientError, TimeoutError) as error:
            failure = aws.transport_error(_transport_kind(error), url)
            return failure, rules.delay(attempt, context, exception=failure)
        if status == 200:
            rules.succeeded(200, context)
            return answer
        code, message = error_of(status, received, answer)
        failure = aws.service_error(code, message, status=status, headers=dict(received), operation=action)
        return failure, rules.delay(attempt, context, status=status, headers=received, error_code=code)

    async def _sign(
        self, target: Target, service: str, url: str, body: bytes, headers: dict[str, str]
    ) -> dict[str, str]:
        try:
            if aws.needs_refresh(
                target.credentials
            ):  # botocore refreshes under a lock, maybe over the network
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(
                    self._threads, aws.sign, target.credentials, service, target.region, url, body, headers
                )
            return aws.sign(target.credentials, service, target.region, url, body, headers)
        except Exception as error:
            raise aws.translate(error, aws_profile=target.aws_profile, region=target.region) from error


def _tls_context(ca_bundle: str | None) -> ssl.SSLContext | bool:
    """botocore's CA bundle setting (``AWS_CA_BUNDLE``); else the default verification."""
    return ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True


def _transport_kind(error: BaseException) -> aws.Transport:
    import aiohttp

    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return aws.Transport.CONNECT_TIMEOUT
    if isinstance(error, TimeoutError):  # a read timeout (aiohttp's are TimeoutErrors too)
        return aws.Transport.READ_TIMEOUT
    if isinstance(error, aiohttp.ClientConnectorError | aiohttp.InvalidURL):
        return aws.Transport.UNREACHABLE
    return aws.Transport.CLOSED  # the peer closed, reset or broke HTTP
