"""Sessions end to end: the real ``ssmux emulator`` process, boto3 StartSession, real websocket and shells.

The client side is the protocol core's ClientSession driven by ``tests/support/wsclient.py``; every byte goes
through the emulator's data channel and a real pty (or pipes, or TCP) on this machine.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from ssmux.protocol.client import FlagReceived
from ssmux.protocol.messages import PortFlag
from ssmux.protocol.smux import SmuxSession, StreamClosed, StreamData
from tests.support.emulator import RunningEmulator, start_emulator
from tests.support.wsclient import (
    BASIC_CLIENT_VERSION,
    SessionDriver,
    alive,
    first_instance,
    numbers,
    open_session,
    wait_gone,
)

pytestmark = pytest.mark.e2e

SCENARIO = {
    "profiles": [{"name": "dev", "account_id": "111111111111", "region": "eu-central-1"}],
    "instances": [
        {"profile": "dev", "region": "eu-central-1", "name": "box", "command": "/bin/sh",
         "prompt": "box$ "},
    ],
}  # fmt: skip
PROMPT = b"box$ "
FORWARD = "AWS-StartPortForwardingSession"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """One emulator with a one-box scenario whose shell is /bin/sh with a known prompt."""
    with start_emulator(SCENARIO, tmp_dir=tmp_path_factory.mktemp("sessions-e2e")) as running:
        yield running


@pytest.fixture(scope="module")
def ssm(emulator: RunningEmulator) -> Any:
    """A boto3 SSM client of the emulator's dev profile (clients are thread-safe; one is enough)."""
    return emulator.client("ssm", "dev")


@pytest.fixture(scope="module")
def target(emulator: RunningEmulator) -> str:
    """The box's instance id."""
    return first_instance(emulator)


@pytest.fixture
async def echo_server() -> AsyncIterator[tuple[int, list[int]]]:
    """A TCP echo server on 127.0.0.1: yields (port, a list that grows by one per connection)."""
    connections: list[int] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], connections
    finally:
        server.close()


async def shell(driver: SessionDriver, command: bytes, until: bytes, timeout: float = 15.0) -> bytes:
    """Type ``command`` + Enter and return the output from there until ``until`` appears."""
    start = len(driver.output)
    await driver.send_input(command + b"\r")
    end = await driver.wait_for(until, timeout, start=start)
    return bytes(driver.output[start:end])


# ------------------------------------------------------------------------------------------ shells


async def test_shell_runs_echo(ssm: Any, target: str) -> None:
    """A shell session (legacy, no handshake) shows the prompt and the output of a typed command."""
    async with open_session(ssm, target=target) as s:
        await s.wait_for(PROMPT)
        out = await shell(s, b"echo hello-$((40+2))", b"hello-42")
        assert b"hello-42" in out
        assert s.session_type() == "Standard_Stream"
        assert not any(type(e).__name__ == "HandshakeRequested" for e in s.events)


async def test_resize_changes_stty_size(ssm: Any, target: str) -> None:
    """A Size message sets the pty's window: ``stty size`` prints the new rows and cols."""
    async with open_session(ssm, target=target) as s:
        await s.wait_for(PROMPT)
        await s.resize(132, 43)
        assert b"43 132" in await shell(s, b"stty size", b"43 132")
        await s.resize(80, 24)
        assert b"24 80" in await shell(s, b"stty size", b"24 80")


async def test_ctrl_c_interrupts_sleep(ssm: Any, target: str) -> None:
    """0x03 typed while ``sleep 100`` runs interrupts it through the pty's line discipline."""
    async with open_session(ssm, target=target) as s:
        await s.wait_for(PROMPT)
        start = len(s.output)
        await s.send_input(b"sleep 100\r")
        await s.wait_for(b"sleep 100\r\n", start=start)
        await asyncio.sleep(0.3)  # let sleep start: a ^C before it runs would interrupt nothing
        await s.send_input(b"\x03")
        await s.wait_for(PROMPT, timeout=10, start=start)
        assert await numbers(s, b"echo status=$?", rb"status=(\d+)\r\n") == [130]


async def test_exit_3_ends_with_channel_closed(ssm: Any, target: str) -> None:
    """``exit 3`` ends the shell: channel_closed reaches the client; DescribeSessions lists it as history."""
    async with open_session(ssm, target=target) as s:
        await s.wait_for(PROMPT)
        pid = (await numbers(s, b"echo pid=$$", rb"pid=(\d+)\r\n"))[0]
        await s.send_input(b"exit 3\r")
        closed = await s.wait_closed()
        assert closed.output == ""
        assert s.exit_code is None  # shells report no exit code, like the real service
        assert await wait_gone([pid]) == []
    history = ssm.describe_sessions(State="History")["Sessions"]
    assert s.session_id in [item["SessionId"] for item in history]


async def test_terminate_session_closes_channel_and_reaps_jobs(ssm: Any, target: str) -> None:
    """TerminateSession from the API sends channel_closed and kills the shell and its background jobs."""
    async with open_session(ssm, target=target) as s:
        await s.wait_for(PROMPT)
        pids = await numbers(s, b"sleep 300 & echo pids=$$,$!", rb"pids=(\d+),(\d+)\r\n")
        assert all(alive(pid) for pid in pids)
        await asyncio.to_thread(ssm.terminate_session, SessionId=s.session_id)
        await s.wait_closed()
        assert await wait_gone(pids) == []
    assert not ssm.resume_session(SessionId=s.session_id).get("TokenValue")


async def test_interactive_command_runs_in_a_pty(ssm: Any, target: str) -> None:
    """AWS-StartInteractiveCommand runs ``sh -c <command>`` in a pty and closes when it exits."""
    async with open_session(
        ssm, target=target, document_name="AWS-StartInteractiveCommand",
        parameters={"command": ["tty; echo done-$((2*21))"]},
    ) as s:  # fmt: skip
        await s.wait_closed()
        assert re.search(rb"/dev/(pts/\d+|ttys\d+)", s.output)
        assert b"done-42" in s.output
        # InteractiveCommands needs no handshake without KMS (spec §6.1): the client sees a legacy shell.
        assert s.session_type() == "Standard_Stream"


LOOP_700 = "i=0; while [ $i -lt 700 ]; do printf 'é€😀'; i=$((i+1)); done"


async def test_utf8_output_is_never_split(ssm: Any, target: str) -> None:
    """Multi-byte characters arrive whole in every message, even across 1024-byte chunk boundaries."""
    async with open_session(
        ssm, target=target, document_name="AWS-StartNonInteractiveCommand",
        parameters={"command": [shlex.join(["sh", "-c", LOOP_700])]},
    ) as s:  # fmt: skip
        await s.wait_closed()
        outputs = [e.data for e in s.events if type(e).__name__ == "Output"]
        assert max(len(chunk) for chunk in outputs) <= 1024
        for chunk in outputs:
            chunk.decode("utf-8")  # raises if a sequence was cut
        assert bytes(s.output).decode() == "é€😀" * 700


# NonInteractiveCommands sessions: tests/emulator/test_command_sessions_e2e.py.


# ----------------------------------------------------------------------------------- port forwarding


async def test_port_forward_basic_reconnects_after_disconnect_flag(
    ssm: Any, target: str, echo_server: tuple[int, list[int]]
) -> None:
    """Basic mode (client < 1.1.70): bytes are echoed back; DisconnectToPort then new data dials again."""
    port, connections = echo_server
    async with open_session(
        ssm, target=target, document_name=FORWARD, parameters={"portNumber": [str(port)]},
        client_version=BASIC_CLIENT_VERSION,
    ) as s:  # fmt: skip
        await s.wait_until(lambda: s.client.established, what="handshake")
        assert s.client.port_mode == "basic"
        await s.send_input(b"first connection")
        await s.wait_for(b"first connection")
        await s.send_flag(PortFlag.DISCONNECT_TO_PORT)
        await s.send_input(b"second connection")
        await s.wait_for(b"second connection")
        assert len(connections) == 2
        # TerminateSession flag: acked, then the agent just drops its socket (no channel_closed to wait for).
        s.resume_gate.clear()
        ws = s._ws
        assert ws is not None
        await s.send_flag(PortFlag.TERMINATE_SESSION)
        await asyncio.wait_for(ws.wait_closed(), 10)
        assert s.client.channel.all_acked and s.closed is None


async def test_port_forward_smux_twenty_connections_at_once(
    ssm: Any, target: str, echo_server: tuple[int, list[int]]
) -> None:
    """Mux mode (client >= 1.1.70): 20 smux streams at once, each its own TCP connection, echoed intact."""
    port, connections = echo_server
    async with open_session(
        ssm, target=target, document_name=FORWARD, parameters={"portNumber": [str(port)]}
    ) as s:
        await s.wait_until(lambda: s.client.established, what="handshake")
        assert s.client.port_mode == "mux"
        mux, received, _ = _smux_client(s)
        streams = [mux.open_stream() for _ in range(20)]
        sent = {sid: os.urandom(20_000) for sid in streams}
        for sid, data in sent.items():
            mux.send(sid, data)
        await s.send_input(mux.data_to_send())
        await s.wait_until(
            lambda: all(len(received.get(sid, b"")) >= len(data) for sid, data in sent.items()), what="echoes"
        )
        assert {sid: received[sid] for sid in streams} == sent
        assert len(connections) == 20


async def test_port_forward_to_remote_host_dials_the_host_property(ssm: Any, target: str) -> None:
    """AWS-StartPortForwardingSessionToRemoteHost dials the ``host`` parameter, not localhost."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.read(100))
        await writer.drain()
        writer.close()

    try:  # an address localhost does not answer on, so only a dial to "host" can succeed
        server = await asyncio.start_server(echo, "127.0.0.2", 0)
    except OSError:
        pytest.skip("127.0.0.2 is not a local address here")
    port = server.sockets[0].getsockname()[1]
    try:
        async with open_session(
            ssm, target=target, document_name="AWS-StartPortForwardingSessionToRemoteHost",
            parameters={"portNumber": [str(port)], "host": ["127.0.0.2"]},
        ) as s:  # fmt: skip
            await s.wait_until(lambda: s.client.established, what="handshake")
            assert s.client.properties["host"] == "127.0.0.2"
            mux, received, _ = _smux_client(s)
            stream = mux.open_stream()
            mux.send(stream, b"via the remote host")
            await s.send_input(mux.data_to_send())
            await s.wait_until(lambda: received.get(stream) == b"via the remote host", what="echo")
            assert FlagReceived(PortFlag.CONNECT_TO_PORT_ERROR) not in s.events
    finally:
        server.close()


async def test_port_forward_smux_destination_close_and_dial_failure(ssm: Any, target: str) -> None:
    """A destination that closes ends its stream (FIN); a port nobody listens on gives ConnectToPortError."""

    async def banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"banner then bye")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(banner, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with open_session(
            ssm, target=target, document_name=FORWARD, parameters={"portNumber": [str(port)]}
        ) as s:
            await s.wait_until(lambda: s.client.established, what="handshake")
            mux, received, closed = _smux_client(s)
            sid = mux.open_stream()
            await s.send_input(mux.data_to_send())
            await s.wait_until(lambda: sid in closed, what="FIN")
            assert received[sid] == b"banner then bye"
    finally:
        server.close()
    # Now nothing listens on that port.
    await server.wait_closed()
    async with open_session(
        ssm, target=target, document_name=FORWARD, parameters={"portNumber": [str(port)]}
    ) as s:
        await s.wait_until(lambda: s.client.established, what="handshake")
        mux, _, _ = _smux_client(s)
        mux.open_stream()
        await s.send_input(mux.data_to_send())
        await s.wait_until(lambda: FlagReceived(PortFlag.CONNECT_TO_PORT_ERROR) in s.events, what="flag")


def _smux_client(driver: SessionDriver) -> tuple[SmuxSession, dict[int, bytes], set[int]]:
    """A smux client fed by the session's Output: returns it, bytes received per stream, streams FIN'd."""
    mux = SmuxSession(client=True)
    received: dict[int, bytes] = {}
    closed: set[int] = set()

    def on_output(data: bytes) -> None:
        mux.receive(data)
        for event in mux.events():
            if isinstance(event, StreamData):
                received[event.stream_id] = received.get(event.stream_id, b"") + event.data
            elif isinstance(event, StreamClosed):
                closed.add(event.stream_id)

    driver.on_output = on_output
    return mux, received, closed


# ------------------------------------------------------------------------------------------ KMS


async def test_kms_encrypted_session_in_demo_prod(demo_emulator: RunningEmulator) -> None:
    """The demo's prod profile encrypts shells with KMS: handshake, data key, challenge, a working shell."""
    target = first_instance(demo_emulator, "prod", "web-1")
    ssm = demo_emulator.client("ssm", "prod")
    kms = demo_emulator.client("kms", "prod")
    async with open_session(ssm, target=target, kms=kms) as s:
        await s.wait_for(b"$ ")
        assert s.client.encrypted
        completed = [e for e in s.events if type(e).__name__ == "HandshakeCompleted"]
        assert completed and completed[0].customer_message == "This session is encrypted using AWS KMS."
        await s.send_input(b"echo secret-$((6*7))\r")
        await s.wait_for(b"secret-42")
        await s.send_input(b"exit\r")
        await s.wait_closed()
