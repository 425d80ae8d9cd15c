"""The row menu's actions that reach beyond one shell: "Open RDP" on Windows targets, "Run command…"."""

from __future__ import annotations

from ssmux.gui.components.target_row import TargetRow

from .conftest import Gui, add_synced, instance_id


async def two_platforms(gui: Gui) -> None:
    """A Windows and a Linux instance in one synced pair, in the panel (reloaded as a sync's end does)."""
    add_synced(
        "dev",
        "eu-central-1",
        [
            {
                "instance_id": instance_id(0x30),
                "name": "win-ad",
                "state": "running",
                "ping_status": "Online",
                "ssm_managed": True,
                "platform": "windows",
            },
            {
                "instance_id": instance_id(0x31),
                "name": "web-1",
                "state": "running",
                "ping_status": "Online",
                "ssm_managed": True,
                "platform": "linux",
            },
        ],
    )
    await gui.services.panel.reload()


async def open_menu(gui: Gui, name: str) -> None:
    gui.user.find(marker="panel-search").type(name)
    await gui.user.should_see(kind=TargetRow, retries=30)
    rows = [row for row in gui.user.find(kind=TargetRow).elements if not row.is_deleted]
    assert [row.target.name for row in rows] == [name]
    gui.user.find(kind=TargetRow).trigger("menu")
    await gui.user.should_see(marker="menu-connect", retries=30)


async def test_open_rdp_is_offered_on_windows_targets_only(gui: Gui) -> None:
    await two_platforms(gui)
    await gui.user.open("/")
    await open_menu(gui, "win-ad")
    await gui.user.should_see(marker="menu-rdp")
    gui.user.find(marker="panel-search").clear()
    await open_menu(gui, "web-1")
    await gui.user.should_not_see(marker="menu-rdp")


async def test_run_command_opens_the_dialog_with_the_row_checked(gui: Gui) -> None:
    await two_platforms(gui)
    await gui.user.open("/")
    await open_menu(gui, "web-1")
    gui.user.find(marker="menu-run").click()
    await gui.user.should_see(marker="multirun-dialog", retries=30)
    checked = {element.text: element.value for element in gui.user.find(marker="multirun-target").elements}
    assert [text.split("  ·  ")[0] for text, value in checked.items() if value] == ["web-1"]
    assert len(checked) == 2
