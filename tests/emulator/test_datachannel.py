"""The data channel server in-process: a real websocket on 127.0.0.1, real shells in ptys, a registry by hand.

These tests need what the API process cannot show from outside: raw websocket behaviour (pings before the
token, refused tokens), a client that vanishes and comes back, a server stopped under open sessions. The
registry is the real one; sessions are created in it directly instead of through StartSession.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from ssmux.emulator.agents import FAST
from ssmux.emulator.datachannel import DataChannelServer
from ssmux.emulator.sessions import SessionRegistry, SessionStatus, SessionType
from ssmux.protocol.messages import ClientMessage, MessageType, PayloadType
from ssmux.protocol.payloads import OpenDataChannelInput
from tests.support.wsclient import SessionDriver, alive, connect_session, numbers, wait_gone

TARGET = "i-0123456789abcdef0"
PROMPT = b"dc$ "


class RegistryResume:
    """ResumeSession answered from the registry (what the API side does, without HTTP)."""

    def __init__(self, registry: SessionRegistry) -> None:
        self.registry = registry

    def resume_session(self, SessionId: str) -> dict[str, Any]:
        token = self.registry.resume(SessionId)
        return {"SessionId": SessionId, **({"TokenValue": token} if token else {})}


@pytest.fixture
async def server() -> AsyncIterator[DataChannelServer]:
    """A started data channel server (no pacing: these tests need speed, not AWS's timing) with an empty
    registry; stopped (every session reaped) at the end."""
    dc = DataChannelServer(SessionRegistry(), pacing=FAST)
    await dc.start()
    try:
        yield dc
    finally:
        await dc.stop()


def new_session(
    dc: DataChannelServer,
    command: list[str] | None = None,
    session_type: SessionType = SessionType.STANDARD_STREAM,
    **extra: Any,
) -> dict[str, str]:
    """Register a session and return what StartSession would answer."""
    session = dc.registry.create(
        user="tester", target=TARGET, account_id="123456789012", region="eu-central-1", profile="dev",
        document_name="SSM-SessionManagerRunShell", session_type=session_type,
        command=command if command is not None else ["/bin/sh"], env={"PS1": "dc$ "}, **extra,
    )  # fmt: skip
    return {
        "SessionId": session.session_id,
        "TokenValue": session.token,
        "StreamUrl": dc.stream_url(session),
    }


def shell_session(dc: DataChannelServer, response: dict[str, str]) -> Any:
    """Connect a driver to a registered session."""
    return connect_session(RegistryResume(dc.registry), response, target=TARGET)


async def test_ping_before_token_is_answered_then_token_opens_the_session(server: DataChannelServer) -> None:
    """A ping sent before the token gets its pong; the token then opens the session and output flows."""
    response = new_session(server)
    async with connect(response["StreamUrl"], compression=None, ping_interval=None) as ws:
        pong = await ws.ping(b"keepalive")
        await asyncio.wait_for(pong, 5)
        await ws.send(OpenDataChannelInput(token_value=response["TokenValue"], request_id="r-1").to_text())
        frame = await asyncio.wait_for(ws.recv(), 10)
    message = ClientMessage.parse(frame)
    assert message.message_type == MessageType.OUTPUT_STREAM_DATA
    assert message.payload_type == PayloadType.OUTPUT  # legacy shell: output first, no handshake
    assert message.sequence_number == 0 and message.flags == 1


@pytest.mark.parametrize(
    "first",
    [
        OpenDataChannelInput(token_value="not-a-token", request_id="r").to_text(),
        "{not json",
        b"\x00\x00\x00\x74binary first",
    ],
    ids=["unknown-token", "not-json", "binary-first"],
)
async def test_bad_first_message_is_refused_and_the_session_still_opens(
    server: DataChannelServer, first: str | bytes
) -> None:
    """A wrong token, bad JSON or a binary first frame closes the connection (1008); the real token works."""
    response = new_session(server)
    async with connect(response["StreamUrl"], compression=None) as ws:
        await ws.send(first)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    async with shell_session(server, response) as s:
        await s.wait_for(PROMPT)


async def test_old_token_refused_after_resume(server: DataChannelServer) -> None:
    """After ResumeSession the previous token opens nothing; the new one does."""
    response = new_session(server)
    new_token = server.registry.resume(response["SessionId"])
    assert new_token
    async with connect(response["StreamUrl"], compression=None) as ws:
        await ws.send(OpenDataChannelInput(token_value=response["TokenValue"], request_id="r").to_text())
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
    async with shell_session(server, {**response, "TokenValue": new_token}) as s:
        await s.wait_for(PROMPT)


async def test_resume_keeps_the_shell_and_delivers_output_made_while_away(server: DataChannelServer) -> None:
    """A dropped client resumes into the same shell; output made meanwhile arrives, once, in order."""
    async with shell_session(server, new_session(server)) as s:
        await s.wait_for(PROMPT)
        (pid,) = await numbers(s, b"echo pid=$$", rb"pid=(\d+)\r\n")
        await s.wait_for(PROMPT, start=s.output.find(b"pid="))  # typed ahead, the next line would follow it
        s.resume_gate.clear()
        start = len(s.output)
        await s.send_input(b"sleep 0.5; seq 1 3000; echo later-$$\r")
        await asyncio.sleep(0.1)
        s.drop()
        await _status(server, s.session_id, SessionStatus.DISCONNECTED)
        await asyncio.sleep(1.0)  # the shell finishes its output while nobody listens
        s.resume_gate.set()
        await s.wait_for(f"later-{pid}\r\n".encode(), start=start)
        assert s.reconnects == 1
        text = bytes(s.output[start:]).decode()
        assert re.findall(r"^(\d+)\r$", text, re.MULTILINE) == [str(i) for i in range(1, 3001)]
        assert server.registry.get(s.session_id).status == SessionStatus.CONNECTED  # type: ignore[union-attr]


async def test_garbage_frame_is_dropped_and_the_session_goes_on(server: DataChannelServer) -> None:
    """A malformed binary frame from the client is ignored; the session keeps working."""
    async with shell_session(server, new_session(server)) as s:
        await s.wait_for(PROMPT)
        assert s._ws is not None
        await s._ws.send(b"\x00\x00\x00\x74 this is not a ClientMessage")
        await s._ws.send(b"")
        await s.send_input(b"echo still-$((1+1))\r")
        await s.wait_for(b"still-2")


async def test_a_session_that_cannot_start_fails_alone(server: DataChannelServer) -> None:
    """A shell that does not exist closes its session with the reason; a session beside it is unaffected."""
    async with shell_session(server, new_session(server)) as good:
        await good.wait_for(PROMPT)
        async with shell_session(server, new_session(server, ["/nonexistent/shell"])) as bad:
            closed = await bad.wait_closed()
        assert "command not found" in closed.output
        assert server.registry.get(bad.session_id).status == SessionStatus.FAILED  # type: ignore[union-attr]
        await good.send_input(b"echo alive-$((3*3))\r")
        await good.wait_for(b"alive-9")


async def test_terminate_from_another_thread_closes_the_channel(server: DataChannelServer) -> None:
    """DataChannelServer.terminate() is thread-safe: called from a worker thread it ends the session."""
    async with shell_session(server, new_session(server)) as s:
        await s.wait_for(PROMPT)
        (pid,) = await numbers(s, b"echo pid=$$", rb"pid=(\d+)\r\n")
        await asyncio.to_thread(server.terminate, s.session_id)
        assert (await s.wait_closed()).output == ""
        assert await wait_gone([pid]) == []


async def test_stop_ends_every_session_and_reaps_every_process() -> None:
    """DataChannelServer.stop() sends channel_closed to every client and leaves no shell or job running."""
    dc = DataChannelServer(SessionRegistry(), pacing=FAST)
    await dc.start()
    pids: list[int] = []
    try:
        drivers: list[SessionDriver] = []
        async with shell_session(dc, new_session(dc)) as one, shell_session(dc, new_session(dc)) as two:
            drivers = [one, two]
            for s in drivers:
                await s.wait_for(PROMPT)
                pids += await numbers(s, b"sleep 300 & echo pids=$$,$!", rb"pids=(\d+),(\d+)\r\n")
            assert all(alive(pid) for pid in pids)
            await dc.stop()
            for s in drivers:
                await s.wait_closed()
    finally:
        await dc.stop()
    assert await wait_gone(pids) == []
    assert dc.links == {}


async def test_non_interactive_command_that_cannot_start_reports_exit_code_1(
    server: DataChannelServer,
) -> None:
    """A NonInteractiveCommands program that does not exist: EXIT_CODE 1 and Go's start error on stderr."""
    response = new_session(
        server, [], SessionType.NON_INTERACTIVE_COMMANDS,
        shell_config={"commands": "/nonexistent/program", "separateOutputStream": "true"},
    )  # fmt: skip
    async with shell_session(server, response) as s:
        await s.wait_closed()
    assert s.exit_code == 1
    assert b"nonexistent" in s.stderr


async def _status(dc: DataChannelServer, session_id: str, status: SessionStatus) -> None:
    for _ in range(100):
        session = dc.registry.get(session_id)
        if session is not None and session.status == status:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"session {session_id} never became {status}")


# ------------------------------------------------------------------------------------- KMS and ports


class MotoKmsClient:
    """kms:GenerateDataKey from moto's in-process backend, optionally with a wrong encryption context."""

    def __init__(self, account_id: str, region: str, *, tamper: bool = False) -> None:
        from moto.kms.models import kms_backends

        self.backend = kms_backends[account_id][region]
        key = self.backend.create_key(
            policy=None,
            key_usage="ENCRYPT_DECRYPT",
            key_spec="SYMMETRIC_DEFAULT",
            description="test",
            tags=None,
        )
        self.key_arn = str(key.arn)
        self.tamper = tamper

    def generate_data_key(
        self, KeyId: str, NumberOfBytes: int, EncryptionContext: dict[str, str]
    ) -> dict[str, Any]:
        context = dict(EncryptionContext)
        if self.tamper:
            context["aws:ssm:TargetId"] = "i-00000000000000000"  # not the agent's own id
        plaintext, blob, _ = self.backend.generate_data_key(KeyId, context, NumberOfBytes, None)
        return {"Plaintext": plaintext, "CiphertextBlob": blob}


@pytest.mark.parametrize("tamper", [False, True], ids=["right-context", "wrong-context"])
async def test_kms_session_decrypts_with_the_agents_context(server: DataChannelServer, tamper: bool) -> None:
    """The agent decrypts the data key with {SessionId, TargetId(, challenge)}; another context fails."""
    kms = MotoKmsClient("123456789012", "eu-central-1", tamper=tamper)
    response = new_session(server, kms_key_id=kms.key_arn)
    async with connect_session(RegistryResume(server.registry), response, target=TARGET, kms=kms) as s:
        if tamper:
            closed = await s.wait_closed()
            assert "KMS Decrypt" in closed.output
            assert server.registry.get(s.session_id).status == SessionStatus.FAILED  # type: ignore[union-attr]
        else:
            await s.wait_for(PROMPT)
            assert s.client.encrypted
            await s.send_input(b"echo enc-$((5*5))\r")
            await s.wait_for(b"enc-25")


async def test_ssh_style_port_session_ends_with_its_connection(server: DataChannelServer) -> None:
    """A Port session without LocalPortForwarding (AWS-StartSSHSession) ends when the destination closes."""

    async def banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-fake\r\n")
        await writer.drain()
        writer.close()

    destination = await asyncio.start_server(banner, "127.0.0.1", 0)
    port = destination.sockets[0].getsockname()[1]
    try:
        response = new_session(server, [], SessionType.PORT, properties={"portNumber": str(port)})
        async with shell_session(server, response) as s:
            await s.wait_for(b"SSH-2.0-fake\r\n")
            assert s.client.port_mode == "stream"
            await s.wait_closed()
    finally:
        destination.close()


async def test_port_session_to_a_closed_port_fails_with_the_reason(server: DataChannelServer) -> None:
    """Basic port forwarding to a port nobody listens on ends the session, saying it could not connect."""
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    properties = {"portNumber": str(port), "localPortNumber": "0", "type": "LocalPortForwarding"}
    response = new_session(server, [], SessionType.PORT, properties=properties)
    async with connect_session(
        RegistryResume(server.registry), response, target=TARGET, client_version="1.0.0.0"
    ) as s:  # fmt: skip
        closed = await s.wait_closed()
    assert "Unable to connect to specified port" in closed.output
