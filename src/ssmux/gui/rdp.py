""" "Open RDP" on a Windows target: the same forward and client as ``ssmux rdp``, started by the app.

The app runs on the user's machine, so the RDP client it starts opens there, as ``ssmux rdp`` would: the
instance's port 3389 is forwarded to a free local port (:func:`ssmux.sessions.rdp.run_rdp`) and the platform's
client is started on it; the forward ends when the client exits, or when the app stops. The client is the
platform's (:func:`ssmux.sessions.rdp.client_argv`), or ``$SSMUX_RDP_CLIENT`` when set (a program, run with
its own arguments as ``--client`` is).

The panel's context menu offers it for Windows instances (:func:`offered`) and calls :func:`open_rdp`; the
runs of one app are kept in ``services.extras`` under :data:`EXTRA`, so nothing is module state.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from ssmux.errors import SsmuxError
from ssmux.sessions.rdp import RDP_PORT, RdpResult

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients

log = logging.getLogger(__name__)

#: The key of an app's :class:`RdpRuns` in ``Services.extras``.
EXTRA = "rdp"
CLIENT_VARIABLE = "SSMUX_RDP_CLIENT"

#: ``notify(message, kind)``: ``kind`` is ``positive``, ``warning`` or ``info``, as ``ui.notify`` takes it.
Notify = Callable[[str, str], None]


class RdpTarget(Protocol):
    """What a row of the panel tells about a target (:class:`ssmux.gui.panel_model.PanelTarget`)."""

    @property
    def name(self) -> str: ...

    @property
    def instance_id(self) -> str: ...

    @property
    def aws_profile(self) -> str | None: ...

    @property
    def region(self) -> str | None: ...

    @property
    def platform(self) -> str | None: ...

    @property
    def container(self) -> object | None: ...


class ServicesWithExtras(Protocol):
    """The part of :class:`ssmux.gui.services.Services` this module uses."""

    @property
    def aws(self) -> AwsClients: ...

    @property
    def extras(self) -> dict[str, object]: ...


def offered(target: RdpTarget) -> bool:
    """Whether the menu offers "Open RDP" for ``target``: a Windows instance (no container)."""
    return target.container is None and (target.platform or "").lower() == "windows"


class RdpRuns:
    """The RDP runs of one app: each a forward and a client, ended together.

    Args:
        clients: the app's AWS sessions and clients.
        client: the RDP client to run (``None``: ``$SSMUX_RDP_CLIENT``, else the platform's).
    """

    def __init__(self, clients: AwsClients, client: str | None = None) -> None:
        self.clients = clients
        self.client = client
        self._tasks: set[asyncio.Task[RdpResult | None]] = set()

    @property
    def running(self) -> int:
        """Runs whose client has not exited yet."""
        return sum(1 for task in self._tasks if not task.done())

    async def open(
        self, target: RdpTarget, notify: Notify, *, remote_port: int = RDP_PORT
    ) -> RdpResult | None:
        """Forward ``target``'s RDP port and run the client until it exits; failures are notified."""
        task = asyncio.ensure_future(self._run(target, notify, remote_port))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return await task

    async def _run(self, target: RdpTarget, notify: Notify, remote_port: int) -> RdpResult | None:
        from ssmux.sessions.rdp import client_argv, run_rdp
        from ssmux.sessions.runner import Kind, build_request

        override = self.client or os.environ.get(CLIENT_VARIABLE) or None
        request = build_request(Kind.FORWARD, target.instance_id, target.aws_profile, target.region,
                                remote_port=remote_port, local_port=0)  # fmt: skip

        def started(port: int, _argv: object) -> None:
            notify(f"RDP to {target.name} on 127.0.0.1:{port}: it ends when the client is closed", "positive")

        try:
            client_argv(0, override=override)  # no client: say so before a session is started for nothing
            return await run_rdp(
                request,
                lambda port: client_argv(port, override=override),
                clients=self.clients,
                started=started,
            )
        except SsmuxError as error:
            notify(f"Open RDP: {error}", "warning")
            return None

    async def stop_all(self) -> None:
        """End every run (app shutdown): each client is ended and its forward's session terminated."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


def runs_of(services: ServicesWithExtras) -> RdpRuns:
    """The app's :class:`RdpRuns` (made on first use, kept in ``services.extras``)."""
    runs = services.extras.get(EXTRA)
    if not isinstance(runs, RdpRuns):
        runs = RdpRuns(services.aws)
        services.extras[EXTRA] = runs
    return runs


async def open_rdp(services: ServicesWithExtras, target: RdpTarget) -> None:
    """The menu's "Open RDP": run it, telling the user with notifications."""
    from nicegui import ui

    def notify(message: str, kind: str) -> None:
        ui.notify(message, type=kind, multi_line=True)  # type: ignore[arg-type]

    await runs_of(services).open(target, notify)
