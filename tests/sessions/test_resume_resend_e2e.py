"""A resumed native session resends its unacked input at once: the real emulator cuts the socket mid-input.

The 100 ms retransmission timer would repair a resume that forgot to resend, a little later, so here the
timer is stopped: only the resend on reconnect can deliver the keys that died with the socket.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from ssmux.emulator.scenario import load_scenario
from ssmux.sessions.ending import EndReason
from tests.support.emulator import RunningEmulator, start_emulator

pytestmark = pytest.mark.e2e

#: Data frames (both ways, first sends only) each websocket carries before the emulator cuts it.
DROP_AFTER = 12
SCENARIO = {
    "profiles": [{"name": "ops", "account_id": "333333333333", "region": "eu-central-1"}],
    "instances": [{"profile": "ops", "region": "eu-central-1", "name": "box", "command": ["/bin/sh"]}],
}
# About 30 messages of input in one send: more than a websocket may carry, so the emulator cuts the socket
# in the middle of them and the rest are lost with it.
LINES = [f"{n:05d} " + "x" * 90 for n in range(300)]
SCRIPT = ("sha256sum <<'EOF'\n" + "\n".join(LINES) + "\nEOF\nexit\n").encode()
DIGEST = hashlib.sha256(("\n".join(LINES) + "\n").encode()).hexdigest().encode()


@pytest.fixture(scope="module")
def dropping(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """An emulator that cuts each websocket after DROP_AFTER data frames (-v logs ResumeSession calls)."""
    with start_emulator(
        SCENARIO, "--drop-after", str(DROP_AFTER), "-v", tmp_dir=tmp_path_factory.mktemp("resend")
    ) as running:
        yield running


@pytest.mark.timeout(180)
def test_input_lost_with_the_socket_arrives_after_resume_with_the_timer_stopped(
    dropping: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys sent as the socket is cut reach the shell after the resume, in order, and the session ends."""
    from ssmux.protocol.client import ClientSession, Output
    from ssmux.sessions import native
    from ssmux.sessions.backends import SessionRequest

    dropping.apply(monkeypatch)
    # Stop the retransmission timer, and watch that it really never runs.
    monkeypatch.setattr(native, "TICK_INTERVAL", 24 * 3600.0)
    ticks: list[float] = []
    real_tick = ClientSession.tick

    def tick(self: ClientSession, now: float) -> None:
        ticks.append(now)
        real_tick(self, now)

    monkeypatch.setattr(ClientSession, "tick", tick)
    target = next(item.instance_id for item in load_scenario(SCENARIO).instances if item.name == "box")

    async def scenario() -> tuple[Any, bytes]:
        output = bytearray()
        prompt = asyncio.Event()

        def handle(event: object) -> None:
            if isinstance(event, Output):
                output.extend(event.data)
                prompt.set()

        def attach(session: Any) -> None:
            session.handler = handle

        session = await native.NativeSession.start(
            SessionRequest(target, "ops", "eu-central-1"), on_started=attach
        )
        try:
            # The first output means the shell is up: the agent takes input from now on (before, it leaves
            # input unacked for the timer to resend).
            await asyncio.wait_for(prompt.wait(), 30)
            session.send_input(SCRIPT)
            try:
                # A few seconds when the resume resends; never when it does not.
                end = await asyncio.wait_for(session.wait_closed(), 30)
            except TimeoutError:
                pytest.fail(
                    "the session never ended: input lost with a dropped socket was not resent on resume; "
                    f"output ends with {bytes(output[-300:])!r}"
                )
            return end, bytes(output)
        finally:
            await session.close()

    end, output = asyncio.run(scenario())
    assert end.reason is EndReason.CLOSED, end
    assert DIGEST in output  # every line reached sha256sum, once and in order
    assert ticks == [], "the retransmission timer ran: this test proves nothing"
    assert dropping.log().count("ResumeSession") >= 1, "the emulator should have cut the socket"
