"""The port forwarding page against the emulator: start a forward, use it, see its connections, stop it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.support.emulator import RunningEmulator

from .conftest import Gui, eventually

pytestmark = pytest.mark.e2e


def demo_id(name: str, profile: str = "dev") -> str:
    from ssmux.emulator.scenario import load_scenario

    return next(
        i.instance_id for i in load_scenario("demo").instances if i.name == name and i.profile == profile
    )


@pytest.fixture
async def echo_port() -> AsyncIterator[int]:
    """A TCP echo server on 127.0.0.1 port 0 (the "remote" service the agent forwards to)."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_start_use_and_stop_a_forward(gui: Gui, demo_env: RunningEmulator, echo_port: int) -> None:
    """A forward listens on a local port, carries bytes both ways (two connections at once), counts them,
    and stops: the local port is closed again and the forward is gone."""
    await gui.user.open("/forwards")
    await gui.user.should_see(marker="forward-empty")
    gui.user.find(marker="forward-target").type(demo_id("web-1"))
    gui.user.find(marker="forward-aws-profile").type("dev")
    gui.user.find(marker="forward-region").type("eu-central-1")
    gui.user.find(marker="forward-remote-port").type(str(echo_port))
    gui.user.find(marker="forward-start").click()
    forward = await eventually(lambda: next(iter(gui.services.forwards.forwards.values()), None))
    await eventually(lambda: forward.state == "listening", timeout=30, message=f"state {forward.state}")
    assert forward.port
    await gui.user.should_see(marker=f"forward-state-{forward.id}", content="listening", retries=30)

    connections = [await asyncio.open_connection("127.0.0.1", forward.port) for _ in range(2)]
    for number, (reader, writer) in enumerate(connections):
        writer.write(f"hello {number}\n".encode())
        await writer.drain()
        assert await asyncio.wait_for(reader.readline(), 20) == f"hello {number}\n".encode()
    assert forward.accepted == 2
    await gui.user.should_see(marker=f"forward-connections-{forward.id}", content="2 accepted", retries=40)
    for _, writer in connections:
        writer.close()

    gui.user.find(marker=f"forward-stop-{forward.id}").click()
    await eventually(lambda: gui.services.forwards.forwards == {}, timeout=20)
    await gui.user.should_see(marker="forward-empty", retries=30)
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", forward.port)


async def test_bad_ports_are_refused_with_a_message(gui: Gui) -> None:
    """A port out of range or a malformed instance id keeps the form, with a message under each field."""
    await gui.user.open("/forwards")
    gui.user.find(marker="forward-target").type("i-web1")
    gui.user.find(marker="forward-remote-port").type("70000")
    gui.user.find(marker="forward-local-port").clear().type("-1")
    gui.user.find(marker="forward-start").click()
    messages = {
        marker: next(iter(gui.user.find(marker=marker).elements)).props.get("error-message", "")
        for marker in ("forward-target", "forward-remote-port", "forward-local-port")
    }
    assert messages["forward-target"].startswith("invalid instance id 'i-web1'")
    assert messages["forward-remote-port"] == "invalid remote port '70000': give a number from 1 to 65535"
    assert messages["forward-local-port"].startswith("invalid local port '-1'")
    assert gui.services.forwards.forwards == {}
