"""Choosing a backend: auto prefers the plugin when present, explicit choices need their executables."""

from __future__ import annotations

from pathlib import Path

import pytest

from ssmux.core.models import Settings
from ssmux.errors import BackendUnavailable, InvalidValue
from ssmux.sessions.backends import Backend, SessionRequest, choose

from .recorder import make_recorder


@pytest.fixture
def empty_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH holds only an empty folder, so no real aws or plugin is found."""
    folder = tmp_path / "empty-bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return folder


def test_auto_uses_native_without_a_plugin(empty_path: Path) -> None:
    """With no session-manager-plugin anywhere, auto means the native client."""
    assert choose(None, Settings()).backend is Backend.NATIVE


def test_auto_uses_the_plugin_found_on_path(empty_path: Path) -> None:
    """A session-manager-plugin on PATH makes auto pick the plugin backend, with that executable."""
    plugin = make_recorder(empty_path, "session-manager-plugin")
    choice = choose(None, Settings())
    assert choice.backend is Backend.PLUGIN
    assert choice.executable == str(plugin)


def test_plugin_path_setting_wins_over_path(empty_path: Path, tmp_path: Path) -> None:
    """The plugin_path setting is used even when the plugin is not on PATH."""
    plugin = make_recorder(tmp_path / "elsewhere", "session-manager-plugin")
    choice = choose(None, Settings(plugin_path=str(plugin)))
    assert (choice.backend, choice.executable) == (Backend.PLUGIN, str(plugin))


def test_command_line_overrides_the_setting(empty_path: Path) -> None:
    """--backend native beats backend=plugin in the settings."""
    assert choose("native", Settings(backend="plugin")).backend is Backend.NATIVE


def test_missing_plugin_says_what_to_do(empty_path: Path) -> None:
    """--backend plugin without the plugin: one line naming the install, the shim and native."""
    with pytest.raises(BackendUnavailable) as caught:
        choose("plugin", Settings())
    message = str(caught.value)
    assert "session-manager-plugin not found" in message
    assert "install-plugin-shim" in message and "--backend native" in message
    assert "\n" not in message


def test_missing_aws_cli_says_what_to_do(empty_path: Path) -> None:
    """--backend aws-cli without aws: one line naming aws_path and native."""
    with pytest.raises(
        BackendUnavailable, match=r"aws \(the AWS CLI\) not found.*aws_path.*--backend native"
    ):
        choose("aws-cli", Settings())


def test_aws_cli_backend_needs_the_plugin_too(empty_path: Path) -> None:
    """aws without session-manager-plugin cannot open a session: said before trying."""
    make_recorder(empty_path, "aws")
    with pytest.raises(BackendUnavailable, match="needs session-manager-plugin"):
        choose("aws-cli", Settings())


def test_aws_cli_backend_with_both(empty_path: Path) -> None:
    """aws and the plugin found: the aws-cli backend runs that aws and knows the plugin."""
    aws = make_recorder(empty_path, "aws")
    plugin = make_recorder(empty_path, "session-manager-plugin")
    choice = choose("aws-cli", Settings())
    assert (choice.backend, choice.executable, choice.plugin) == (Backend.AWS_CLI, str(aws), str(plugin))


def test_configured_path_that_does_not_exist_is_an_error(empty_path: Path, tmp_path: Path) -> None:
    """A plugin_path pointing nowhere is reported, not silently replaced by another backend."""
    with pytest.raises(BackendUnavailable, match=r"setting plugin_path is .*not an executable file"):
        choose(None, Settings(plugin_path=str(tmp_path / "nope")))


def test_unknown_backend_name() -> None:
    """A misspelt backend lists the valid names."""
    with pytest.raises(
        InvalidValue, match="unknown backend 'plugn': choose one of auto, native, plugin, aws-cli"
    ):
        choose("plugn", Settings())


def test_start_session_params_only_carry_what_was_given() -> None:
    """StartSession gets Target always, and DocumentName/Parameters/Reason only when set."""
    assert SessionRequest("i-0123456789abcdef0").start_session_params() == {"Target": "i-0123456789abcdef0"}
    full = SessionRequest(
        "i-0123456789abcdef0",
        document_name="AWS-StartInteractiveCommand",
        parameters={"command": ["top"]},
        reason="r",
    )
    assert full.start_session_params() == {
        "Target": "i-0123456789abcdef0",
        "DocumentName": "AWS-StartInteractiveCommand",
        "Parameters": {"command": ["top"]},
        "Reason": "r",
    }
