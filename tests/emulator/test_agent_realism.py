"""The emulated agent behaves like AWS's, not like a kind test server (spec "Corrections and additions" 4-6).

In-process data channel servers (a real websocket on 127.0.0.1, real shells) with the realistic pacing
unless a test says otherwise, and a short channel lifetime or idle timeout where a test needs one. One
test runs the ``ssmux emulator`` process to show its command-line options reach the server.

Timing assertions are bounds with a wide margin (the machines are shared): they prove a delay or a pacing
exists, never its exact value.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from ssmux.emulator.agents import FAST, REALISTIC, Pacing
from ssmux.emulator.datachannel import DataChannelServer
from ssmux.emulator.datachannel_session import IDLE_TIMEOUT_OUTPUT, TERMINATING
from ssmux.emulator.sessions import SessionRegistry, SessionStatus, SessionType
from ssmux.protocol.messages import ClientMessage, MessageType, PayloadType, PortFlag
from ssmux.protocol.payloads import OpenDataChannelInput
from tests.emulator.test_datachannel import PROMPT, TARGET, RegistryResume, new_session
from tests.emulator.test_sessions_e2e import PROMPT as SCENARIO_PROMPT
from tests.emulator.test_sessions_e2e import SCENARIO
from tests.support.emulator import start_emulator
from tests.support.wsclient import (
    BASIC_CLIENT_VERSION,
    SessionDriver,
    alive,
    connect_session,
    first_instance,
    numbers,
    open_session,
    start_session,
    wait_gone,
)

pytestmark = pytest.mark.e2e


@asynccontextmanager
async def data_channel(pacing: Pacing = REALISTIC, **options: Any) -> AsyncIterator[DataChannelServer]:
    """A started in-process data channel server; stopped (every session reaped) at the end."""
    dc = DataChannelServer(SessionRegistry(), pacing=pacing, **options)
    await dc.start()
    try:
        yield dc
    finally:
        await dc.stop()


def driver(dc: DataChannelServer, response: dict[str, str], **options: Any) -> Any:
    """Connect a test client (the protocol core's ClientSession) to a registered session."""
    return connect_session(RegistryResume(dc.registry), response, target=TARGET, **options)


async def raw_connect(response: dict[str, str]) -> ClientConnection:
    """Open the StreamUrl and send the token, nothing else: frames are the test's to read."""
    ws = await connect(response["StreamUrl"], compression=None, ping_interval=None, max_size=None)
    await ws.send(OpenDataChannelInput(token_value=response["TokenValue"], request_id="r-1").to_text())
    return ws


async def frames_for(ws: ClientConnection, seconds: float) -> list[ClientMessage]:
    """Every message the server sends in the next ``seconds`` (no acks are sent back)."""
    messages: list[ClientMessage] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while True:
                frame = await ws.recv()
                assert isinstance(frame, bytes)
                messages.append(ClientMessage.parse(frame))
    return messages


def spy_on_types(s: SessionDriver) -> list[str]:
    """Record the MessageType of every frame the driver's client receives."""
    seen: list[str] = []
    receive = s.client.receive

    def spy(frame: bytes, now: float) -> Any:
        with contextlib.suppress(Exception):
            seen.append(str(ClientMessage.parse(frame).message_type))
        return receive(frame, now)

    s.client.receive = spy  # type: ignore[method-assign]
    return seen


def without_acks(s: SessionDriver) -> None:
    """Make the driver's client send everything but its acks (the agent then never sees one)."""
    take = s.client.data_to_send

    def filtered() -> list[bytes]:
        return [f for f in take() if ClientMessage.parse(f).message_type != MessageType.ACKNOWLEDGE]

    s.client.data_to_send = filtered  # type: ignore[method-assign]


async def dropped_without_close_frame(ws: ClientConnection, timeout: float = 10.0) -> None:
    """Wait until the server ends ``ws`` and check it sent no websocket close frame."""
    await asyncio.wait_for(ws.wait_closed(), timeout)
    assert ws.protocol.close_rcvd is None, f"the server sent a close frame: {ws.protocol.close_rcvd}"


async def nothing_more_then_dropped(ws: ClientConnection) -> None:
    """Read ``ws`` (nobody else does any more): no frame comes, then it ends without a close frame."""
    with pytest.raises(ConnectionClosed) as ended:
        frame = await asyncio.wait_for(ws.recv(), 10)
        raise AssertionError(f"a frame after channel_closed: {frame!r:.200}")
    assert ended.value.rcvd is None, f"the server sent a close frame: {ended.value.rcvd}"


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until ``predicate()`` holds (polled)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


# ------------------------------------------------------------------------------------ the agent starts first


async def test_agent_starts_at_start_session_and_resends_its_first_message_to_a_late_client() -> None:
    """The HandshakeRequest goes out at StartSession, resent every ~200 ms: a late client gets copies."""
    async with data_channel() as dc:
        response = new_session(dc, [], SessionType.PORT, properties={"portNumber": "9"})
        await asyncio.sleep(1.2)  # nobody connected yet: the agent sends and resends anyway
        ws = await raw_connect(response)
        try:
            messages = await frames_for(ws, 0.5)
        finally:
            await ws.close()
    first = [m for m in messages if m.message_type == MessageType.OUTPUT_STREAM_DATA]
    assert first, "the agent's handshake request never arrived"
    assert {m.sequence_number for m in first} == {0}
    assert {m.payload_type for m in first} == {PayloadType.HANDSHAKE_REQUEST}
    assert len({m.message_id for m in first}) == 1  # the same message, resent byte for byte
    assert len(first) >= 3  # 1.2 s of resends every 200-300 ms, kept by the gateway for the late client


async def test_shell_runs_before_any_client_and_its_prompt_waits_for_the_client() -> None:
    """A shell session's pty exists before the client connects; its first output is delivered once it does."""
    async with data_channel() as dc:
        response = new_session(dc)
        await eventually(lambda: getattr(dc.links.get(response["SessionId"]), "agent", None) is not None)
        link = dc.links[response["SessionId"]]
        assert link.connections == 0
        process = link.agent.process  # type: ignore[union-attr]
        assert process is not None and alive(process.pid)
        await asyncio.sleep(1.8)  # the prompt is read after 1 s and resent into the gateway meanwhile
        async with driver(dc, response) as s:
            await s.wait_for(PROMPT)
            await s.send_input(b"echo late-$((20+2))\r")
            await s.wait_for(b"late-22")
            assert s.duplicate_frames >= 1  # the first output came more than once
            assert s.output.count(PROMPT) >= 1


@pytest.mark.parametrize(
    ("pacing", "realistic"), [(REALISTIC, True), (FAST, False)], ids=["realistic", "fast"]
)
async def test_first_output_comes_a_second_after_the_shell_starts_unless_fast(
    pacing: Pacing, realistic: bool
) -> None:
    """Realistic: no output until ~1 s after the shell started (writePump's wait); --fast: at once."""
    async with data_channel(pacing) as dc:
        started = time.monotonic()
        async with driver(dc, new_session(dc)) as s:
            await s.wait_for(PROMPT)
            elapsed = time.monotonic() - started
    if realistic:
        assert elapsed >= 0.95
    else:
        assert elapsed < 0.9


async def test_shell_output_is_paced_like_the_agent() -> None:
    """1 KiB reads 1 ms apart: a shell sends well under 3 MB/s (about 1 MB/s on AWS)."""
    size = 1_500_000
    async with data_channel() as dc, driver(dc, new_session(dc)) as s:
        await s.wait_for(PROMPT)
        await s.send_input(f"head -c {size} /dev/zero | tr '\\0' x; echo; echo E''ND\r".encode())
        start = await s.wait_for(b"xxxx")
        began = time.monotonic()
        await s.wait_for(b"END", timeout=30, start=start)
        elapsed = time.monotonic() - began
    assert size / elapsed < 3_000_000, f"{size / elapsed / 1e6:.1f} MB/s: the agent's pacing is missing"


async def test_no_window_and_no_full_resend_after_a_reconnect() -> None:
    """Unacked output does not stop the agent (no window); it resends only its oldest message, by its timer,
    before and after a reconnect."""
    async with data_channel() as dc, driver(dc, new_session(dc)) as s:
        await s.wait_for(PROMPT)
        without_acks(s)  # from here on the agent sees no ack at all
        start = len(s.output)
        await s.send_input(b"seq 1 60000\r")  # ~400 KB: far more messages than a 256-message window
        end = await s.wait_for(b"\r\n60000\r\n", timeout=30, start=start)
        await s.wait_for(PROMPT, start=end)  # nothing new comes after the prompt
        link = dc.links[s.session_id]
        assert link.protocol is not None and link.protocol.channel.unacked_count > 300
        seen: list[int] = []
        receive = s.client.receive

        def record(frame: bytes, now: float) -> Any:
            message = ClientMessage.parse(frame)
            if message.message_type == MessageType.OUTPUT_STREAM_DATA:
                seen.append(message.sequence_number)
            return receive(frame, now)

        s.client.receive = record  # type: ignore[method-assign]
        await asyncio.sleep(1.0)
        oldest = min(seen)
        assert set(seen) == {oldest}, "only the oldest unacked message is resent"
        seen.clear()
        s.drop()  # the client resumes: MGS's start_publication, and nothing more
        await eventually(lambda: s.reconnects == 1)
        await asyncio.sleep(1.0)
        assert seen and set(seen) == {oldest}, f"resent after the reconnect: {sorted(set(seen))[:10]}"


# ------------------------------------------------------------------------------------------------- endings


async def test_exit_ends_with_terminating_kept_by_the_gateway_then_channel_closed_and_no_close_frame() -> (
    None
):
    """After ``exit``: Terminating goes to the gateway only, the client gets channel_closed, then the socket
    is dropped without a websocket close frame and without anything after channel_closed."""
    async with data_channel() as dc, driver(dc, new_session(dc)) as s:
        types = spy_on_types(s)
        await s.wait_for(PROMPT)
        (pid,) = await numbers(s, b"echo pid=$$", rb"pid=(\d+)\r\n")
        link = dc.links[s.session_id]
        ws = s._ws
        assert ws is not None
        await s.send_input(b"exit\r")
        closed = await s.wait_closed()
        await nothing_more_then_dropped(ws)
    assert closed.output == ""
    assert link.agent_states == [TERMINATING]
    assert MessageType.AGENT_SESSION_STATE not in types
    assert await wait_gone([pid]) == []
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)


async def test_terminate_session_sigkills_the_shell(tmp_path: Path) -> None:
    """TerminateSession: channel_closed, the socket dropped without a close frame, the shell SIGKILLed (a
    shell that traps SIGHUP and SIGTERM never runs its trap) and its process group gone."""
    marker = tmp_path / "trapped"
    async with data_channel() as dc, driver(dc, new_session(dc)) as s:
        await s.wait_for(PROMPT)
        await s.send_input(f"trap 'echo trapped > {marker}' HUP TERM\r".encode())
        (pid,) = await numbers(s, b"echo pid=$$", rb"pid=(\d+)\r\n")
        ws = s._ws
        assert ws is not None
        await asyncio.to_thread(dc.registry.terminate, s.session_id)
        closed = await s.wait_closed()
        await nothing_more_then_dropped(ws)
        assert closed.output == ""
        assert await wait_gone([pid]) == []
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    assert not marker.exists(), "the shell got a catchable signal instead of SIGKILL"


@pytest.mark.parametrize("client_version", [BASIC_CLIENT_VERSION, "1.2.0.0"], ids=["basic", "smux"])
async def test_port_session_terminate_flag_is_acked_then_the_socket_dropped(client_version: str) -> None:
    """A port session ended by the client's TerminateSession flag: the flag is acked, then the socket is
    dropped, with no channel_closed and no close frame; the session has ended."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            writer.write(data)
        writer.close()

    destination = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = destination.sockets[0].getsockname()[1]
    properties = {"portNumber": str(port), "localPortNumber": "0", "type": "LocalPortForwarding"}
    try:
        async with data_channel() as dc:
            response = new_session(dc, [], SessionType.PORT, properties=properties)
            async with driver(dc, response, client_version=client_version) as s:
                types = spy_on_types(s)
                await s.wait_until(lambda: s.client.port_mode is not None, what="the handshake")
                s.resume_gate.clear()  # a dropped socket must not be resumed: look at it instead
                ws = s._ws
                assert ws is not None
                await s.send_flag(PortFlag.TERMINATE_SESSION)
                await dropped_without_close_frame(ws)
                assert s.client.channel.all_acked  # the flag (and everything before it) was acked
                assert s.closed is None and MessageType.CHANNEL_CLOSED not in types
                session = dc.registry.get(s.session_id)
                assert session is not None and session.status == SessionStatus.TERMINATED
    finally:
        destination.close()


# --------------------------------------------------------------------------------------- the service side


async def test_data_channel_lifetime_drops_the_socket_and_the_client_resumes() -> None:
    """After ``channel_lifetime`` seconds the service drops the websocket (no close frame); the client
    resumes with ResumeSession and the same shell goes on."""
    async with data_channel(FAST, channel_lifetime=1.5) as dc, driver(dc, new_session(dc)) as s:
        await s.wait_for(PROMPT)
        (pid,) = await numbers(s, b"echo pid=$$", rb"pid=(\d+)\r\n")
        first = s._ws
        assert first is not None
        await dropped_without_close_frame(first, timeout=10)
        await s.wait_until(lambda: s.reconnects >= 1, what="the resume")
        (again,) = await numbers(s, b"echo pid=$$", rb"pid=(\d+)\r\n")
        assert again == pid
        assert s.closed is None


async def test_idle_timeout_ends_a_session_without_input() -> None:
    """No input for ``idle_timeout`` seconds ends the session with channel_closed; input resets the timer,
    the shell's own output does not."""
    async with data_channel(FAST, idle_timeout=1.5) as dc, driver(dc, new_session(dc)) as s:
        await s.wait_for(PROMPT)
        started = time.monotonic()
        for _ in range(3):  # keys every 0.7 s keep it alive past the timeout
            await asyncio.sleep(0.7)
            await s.send_input(b" ")
        await s.send_input(b"\rwhile :; do echo tick; sleep 0.2; done\r")  # output, but no more input
        closed = await s.wait_closed(timeout=10)
        assert time.monotonic() - started > 2.1 + 1.0
        assert closed.output == IDLE_TIMEOUT_OUTPUT
        session = dc.registry.get(s.session_id)
        assert session is not None and session.status == SessionStatus.TERMINATED


async def test_a_session_that_fails_before_its_client_connects_tells_it_why() -> None:
    """The agent fails (no such shell) before the client connects: the client still gets channel_closed
    with the reason, and the session has failed."""
    async with data_channel() as dc:
        response = new_session(dc, ["/nonexistent/shell"])
        await asyncio.sleep(0.3)
        async with driver(dc, response) as s:
            closed = await s.wait_closed()
        assert "command not found" in closed.output
        session = dc.registry.get(response["SessionId"])
        assert session is not None and session.status == SessionStatus.FAILED


async def test_emulator_options_reach_the_data_channel(tmp_path: Path) -> None:
    """``--channel-lifetime`` and ``--idle-timeout`` work in the emulator process (realistic pacing).

    A resume resets the idle timer (AWS's docs), so the idle timeout is the shorter one here; keys keep the
    session alive until the first lifetime drop.
    """
    options = ("--channel-lifetime", "3", "--idle-timeout", "2")
    with start_emulator(SCENARIO, *options, tmp_dir=tmp_path) as emulator:
        ssm = emulator.client("ssm", "dev")
        async with open_session(ssm, target=first_instance(emulator)) as s:
            await s.wait_for(SCENARIO_PROMPT)
            deadline = time.monotonic() + 10
            while not s.reconnects and time.monotonic() < deadline:
                await s.send_input(b" ")
                await asyncio.sleep(0.5)
            assert s.reconnects >= 1, "the data channel was never dropped"
            await s.send_input(b"\recho still-$((2*3))\r")
            await s.wait_for(b"still-6")
            closed = await s.wait_closed(timeout=15)  # then nothing typed: the idle timeout ends it
        assert closed.output == IDLE_TIMEOUT_OUTPUT


async def test_emulator_fast_option_drops_the_first_output_delay(tmp_path: Path) -> None:
    """``ssmux emulator --fast``: the shell's prompt comes without the agent's 1 s wait."""
    with start_emulator(SCENARIO, "--fast", tmp_dir=tmp_path) as emulator:
        ssm = emulator.client("ssm", "dev")
        target = first_instance(emulator)
        response = await start_session(ssm, Target=target)  # the shell starts now
        started = time.monotonic()
        async with connect_session(ssm, response, target=target) as s:
            await s.wait_for(SCENARIO_PROMPT)
            elapsed = time.monotonic() - started
    assert elapsed < 0.9


async def test_sigkill_is_sent_to_the_process_group_not_just_the_shell() -> None:
    """A foreground job in the shell's own process group dies with it when the session is terminated."""
    async with (
        data_channel(FAST) as dc,
        driver(dc, new_session(dc, ["/bin/sh", "-c", "sleep 300 & wait"])) as s,
    ):
        link = dc.links[s.session_id]
        await eventually(lambda: link.agent is not None and link.agent.process is not None)  # type: ignore[union-attr]
        pid = link.agent.process.pid  # type: ignore[union-attr]
        await asyncio.sleep(0.3)
        group = _group_members(pid)
        assert group, "the shell's job did not start"
        await asyncio.to_thread(dc.registry.terminate, s.session_id)
        await s.wait_closed()
        assert await wait_gone([pid, *group]) == []


def _group_members(pgid: int) -> list[int]:
    """Live processes in process group ``pgid`` other than its leader (Linux)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == pgid:
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            fields = stat[stat.rfind(")") + 2 :].split()
            if fields[0] not in "ZX" and int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members
