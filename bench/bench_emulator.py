"""Emulator data channel: sessions per second it sustains, and MB/s one session carries.

Everything goes through the real ``ssmux emulator`` process with the demo scenario, boto3 StartSession and
the protocol core's client over a real websocket (``tests/support/wsclient.py``):

* sessions/s: start a shell session, wait for the prompt, ``echo``, ``exit``, wait for channel_closed; many
  such sessions, sequentially (latency) and 10 at a time (throughput);
* MB/s: ``cat`` of a 16 MB text file in one session: through a pty (shell), through pipes
  (NonInteractiveCommands), and the same KMS-encrypted (demo profile prod).

The emulator runs with ``--fast``: these figures are the emulator's own capacity. In its default, realistic
mode every shell waits 1 s before its first output and a session carries about 1 MB/s, as on AWS
(``bench_sessions`` measures ssmux against both modes).

Figures only, never assertions; the machine's load shows in them.
"""

from __future__ import annotations

import asyncio
import base64
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

SEQUENTIAL = 20
CONCURRENT = 60
PARALLEL = 10
FILE_MB = 16


def main() -> None:
    from tests.support.emulator import start_emulator

    with tempfile.TemporaryDirectory(prefix="bench-emulator-") as folder:
        work = Path(folder)
        big = work / "big.txt"
        # Printable lines (base64), so the pty passes them through unchanged but for \n -> \r\n.
        with big.open("wb") as out:
            for _ in range(FILE_MB * 16):
                out.write(base64.encodebytes(os.urandom(48 * 1024)))
        size = big.stat().st_size
        with start_emulator("demo", "--fast", tmp_dir=work / "emulator") as emulator:
            asyncio.run(_run(emulator, big, size))


async def _run(emulator: Any, big: Path, size: int) -> None:
    dev_ssm = emulator.client("ssm", "dev")
    dev = _instance(emulator, "dev", "web-1")
    prod_ssm = emulator.client("ssm", "prod")
    prod_kms = emulator.client("kms", "prod")
    prod = _instance(emulator, "prod", "web-1")

    await _one_session(dev_ssm, dev, 0)  # warm-up: imports, first bash start
    latencies = []
    started = time.perf_counter()
    for index in range(SEQUENTIAL):
        began = time.perf_counter()
        await _one_session(dev_ssm, dev, index)
        latencies.append(time.perf_counter() - began)
    sequential = time.perf_counter() - started
    median_ms, max_ms = statistics.median(latencies) * 1000, max(latencies) * 1000
    print(f"shell session start+echo+exit, one at a time: {SEQUENTIAL / sequential:6.1f} sessions/s "
          f"(median {median_ms:.0f} ms, max {max_ms:.0f} ms)")  # fmt: skip

    gate = asyncio.Semaphore(PARALLEL)

    async def limited(index: int) -> None:
        async with gate:
            await _one_session(dev_ssm, dev, index)

    started = time.perf_counter()
    await asyncio.gather(*(limited(index) for index in range(CONCURRENT)))
    concurrent = time.perf_counter() - started
    print(f"shell session start+echo+exit, {PARALLEL} at a time:  {CONCURRENT / concurrent:6.1f} sessions/s "
          f"({CONCURRENT} sessions in {concurrent:.1f} s; ratio to one at a time "
          f"{(CONCURRENT / concurrent) / (SEQUENTIAL / sequential):.2f}x)")  # fmt: skip

    cases = [
        ("shell (pty)", dev_ssm, dev, None, None),
        ("NonInteractiveCommands (pipes)", dev_ssm, dev, "AWS-StartNonInteractiveCommand", None),
        ("NonInteractiveCommands, KMS-encrypted", prod_ssm, prod, "AWS-StartNonInteractiveCommand", prod_kms),
    ]
    rates = []
    for label, ssm, target, document, kms in cases:
        received, seconds = await _cat(ssm, target, big, document, kms)
        rates.append(received / seconds / 1e6)
        print(f"cat of {size / 1e6:.1f} MB, {label:38s}: {rates[-1]:6.1f} MB/s "
              f"({received / 1e6:.1f} MB received in {seconds:.2f} s)")  # fmt: skip
    print(f"ratio pipes/pty {rates[1] / rates[0]:.2f}x, KMS/plain {rates[2] / rates[1]:.2f}x")


def _instance(emulator: Any, profile: str, name: str) -> str:
    ec2 = emulator.client("ec2", profile)
    reservations = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]}])["Reservations"]
    return str(reservations[0]["Instances"][0]["InstanceId"])


async def _one_session(ssm: Any, target: str, index: int) -> None:
    from tests.support.wsclient import open_session

    async with open_session(ssm, target=target) as s:
        await s.wait_for(b"$ ", timeout=60)
        await s.send_input(f"echo bench-{index}\r".encode())
        await s.wait_for(f"bench-{index}\r\n".encode(), timeout=60)
        await s.send_input(b"exit\r")
        await s.wait_closed(timeout=60)


async def _cat(ssm: Any, target: str, path: Path, document: str | None, kms: Any) -> tuple[int, float]:
    from tests.support.wsclient import open_session

    # separateOutputStream: the agent streams the command's pipes (without it, it sends a file at the end).
    parameters = {"command": [f"cat {path}"], "separateOutputStream": ["true"]} if document else None
    async with open_session(ssm, target=target, document_name=document, parameters=parameters, kms=kms) as s:
        if document is None:
            await s.wait_for(b"$ ", timeout=60)
            await s.send_input(f"cat {path}; exit\r".encode())
        started = time.perf_counter()
        await s.wait_closed(timeout=600)
        seconds = time.perf_counter() - started
        return len(s.output), seconds


if __name__ == "__main__":
    main()
