"""The app's file transfers (:mod:`ssmux.gui.transfer_panel`) against the demo emulator, in the simulated
browser: a dropped file reaches the target with a notification, "Download…" hands a file to the browser,
a failure says what went wrong, and a container's tab offers neither (``cp`` reaches instances only)."""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from pathlib import Path

import pytest
from nicegui import app, ui
from nicegui.elements.upload_files import SmallFileUpload

from ssmux.gui.session_manager import SessionTarget
from ssmux.gui.transfer_panel import Transfers, download_dialog, drop_zone
from tests.support.emulator import RunningEmulator

from .conftest import Gui, eventually

pytestmark = pytest.mark.e2e


def web1() -> SessionTarget:
    from ssmux.emulator.scenario import load_scenario

    instance = next(i for i in load_scenario("demo").instances if i.name == "web-1" and i.profile == "dev")
    return SessionTarget("web-1", instance.instance_id, "dev", None)


def transfer_page(gui: Gui, home: Path) -> None:
    """A page with what a terminal tab gets: the drop zone over its panel and the "Download…" action."""

    @ui.page("/transfer-test")
    def page() -> None:
        transfers = Transfers(web1(), gui.services.aws, home=f"{home}/")
        with ui.column().classes("w-full h-64") as host:
            ui.label("terminal")
        drop_zone(transfers, host)
        ui.button("Download…", on_click=lambda: download_dialog(transfers)).mark("tab-download")


def fetched_by_the_page(gui: Gui) -> dict[str, bytes]:
    """What the page's fetch of a download gets, by file name: the simulation runs no JavaScript, so a
    rule answers the page's fetch script by calling the app's one-use route of the file, as a fetch would."""
    got: dict[str, bytes] = {}

    def fetch(match: re.Match[str]) -> int:
        url, name = json.loads(match.group(1)), json.loads(match.group(2))
        route = next(r for r in app.routes if getattr(r, "path", None) == urllib.parse.unquote(url))
        got[name] = Path(route.endpoint().path).read_bytes()  # type: ignore[attr-defined]
        return 200

    rule = re.compile(r'.*\)\(("/_nicegui/auto/static/[^"]+"), (".*")\)$', re.DOTALL)
    gui.user.javascript_rules[rule] = fetch
    return got


async def test_a_dropped_file_lands_on_the_target(
    gui: Gui, demo_env: RunningEmulator, tmp_path: Path
) -> None:
    """Dropping a file uploads it into the home folder on the target, exactly; the notification says so."""
    home = tmp_path / "home"
    home.mkdir()
    transfer_page(gui, home)
    await gui.user.open("/transfer-test")
    zone = next(iter(gui.user.find(marker="transfer-drop").elements))
    body = os.urandom(300_000) + "ünï\r\n\x03\x04".encode()
    await zone.handle_uploads([SmallFileUpload("notes 1.txt", "text/plain", body)])  # type: ignore[attr-defined]
    await gui.user.should_see("Uploaded notes 1.txt to", retries=200)
    assert (home / "notes 1.txt").read_bytes() == body
    assert not list(home.glob("*.part"))


async def test_download_hands_the_file_to_the_browser(
    gui: Gui, demo_env: RunningEmulator, tmp_path: Path
) -> None:
    """Download… with a path on the target: the browser gets the file's bytes; a folder gets one line."""
    remote = tmp_path / "report 2.bin"
    body = os.urandom(200_000)
    remote.write_bytes(body)
    transfer_page(gui, tmp_path)
    await gui.user.open("/transfer-test")
    gui.user.find(marker="tab-download").click()
    await gui.user.should_see(marker="download-dialog")
    gui.user.find(marker="download-path").clear().type(str(remote))
    got = fetched_by_the_page(gui)
    gui.user.find(marker="download-start").click()
    assert await eventually(lambda: got.get("report 2.bin"), timeout=30) == body
    await gui.user.should_see("Downloaded report 2.bin from web-1", retries=100)

    gui.user.find(marker="tab-download").click()
    gui.user.find(marker="download-path").clear().type(str(tmp_path))
    gui.user.find(marker="download-start").click()
    await gui.user.should_see("is a directory: download a file, or use ssmux cp -r for folders", retries=100)


async def test_a_container_tab_has_no_drop_zone_and_no_download(gui: Gui, demo_env: RunningEmulator) -> None:
    """In the app's tabs, an instance's tab has the drop zone over its terminal and "Download…" in its menu;
    a container's tab (ECS Exec: ``cp`` reaches instances only) has neither."""
    await gui.user.open("/")
    instance = gui.services.sessions.open(web1())
    task = "ecs:shop_0f1e2d3c4b5a69788796a5b4c3d2e1f0_0f1e2d3c-4b5a"  # not in the cache: the tab fails, as is
    container = gui.services.sessions.open(SessionTarget("shop/web/app", task, "dev", "eu-central-1"))
    await gui.user.should_see(marker=f"tab-{container.id}", retries=50)
    await gui.user.should_see(marker=f"tab-{instance.id}", retries=50)
    assert gui.user.find(marker=f"tab-download-{instance.id}").elements
    await gui.user.should_not_see(marker=f"tab-download-{container.id}")
    (panel,) = gui.user.find(marker=f"session-panel-{instance.id}").elements
    zones = gui.user.find(marker="transfer-drop").elements
    assert [zone.parent_slot.parent for zone in zones if zone.parent_slot] == [panel]
