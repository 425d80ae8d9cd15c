"""A session's AWS calls through the lean signed-HTTP layer (ssmux.core.calls): no botocore client, botocore's
credentials, endpoint, SigV4 and standard retries. A real HTTP server on 127.0.0.1 stands where AWS would
be, so every request (its endpoint, signature, attempt) can be seen; one test runs a whole cold session start
against the emulator in a fresh process."""

from __future__ import annotations

import base64
import http.server
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ssmux.core.aws import AwsClients
from ssmux.errors import AwsError
from ssmux.sessions.api import SessionApi
from tests.support.emulator import RunningEmulator

from .conftest import demo_instance

_SCOPE = re.compile(r"Credential=(\w+)/\d{8}/([\w-]+)/(\w+)/aws4_request")
JSON = "application/x-amz-json-1.1"


@dataclass(frozen=True)
class Request:
    """One request the stand-in received."""

    path: str
    region: str
    service: str  # the SigV4 scope's service
    target: str  # X-Amz-Target
    body: dict[str, object]


@dataclass
class Stand:
    """A local SSM/KMS stand-in: answers each X-Amz-Target from ``answers`` (a list is one answer a call)."""

    url: str
    answers: dict[str, list[tuple[int, dict[str, object]]]] = field(default_factory=dict)
    seen: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: Request) -> tuple[int, bytes]:
        with self.lock:
            self.seen.append(request)
            queue = self.answers.get(request.target, [])
            status, body = queue.pop(0) if len(queue) > 1 else (queue[0] if queue else (200, {}))
        return status, json.dumps(body).encode()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        scope = _SCOPE.search(self.headers.get("Authorization", ""))
        assert scope is not None, "unsigned request"
        request = Request(
            self.path, scope[2], scope[3], self.headers.get("X-Amz-Target", ""), json.loads(body)
        )
        status, answer = self.server.stand.answer(request)  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", JSON)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stand]:
    """The stand-in, and a profile ``p`` (static keys, eu-west-1) whose endpoint_url is the stand-in."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.stand = Stand(f"http://127.0.0.1:{server.server_address[1]}")  # type: ignore[attr-defined]
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text(f"[profile p]\nregion = eu-west-1\nendpoint_url = {server.stand.url}\n")  # type: ignore[attr-defined]
    credentials.write_text("[p]\naws_access_key_id = AKIASTAND\naws_secret_access_key = secret\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.stand  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def api(*args: str | None, **kwargs: str) -> SessionApi:
    return SessionApi(*args, clients=AwsClients(), **kwargs)  # type: ignore[arg-type]


STARTED = {
    "SessionId": "p-0abc",
    "TokenValue": "tok",
    "StreamUrl": "wss://ssmmessages/v1/data-channel/p-0abc",
}


def test_start_session_is_one_signed_json_call(stand: Stand) -> None:
    """StartSession: the profile's region and endpoint, SigV4 for ssm, the request as JSON, answer read."""
    stand.answers["AmazonSSM.StartSession"] = [(200, STARTED)]
    params = {"Target": "i-0123456789abcdef0", "DocumentName": "AWS-StartInteractiveCommand",
              "Parameters": {"command": ["top"]}, "Reason": "ticket #1"}  # fmt: skip
    started = api("p", None).start_session(params)
    assert (started.session_id, started.token, started.stream_url) == ("p-0abc", "tok", STARTED["StreamUrl"])
    assert stand.seen == [Request("/", "eu-west-1", "ssm", "AmazonSSM.StartSession", params)]


def test_throttled_then_answered_is_retried(stand: Stand, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ThrottlingException is retried with botocore's standard rules; the next answer is used."""
    monkeypatch.setattr("time.sleep", lambda _seconds: None)  # the backoff's wait, not its decision
    throttled = (400, {"__type": "ThrottlingException", "message": "Rate exceeded"})
    stand.answers["AmazonSSM.ResumeSession"] = [throttled, (200, {"SessionId": "p-1", "TokenValue": "t2"})]
    resumed = api("p", None).resume_session("p-1")
    assert resumed is not None and resumed.token == "t2" and resumed.stream_url is None
    assert [r.target for r in stand.seen] == ["AmazonSSM.ResumeSession"] * 2


def test_throttling_stops_after_botocore_attempts(stand: Stand, monkeypatch: pytest.MonkeyPatch) -> None:
    """Always throttled: 3 attempts (standard mode), then the one-line throttling error."""
    monkeypatch.setattr("time.sleep", lambda _seconds: None)
    stand.answers["AmazonSSM.TerminateSession"] = [(400, {"__type": "ThrottlingException"})]
    with pytest.raises(AwsError, match=r"^AWS profile 'p' in eu-west-1: throttled by AWS on ssm:Terminate"):
        api("p", None).terminate_session("p-2")
    assert len(stand.seen) == 3


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("TargetNotConnected", r"^i-0123456789abcdef0 is not connected to Session Manager \(AWS profile 'p' "
                               r"in eu-west-1\): its SSM agent is offline"),
        ("AccessDeniedException", r"^AWS profile 'p' in eu-west-1: access denied to ssm:StartSession: grant "
                                  r"it to the role or user of that profile \(no\)"),
        ("InvalidDocument", r"^AWS profile 'p' in eu-west-1: no: check --document"),
    ],
)  # fmt: skip
def test_errors_are_the_session_messages(stand: Stand, code: str, message: str) -> None:
    """StartSession's refusals keep the one-line messages of a session (target, profile, region, fix)."""
    stand.answers["AmazonSSM.StartSession"] = [(400, {"__type": code, "message": "no"})]
    with pytest.raises(AwsError, match=message) as raised:
        api("p", None).start_session({"Target": "i-0123456789abcdef0"})
    assert raised.value.code == code and len(stand.seen) == 1


def test_kms_data_key_is_decoded(stand: Stand) -> None:
    """GenerateDataKey: 64 bytes asked with the context, both blobs base64-decoded, signed for kms."""
    blob, plain = b"\x01" * 40, bytes(range(64))
    stand.answers["TrentService.GenerateDataKey"] = [
        (
            200,
            {
                "CiphertextBlob": base64.b64encode(blob).decode(),
                "Plaintext": base64.b64encode(plain).decode(),
            },
        )
    ]
    assert api("p", "eu-central-1").generate_data_key("alias/k", {"aws:ssm:SessionId": "s"}) == (blob, plain)
    (seen,) = stand.seen
    assert (seen.region, seen.service) == ("eu-central-1", "kms")
    assert seen.body == {
        "KeyId": "alias/k",
        "NumberOfBytes": 64,
        "EncryptionContext": {"aws:ssm:SessionId": "s"},
    }


def test_plugin_endpoint_takes_the_ssm_calls(stand: Stand, tmp_path: Path) -> None:
    """The plugin's endpoint argument (the ECS one under aws ecs execute-command) takes Resume and Terminate,
    signed for ssm in the given region, as the plugin sends them; KMS keeps the profile's endpoint."""
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    other.daemon_threads = True
    other.stand = Stand("")  # type: ignore[attr-defined]
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        ecs_endpoint = f"http://127.0.0.1:{other.server_address[1]}/ecs"
        session = api("p", "eu-central-1", ecs_endpoint)
        assert session.endpoint_url == ecs_endpoint
        session.terminate_session("ecs-execute-command-1")
        seen = other.stand.seen  # type: ignore[attr-defined]
        assert [(r.path, r.region, r.service, r.target) for r in seen] == [
            ("/ecs", "eu-central-1", "ssm", "AmazonSSM.TerminateSession")
        ]
        assert stand.seen == []
    finally:
        other.shutdown()
        other.server_close()


def test_unreachable_endpoint_is_one_line(stand: Stand, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing listening: botocore's connection error, retried, then the one-line unreachable message."""
    monkeypatch.setattr("time.sleep", lambda _seconds: None)
    with pytest.raises(
        AwsError, match=r"endpoint unreachable \(http://127\.0\.0\.1:9/\): check your network"
    ):
        api("p", None, "http://127.0.0.1:9/").start_session({"Target": "i-0123456789abcdef0"})


def test_no_region_is_one_line(stand: Stand, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A profile without a region, and none given: the one-line 'no region set' error, before any call."""
    config = tmp_path / "config"
    config.write_text("[profile p]\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    with pytest.raises(AwsError, match=r"^AWS profile 'p': no region set: pass --region"):
        api("p", None).start_session({"Target": "i-0123456789abcdef0"})
    assert stand.seen == []


COLD_START = """
import sys
import botocore.session

def refuse(*args, **kwargs):
    raise AssertionError("a botocore client was made")

botocore.session.Session.create_client = refuse
from ssmux.sessions.api import SessionApi

api = SessionApi("dev", None)
started = api.start_session({"Target": sys.argv[1]})
api.terminate_session(started.session_id)
print(started.session_id, api.region_name, "boto3" in sys.modules, "aiohttp" in sys.modules)
"""


def test_session_start_makes_no_client_and_imports_no_boto3(demo_env: RunningEmulator) -> None:
    """A cold process starts and ends a real session on the emulator with no botocore client, no boto3 and
    no aiohttp imported (what ssmux connect and the drop-in wait for)."""
    done = subprocess.run(
        [sys.executable, "-c", COLD_START, demo_instance("web-1")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    session_id, region, boto3, aiohttp = done.stdout.split()
    assert session_id.startswith("dev-") and region == "eu-central-1"
    assert (boto3, aiohttp) == ("False", "False")
    client = demo_env.client("ssm", "dev")
    assert client.describe_sessions(State="History", Filters=[{"key": "SessionId", "value": session_id}])[
        "Sessions"
    ]


def test_endpoint_without_a_client_matches_botocore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The endpoint resolved without a client is the one a botocore client would call, for AWS partitions,
    FIPS and a configured endpoint_url."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    import botocore
    import botocore.session
    from botocore.config import Config

    cases: list[tuple[dict[str, str], str, str]] = [
        ({}, "ssm", "eu-central-1"),
        ({}, "kms", "cn-north-1"),
        ({"AWS_USE_FIPS_ENDPOINT": "true"}, "ssm", "us-gov-west-1"),
        ({"AWS_USE_DUALSTACK_ENDPOINT": "true"}, "ecs", "us-east-1"),
        ({"AWS_ENDPOINT_URL_SSM": "http://127.0.0.1:4/x"}, "ssm", "eu-west-1"),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:5", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, "ec2",
         "eu-west-1"),
    ]  # fmt: skip
    for env, service, region in cases:
        with monkeypatch.context() as scoped:
            for name, value in env.items():
                scoped.setenv(name, value)
            lean = AwsClients().service_endpoint(service, None, region)
            reference = botocore.session.Session().create_client(
                service, region_name=region, config=Config(signature_version=botocore.UNSIGNED)
            )
            assert lean == reference.meta.endpoint_url, (env, service, region)
