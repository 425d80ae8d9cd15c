"""Fixtures of the app tests: the real pages in NiceGUI's user simulation, with a terminal stand-in.

``gui`` registers the app's pages (with real services: the store and the cache in the test's own
``SSMUX_HOME``) inside NiceGUI's user simulation, the way ``nicegui.testing.user_simulation`` does, and yields
a :class:`Gui` with the simulated ``user``. The simulation runs no JavaScript, so the one browser call the
terminals make, ``writeChunk``, is answered by a rule that records what the server sent to each terminal:
that text is exactly what xterm.js would draw.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from nicegui import core, ui
from nicegui.functions.download import download
from nicegui.functions.navigate import Navigate
from nicegui.functions.notify import notify
from nicegui.testing.general import nicegui_reset_globals, prepare_simulation
from nicegui.testing.user import User

from ssmux.sync.instance import Instance
from ssmux.sync.inventory import Inventory

_WRITE_CHUNK = re.compile(r"return runMethod\((\d+), \"writeChunk\", (.*)\)$", re.DOTALL)


@dataclass
class Gui:
    """The simulated user, the app's services, and what each terminal was sent."""

    user: User
    services: Any
    written: dict[int, list[str]] = field(default_factory=dict)

    def terminal_text(self, element_id: int) -> str:
        """Everything sent to the terminal element ``element_id`` so far."""
        return "".join(self.written.get(element_id, []))


@asynccontextmanager
async def simulate(services: Any) -> AsyncIterator[Gui]:
    """The app's pages in NiceGUI's user simulation (mirrors ``nicegui.testing.user_simulation``)."""
    from ssmux.gui.app import register

    with nicegui_reset_globals():
        os.environ["NICEGUI_USER_SIMULATION"] = "true"
        try:
            register(services)
            prepare_simulation()
            ui.run(storage_secret="simulated secret")
            async with core.app.router.lifespan_context(core.app):
                transport = httpx.ASGITransport(core.app)
                async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                    user = User(client)
                    gui = Gui(user, services)

                    def record(match: re.Match[str]) -> bool:
                        element_id = int(match.group(1))
                        gui.written.setdefault(element_id, []).append(json.loads(match.group(2))[0])
                        return True

                    user.javascript_rules[_WRITE_CHUNK] = record
                    yield gui
                    await services.close()
        finally:
            os.environ.pop("NICEGUI_USER_SIMULATION", None)
            ui.navigate = Navigate()
            ui.notify = notify
            ui.download = download


@pytest.fixture
async def gui(caplog: pytest.LogCaptureFixture) -> AsyncIterator[Gui]:
    """The app with real services on this test's SSMUX_HOME; fails the test on any ERROR log."""
    from ssmux.gui.services import create_services

    async with simulate(create_services()) as running:
        yield running
    errors = [record for record in caplog.get_records("call") if record.levelname == "ERROR"]
    if errors:
        pytest.fail(f"unexpected ERROR logs: {[record.getMessage() for record in errors]}", pytrace=False)


def add_synced(aws_profile: str, region: str, instances: Iterable[dict[str, Any]]) -> None:
    """Write a pair's instances into the cache, as a successful sync would."""
    Inventory().replace_pair(
        aws_profile,
        region,
        [Instance(aws_profile=aws_profile, region=region, **fields) for fields in instances],
    )


def instance_id(number: int) -> str:
    """A valid 17-digit instance id."""
    return f"i-{number:017x}"


async def eventually(check: Any, timeout: float = 10.0, message: str = "") -> Any:
    """Poll ``check()`` until it returns something truthy (the app works in background tasks); return it."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(message or f"condition not met within {timeout} s")
        await asyncio.sleep(0.05)
