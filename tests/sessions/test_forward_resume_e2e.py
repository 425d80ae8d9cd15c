"""Port forwarding survives resumes: 20 connections through one session whose websocket keeps being cut."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest

from ssmux.emulator.scenario import load_scenario
from tests.support.emulator import RunningEmulator, start_emulator

from .test_exec_forward_e2e import EchoServer, round_trip, start_forward, stop_forward

pytestmark = pytest.mark.e2e

SCENARIO = {
    "profiles": [{"name": "ops", "account_id": "333333333333", "region": "eu-central-1"}],
    "instances": [{"profile": "ops", "region": "eu-central-1", "name": "box"}],
}
BOX = load_scenario(SCENARIO).instances[0].instance_id


@pytest.fixture(scope="module")
def dropping(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """Every websocket is cut after 150 data frames; -v logs each ResumeSession."""
    args = ("--drop-after", "150", "-v")
    with start_emulator(SCENARIO, *args, tmp_dir=tmp_path_factory.mktemp("fwd")) as running:
        yield running


def test_twenty_connections_survive_resumes(
    dropping: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each of 20 parallel connections gets its own 40 KB back, byte for byte, across several resumes;
    Ctrl-C then ends the session without a word about a timeout."""
    dropping.apply(monkeypatch)

    async def scenario(echo: EchoServer) -> None:
        process, port, _ = await start_forward(BOX, f"0:{echo.port}", "--aws-profile", "ops")
        try:
            payloads = [os.urandom(40_000 + index) + b"#%d" % index for index in range(20)]
            received = await asyncio.gather(*(round_trip(port, payload) for payload in payloads))
            assert received == payloads
        finally:
            status, _ = await stop_forward(process)
        assert status == 0
        # Ctrl-C sends the TerminateSession flag; the agent acks it and drops the socket: that is the end,
        # quietly, not a lost connection to resume ("Session ... timed out.").
        assert process.stderr is not None
        assert b"timed out" not in await process.stderr.read()

    with EchoServer() as echo:
        asyncio.run(scenario(echo))
        assert echo.connections == 20
    assert dropping.log().count("ResumeSession") >= 3, "the link should have been cut and resumed"
