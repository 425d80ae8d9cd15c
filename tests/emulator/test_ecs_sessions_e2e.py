"""ECS exec and port sessions end to end: boto3 ExecuteCommand / StartSession, then the real data channel.

The client is the protocol core's ClientSession over a real websocket (``tests/support/wsclient.py``). A
container's command runs in a pty on this machine, in the container's own folder and environment, so the
test can tell it from an instance's shell.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ssmux.protocol.smux import SmuxSession, StreamData
from tests.support.emulator import RunningEmulator, start_emulator
from tests.support.wsclient import SessionDriver, connect_session, open_session

pytestmark = pytest.mark.e2e

SCENARIO: dict[str, Any] = {
    "profiles": [{"name": "dev", "account_id": "111111111111", "region": "eu-central-1"}],
    "instances": [{"profile": "dev", "name": "box", "command": "/bin/sh"}],
    "ecs": {"clusters": [
        {"profile": "dev", "name": "shop_eu",  # an underscore: the target splits from the right
         "services": [
             {"name": "web", "count": 1, "containers": [
                 {"name": "app", "environment": {"APP_ROLE": "web-app"}, "working_directory": "/srv"},
                 {"name": "sidecar", "environment": {"APP_ROLE": "sidecar"}}]},
             {"name": "worker", "count": 1, "exec": False, "containers": [{"name": "worker"}]},
         ]},
    ]},
}  # fmt: skip


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    # A variable of the emulator's own environment: an instance's shell has it, a container's must not.
    with start_emulator(SCENARIO, "--fast", tmp_dir=tmp_path_factory.mktemp("ecs-e2e"),
                        env={"EMULATOR_HOST_ONLY": "host"}) as running:  # fmt: skip
        yield running


@pytest.fixture(scope="module")
def ecs(emulator: RunningEmulator) -> Any:
    return emulator.client("ecs", "dev")


@pytest.fixture(scope="module")
def ssm(emulator: RunningEmulator) -> Any:
    return emulator.client("ssm", "dev")


def task(ecs: Any, service: str) -> dict[str, Any]:
    arns = ecs.list_tasks(cluster="shop_eu", serviceName=service)["taskArns"]
    described: dict[str, Any] = ecs.describe_tasks(cluster="shop_eu", tasks=arns)["tasks"][0]
    return described


def target(described: dict[str, Any], container: int = 0) -> str:
    """What aws-cli builds (``build_ssm_request_paramaters``): ``ecs:<cluster>_<task id>_<runtime id>``."""
    task_id = described["taskArn"].rsplit("/", 1)[-1]
    return f"ecs:shop_eu_{task_id}_{described['containers'][container]['runtimeId']}"


async def execute(ecs: Any, ssm: Any, container: str, command: str) -> AsyncIterator[SessionDriver]:
    described = task(ecs, "web")
    answer = await asyncio.to_thread(
        ecs.execute_command, cluster="shop_eu", task=described["taskArn"], container=container,
        command=command, interactive=True,
    )  # fmt: skip
    session = answer["session"]
    response = {"SessionId": session["sessionId"], "TokenValue": session["tokenValue"],
                "StreamUrl": session["streamUrl"]}  # fmt: skip
    number = [c["name"] for c in described["containers"]].index(container)
    async with connect_session(ssm, response, target=target(described, number)) as driver:
        yield driver


async def test_exec_shell_is_the_container(ecs: Any, ssm: Any) -> None:
    """/bin/sh through ExecuteCommand: the container's variables, folder and host name; no exit code."""
    async for s in execute(ecs, ssm, "app", "/bin/sh"):
        line = b'echo "role=$APP_ROLE env=$AWS_EXECUTION_ENV host=$HOSTNAME leak=$EMULATOR_HOST_ONLY"'
        await s.send_input(line + b"; pwd; echo END-$((1+1))\r")
        await s.wait_for(b"END-2\r\n")  # the echo of the typed line says END-$((1+1))
        out = bytes(s.output).decode()
        assert "role=web-app env=AWS_ECS_FARGATE host=ip-10-" in out
        assert "leak=\r\n" in out
        folder = next(line for line in out.splitlines() if line.startswith("/"))
        assert folder.endswith("/app") and "/shop_eu/" in folder
        await s.send_input(b"exit 3\r")
        closed = await s.wait_closed()
        assert closed.output == ""
        assert s.exit_code is None  # a pty session reports none (executeCommandsWithPty), nor does aws-cli
        # InteractiveCommands runs singlecommand, whose RequireHandshake is false: no handshake, as a shell.
        assert not any(type(e).__name__ == "HandshakeRequested" for e in s.events)


async def test_exec_runs_the_command_without_a_shell(ecs: Any, ssm: Any) -> None:
    """Container mode splits the command and runs it as is: `echo a; exit 3` prints `a; exit 3`."""
    async for s in execute(ecs, ssm, "sidecar", "echo $APP_ROLE; exit 3"):
        await s.wait_closed()
        assert bytes(s.output).replace(b"\r\n", b"\n") == b"$APP_ROLE; exit 3\n"


async def test_exec_sidecar_has_its_own_environment(ecs: Any, ssm: Any) -> None:
    """Each container of a task has its environment: the sidecar's APP_ROLE, not the app's."""
    async for s in execute(ecs, ssm, "sidecar", "sh -c 'echo role=$APP_ROLE'"):
        await s.wait_closed()
        assert b"role=sidecar" in bytes(s.output)


@pytest.fixture
async def echo_server() -> AsyncIterator[tuple[int, list[int]]]:
    """A TCP echo server on 127.0.0.1 (a container port is a port of this machine)."""
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


async def test_port_forward_to_a_container(ecs: Any, ssm: Any, echo_server: tuple[int, list[int]]) -> None:
    """StartSession to an ecs: target with AWS-StartPortForwardingSession: 5 smux streams echoed intact."""
    port, connections = echo_server
    async with open_session(
        ssm, target=target(task(ecs, "web")), document_name="AWS-StartPortForwardingSession",
        parameters={"portNumber": [str(port)]},
    ) as s:  # fmt: skip
        await s.wait_until(lambda: s.client.established, what="handshake")
        assert s.client.port_mode == "mux"
        mux = SmuxSession(client=True)
        received: dict[int, bytes] = {}

        def on_output(data: bytes) -> None:
            mux.receive(data)
            for event in mux.events():
                if isinstance(event, StreamData):
                    received[event.stream_id] = received.get(event.stream_id, b"") + event.data

        s.on_output = on_output
        sent = {sid: os.urandom(5000) for sid in (mux.open_stream() for _ in range(5))}
        for sid, data in sent.items():
            mux.send(sid, data)
        await s.send_input(mux.data_to_send())
        await s.wait_until(lambda: all(len(received.get(k, b"")) >= len(v) for k, v in sent.items()),
                           what="echoes")  # fmt: skip
        assert {sid: received[sid] for sid in sent} == sent
        assert len(connections) == 5


async def test_start_session_commands_run_in_the_container(ecs: Any, ssm: Any) -> None:
    """StartSession to an ecs: target with AWS-StartNonInteractiveCommand runs in the container's context."""
    params = {"command": ["sh -c 'echo role=$APP_ROLE leak=$EMULATOR_HOST_ONLY; pwd'"]}
    sidecar = target(task(ecs, "web"), 1)
    async with open_session(
        ssm, target=sidecar, document_name="AWS-StartNonInteractiveCommand", parameters=params
    ) as s:
        await s.wait_closed()
    out = bytes(s.output).decode()
    assert "role=sidecar leak=\n" in out and "/shop_eu/" in out and out.rstrip().endswith("/sidecar")


async def test_instance_shell_is_not_a_container(ssm: Any, emulator: RunningEmulator) -> None:
    """The same machine's instance shell has the emulator's environment and no container variables."""
    instance = emulator.client("ec2", "dev").describe_instances()["Reservations"][0]["Instances"][0]
    async with open_session(ssm, target=instance["InstanceId"]) as s:
        await s.send_input(b'echo "role=$APP_ROLE leak=$EMULATOR_HOST_ONLY"; echo END-$((1+1))\r')
        await s.wait_for(b"END-2\r\n")  # the echo of the typed line says END-$((1+1))
        assert "role= leak=host" in bytes(s.output).decode()


async def test_start_session_to_a_container_not_ready_is_not_connected(ecs: Any, ssm: Any) -> None:
    """A task without exec is no Session Manager target: TargetNotConnected, as for an offline node."""
    worker = target(task(ecs, "worker"))
    with pytest.raises(ClientError) as caught:
        ssm.start_session(Target=worker, DocumentName="AWS-StartPortForwardingSession",
                          Parameters={"portNumber": ["80"]})  # fmt: skip
    assert caught.value.response["Error"]["Code"] == "TargetNotConnected"
    assert ssm.get_connection_status(Target=worker)["Status"] == "notconnected"
    assert ssm.get_connection_status(Target=target(task(ecs, "web")))["Status"] == "connected"


async def test_container_folders_are_removed_when_the_emulator_stops(tmp_path: Path) -> None:
    """A container's folder exists while the emulator runs and is gone once it has stopped."""
    with start_emulator(SCENARIO, "--fast", tmp_dir=tmp_path) as emulator:
        ecs, ssm = emulator.client("ecs", "dev"), emulator.client("ssm", "dev")
        async for s in execute(ecs, ssm, "app", "pwd"):
            await s.wait_closed()
        folder = Path(bytes(s.output).decode().strip())
        assert folder.is_dir() and folder.name == "app"
    assert not folder.exists()
