"""The service closes data channels now and then (about hourly on AWS); ssmux resumes and nobody notices."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ssmux.emulator.scenario import load_scenario
from tests.support.emulator import RunningEmulator, start_emulator

from .conftest import run_ssmux

pytestmark = pytest.mark.e2e

SCENARIO = {
    "profiles": [{"name": "ops", "account_id": "333333333333", "region": "eu-central-1"}],
    "instances": [{"profile": "ops", "region": "eu-central-1", "name": "box", "command": ["/bin/sh"]}],
}
BOX = load_scenario(SCENARIO).instances[0].instance_id


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """Realistic agent; each websocket is closed by the service after 1.5 s; -v logs the resumes."""
    args = ("--channel-lifetime", "1.5", "-v")
    with start_emulator(SCENARIO, *args, tmp_dir=tmp_path_factory.mktemp("lifetime")) as running:
        yield running


def test_a_closed_channel_is_resumed_unnoticed(short_lived: RunningEmulator) -> None:
    """A 5 s shell session outlives three data channels: output whole, exit 0, not a word on stderr."""
    script = b"for i in 1 2 3 4 5; do sleep 1; echo tick-$i; done; echo done-$((40+2)); exit\n"
    result = run_ssmux(
        "connect", BOX, "--aws-profile", "ops", "--backend", "native", input=script, env=short_lived.env()
    )
    assert result.returncode == 0, result.stderr.decode()
    for index in range(1, 6):
        assert f"tick-{index}".encode() in result.stdout
    assert b"done-42" in result.stdout
    stderr_lines = [line for line in result.stderr.decode().splitlines() if line.strip()]
    assert all(line.startswith(("Starting session", "Exiting session")) for line in stderr_lines), (
        stderr_lines
    )
    assert short_lived.log().count("ResumeSession") >= 2, "the service should have closed the channel twice"
