"""The emulator's gateway as AWS's: signed upgrades only, StreamUrls rotated by ResumeSession, presigned ones.

Everything runs against the real emulator process: boto3 for the API, real websockets for the dials, the
native client and ``ssmux connect`` for what a user sees.
"""

from __future__ import annotations

import configparser
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from ssmux.emulator.scenario import load_scenario
from ssmux.sessions.signing import upgrade_headers
from tests.sessions.conftest import run_ssmux
from tests.support.emulator import RunningEmulator, start_emulator

pytestmark = pytest.mark.e2e

SCENARIO = {
    "profiles": [
        {"name": "ops", "account_id": "333333333333", "region": "eu-central-1"},
        {"name": "other", "account_id": "444444444444", "region": "eu-central-1"},
    ],
    "instances": [{"profile": "ops", "region": "eu-central-1", "name": "box", "command": ["/bin/sh"]}],
}
BOX = load_scenario(SCENARIO).instances[0].instance_id


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(SCENARIO, "--drop-after", "60", tmp_dir=tmp_path_factory.mktemp("gw")) as running:
        yield running


@pytest.fixture(scope="module")
def presigning(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(SCENARIO, "--presigned-urls", tmp_dir=tmp_path_factory.mktemp("presign")) as running:
        yield running


def credentials(emulator: RunningEmulator, profile: str) -> Any:
    return emulator.session(profile).get_credentials()


async def refusal(url: str, headers: dict[str, str]) -> tuple[int, str]:
    """Dial ``url``; the HTTP status and body of the refusal (the test fails if it is accepted)."""
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, additional_headers=headers, open_timeout=10):
            pass
    response = refused.value.response
    return response.status_code, bytes(response.body or b"").decode()


async def test_unsigned_and_wrongly_signed_upgrades_are_refused(emulator: RunningEmulator) -> None:
    """No signature, another account's key, another region: HTTP 403 with the reason; the right one opens."""
    ssm = emulator.client("ssm", "ops")
    started = ssm.start_session(Target=BOX)
    url = started["StreamUrl"]
    try:
        assert await refusal(url, {}) == (403, "Missing Authentication Token\n")
        status, body = await refusal(
            url, upgrade_headers(url, credentials(emulator, "other"), "eu-central-1")
        )
        assert status == 403 and "not of the account" in body
        status, body = await refusal(url, upgrade_headers(url, credentials(emulator, "ops"), "us-east-1"))
        assert status == 403 and "region" in body
        async with connect(
            url, additional_headers=upgrade_headers(url, credentials(emulator, "ops"), "eu-central-1")
        ):
            pass  # signed with the session's own account and region: upgraded
    finally:
        ssm.terminate_session(SessionId=started["SessionId"])


async def test_resume_rotates_the_stream_url_and_refuses_the_old_one(emulator: RunningEmulator) -> None:
    """After ResumeSession the old StreamUrl is refused even when signed; the new one is accepted."""
    ssm = emulator.client("ssm", "ops")
    started = ssm.start_session(Target=BOX)
    try:
        resumed = ssm.resume_session(SessionId=started["SessionId"])
        old, new = started["StreamUrl"], resumed["StreamUrl"]
        assert old != new
        status, body = await refusal(old, upgrade_headers(old, credentials(emulator, "ops"), "eu-central-1"))
        assert status == 403 and "no longer valid" in body
        async with connect(
            new, additional_headers=upgrade_headers(new, credentials(emulator, "ops"), "eu-central-1")
        ):
            pass
    finally:
        ssm.terminate_session(SessionId=started["SessionId"])


async def test_native_client_resumes_on_the_rotated_url_with_nothing_lost(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dropped every 60 frames, the native client follows each new StreamUrl; every line arrives once."""
    import asyncio

    from ssmux.protocol.client import Output
    from ssmux.sessions.backends import SessionRequest
    from ssmux.sessions.ending import EndReason
    from ssmux.sessions.native import NativeSession

    emulator.apply(monkeypatch)
    output = bytearray()
    session = await NativeSession.start(SessionRequest(BOX, "ops", "eu-central-1"))
    first_url = session.started.stream_url
    session.handler = lambda event: output.extend(event.data) if isinstance(event, Output) else None
    session.send_input(b"seq 1 30000\n")
    for _ in range(600):  # until the last line is in and the link was cut at least twice (bounded: 60 s)
        if b"\n30000" in output and session.reconnects >= 2:
            break
        await asyncio.sleep(0.1)
    assert session.reconnects >= 2 and session.stream_url != first_url
    # The session is live on its new URL, and its first one is dead.
    headers = upgrade_headers(first_url, credentials(emulator, "ops"), "eu-central-1")
    status, body = await refusal(first_url, headers)
    assert (status, "no longer valid" in body) == (403, True)
    session.send_input(b"exit\n")
    end = await asyncio.wait_for(session.wait_closed(), 60)
    await session.close()
    assert end.reason is EndReason.CLOSED, end
    lines = [int(line) for line in output.decode().split() if line.isdigit()]
    assert lines[-30000:] == list(range(1, 30001))


def test_a_wrong_secret_is_one_clear_line_from_ssmux(emulator: RunningEmulator, tmp_path: Path) -> None:
    """``ssmux connect`` whose credentials cannot sign: the refused dial in one line, exit status 1."""
    wrong = configparser.RawConfigParser()
    wrong.read(emulator.aws_shared_credentials_file)
    wrong["ops"]["aws_secret_access_key"] = "not-the-secret"
    bad_credentials = tmp_path / "credentials"
    with bad_credentials.open("w") as out:
        wrong.write(out)
    env = {**emulator.env(), "AWS_SHARED_CREDENTIALS_FILE": str(bad_credentials)}
    result = run_ssmux("connect", BOX, "--aws-profile", "ops", "--backend", "native", env=env)
    stderr = result.stderr.decode()
    assert result.returncode == 1
    error = stderr.splitlines()[-1]
    assert [line for line in stderr.splitlines() if "error" in line] == [error]  # one line, no traceback
    assert error.startswith("ssmux: error: cannot open the data channel of session ")
    assert "refused the connection (HTTP 403: The request signature we calculated does not match" in stderr


async def test_presigned_stream_urls_are_dialled_as_given(presigning: RunningEmulator) -> None:
    """With --presigned-urls the StreamUrl carries its signature: dialled unsigned it opens, tampered not."""
    ssm = presigning.client("ssm", "ops")
    started = ssm.start_session(Target=BOX)
    url = started["StreamUrl"]
    try:
        assert "X-Amz-Signature=" in url
        async with connect(url):
            pass
        status, body = await refusal(url.replace("role=publish_subscribe", "role=subscribe"), {})
        assert status == 403 and "does not match" in body
    finally:
        ssm.terminate_session(SessionId=started["SessionId"])


def test_ssmux_opens_a_shell_on_a_presigned_url(presigning: RunningEmulator) -> None:
    """The native client dials a presigned StreamUrl unsigned and the shell works."""
    script = b"echo presigned-$((40+2)); exit\n"
    result = run_ssmux(
        "connect", BOX, "--aws-profile", "ops", "--backend", "native", input=script, env=presigning.env()
    )
    assert result.returncode == 0, result.stderr.decode()
    assert b"presigned-42" in result.stdout
