"""The app's sessions and forwards share the app's AWS sessions and clients.

The app makes one :class:`~ssmux.core.aws.AwsClients` at start (``Services.aws``). Every tab and forward
calls StartSession with clients from it, so credentials (an SSO token, an assumed role) are resolved once
per AWS profile, not once per session, and the app's sync sees the same ones.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from ssmux.core import store
from ssmux.gui.forwards import ForwardSpec
from ssmux.gui.session_manager import SessionTarget, Status
from ssmux.sessions.launch import ChosenSession, NativeFeed
from tests.support.emulator import RunningEmulator

from .conftest import Gui, eventually
from .test_forwards import demo_id

pytestmark = pytest.mark.e2e


async def test_tabs_use_the_apps_clients(gui: Gui, demo_env: RunningEmulator) -> None:
    """Two tabs on one (profile, region) call SSM with the app's AWS sessions (one botocore session each)."""
    store.update_settings(lambda settings: replace(settings, backend="native"))
    await gui.user.open("/")
    target = SessionTarget(
        title="web-1", instance_id=demo_id("web-1"), aws_profile="dev", region="eu-central-1"
    )
    tabs = [gui.services.sessions.open(target) for _ in range(2)]
    for tab in tabs:
        await eventually(lambda tab=tab: tab.status is Status.CONNECTED, timeout=30, message=f"{tab.status}")
    for tab in tabs:
        transport = tab._transport
        assert isinstance(transport, ChosenSession)
        assert isinstance(transport.inner, NativeFeed)
        assert transport.inner.api is not None
        assert transport.inner.api.clients is gui.services.aws
        assert transport.inner.api.calls.clients is gui.services.aws


async def test_forwards_use_the_apps_clients(gui: Gui, demo_env: RunningEmulator) -> None:
    """A forward started from the app calls StartSession through the app's clients."""
    await gui.user.open("/forwards")
    spec = ForwardSpec(demo_id("web-1"), 0, 22, aws_profile="dev", region="eu-central-1")
    running = gui.services.forwards.start(spec)
    await eventually(lambda: running.state == "listening", timeout=30, message=f"state {running.state}")
    session = running.forward.session
    assert session is not None
    assert session.api.clients is gui.services.aws
    assert session.api.calls.clients is gui.services.aws
    await gui.services.forwards.stop(running.id)
