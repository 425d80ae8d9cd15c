"""Fixtures shared by every test: each test gets its own ssmux home and AWS config, never the user's."""

from __future__ import annotations

from pathlib import Path

import pytest

# The emulator fixtures (`demo_emulator`, session-scoped) are shared by every e2e test folder.
pytest_plugins = ["tests.support.emulator"]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Move every path ssmux or botocore could touch into ``tmp_path`` and clear AWS settings from the env."""
    home = tmp_path / "ssmux-home"
    home.mkdir()
    aws = tmp_path / "aws"
    aws.mkdir()
    monkeypatch.setenv("SSMUX_HOME", str(home))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws / "credentials"))
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "SSMUX_DEBUG",
    ):
        monkeypatch.delenv(name, raising=False)
    # No instance-metadata lookups from botocore on a machine without network.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return home
