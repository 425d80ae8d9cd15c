"""A client and an agent state machine linked in memory through an unreliable, seeded link.

Like h11's ``ConnectionPair``, but the wire between the two ends can drop, delay (and so reorder) and
duplicate frames, on a simulated clock: no sockets, no sleeping, every run repeatable from its seed.
"""

from __future__ import annotations

import itertools
import os
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ssmux.protocol.agent import AgentSession, HandshakeDone, HandshakeFailed, Input, Resize
from ssmux.protocol.channel import RESEND_INTERVAL, ChannelClosed, FlagReceived
from ssmux.protocol.client import (
    ClientSession,
    ExitCode,
    HandshakeCompleted,
    KmsKeyRequested,
    Output,
    SessionTypeKnown,
    StdErr,
)
from ssmux.protocol.errors import ProtocolError

SESSION_ID = "alice-0123456789abcdef0"
TARGET = "i-0123456789abcdef0"
STEP = 0.01


@dataclass
class LinkFaults:
    """What the link does to each frame: probabilities and the extra delay range (seconds)."""

    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    latency: float = 0.005
    jitter: float = 0.05


class Link:
    """Frames in one direction, delivered at a (random) time, maybe dropped or duplicated."""

    def __init__(self, rng: random.Random, faults: LinkFaults) -> None:
        self.rng = rng
        self.faults = faults
        self._queue: list[tuple[float, int, bytes]] = []
        self._order = itertools.count()
        self.sent = 0
        self.dropped = 0

    def put(self, frame: bytes, now: float) -> None:
        self.sent += 1
        if self.rng.random() < self.faults.loss:
            self.dropped += 1
            return
        copies = 2 if self.rng.random() < self.faults.duplicate else 1
        for _ in range(copies):
            delay = self.faults.latency
            if self.rng.random() < self.faults.reorder:
                delay += self.rng.uniform(0, self.faults.jitter)
            self._queue.append((now + delay, next(self._order), frame))

    def due(self, now: float) -> list[bytes]:
        ready = sorted(item for item in self._queue if item[0] <= now)
        self._queue = [item for item in self._queue if item[0] > now]
        return [frame for _, _, frame in ready]

    def clear(self) -> None:
        self._queue.clear()


class FakeKms:
    """KMS as the emulator's agent sees it: GenerateDataKey and Decrypt share a table (§10.5)."""

    key_id = "alias/ssm"

    def __init__(self) -> None:
        self.keys: dict[bytes, tuple[bytes, dict[str, str]]] = {}
        self.decrypt_calls: list[dict[str, str]] = []

    def generate_data_key(self, encryption_context: dict[str, str]) -> tuple[bytes, bytes]:
        plaintext = os.urandom(64)
        blob = b"blob-" + os.urandom(16)
        self.keys[blob] = (plaintext, dict(encryption_context))
        return blob, plaintext

    def decrypt(self, ciphertext_blob: bytes, encryption_context: dict[str, str]) -> bytes:
        self.decrypt_calls.append(dict(encryption_context))
        plaintext, context = self.keys[ciphertext_blob]
        if context != encryption_context:
            raise ValueError("InvalidCiphertextException: encryption context does not match")
        return plaintext


def id_factory(start: int = 1) -> Callable[[], uuid.UUID]:
    """Deterministic MessageIds."""
    counter = itertools.count(start)
    return lambda: uuid.UUID(int=next(counter))


@dataclass
class Pair:
    """A client and an agent joined by two links, with recorded events and collected bytes."""

    client: ClientSession
    agent: AgentSession
    to_agent: Link
    to_client: Link
    now: float = 0.0
    kms: FakeKms | None = None
    client_events: list[Any] = field(default_factory=list)
    agent_events: list[Any] = field(default_factory=list)
    output: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    received_input: bytearray = field(default_factory=bytearray)
    on_agent_event: Callable[[Pair, Any], None] | None = None
    on_client_event: Callable[[Pair, Any], None] | None = None
    connected: bool = True
    tolerate_errors: bool = False
    errors: list[ProtocolError] = field(default_factory=list)
    _next_tick: float = 0.0

    def _receive(self, receive: Callable[[bytes, float], None], frame: bytes) -> None:
        try:
            receive(frame, self.now)
        except ProtocolError as error:
            if not self.tolerate_errors:
                raise
            self.errors.append(error)

    def step(self) -> None:
        """Advance the clock by one step: deliver due frames, tick every 100 ms, move new frames."""
        self.now += STEP
        for frame in self.to_agent.due(self.now):
            if self.connected:
                self._receive(self.agent.receive, frame)
        for frame in self.to_client.due(self.now):
            if self.connected:
                self._receive(self.client.receive, frame)
        if self.now >= self._next_tick:
            self._next_tick = self.now + RESEND_INTERVAL
            self.client.tick(self.now)
            self.agent.tick(self.now)
        self._handle_events()
        self.flush()

    def flush(self) -> None:
        for frame in self.client.data_to_send():
            if self.connected:
                self.to_agent.put(frame, self.now)
        for frame in self.agent.data_to_send():
            if self.connected:
                self.to_client.put(frame, self.now)

    def _handle_events(self) -> None:
        while (event := self.client.next_event()) is not None:
            self.client_events.append(event)
            if isinstance(event, KmsKeyRequested) and self.kms is not None:
                blob, plaintext = self.kms.generate_data_key(event.encryption_context)
                self.client.provide_data_key(blob, plaintext, self.now)
            elif isinstance(event, Output):
                self.output += event.data
            elif isinstance(event, StdErr):
                self.stderr += event.data
            if self.on_client_event is not None:
                self.on_client_event(self, event)
        while (event := self.agent.next_event()) is not None:
            self.agent_events.append(event)
            if isinstance(event, Input):
                self.received_input += event.data
            if self.on_agent_event is not None:
                self.on_agent_event(self, event)

    def run_until(self, done: Callable[[], bool], limit: float = 600.0) -> None:
        """Step until ``done()``; fail after ``limit`` simulated seconds (never loops forever)."""
        deadline = self.now + limit
        while not done():
            if self.now > deadline:
                raise AssertionError(f"not done after {limit} simulated seconds")
            self.step()

    def settle(self, limit: float = 600.0) -> None:
        """Step until both ends have every message acked and nothing is in flight."""
        self.run_until(
            lambda: (
                self.client.channel.all_acked
                and self.agent.channel.all_acked
                and not self.to_agent._queue
                and not self.to_client._queue
            ),
            limit,
        )

    def disconnect(self) -> None:
        """The websocket drops: whatever is in flight is lost."""
        self.connected = False
        self.to_agent.clear()
        self.to_client.clear()

    def reconnect(self) -> None:
        """A new websocket: both ends resend what was not acked."""
        self.connected = True
        self.client.reconnected(self.now)
        self.agent.reconnected(self.now)
        self.flush()

    def events_of(self, side: str, kind: type) -> list[Any]:
        events = self.client_events if side == "client" else self.agent_events
        return [event for event in events if isinstance(event, kind)]


def make_pair(
    session_type: str = "Standard_Stream",
    *,
    seed: int = 0,
    faults: LinkFaults | None = None,
    kms: bool = False,
    handshake: bool | None = None,
    properties: dict[str, Any] | None = None,
    agent_version: str = "3.3.987.0",
    client_version: str = "1.2.0.0",
    acknowledge_kms_challenge: bool = True,
    **agent_kwargs: Any,
) -> Pair:
    """Build a linked pair; the agent's handshake request (if any) is already on the wire."""
    rng = random.Random(seed)
    fake_kms = FakeKms() if kms else None
    client = ClientSession(
        SESSION_ID,
        TARGET,
        "token-1",
        "client-id-1",
        client_version,
        0.0,
        id_factory(1_000_000),
        wall_ms=lambda: 1_700_000_000_000,
        acknowledge_kms_challenge=acknowledge_kms_challenge,
    )
    agent = AgentSession(
        SESSION_ID,
        TARGET,
        session_type,
        properties,
        agent_version,
        fake_kms,
        handshake,
        0.0,
        id_factory(2_000_000),
        wall_ms=lambda: 1_700_000_000_000,
        **agent_kwargs,
    )
    pair = Pair(
        client, agent, Link(rng, faults or LinkFaults()), Link(rng, faults or LinkFaults()), kms=fake_kms
    )
    pair.flush()
    return pair


__all__ = [
    "SESSION_ID",
    "TARGET",
    "ChannelClosed",
    "ExitCode",
    "FakeKms",
    "FlagReceived",
    "HandshakeCompleted",
    "HandshakeDone",
    "HandshakeFailed",
    "Input",
    "LinkFaults",
    "Pair",
    "Resize",
    "SessionTypeKnown",
    "id_factory",
    "make_pair",
]
