"""``ssmux exec`` and ``ssmux forward`` end to end against the emulator."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator

import pytest

from tests.support.emulator import RunningEmulator

from .conftest import demo_instance, run_ssmux

pytestmark = pytest.mark.e2e

WEB1 = demo_instance("web-1")


def test_exec_keeps_stdout_and_stderr_apart_and_exits_with_the_code(demo_env: RunningEmulator) -> None:
    """Remote stdout on stdout, remote stderr on stderr, nothing else; the remote exit code is ours."""
    result = run_ssmux("exec", WEB1, "--aws-profile", "dev", "--", "echo out; echo err >&2; exit 3")
    assert result.returncode == 3
    assert result.stdout.decode() == "out\n"
    assert result.stderr.decode() == "err\n"
    result = run_ssmux(
        "exec", WEB1, "--aws-profile", "dev", "--", "echo out-1; echo err-1 >&2; echo out-2; exit 7"
    )
    assert result.returncode == 7
    assert result.stdout.decode() == "out-1\nout-2\n"
    assert result.stderr.decode() == "err-1\n"


def test_exec_output_without_newline_and_status_of_a_signal(demo_env: RunningEmulator) -> None:
    """Output is returned exactly (no added newline); a remote sh killed by a signal gives 255."""
    result = run_ssmux("exec", WEB1, "--aws-profile", "dev", "--", "printf no-newline; exit 0")
    assert (result.returncode, result.stdout, result.stderr) == (0, b"no-newline", b"")
    killed = run_ssmux("exec", WEB1, "--aws-profile", "dev", "--", "kill -KILL $$")
    assert killed.returncode == 255  # EXIT_CODE -1: the agent's code for a process ended by a signal
    assert killed.stdout == b""


@pytest.fixture
def old_document(demo_env: RunningEmulator) -> Iterator[str]:
    """A NonInteractiveCommands document of the account without separateOutputStream (like AWS's older
    AWS-StartNonInteractiveCommand), created with CreateDocument and deleted afterwards."""
    import json
    import uuid

    ssm = demo_env.client("ssm", "dev")
    name = f"Old-NonInteractive-{uuid.uuid4().hex[:8]}"
    content = {
        "schemaVersion": "1.0",
        "description": "Document to run single non-interactive command on an instance",
        "sessionType": "NonInteractiveCommands",
        "parameters": {"command": {"type": "String", "description": "The command to run on the instance"}},
        "properties": {"linux": {"commands": "{{command}}", "runAsElevated": False}},
    }
    ssm.create_document(Name=name, Content=json.dumps(content), DocumentType="Session", DocumentFormat="JSON")
    try:
        yield name
    finally:
        ssm.delete_document(Name=name)


def test_exec_through_a_document_without_separate_output_stream(old_document: str) -> None:
    """StartSession refuses separateOutputStream; exec runs again without it: stderr merged into stdout
    (and a note says so), the exit code still ours, read from ssmux's marker, which is never printed."""
    result = run_ssmux(
        "exec", WEB1, "--aws-profile", "dev", "--document", old_document, "--",
        "echo out; echo err >&2; exit 3",
    )  # fmt: skip
    assert result.returncode == 3, result.stderr.decode()
    assert result.stdout.decode() == "out\nerr\n"
    note = f"ssmux: note: {old_document} does not take separateOutputStream: the remote stderr comes merged"
    assert result.stderr.decode() == note + " into stdout\n"
    words = run_ssmux("exec", WEB1, "--aws-profile", "dev", "--document", old_document, "--",
                      "printf", "'%s|'", "a b", "c")  # fmt: skip
    assert (words.returncode, words.stdout) == (0, b"a|b|c|")


def test_exec_says_when_the_exit_status_is_unknown(old_document: str) -> None:
    """Merged output and the wrapping sh killed (the line's $PPID there): no EXIT_CODE and no marker; a
    warning, and status 1."""
    result = run_ssmux("exec", WEB1, "--aws-profile", "dev", "--document", old_document, "--",
                       "echo before; kill -KILL $PPID")  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == b"before\n"
    assert result.stderr.decode().endswith(
        "ssmux: warning: the remote command's exit status was not reported\n"
    )


def test_exec_success_and_words_joined_like_ssh(demo_env: RunningEmulator) -> None:
    """The words after -- make one remote command line; a command that succeeds gives 0."""
    result = run_ssmux("exec", WEB1, "--aws-profile", "dev", "--", "printf", "'%s|'", "a b", "c")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == "a|b|c|"


def test_exec_binary_output_is_passed_through(demo_env: RunningEmulator) -> None:
    """Output bytes that are not text arrive unchanged."""
    result = run_ssmux("exec", WEB1, "--aws-profile", "dev", "--", "printf '\\000\\377\\n\\r'")
    assert result.returncode == 0
    assert result.stdout == b"\x00\xff\n\r"


def test_exec_needs_a_command(demo_env: RunningEmulator) -> None:
    """No command after the target is a usage error (status 2)."""
    result = run_ssmux("exec", WEB1)
    assert result.returncode == 2
    assert "Missing argument 'COMMAND...'" in result.stderr.decode()


class EchoServer:
    """A TCP echo server on 127.0.0.1 port 0, in its own thread and event loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.port = 0
        self.connections = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
            writer.close()

        async def start() -> None:
            self.server = await asyncio.start_server(echo, "127.0.0.1", 0)
            self.port = self.server.sockets[0].getsockname()[1]
            self.ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def __enter__(self) -> EchoServer:
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def echo_server() -> Iterator[EchoServer]:
    """A local echo server the emulator's port agent dials (the instance's 'localhost')."""
    with EchoServer() as server:
        yield server


async def start_forward(*args: str) -> tuple[asyncio.subprocess.Process, int, list[str]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ssmux", "forward", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
        env=dict(os.environ),
    )  # fmt: skip
    assert process.stdout is not None
    lines: list[str] = []
    port = None
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert line, f"forward ended early: {lines}"
        lines.append(line.rstrip("\n"))
        if match := re.match(r"Port (\d+) opened for sessionId \S+\.$", line.strip()):
            port = int(match.group(1))
        if line.strip() == "Waiting for connections..." and port:
            return process, port, lines


async def round_trip(port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    received = await asyncio.wait_for(reader.readexactly(len(payload)), 60)
    writer.close()
    await writer.wait_closed()
    return received


async def stop_forward(process: asyncio.subprocess.Process) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    assert process.stdout is not None
    rest = await asyncio.wait_for(process.stdout.read(), 30)
    status = await asyncio.wait_for(process.wait(), 30)
    return status, rest.decode()


def test_forward_twenty_connections_at_once(demo_env: RunningEmulator, echo_server: EchoServer) -> None:
    """20 connections at once through one session each get their own bytes back; Ctrl-C stops cleanly."""

    async def scenario() -> None:
        process, port, _ = await start_forward(WEB1, f"0:{echo_server.port}", "--aws-profile", "dev")
        try:
            payloads = [os.urandom(50_000 + index) + b"#%d" % index for index in range(20)]
            received = await asyncio.gather(*(round_trip(port, payload) for payload in payloads))
            assert received == payloads
            assert echo_server.connections == 20
        finally:
            status, rest = await stop_forward(process)
        assert status == 0
        assert "Terminate signal received, exiting." in rest
        assert rest.count("Connection accepted for session [") == 20

    asyncio.run(scenario())


def test_forward_to_a_remote_host(demo_env: RunningEmulator, echo_server: EchoServer) -> None:
    """--host forwards through the instance to another host (here 127.0.0.1 seen from the agent)."""

    async def scenario() -> None:
        process, port, _ = await start_forward(
            WEB1, f"0:{echo_server.port}", "--host", "127.0.0.1", "--aws-profile", "dev"
        )
        try:
            assert await round_trip(port, b"through the bastion") == b"through the bastion"
        finally:
            status, _ = await stop_forward(process)
        assert status == 0

    asyncio.run(scenario())


def test_forward_rejects_a_bad_port_spec(demo_env: RunningEmulator) -> None:
    """A port spec that is not LOCAL:REMOTE is a usage error that shows the expected form."""
    result = run_ssmux("forward", WEB1, "80:http")
    assert result.returncode == 2
    assert "is not LOCAL_PORT:REMOTE_PORT (e.g. 8080:80)" in result.stderr.decode()


def test_forward_to_a_closed_destination_port(demo_env: RunningEmulator) -> None:
    """Nothing listens at the destination: the connection is closed, the plugin's line is printed."""

    async def scenario() -> None:
        probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        closed_port = probe.sockets[0].getsockname()[1]
        probe.close()
        await probe.wait_closed()
        process, port, _ = await start_forward(WEB1, f"0:{closed_port}", "--aws-profile", "dev")
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"hello?")
            assert await asyncio.wait_for(reader.read(), 30) == b""
            writer.close()
        finally:
            status, rest = await stop_forward(process)
        assert status == 0
        assert "Connection to destination port failed, check SSM Agent logs." in rest

    asyncio.run(scenario())
