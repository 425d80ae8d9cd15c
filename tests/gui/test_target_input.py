"""The app's connect dialog and forwards page take a name as the CLI does (issue 11, item 20).

One match is used; several are listed to choose from; none keeps the form with "did you mean". The names
are synced into this test's cache with the demo emulator's real ids, so the sessions really start.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.emulator import RunningEmulator

from .conftest import Gui, add_synced, eventually

pytestmark = pytest.mark.e2e


def demo_id(name: str, profile: str = "dev") -> str:
    from ssmux.emulator.scenario import load_scenario

    return next(
        i.instance_id for i in load_scenario("demo").instances if i.name == name and i.profile == profile
    )


def running(name: str, profile: str = "dev") -> dict[str, Any]:
    """A synced row for the demo instance ``name``: its real id, running and online."""
    return {"instance_id": demo_id(name, profile), "name": name, "state": "running", "ping_status": "Online"}


@pytest.fixture
def synced(demo_env: RunningEmulator) -> RunningEmulator:
    """web-1, web-2 of dev/eu-central-1 and web-1 of prod/us-east-1 in the cache."""
    add_synced("dev", "eu-central-1", [running("web-1"), running("web-2")])
    add_synced("prod", "us-east-1", [running("web-1", "prod")])
    return demo_env


def error_message(gui: Gui, marker: str) -> str:
    return str(next(iter(gui.user.find(marker=marker).elements)).props.get("error-message", ""))


async def open_dialog(gui: Gui, text: str) -> None:
    await gui.user.open("/")
    gui.user.find(marker="new-tab").click()
    await gui.user.should_see(marker="connect-dialog", retries=50)
    gui.user.find(marker="connect-instance-id").clear().type(text)
    gui.user.find(marker="connect-submit").click()


async def test_connect_dialog_takes_a_name(gui: Gui, synced: RunningEmulator) -> None:
    """`web-2` names one instance: its tab opens on it, with its pair's profile and region."""
    await open_dialog(gui, "web-2")
    session = await eventually(lambda: next(iter(gui.services.sessions.sessions.values()), None), timeout=20)
    target = session.target
    assert (target.instance_id, target.aws_profile, target.region) == (
        demo_id("web-2"),
        "dev",
        "eu-central-1",
    )
    assert target.title == "web-2"


async def test_connect_dialog_lists_several_matches_to_choose(gui: Gui, synced: RunningEmulator) -> None:
    """`web-1` names two instances (dev and prod): both are listed; the one clicked is connected."""
    await open_dialog(gui, "web-1")
    await gui.user.should_see(marker="connect-choices-title", content="2 targets match", retries=50)
    labels = [button.text for button in gui.user.find(marker="connect-choice").elements]
    assert len(labels) == 2 and any("prod/us-east-1" in label for label in labels)
    assert gui.services.sessions.sessions == {}
    gui.user.find(marker="connect-choice", content="prod/us-east-1").click()
    session = await eventually(lambda: next(iter(gui.services.sessions.sessions.values()), None), timeout=20)
    assert (session.target.instance_id, session.target.aws_profile) == (demo_id("web-1", "prod"), "prod")


async def test_connect_dialog_suggests_the_closest_name(gui: Gui, synced: RunningEmulator) -> None:
    """A typo keeps the dialog open with the CLI's "did you mean" line; nothing is started."""
    await open_dialog(gui, "wbe-2")
    message = await eventually(lambda: error_message(gui, "connect-instance-id"), timeout=10)
    assert message.startswith("no target named 'wbe-2'; did you mean 'web-2'")
    await gui.user.should_see(marker="connect-dialog")
    assert gui.services.sessions.sessions == {}


async def fill_forward(gui: Gui, text: str) -> None:
    await gui.user.open("/forwards")
    gui.user.find(marker="forward-target").type(text)
    gui.user.find(marker="forward-remote-port").type("8080")
    gui.user.find(marker="forward-start").click()


async def test_forwards_page_takes_a_name(gui: Gui, synced: RunningEmulator) -> None:
    """`web-2` on the forwards page forwards through that instance, named in the forward's label."""
    await fill_forward(gui, "web-2")
    forward = await eventually(lambda: next(iter(gui.services.forwards.forwards.values()), None), timeout=20)
    spec = forward.spec
    assert (spec.instance_id, spec.aws_profile, spec.region) == (demo_id("web-2"), "dev", "eu-central-1")
    assert f"web-2 ({demo_id('web-2')}):8080" in spec.label
    await gui.services.forwards.stop(forward.id)


async def test_forwards_page_lists_several_matches_and_suggests(gui: Gui, synced: RunningEmulator) -> None:
    """`web-1` lists two to choose from; a typo gets "did you mean"; nothing starts until one is chosen."""
    await fill_forward(gui, "wbe-1")
    message = await eventually(lambda: error_message(gui, "forward-target"), timeout=10)
    assert message.startswith("no target named 'wbe-1'; did you mean 'web-1'")
    gui.user.find(marker="forward-target").clear().type("web-1")
    gui.user.find(marker="forward-start").click()
    await gui.user.should_see(marker="forward-choices-title", content="2 targets match", retries=50)
    assert gui.services.forwards.forwards == {}
    assert len(gui.user.find(marker="forward-choice").elements) == 2
    gui.user.find(marker="forward-choice", content="dev/eu-central-1").click()
    forward = await eventually(lambda: next(iter(gui.services.forwards.forwards.values()), None), timeout=20)
    assert (forward.spec.instance_id, forward.spec.aws_profile) == (demo_id("web-1"), "dev")
    await gui.services.forwards.stop(forward.id)
