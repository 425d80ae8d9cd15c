"""Fixtures of the session tests: the demo emulator, its instances, and AWS config files pointing at it."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.emulator import RunningEmulator


def demo_instance(name: str, profile: str = "dev") -> str:
    """The instance id of the demo scenario's instance called ``name`` in ``profile``."""
    from ssmux.emulator.scenario import load_scenario

    for instance in load_scenario("demo").instances:
        if instance.name == name and instance.profile == profile:
            return instance.instance_id
    raise LookupError(f"no demo instance {name!r} in {profile!r}")


def write_aws_config(emulator: RunningEmulator, folder: Path, aliases: dict[str, str]) -> tuple[Path, Path]:
    """AWS config and credentials files with the emulator's profiles plus ``aliases`` (new name -> existing).

    An alias has the same keys, region and endpoint as the profile it copies, so profile names with shell
    metacharacters can be used against the emulator.
    """
    folder.mkdir(parents=True, exist_ok=True)
    config = configparser.RawConfigParser()
    config.read(emulator.aws_config_file)
    credentials = configparser.RawConfigParser()
    credentials.read(emulator.aws_shared_credentials_file)
    for alias, source in aliases.items():
        config[f"profile {alias}"] = dict(
            config[f"profile {source}"] if source != "default" else config["default"]
        )
        credentials[alias] = dict(credentials[source])
    config_file, credentials_file = folder / "config", folder / "credentials"
    with config_file.open("w") as out:
        config.write(out)
    with credentials_file.open("w") as out:
        credentials.write(out)
    return config_file, credentials_file


@pytest.fixture
def spawn(demo_env: RunningEmulator) -> Any:
    """Start ``python -m ssmux ARGS`` on a real pty (pexpect); every child is reaped when the test ends."""
    import pexpect

    children: list[Any] = []

    def start(*args: str, env: dict[str, str] | None = None, rows: int = 24, cols: int = 80) -> Any:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "ssmux", *args],
            env={**os.environ, "TERM": "xterm", **(env or {})},
            dimensions=(rows, cols),
            timeout=30,
        )
        children.append(child)
        return child

    yield start
    for child in children:
        child.close(force=True)


def run_ssmux(*args: str, input: bytes | None = None, env: dict[str, str] | None = None,
              timeout: float = 60) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
    """Run ``python -m ssmux ARGS`` with pipes (not a terminal) and wait for it, bounded."""
    return subprocess.run(
        [sys.executable, "-m", "ssmux", *args],
        input=input if input is not None else b"",
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )
