"""The settings page's pairs: the account and role discovery named, and the per-pair containers switch."""

from __future__ import annotations

from dataclasses import replace

from ssmux.core import store
from ssmux.core.models import SyncPair

from .conftest import Gui, eventually
from .test_settings import open_settings


async def test_a_pair_shows_its_account_and_its_containers_switch_saves(gui: Gui) -> None:
    """A discovered pair shows "team-001 ReadOnlyAccess"; its Containers switch is saved at once."""
    role = "sso:org/100000000001/ReadOnlyAccess"
    pairs = (SyncPair(role, "eu-west-1", account_name="team-001", role_name="ReadOnlyAccess"),)
    store.update_settings(lambda settings: replace(settings, sync_pairs=pairs))
    await open_settings(gui)
    label = f"{role}/eu-west-1"
    await gui.user.should_see(marker=f"pair-account {label}", content="team-001 ReadOnlyAccess")
    gui.user.find(marker=f"pair-containers {label}").click()
    await eventually(lambda: not store.load_settings().pair(role, "eu-west-1").containers)
    assert store.load_settings().pair(role, "eu-west-1").account_name == "team-001"  # the rest kept
