"""What the app keeps in the server, shared by every page: panel data, the sync, sessions and forwards.

One :class:`Services` is made per app (per ``ssmux ui`` process, or per test). Pages get it from
:func:`ssmux.gui.app.register` and subscribe to its hubs; nothing here depends on a browser being connected,
which is why sessions and forwards survive a reload.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ssmux.errors import SsmuxError
from ssmux.gui.hub import Hub
from ssmux.gui.panel_model import PanelData

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients
    from ssmux.core.store import StoreCache
    from ssmux.gui.forwards import ForwardManager
    from ssmux.gui.session_manager import SessionManager
    from ssmux.gui.sync_controller import SyncController

log = logging.getLogger(__name__)


class PanelSource:
    """The panel's data, loaded off the event loop, with a hub that tells pages when it changed.

    Args:
        loader: Reads the store and the cache (blocking); default
            :func:`ssmux.gui.panel_data.load_panel_data`.
        store_cache: The app's parsed store files, for the default loader.
    """

    def __init__(
        self, loader: Callable[[], PanelData] | None = None, store_cache: StoreCache | None = None
    ) -> None:
        self._loader = loader
        self._store_cache = store_cache
        self.data = PanelData()
        self.error = ""
        self.loaded = False
        self.changed = Hub()
        # Reloads overlap (startup, a sync ending, an edit); a slow one that began earlier must not replace
        # what a later one already showed, so each carries a ticket and only newer tickets are applied.
        self._tickets = 0
        self._applied = 0

    async def reload(self) -> None:
        """Read the profiles and the cache again and tell every page. A read error keeps the last data."""
        from nicegui import run

        from ssmux.gui.panel_data import load_panel_data

        self._tickets += 1
        ticket = self._tickets
        try:
            data: PanelData | None = await (
                run.io_bound(self._loader)
                if self._loader is not None
                else run.io_bound(load_panel_data, store_cache=self._store_cache)
            )
            error = ""
        except SsmuxError as failure:
            data, error = None, str(failure)
        if ticket < self._applied:  # a reload that started later has already been shown
            return
        self._applied = ticket
        if error:
            self.error = error
        elif data is None:  # the app is stopping
            return
        else:
            self.data, self.error = data, ""
        self.loaded = True
        self.changed.emit()


@dataclass
class Services:
    """The shared state of one app.

    ``aws`` and ``store_cache`` are the app's own caches (AWS sessions and clients, parsed store files): made
    here once per app and passed down, never module state.
    """

    panel: PanelSource
    sync: SyncController
    sessions: SessionManager
    forwards: ForwardManager
    aws: AwsClients
    store_cache: StoreCache
    extras: dict[str, object] = field(default_factory=dict)

    async def close(self) -> None:
        """End every session and forward (at app shutdown)."""
        from ssmux.gui.rdp import EXTRA, RdpRuns

        rdp_runs = self.extras.get(EXTRA)
        closers = [self.sessions.close_all, self.forwards.stop_all]
        if isinstance(rdp_runs, RdpRuns):  # RDP clients and their forwards, when any was opened
            closers.append(rdp_runs.stop_all)
        for closer in closers:
            try:
                await closer()
            except Exception:  # shutting down: note it, and still stop the rest
                log.exception("failed to stop cleanly")


def create_services(
    *,
    loader: Callable[[], PanelData] | None = None,
    transport_factory: object | None = None,
) -> Services:
    """The services of a new app.

    Args:
        loader: Panel data loader (tests and the benchmark pass their own).
        transport_factory: How sessions connect (default: the backend chosen in the settings).
    """
    from ssmux.core.aws import AwsClients
    from ssmux.core.store import StoreCache
    from ssmux.gui.forwards import ForwardManager
    from ssmux.gui.session_manager import SessionManager
    from ssmux.gui.sync_controller import SyncController

    aws, store_cache = AwsClients(), StoreCache()
    panel = PanelSource(loader, store_cache)
    return Services(
        panel=panel,
        sync=SyncController(panel, aws),
        sessions=SessionManager(transport_factory, clients=aws),  # type: ignore[arg-type]
        forwards=ForwardManager(clients=aws),
        aws=aws,
        store_cache=store_cache,
    )
