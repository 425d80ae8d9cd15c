"""The settings page: every setting, the pairs table, the recent lists and the doctor."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from ssmux.core import store
from ssmux.core.models import SyncPair
from tests.support.emulator import RunningEmulator

from .conftest import Gui, eventually


def element(gui: Gui, marker: str):
    return next(iter(gui.user.find(marker=marker).elements))


def cli_message(*args: str) -> str:
    from ssmux.cli.main import cli

    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code != 0
    return result.output.strip().splitlines()[-1].removeprefix("ssmux: error: ")


async def open_settings(gui: Gui) -> None:
    await gui.user.open("/settings")
    await gui.user.should_see(marker="settings-save", retries=30)


async def test_shows_and_saves_every_setting(gui: Gui) -> None:
    """The page shows the stored settings; Save writes what was changed."""
    await open_settings(gui)
    assert element(gui, "settings-sync-enabled").value is True
    assert element(gui, "settings-only-running").value is False
    assert element(gui, "settings-backend").value == "auto"
    gui.user.find(marker="settings-sync-enabled").click()
    gui.user.find(marker="settings-only-running").click()
    gui.user.find(marker="settings-default-aws-profile").type("ops")
    gui.user.find(marker="settings-default-region").type("eu-west-1")
    element(gui, "settings-backend").set_value("native")
    gui.user.find(marker="settings-plugin-path").type("/opt/ssm/session-manager-plugin")
    gui.user.find(marker="settings-save").click()
    await gui.user.should_see("Settings saved", retries=30)
    settings = store.load_settings()
    assert (settings.sync_enabled, settings.sync_only_running) == (False, True)
    assert (settings.default_aws_profile, settings.default_region) == ("ops", "eu-west-1")
    assert settings.backend == "native"
    assert settings.plugin_path == "/opt/ssm/session-manager-plugin"


@pytest.mark.parametrize(
    ("marker", "value", "key"),
    [
        ("settings-default-region", "mars-1", "default_region"),
        ("settings-default-aws-profile", "a b", "default_aws_profile"),
    ],
)
async def test_bad_values_show_the_cli_message_and_save_nothing(
    gui: Gui, marker: str, value: str, key: str
) -> None:
    """A bad value shows the message 'ssmux settings set' gives, under its field; the file is unchanged."""
    expected = cli_message("settings", "set", key, value)
    before = store.load_settings()
    await open_settings(gui)
    gui.user.find(marker=marker).type(value)
    gui.user.find(marker="settings-save").click()
    message = await eventually(lambda: element(gui, marker).props.get("error-message"))
    assert message == expected
    assert store.load_settings() == before


async def test_pairs_table_add_toggle_remove(gui: Gui) -> None:
    """Pairs can be added (validated), switched off and on, and removed; each change is saved at once."""
    store.update_settings(
        lambda s: replace(
            s,
            sync_pairs=(SyncPair("default", "eu-central-1", False), SyncPair("default", "us-east-1", False)),
        )
    )
    await open_settings(gui)
    for label in ("default/eu-central-1", "default/us-east-1"):
        await gui.user.should_see(marker=f"pair-row {label}")
    gui.user.find(marker="pair-new-profile").type("dev")
    gui.user.find(marker="pair-new-region").type("eu-centrl-1")
    gui.user.find(marker="pair-add").click()
    message = await eventually(lambda: element(gui, "pair-new-region").props.get("error-message"))
    assert message == cli_message("pair", "add", "dev", "eu-centrl-1")
    gui.user.find(marker="pair-new-region").clear().type("eu-west-1")
    gui.user.find(marker="pair-add").click()
    await gui.user.should_see(marker="pair-row dev/eu-west-1", retries=30)
    assert SyncPair("dev", "eu-west-1", True) in store.load_settings().sync_pairs

    gui.user.find(marker="pair-new-profile").type("dev")
    gui.user.find(marker="pair-new-region").type("eu-west-1")
    gui.user.find(marker="pair-add").click()
    assert "already exists" in await eventually(
        lambda: element(gui, "pair-new-region").props.get("error-message")
    )

    gui.user.find(marker="pair-enabled dev/eu-west-1").click()
    await eventually(lambda: not store.load_settings().pair("dev", "eu-west-1").enabled)
    gui.user.find(marker="pair-remove default/us-east-1").click()
    await gui.user.should_not_see(marker="pair-row default/us-east-1", retries=30)
    keys = [pair.key for pair in store.load_settings().sync_pairs]
    assert keys == [("default", "eu-central-1"), ("dev", "eu-west-1")]


async def test_clear_recent_lists(gui: Gui) -> None:
    """The recent lists are shown and can be cleared."""
    store.record_recent("i-0123456789abcdef0", "dev", "eu-west-1")
    await open_settings(gui)
    await gui.user.should_see("i-0123456789abcdef0")
    gui.user.find(marker="recent-clear").click()
    await eventually(lambda: store.load_settings().recent_instance_ids == ())
    await gui.user.should_not_see("i-0123456789abcdef0", retries=20)


async def test_doctor_reports_tools_credentials_and_backend(
    gui: Gui, demo_env: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The doctor shows what it found: working credentials per profile, a broken one with its fix, the
    backend 'auto' picks, and the missing plugin as a note that blocks nothing."""
    config = tmp_path / "doctor-aws-config"
    config.write_text(demo_env.aws_config_file.read_text() + "\n[profile broken]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # neither aws nor the plugin on PATH
    await open_settings(gui)
    await gui.user.should_see("AWS profile broken", retries=200)
    with gui.user.scope(marker="doctor"):
        await gui.user.should_see(content="account 111111111111")
        await gui.user.should_see(content="account 222222222222")
        await gui.user.should_see(content="auto uses native")
        await gui.user.should_see(content="not needed: ssmux's native client opens sessions itself")
    problems = {
        " ".join(str(child.text) for child in row.descendants() if hasattr(child, "text"))
        for row in gui.user.find(marker="finding-problem").elements
    }
    broken = next(text for text in problems if "broken" in text)
    assert "credentials" in broken.lower()
    # The demo's organization is not signed in here: its profile `sso` is the other problem, with the fix.
    (unsigned,) = problems - {broken}
    assert "AWS profile sso" in unsigned and "ssmux sso login" in unsigned, unsigned
