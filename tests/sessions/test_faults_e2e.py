"""The native client on a bad network (emulator fault options), on an old agent, and with a denied profile."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import re
import string
import sys
from collections.abc import Iterator

import pytest

from ssmux.emulator.scenario import load_scenario
from tests.support.emulator import RunningEmulator, start_emulator

from .conftest import run_ssmux
from .test_exec_forward_e2e import EchoServer, round_trip, stop_forward

pytestmark = pytest.mark.e2e

LINES = 20_000
SCENARIO = {
    "profiles": [
        {"name": "ops", "account_id": "333333333333", "region": "eu-central-1"},
        {
            "name": "locked",
            "account_id": "444444444444",
            "region": "eu-central-1",
            "deny": ["ssm:StartSession"],
        },
        {
            "name": "sealed",
            "account_id": "555555555555",
            "region": "eu-central-1",
            "kms_key": "alias/ssm",
            "deny": ["kms:GenerateDataKey"],
        },
    ],
    "instances": [
        {"profile": "ops", "region": "eu-central-1", "name": "box", "command": ["/bin/sh"]},
        {"profile": "ops", "region": "eu-central-1", "name": "old-agent", "agent_version": "3.0.196.0"},
        {"profile": "locked", "region": "eu-central-1", "name": "vault"},
        {"profile": "sealed", "region": "eu-central-1", "name": "crypt"},
    ],
}


def instance(name: str) -> str:
    return next(item.instance_id for item in load_scenario(SCENARIO).instances if item.name == name)


@pytest.fixture(scope="module")
def dropping(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """An emulator that drops each websocket after 40 data frames (-v logs the ResumeSession calls)."""
    with start_emulator(
        SCENARIO, "--drop-after", "40", "-v", tmp_dir=tmp_path_factory.mktemp("drop")
    ) as running:
        yield running


@pytest.fixture(scope="module")
def lossy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """An emulator that loses, duplicates and reorders 10 % of data frames each, seeded."""
    args = ("--loss", "0.1", "--duplicate", "0.1", "--reorder", "0.1", "--seed", "7")
    with start_emulator(SCENARIO, *args, tmp_dir=tmp_path_factory.mktemp("lossy")) as running:
        yield running


@pytest.fixture
def use(monkeypatch: pytest.MonkeyPatch) -> object:
    """Point this test's environment (and so its ssmux subprocesses) at a given emulator."""

    def apply(emulator: RunningEmulator) -> RunningEmulator:
        emulator.apply(monkeypatch)
        return emulator

    return apply


def numbered_lines(stdout: bytes) -> list[int]:
    return [int(line) for line in re.findall(rb"^(\d+)\r?$", stdout, flags=re.MULTILINE)]


def test_resume_after_dropped_websockets_loses_and_repeats_nothing(
    dropping: RunningEmulator, use: object
) -> None:
    """The websocket is cut again and again; the session resumes and every line arrives once, in order."""
    use(dropping)  # type: ignore[operator]
    script = f"seq 1 {LINES}; echo done-$((20+1)); exit\n".encode()
    # The shell document: piped input is typed into a shell, which is what this resumes.
    result = run_ssmux("connect", instance("box"), "--aws-profile", "ops", "--backend", "native",
                       "--document", "SSM-SessionManagerRunShell", input=script, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert numbered_lines(result.stdout) == list(range(1, LINES + 1))
    assert b"done-21" in result.stdout
    assert dropping.log().count("ResumeSession") >= 3, "the emulator should have forced several resumes"


def test_loss_duplicates_and_reordering_are_repaired(lossy: RunningEmulator, use: object) -> None:
    """With 10 % of frames lost, doubled and reordered each way, output and typed input arrive intact."""
    use(lossy)  # type: ignore[operator]
    typed = "".join(random.Random(3).choices(string.ascii_letters + string.digits, k=3000))
    # One line: a second typed line would be echoed by the remote pty in the middle of seq's output.
    script = f"seq 1 {LINES}; printf '%s' '{typed}' | sha256sum; exit\n".encode()
    # The shell document: piped input is typed into a shell, which is what this resumes.
    result = run_ssmux("connect", instance("box"), "--aws-profile", "ops", "--backend", "native",
                       "--document", "SSM-SessionManagerRunShell", input=script, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert numbered_lines(result.stdout) == list(range(1, LINES + 1))
    assert hashlib.sha256(typed.encode()).hexdigest().encode() in result.stdout


def test_exec_under_faults(lossy: RunningEmulator, use: object) -> None:
    """A non-interactive command over the lossy channel keeps its streams and exit code."""
    use(lossy)  # type: ignore[operator]
    result = run_ssmux(
        "exec", instance("box"), "--aws-profile", "ops", "--", "seq 1 3000; echo bad >&2; exit 4"
    )
    assert result.returncode == 4
    assert numbered_lines(result.stdout) == list(range(1, 3001))
    assert result.stderr == b"bad\n"


def test_access_denied(dropping: RunningEmulator, use: object) -> None:
    """A profile without ssm:StartSession: one line naming the profile, the action and the fix."""
    use(dropping)  # type: ignore[operator]
    result = run_ssmux("connect", instance("vault"), "--aws-profile", "locked", "--backend", "native")
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert stderr.startswith(
        "ssmux: error: AWS profile 'locked' in eu-central-1: access denied to ssm:StartSession"
    )
    assert stderr.count("\n") == 1


def test_kms_data_key_refused(dropping: RunningEmulator, use: object) -> None:
    """A KMS-encrypted session whose profile may not make data keys: one line naming KMS and the fix."""
    use(dropping)  # type: ignore[operator]
    result = run_ssmux(
        "connect", instance("crypt"), "--aws-profile", "sealed", "--backend", "native", timeout=90
    )
    stderr = result.stderr.decode()
    assert result.returncode == 1
    error = stderr.splitlines()[-1]
    assert error.startswith("ssmux: error: KMS-encrypted session ")
    assert "access denied to kms:GenerateDataKey" in error and "grant it" in error


def test_basic_port_forwarding_with_an_old_agent(dropping: RunningEmulator, use: object) -> None:
    """An agent too old for smux gets basic forwarding: connections one after the other, each intact."""
    use(dropping)  # type: ignore[operator]

    async def scenario(echo_port: int) -> None:
        process, port, lines = await start_basic(instance("old-agent"), echo_port)
        try:
            for index in range(3):
                payload = os.urandom(5000) + b"#%d" % index
                assert await round_trip(port, payload) == payload
        finally:
            status, rest = await stop_forward(process)
        assert status == 0
        assert "Waiting for connections..." not in "\n".join(lines)  # the mux-only line
        assert rest.count("Connection accepted for session ") == 3

    with EchoServer() as echo:
        asyncio.run(scenario(echo.port))


async def start_basic(target: str, echo_port: int) -> tuple[asyncio.subprocess.Process, int, list[str]]:
    """``ssmux forward`` in basic mode: ready at "Port N opened" (no "Waiting for connections...")."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ssmux", "forward", target, f"0:{echo_port}", "--aws-profile", "ops",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
        env=dict(os.environ),
    )  # fmt: skip
    assert process.stdout is not None
    lines: list[str] = []
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert line, f"forward ended early: {lines}"
        lines.append(line.rstrip("\n"))
        if match := re.match(r"Port (\d+) opened for sessionId \S+\.$", line.strip()):
            return process, int(match.group(1)), lines
