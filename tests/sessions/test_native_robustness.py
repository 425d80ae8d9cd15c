"""The native client against hostile data channels: it retries with bounds, keeps memory bounded, and ends.

Each test runs a real websocket server on 127.0.0.1 port 0 that misbehaves in one way (drops every
connection, skips sequence numbers far ahead with large frames, pauses publication forever, stops
answering pings, refuses the upgrade) and a real :class:`~ssmux.sessions.native.NativeSession` against it.
The AWS calls are a stand-in that counts them: the contract under test is what the client does with the
data channel. Timeouts are shortened through the module's constants so each test takes seconds.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request

from ssmux.errors import SessionError
from ssmux.protocol.channel import REORDER_MAX_BYTES
from ssmux.protocol.messages import ClientMessage, MessageType, PayloadType
from ssmux.sessions import native
from ssmux.sessions.api import Resumed, StartedSession
from ssmux.sessions.native import NativeSession

pytestmark = pytest.mark.timeout(60)

Behaviour = Callable[[ServerConnection], Awaitable[None]]


@dataclass
class FakeApi:
    """ResumeSession, TerminateSession and the dial headers, counted; no AWS behind them."""

    headers: dict[str, str] = field(default_factory=lambda: {"Authorization": "AWS4-HMAC-SHA256 stand-in"})
    resumes: int = 0
    terminated: int = 0
    region_name: str = "eu-west-1"

    def upgrade_headers(self, url: str) -> dict[str, str]:
        from ssmux.sessions.signing import is_presigned

        return {} if is_presigned(url) else dict(self.headers)

    def resume_session(self, session_id: str) -> Resumed | None:
        self.resumes += 1
        return Resumed(f"token-{self.resumes}", None)

    def terminate_session(self, session_id: str, *, quiet: bool = False) -> None:
        self.terminated += 1


@dataclass
class HostileServer:
    """A websocket server whose every connection runs ``behaviour``; it records each upgrade request."""

    behaviour: Behaviour
    refuse_with: int | None = None
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, query: str = "role=publish_subscribe") -> str:
        return f"ws://127.0.0.1:{self.port}/v1/data-channel/s-1?{query}"

    def _process_request(self, connection: ServerConnection, request: Request) -> Any:
        self.requests.append(request)
        if self.refuse_with is not None:
            return connection.respond(self.refuse_with, "Forbidden: missing or bad signature\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        await ws.recv()  # the token message
        await self.behaviour(ws)


@asynccontextmanager
async def hostile(behaviour: Behaviour, *, refuse_with: int | None = None) -> AsyncIterator[HostileServer]:
    server = HostileServer(behaviour, refuse_with)
    async with serve(
        server._handle,
        "127.0.0.1",
        0,
        process_request=server._process_request,
        ping_interval=None,
        close_timeout=0.5,
    ) as running:
        server.port = running.sockets[0].getsockname()[1]
        try:
            yield server
        finally:
            server.stopping.set()


def agent_message(sequence: int, payload: bytes, message_type: str = MessageType.OUTPUT_STREAM_DATA) -> bytes:
    return ClientMessage(
        message_type=message_type,
        payload=payload,
        message_id=uuid.uuid4(),
        created_date=int(time.time() * 1000),
        payload_type=PayloadType.OUTPUT if payload else PayloadType.UNDEFINED,
        sequence_number=sequence,
    ).serialize()


async def open_native(server: HostileServer, api: FakeApi, url: str | None = None) -> NativeSession:
    session = NativeSession(api, StartedSession("s-1", "token-0", url or server.url()), "i-0123456789abcdef0")
    await session.open()
    return session


async def drop_at_once(ws: ServerConnection) -> None:
    ws.transport.abort()


async def test_a_link_that_always_drops_is_redialled_with_backoff_then_given_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every connection dies at once: the dials back off and stop at the deadline with one clear line."""
    monkeypatch.setattr(native, "RECONNECT_DEADLINE", 3.0)
    api = FakeApi()
    async with hostile(drop_at_once) as server:
        session = await open_native(server, api)
        started = time.monotonic()
        end = await asyncio.wait_for(session.wait_closed(), 20)
        elapsed = time.monotonic() - started
        await session.close()
    assert end.error is not None
    assert "not resumed within 3 s" in end.message
    # Without backoff this is hundreds of dials a second; with it, 0.1 s doubling, a handful in 3 s.
    assert 3 <= len(server.requests) <= 10, len(server.requests)
    assert api.resumes == len(server.requests) - 1
    assert elapsed >= 2.5
    assert api.terminated == 1


async def test_a_sender_that_skips_ahead_cannot_grow_the_reorder_buffer_past_its_bound() -> None:
    """Large frames with sequence numbers far ahead are kept only up to the byte bound, and not acked."""
    big = b"x" * (512 * 1024)
    frames = 40  # 20 MiB offered, never in order (sequence 0 never comes)
    acks: list[int] = []

    async def skip_ahead(ws: ServerConnection) -> None:
        for sequence in range(1, frames + 1):
            await ws.send(agent_message(sequence + 1000, big))

        async def count_acks() -> None:
            async for frame in ws:
                if isinstance(frame, bytes):
                    message = ClientMessage.parse(frame)
                    if message.message_type == MessageType.ACKNOWLEDGE:
                        acks.append(1)

        await asyncio.wait_for(count_acks(), 60)

    api = FakeApi()
    async with hostile(skip_ahead) as server:
        session = await open_native(server, api)
        channel = session.client.channel
        deadline = time.monotonic() + 15
        while len(acks) < REORDER_MAX_BYTES // len(big) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # whatever else arrives must be refused
        kept, kept_bytes = channel.reorder_count, channel.reorder_bytes
        await session.close()
    assert kept_bytes <= REORDER_MAX_BYTES
    assert kept == REORDER_MAX_BYTES // len(big)
    assert len(acks) == kept  # what was not kept was not acked: a real peer would send it again


async def test_a_channel_paused_forever_ends_with_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """pause_publication and then nothing: redialled once after the pause timeout, then ended clearly."""
    monkeypatch.setattr(native, "PAUSE_TIMEOUT", 0.5)

    async def pause_forever(ws: ServerConnection) -> None:
        await ws.send(agent_message(0, b"", MessageType.PAUSE_PUBLICATION))
        await ws.wait_closed()

    api = FakeApi()
    async with hostile(pause_forever) as server:
        session = await open_native(server, api)
        end = await asyncio.wait_for(session.wait_closed(), 15)
        await session.close()
    assert end.error is not None
    assert "did not answer for 1 s (publication paused)" in end.message
    assert len(server.requests) == 2  # the first dial and one resume
    assert api.terminated == 1


async def test_a_silent_peer_is_noticed_by_pings_and_the_session_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server that stops reading never answers pings: dropped, resumed, and ended at the deadline."""
    monkeypatch.setattr(native, "PING_INTERVAL", 0.3)
    monkeypatch.setattr(native, "PING_TIMEOUT", 0.3)
    monkeypatch.setattr(native, "RECONNECT_DEADLINE", 1.5)

    api = FakeApi()
    server_box: list[HostileServer] = []

    async def go_silent(ws: ServerConnection) -> None:
        ws.transport.pause_reading()  # no more frames read, so no pong is ever written
        await asyncio.wait_for(server_box[0].stopping.wait(), 30)

    async with hostile(go_silent) as server:
        server_box.append(server)
        session = await open_native(server, api)
        end = await asyncio.wait_for(session.wait_closed(), 20)
        await session.close()
    assert end.error is not None
    assert "not resumed within 2 s" in end.message
    assert len(server.requests) >= 2  # the silence was noticed and the session resumed at least once


async def test_a_presigned_url_is_dialled_unsigned_and_not_resumed() -> None:
    """A presigned StreamUrl goes out as given (no Authorization header); after a drop it is not resumed."""
    api = FakeApi()
    query = "role=publish_subscribe&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc"
    async with hostile(drop_at_once) as server:
        session = await open_native(server, api, server.url(query))
        end = await asyncio.wait_for(session.wait_closed(), 15)
        await session.close()
    assert "presigned stream URL cannot be resumed" in end.message
    assert len(server.requests) == 1 and api.resumes == 0
    assert "Authorization" not in server.requests[0].headers


async def test_a_signed_dial_carries_the_headers_and_a_refused_upgrade_is_one_clear_error() -> None:
    """The upgrade carries the signing headers; an HTTP 403 ends the start at once, with its reason."""
    api = FakeApi()
    async with hostile(drop_at_once, refuse_with=403) as server:
        with pytest.raises(SessionError) as refused:
            await open_native(server, api)
    assert len(server.requests) == 1  # a refusal is not retried
    assert server.requests[0].headers["Authorization"] == "AWS4-HMAC-SHA256 stand-in"
    assert "refused the connection (HTTP 403: Forbidden: missing or bad signature)" in str(refused.value)
    assert api.terminated == 1
