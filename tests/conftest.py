"""Fixtures shared by every test: each test gets its own ssmux home and AWS config, never the user's."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ssmux.core.aws import AwsClients, ServiceModels

if TYPE_CHECKING:
    from tests.support.emulator import RunningEmulator

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


@pytest.fixture
def demo_env(demo_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RunningEmulator:
    """The demo emulator's AWS config in this process's environment (a child ssmux inherits it)."""
    demo_emulator.apply(monkeypatch)
    return demo_emulator


@pytest.fixture(scope="session")
def service_models() -> ServiceModels:
    """One botocore loader for the whole run: service models are the same for every test, and slow to load."""
    return ServiceModels()


@pytest.fixture
def aws_clients(service_models: ServiceModels) -> AwsClients:
    """This test's own AWS sessions and clients (made on first use, from this test's AWS config files)."""
    return AwsClients(service_models)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """Under CI a skipped test is a failure: a check that did not run must not pass for one that did."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, which must run every check: {reason}"
