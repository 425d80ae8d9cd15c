"""Protocol core speed: codec messages/s and in-memory client <-> agent throughput (MB/s).

Prints figures only. Run with ``python -m bench protocol``.
"""

from __future__ import annotations

import os
import time
import uuid

from ssmux.protocol.agent import AgentSession
from ssmux.protocol.client import ClientSession, KmsKeyRequested, Output
from ssmux.protocol.messages import ClientMessage, MessageType, PayloadType
from ssmux.protocol.smux import SmuxSession, StreamData

MB = 1024 * 1024


class _Kms:
    key_id = "alias/bench"

    def __init__(self) -> None:
        self.table: dict[bytes, bytes] = {}

    def decrypt(self, blob: bytes, context: dict[str, str]) -> bytes:
        return self.table[blob]


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s"


def bench_codec() -> None:
    message = ClientMessage(
        message_type=MessageType.OUTPUT_STREAM_DATA,
        payload=os.urandom(1024),
        message_id=uuid.uuid4(),
        created_date=1_700_000_000_000,
        payload_type=PayloadType.OUTPUT,
        sequence_number=42,
    )
    wire = message.serialize()
    rounds = 50_000
    started = time.perf_counter()
    for _ in range(rounds):
        message.serialize()
    serialize = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(rounds):
        ClientMessage.parse(wire)
    parse = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(rounds):
        ClientMessage.parse(wire, check_digest=False)
    parse_nodigest = time.perf_counter() - started
    print(f"codec, 1 KiB output message: serialize {_rate(rounds, serialize)}, parse {_rate(rounds, parse)}")
    print(
        f"codec: parse without digest check {_rate(rounds, parse_nodigest)} "
        f"(digest check costs {parse / parse_nodigest:.2f}x)"
    )


def _session(kms: bool) -> tuple[ClientSession, AgentSession, float]:
    fake = _Kms() if kms else None
    client = ClientSession("s-bench", "i-bench", "tok", "cid", "1.2.0.0", 0.0)
    agent = AgentSession("s-bench", "i-bench", "Standard_Stream", None, "3.3.987.0", fake, None, 0.0)
    now = 0.0
    for _ in range(20):
        now += 0.001
        for frame in agent.data_to_send():
            client.receive(frame, now)
        for frame in client.data_to_send():
            agent.receive(frame, now)
        while (event := client.next_event()) is not None:
            if isinstance(event, KmsKeyRequested) and fake is not None:
                key = os.urandom(64)
                fake.table[b"blob"] = key
                client.provide_data_key(b"blob", key, now)
        while agent.next_event() is not None:
            pass
    return client, agent, now


def bench_throughput(kms: bool, total: int = 16 * MB) -> float:
    client, agent, now = _session(kms)
    assert agent.established
    block = os.urandom(64 * 1024)
    received = 0
    started = time.perf_counter()
    sent = 0
    while received < total:
        if sent < total:
            agent.send_output(block, now)
            sent += len(block)
            if sent >= total:
                # Random bytes can end in what looks like a partial UTF-8 character; send it too.
                agent.flush_output(now)
        now += 0.001
        for frame in agent.data_to_send():
            client.receive(frame, now)
        for frame in client.data_to_send():
            agent.receive(frame, now)
        while (event := client.next_event()) is not None:
            if isinstance(event, Output):
                received += len(event.data)
    elapsed = time.perf_counter() - started
    assert agent.channel.all_acked
    rate = received / MB / elapsed
    label = "KMS-encrypted" if kms else "plain"
    print(f"client <-> agent in memory, {label}: {received / MB:.0f} MB in {elapsed:.2f} s = {rate:.1f} MB/s")
    return rate


def bench_smux(total: int = 32 * MB) -> None:
    client, server = SmuxSession(client=True), SmuxSession(client=False)
    streams = [client.open_stream() for _ in range(8)]
    server.receive(client.data_to_send())
    server.events()
    block = os.urandom(32 * 1024)
    received = 0
    started = time.perf_counter()
    while received < total:
        for stream in streams:
            client.send(stream, block)
        server.receive(client.data_to_send())
        received += sum(len(e.data) for e in server.events() if isinstance(e, StreamData))
    elapsed = time.perf_counter() - started
    print(f"smux, 8 streams, frames in and out: {received / MB / elapsed:.0f} MB/s")


def main() -> None:
    bench_codec()
    plain = bench_throughput(kms=False)
    encrypted = bench_throughput(kms=True)
    print(f"KMS encryption costs {plain / encrypted:.2f}x")
    bench_smux()
