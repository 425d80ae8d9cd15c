"""Backend ``auto`` against an overridden endpoint (the emulator, LocalStack) is the native client.

The plugin ignores endpoint overrides for its KMS calls: with it, a KMS-encrypted session against a local AWS
would send that AWS's fake keys to the real KMS. A stand-in ``session-manager-plugin`` that records its
calls sits on PATH; ``auto`` must not run it when the endpoint is overridden, and still picks it otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pexpect
import pytest

from ssmux.core.models import Settings
from ssmux.sessions.backends import Backend, SessionRequest, choose
from tests.support.emulator import RunningEmulator

from .conftest import demo_instance
from .recorder import calls, make_recorder

WEB1 = demo_instance("web-1")


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A recording ``session-manager-plugin``, first on PATH."""
    recorder = make_recorder(tmp_path / "plugin-bin", "session-manager-plugin")
    monkeypatch.setenv("PATH", os.pathsep.join([str(recorder.parent), os.environ.get("PATH", "")]))
    return recorder


def write_config(text: str) -> None:
    Path(os.environ["AWS_CONFIG_FILE"]).write_text(text)


REAL = "[profile real]\nregion = eu-west-1\n"
LOCAL = "[profile local]\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:4566\n"
KMS_ONLY = (
    "[profile local]\nregion = eu-west-1\nservices = emu\n\n[services emu]\nkms =\n"
    "  endpoint_url = http://127.0.0.1:4566\n"
)


@pytest.mark.parametrize(
    ("config", "profile", "expected"),
    [
        (REAL, "real", Backend.PLUGIN),
        (REAL + LOCAL, "real", Backend.PLUGIN),  # another profile's override does not matter
        (LOCAL, "local", Backend.NATIVE),
        (KMS_ONLY, "local", Backend.NATIVE),
        (LOCAL + "ignore_configured_endpoint_urls = true\n", "local", Backend.PLUGIN),
    ],
    ids=["aws", "aws-beside-local", "endpoint_url", "services-kms", "ignored"],
)
def test_auto_is_native_when_the_request_profile_overrides_the_endpoint(
    plugin: Path, config: str, profile: str, expected: Backend
) -> None:
    """An endpoint_url for the session's profile (global or KMS's) makes auto native; else the plugin."""
    write_config(config)
    request = SessionRequest(WEB1, aws_profile=profile, region="eu-west-1")
    assert choose(None, Settings(), request).backend is expected


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS"])
def test_auto_is_native_when_the_environment_overrides_the_endpoint(
    plugin: Path, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS_ENDPOINT_URL (or its KMS form) in the environment makes auto native, with or without a request."""
    write_config(REAL)
    monkeypatch.setenv(variable, "http://127.0.0.1:4566")
    assert choose(None, Settings()).backend is Backend.NATIVE
    assert choose(None, Settings(), SessionRequest(WEB1, aws_profile="real")).backend is Backend.NATIVE


def test_an_explicit_plugin_choice_is_kept(plugin: Path) -> None:
    """--backend plugin is taken as asked, even against a local endpoint."""
    write_config(LOCAL)
    request = SessionRequest(WEB1, aws_profile="local")
    assert choose("plugin", Settings(), request).backend is Backend.PLUGIN


@pytest.mark.e2e
def test_connect_with_auto_against_the_emulator_does_not_run_the_plugin(
    demo_env: RunningEmulator, plugin: Path, spawn: Any
) -> None:
    """`ssmux connect` (backend auto) against the emulator opens the shell natively; the plugin never runs."""
    child = spawn("connect", WEB1, "--aws-profile", "dev", "--region", "eu-central-1")
    child.expect(r"web-1:~\$ ")
    child.sendline("exit")
    child.expect(pexpect.EOF)
    assert calls(plugin) == []
