"""Run the real ``ssmux emulator`` process for end-to-end tests.

``start_emulator`` starts ``python -m ssmux emulator`` as a subprocess on 127.0.0.1 port 0, waits (bounded)
for its one JSON ready line, and on exit SIGTERMs it and waits for it (SIGKILL after a bound). Its stderr
goes to a file in ``tmp_dir`` (``RunningEmulator.log()``) so a chatty emulator never blocks on a full pipe.

Fixtures: ``demo_emulator`` (session scope: one emulator with the built-in demo scenario, for tests that only
read). Load this module with ``pytest_plugins = ["tests.support.emulator"]``.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ssmux.emulator.process import STOP_TIMEOUT, stop_process

READY_TIMEOUT = 60.0  # generous: the machine is shared; the bench measures the real figure


class EmulatorFailed(RuntimeError):
    """The emulator exited or stayed silent instead of printing its ready line."""


@dataclass
class RunningEmulator:
    """A started emulator process and what its ready line said."""

    endpoint: str
    aws_config_file: Path
    aws_shared_credentials_file: Path
    process: subprocess.Popen[bytes]
    log_file: Path

    def env(self) -> dict[str, str]:
        """Environment variables that point boto3, the aws CLI and ssmux at this emulator."""
        return {
            "AWS_CONFIG_FILE": str(self.aws_config_file),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.aws_shared_credentials_file),
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def apply(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Set :meth:`env` in this process (for in-process tests), undone when the test ends."""
        for name, value in self.env().items():
            monkeypatch.setenv(name, value)

    def session(self, profile: str = "dev", region: str | None = None) -> Any:
        """A boto3 Session for one of the scenario's profiles, reading this emulator's config files."""
        import boto3
        import botocore.session

        core = botocore.session.Session()
        core.set_config_variable("config_file", str(self.aws_config_file))
        core.set_config_variable("credentials_file", str(self.aws_shared_credentials_file))
        core.set_config_variable("profile", profile)
        return boto3.Session(botocore_session=core, region_name=region)

    def client(self, service: str, profile: str = "dev", region: str | None = None, **kwargs: Any) -> Any:
        """A boto3 client of ``service`` for ``profile`` (its default region unless ``region``)."""
        return self.session(profile, region).client(service, **kwargs)

    def log(self) -> str:
        """What the emulator wrote to stderr so far."""
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""


@contextmanager
def start_emulator(
    scenario: str | Path | Mapping[str, Any] = "demo",
    *extra_args: str,
    tmp_dir: Path,
    env: Mapping[str, str] | None = None,
) -> Iterator[RunningEmulator]:
    """Run ``ssmux emulator`` until the block ends.

    Args:
        scenario: A built-in scenario name, a scenario file, or a scenario as a dict (written to ``tmp_dir``).
        *extra_args: More command-line options (``"--throttle", "1"``).
        tmp_dir: Folder for the AWS config files, the scenario file and the log.
        env: Extra environment variables for the process.

    Raises:
        EmulatorFailed: It exited or printed no ready line in time; the message carries its stderr.
    """
    tmp_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(scenario, Mapping):
        scenario_path = tmp_dir / "scenario.json"
        scenario_path.write_text(json.dumps(scenario))
        scenario = scenario_path
    config_dir = tmp_dir / "aws"
    log_file = tmp_dir / "emulator.log"
    argv = [
        sys.executable,
        "-m",
        "ssmux",
        "emulator",
        "--scenario",
        str(scenario),
        "--aws-config-dir",
        str(config_dir),
        *extra_args,
    ]
    child_env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, env=child_env
        )
    try:
        ready = _read_ready_line(process, log_file)
        yield RunningEmulator(
            endpoint=ready["endpoint"],
            aws_config_file=Path(ready["aws_config_file"]),
            aws_shared_credentials_file=Path(ready["aws_shared_credentials_file"]),
            process=process,
            log_file=log_file,
        )
    finally:
        stop_process(process)


def _read_ready_line(process: subprocess.Popen[bytes], log_file: Path) -> dict[str, str]:
    assert process.stdout is not None
    lines: queue.Queue[bytes] = queue.Queue()
    stdout = process.stdout
    # A thread, because a blocking readline cannot be given a timeout portably.
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=READY_TIMEOUT)
    except queue.Empty:
        raise EmulatorFailed(f"no ready line after {READY_TIMEOUT:.0f} s; log:\n{_tail(log_file)}") from None
    if not line:
        process.wait(STOP_TIMEOUT)
        raise EmulatorFailed(f"emulator exited with status {process.returncode}; log:\n{_tail(log_file)}")
    try:
        ready = json.loads(line)
    except json.JSONDecodeError:
        raise EmulatorFailed(f"ready line is not JSON: {line!r}; log:\n{_tail(log_file)}") from None
    return {key: str(value) for key, value in ready.items()}


def _tail(log_file: Path, limit: int = 4000) -> str:
    try:
        return log_file.read_text(errors="replace")[-limit:]
    except OSError:
        return "(no log)"


@pytest.fixture(scope="session")
def demo_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """One emulator with the demo scenario, shared by every test of the run that only reads from it."""
    with start_emulator("demo", tmp_dir=tmp_path_factory.mktemp("demo-emulator")) as running:
        yield running
