"""Sessions through an emulator started with fault options, many at once, and across an emulator stop.

Each test starts its own ``ssmux emulator`` process (the fault options are command-line flags).
"""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.emulator.test_sessions_e2e import PROMPT, SCENARIO
from tests.support.emulator import start_emulator, stop_process
from tests.support.wsclient import SessionDriver, alive, first_instance, numbers, open_session, wait_gone

pytestmark = pytest.mark.e2e

LINES = 140_000  # `seq 1 LINES` prints about 1 MB
EXPECTED = "".join(f"{i}\n" for i in range(1, LINES + 1)).encode()


async def run_seq(ssm: Any, target: str, *, separate: bool = True, linger: int = 0) -> SessionDriver:
    """Run ``seq 1 LINES`` as a non-interactive command until channel_closed; returns the finished driver.

    Like AWS's agent, the emulator resends a lost message only by its timer, the oldest first, one per 100 ms
    tick, and gives up 2 s after the command ends (``PrepareToCloseChannel``): on a faulty link a command
    that ends at once can lose its tail. ``linger`` seconds of ``sleep`` after ``seq`` leave the repair time.
    ``separate``: stdout, stderr and the exit code apart (the agent reads the pipes without pacing);
    otherwise merged output read from a file once the command is done, paced (1 KiB reads, 1 ms apart).
    """
    command = f"sh -c 'seq 1 {LINES}; sleep {linger}'" if linger else f"seq 1 {LINES}"
    parameters = {"command": [command], "separateOutputStream": ["true" if separate else "false"]}
    async with open_session(
        ssm, target=target, document_name="AWS-StartNonInteractiveCommand", parameters=parameters
    ) as s:
        await s.wait_closed(timeout=60)
        return s


async def test_loss_duplicate_reorder_keep_1mb_intact_and_in_order(tmp_path: Path) -> None:
    """With --loss/--duplicate/--reorder, 1 MB of output and typed keys still arrive whole, once, in order."""
    faults = ("--loss", "0.03", "--duplicate", "0.03", "--reorder", "0.03", "--seed", "7")
    with start_emulator(SCENARIO, *faults, tmp_dir=tmp_path) as emulator:
        ssm, target = emulator.client("ssm", "dev"), first_instance(emulator)
        s = await run_seq(ssm, target, linger=5)  # ~25 lost messages, repaired one per tick
        # Keystrokes go through the same faults the other way: 60 one-key messages still arrive in order.
        async with open_session(ssm, target=target) as typed:
            await typed.wait_for(PROMPT)
            start = len(typed.output)
            for key in b"echo " + b"".join(b"%d." % n for n in range(25)) + b"\r":
                await typed.send_input(bytes([key]))
            expected_line = b"".join(b"%d." % n for n in range(25)) + b"\r\n"
            await typed.wait_for(b"\r\n" + expected_line, start=start)
    assert len(s.output) == len(EXPECTED)
    assert bytes(s.output) == EXPECTED
    assert s.exit_code == 0
    # The faults really happened on the wire: frames came twice and out of order.
    assert s.duplicate_frames > 0
    assert s.out_of_order_frames > 0


async def test_drop_after_forces_resume_and_keeps_the_shell(tmp_path: Path) -> None:
    """--drop-after N cuts the websocket again and again; the client resumes and the same shell goes on."""
    with start_emulator(SCENARIO, "--drop-after", "150", tmp_dir=tmp_path) as emulator:
        ssm = emulator.client("ssm", "dev")
        target = first_instance(emulator)
        # Paced output: a cut loses only the few messages in flight, which the timer resends. (Unpaced
        # output can have a hundred in flight when a cut comes; repairing those takes the agent ~10 s.)
        finished = await run_seq(ssm, target, separate=False)
        assert bytes(finished.output) == EXPECTED
        assert finished.reconnects >= 3  # ~850 output frames, a cut every 150
        async with open_session(ssm, target=target) as s:
            await s.wait_for(PROMPT)
            (pid,) = await numbers(s, b"echo pid=$$", rb"pid=(\d+)\r\n")
            for _ in range(40):  # ~15 output frames per command: a cut every ten commands or so
                (again,) = await numbers(s, b"seq 1 3000; echo pid=$$", rb"pid=(\d+)\r\n")
                assert again == pid  # same shell process after every resume
                if s.reconnects >= 2:
                    break
            assert s.reconnects >= 2
            await s.send_input(b"exit\r")
            await s.wait_closed()


async def test_fifty_concurrent_shell_sessions(tmp_path: Path) -> None:
    """50 shell sessions at once each run their own command and close cleanly."""
    with start_emulator(SCENARIO, tmp_dir=tmp_path) as emulator:
        ssm = emulator.client("ssm", "dev")
        target = first_instance(emulator)

        async def one(index: int) -> bytes:
            async with open_session(ssm, target=target) as s:
                await s.wait_for(PROMPT, timeout=60)
                await s.send_input(f"echo session-$((1000+{index}))\r".encode())
                await s.wait_for(f"session-{1000 + index}\r\n".encode(), timeout=60)
                await s.send_input(b"exit\r")
                await s.wait_closed(timeout=60)
                return bytes(s.output)

        outputs = await asyncio.gather(*(one(index) for index in range(50)))
    for index, output in enumerate(outputs):
        assert f"session-{1000 + index}\r\n".encode() in output
        others = set(re.findall(rb"session-(\d{4})\r\n", output))
        assert others == {str(1000 + index).encode()}  # no session saw another's output


async def test_sigterm_reaps_every_session_process(tmp_path: Path) -> None:
    """Stopping the emulator (SIGTERM) kills every shell and background job of open sessions: no orphans."""
    with start_emulator(SCENARIO, tmp_dir=tmp_path) as emulator:
        ssm = emulator.client("ssm", "dev")
        target = first_instance(emulator)
        pids: list[int] = []
        async with open_session(ssm, target=target) as one, open_session(ssm, target=target) as two:
            for s in (one, two):
                await s.wait_for(PROMPT)
                pids += await numbers(s, b"sleep 300 & echo pids=$$,$!", rb"pids=(\d+),(\d+)\r\n")
            assert all(alive(pid) for pid in pids)
            emulator.process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(emulator.process.wait, 30)
            for s in (one, two):
                await s.wait_closed()  # each client was told the session ended
        assert emulator.process.returncode == 0
        stop_process(emulator.process)
    assert await wait_gone(pids) == []
