"""The sync's call layer: many pairs through one pooled HTTP client, signed with each profile's keys, retried
as botocore's standard mode retries. A real HTTP server on 127.0.0.1 stands where AWS would be, so every
request (its connection, signature, attempt) can be seen."""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ssmux.core import aws
from ssmux.core.aws import AwsClients
from ssmux.sync.engine import sync_pairs
from ssmux.sync.inventory import Inventory

REGIONS = ("eu-central-1", "eu-west-1", "us-east-1", "us-west-2")
_SCOPE = re.compile(r"Credential=(\w+)/\d{8}/([\w-]+)/(\w+)/aws4_request")

EC2_PAGE = """<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <reservationSet><item><instancesSet><item>
    <instanceId>{instance_id}</instanceId><instanceState><code>16</code><name>running</name></instanceState>
    <placement><availabilityZone>{region}a</availabilityZone></placement>
    <tagSet><item><key>Name</key><value>app</value></item></tagSet>
  </item></instancesSet></item></reservationSet>
</DescribeInstancesResponse>"""
THROTTLED = (
    503,
    b"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded."
    b"</Message></Error></Errors><RequestID>1</RequestID></Response>",
)
UNAVAILABLE = (
    503,
    b"<Response><Errors><Error><Code>Unavailable</Code><Message>Service Unavailable</Message></Error>"
    b"</Errors><RequestID>1</RequestID></Response>",
)


@dataclass(frozen=True)
class Seen:
    """One request the endpoint received."""

    port: int  # the client's port: one per TCP connection
    access_key: str
    region: str
    service: str
    action: str


@dataclass
class Endpoint:
    """A local AWS stand-in: EC2 and SSM listings of one instance per pair, with scripted failures."""

    url: str
    seen: list[Seen] = field(default_factory=list)
    # (service, access key, region, attempt number) -> (status, body), or None for the normal answer.
    script: Callable[[str, str, str, int], tuple[int, bytes] | None] = lambda *_: None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, seen: Seen) -> tuple[int, bytes, str]:
        with self.lock:
            self.seen.append(seen)
            attempt = sum(
                1
                for s in self.seen
                if (s.service, s.access_key, s.region) == (seen.service, seen.access_key, seen.region)
            )
        scripted = self.script(seen.service, seen.access_key, seen.region, attempt)
        if scripted is not None:
            return (*scripted, "text/xml")
        instance_id = f"i-{abs(hash((seen.access_key, seen.region))) % 16**17:017x}"
        if seen.service == "ec2":
            return 200, EC2_PAGE.format(instance_id=instance_id, region=seen.region).encode(), "text/xml"
        body = {"InstanceProperties": [{"InstanceId": instance_id, "PingStatus": "Online"}]}
        return 200, json.dumps(body).encode(), "application/x-amz-json-1.1"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as AWS endpoints do

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        scope = _SCOPE.search(self.headers.get("Authorization", ""))
        assert scope is not None, "unsigned request"
        target = self.headers.get("X-Amz-Target", "")
        action = target.rpartition(".")[2] if target else re.search(rb"Action=(\w+)", body)[1].decode()  # type: ignore[index]
        seen = Seen(self.client_address[1], scope[1], scope[2], scope[3], action)
        status, answer, kind = self.server.endpoint.answer(seen)  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.endpoint = Endpoint(f"http://127.0.0.1:{server.server_address[1]}")  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.endpoint  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def org_profiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int, *, endpoint_url: str | None
) -> list[str]:
    """``count`` static-key profiles (one account each) in fresh AWS config files; their names."""
    names = [f"acct{n:03d}" for n in range(count)]
    config = [f"[profile {name}]\nregion = eu-west-1\n" for name in names]
    if endpoint_url:
        config = [section + f"endpoint_url = {endpoint_url}\n" for section in config]
    credentials = [
        f"[{name}]\naws_access_key_id = AKIA{n:016d}\naws_secret_access_key = secret{n}\n"
        for n, name in enumerate(names)
    ]
    (tmp_path / "config").write_text("\n".join(config))
    (tmp_path / "credentials").write_text("\n".join(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("HOME", str(tmp_path))  # never the real user's SSO caches
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
    return names


def test_an_organization_shares_a_few_connections(
    endpoint: Endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """200 pairs (50 accounts x 4 regions) all sync, each call signed with its own account's keys for its
    region, over at most two connections per pair in flight instead of a client (and pool) per pair."""
    names = org_profiles(tmp_path, monkeypatch, 50, endpoint_url=endpoint.url)
    pairs = [(name, region) for name in names for region in REGIONS]
    inventory = Inventory(tmp_path / "inventory.sqlite3")
    result = sync_pairs(pairs, clients=AwsClients(), inventory=inventory, concurrency=8)
    assert result.ok, [o.error_message for o in result.outcomes if not o.ok][:3]
    assert result.instances == 200 and len(inventory.pair_keys()) == 200
    assert {(s.access_key, s.region, s.service) for s in endpoint.seen} == {
        (f"AKIA{n:016d}", region, service)
        for n in range(50)
        for region in REGIONS
        for service in ("ec2", "ssm", "ecs")  # ecs: containers are listed by default
    }
    connections = {s.port for s in endpoint.seen}
    assert len(connections) <= 16, f"{len(connections)} connections for {len(endpoint.seen)} calls"


def test_aws_endpoint_url_reaches_profiles_without_endpoint_url(
    endpoint: Endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS_ENDPOINT_URL sends a profile's calls to that endpoint, as botocore and the aws CLI do."""
    [name] = org_profiles(tmp_path, monkeypatch, 1, endpoint_url=None)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint.url)
    result = sync_pairs([(name, "eu-west-1")], clients=AwsClients())
    assert result.ok and result.instances == 1
    assert {s.service for s in endpoint.seen} == {"ec2", "ssm", "ecs"}


def test_throttled_calls_are_retried_until_they_pass(
    endpoint: Endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pairs throttled on their first EC2 call (RequestLimitExceeded) are retried and sync; others are
    not slowed: each call is made once."""
    names = org_profiles(tmp_path, monkeypatch, 4, endpoint_url=endpoint.url)
    throttled = {"AKIA0000000000000000", "AKIA0000000000000002"}

    def script(service: str, key: str, region: str, attempt: int) -> tuple[int, bytes] | None:
        return THROTTLED if service == "ec2" and key in throttled and attempt == 1 else None

    endpoint.script = script
    result = sync_pairs([(name, "eu-west-1") for name in names], clients=AwsClients())
    assert result.ok, [o.error_message for o in result.outcomes]
    calls = Counter((s.access_key, s.service) for s in endpoint.seen)
    assert {key: calls[key, "ec2"] for key, _ in calls} == {
        "AKIA0000000000000000": 2,
        "AKIA0000000000000001": 1,
        "AKIA0000000000000002": 2,
        "AKIA0000000000000003": 1,
    }


@pytest.mark.parametrize(("max_attempts", "attempts"), [(None, 3), ("1", 1), ("5", 5)])
def test_a_failing_endpoint_is_tried_as_often_as_botocore_would(
    endpoint: Endpoint,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    max_attempts: str | None,
    attempts: int,
) -> None:
    """A 503 on every call: 3 attempts (standard mode), or AWS_MAX_ATTEMPTS; then one line with the code."""
    [name] = org_profiles(tmp_path, monkeypatch, 1, endpoint_url=endpoint.url)
    if max_attempts is not None:
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", max_attempts)
    endpoint.script = lambda service, *_: UNAVAILABLE if service == "ec2" else None
    [outcome] = sync_pairs([(name, "eu-west-1")], clients=AwsClients()).outcomes
    assert outcome.error_code == "Unavailable"
    assert outcome.error_message == (
        f"AWS profile '{name}' in eu-west-1: ec2:DescribeInstances failed: Unavailable: Service Unavailable"
    )
    assert sum(1 for s in endpoint.seen if s.service == "ec2") == attempts


def test_denied_calls_are_not_retried(
    endpoint: Endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An access-denied answer fails the pair at once, naming the action (no retry can fix a policy)."""
    [name] = org_profiles(tmp_path, monkeypatch, 1, endpoint_url=endpoint.url)
    denied = (403, b"<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>no</Message>"
              b"</Error></Errors></Response>")  # fmt: skip
    endpoint.script = lambda service, *_: denied if service == "ec2" else None
    [outcome] = sync_pairs([(name, "eu-west-1")], clients=AwsClients()).outcomes
    assert outcome.error_code == "UnauthorizedOperation"
    assert "access denied to ec2:DescribeInstances" in (outcome.error_message or "")
    assert sum(1 for s in endpoint.seen if s.service == "ec2") == 1


def test_retry_delays_follow_botocore_standard_mode() -> None:
    """Throttling waits rand(0, 1) x 1 s x 2^(attempt - 1), other transient errors 50 ms x 2^(attempt - 1);
    the last attempt is never followed by a wait."""
    rules = aws.RetryRules("ec2")
    throttled = [rules.delay(1, {}, status=503, error_code="RequestLimitExceeded") for _ in range(20)]
    assert all(d is not None and 0 <= d <= 1.0 for d in throttled)
    assert any(d is not None and d > 0.05 for d in throttled)
    second = [rules.delay(2, {}, status=503, error_code="Throttling") for _ in range(20)]
    assert all(d is not None and 0 <= d <= 2.0 for d in second)
    transient = [rules.delay(1, {}, status=500, error_code="InternalError") for _ in range(20)]
    assert all(d is not None and 0 <= d <= 0.05 for d in transient)
    assert rules.delay(3, {}, status=503, error_code="Throttling") is None
    assert rules.delay(1, {}, status=403, error_code="UnauthorizedOperation") is None
    unreachable = aws.transport_error(aws.Transport.UNREACHABLE, "http://127.0.0.1:9")
    assert rules.delay(1, {}, exception=unreachable) is not None
