"""The panel's data source: overlapping reloads show the newest read, not an older one that ended late."""

from __future__ import annotations

import asyncio
import threading

from ssmux.errors import SsmuxError
from ssmux.gui.panel_model import PanelData
from ssmux.gui.services import PanelSource


async def test_a_slow_earlier_reload_does_not_replace_a_later_one() -> None:
    """The app's startup reload can still be reading when an edit's reload finishes: the edit must stay."""
    release_first = threading.Event()
    calls = 0
    stale, fresh = PanelData(), PanelData()

    def loader() -> PanelData:
        nonlocal calls
        calls += 1
        if calls == 1:
            release_first.wait(10)
            return stale
        return fresh

    source = PanelSource(loader)
    emitted: list[PanelData] = []
    source.changed.subscribe(lambda: emitted.append(source.data))
    first = asyncio.create_task(source.reload())
    while calls == 0:
        await asyncio.sleep(0.01)
    await source.reload()
    release_first.set()
    await first

    assert source.data is fresh
    assert len(emitted) == 1 and emitted[0] is fresh


async def test_a_read_error_keeps_the_last_data_and_says_why() -> None:
    outcomes: list[PanelData | SsmuxError] = [PanelData(), SsmuxError("profiles.toml:3: bad value")]

    def loader() -> PanelData:
        outcome = outcomes.pop(0)
        if isinstance(outcome, SsmuxError):
            raise outcome
        return outcome

    source = PanelSource(loader)
    await source.reload()
    good = source.data
    await source.reload()

    assert source.data is good
    assert source.error == "profiles.toml:3: bad value"
