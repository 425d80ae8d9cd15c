"""The drop-in under ``aws ecs execute-command``: the installed aws CLI runs ssmux's launcher as the plugin.

aws-cli checks the plugin is there (no arguments), calls ExecuteCommand and DescribeTasks, then runs
``session-manager-plugin <session JSON, lower-case keys> <region> StartSession <profile>
<{"Target": "ecs:<cluster>_<task>_<runtime-id>"}> <ECS endpoint>`` (``awscli/customizations/ecs/
executecommand.py``). The emulator's containers are shells on this machine with their own environment, so
the output shows the command ran in that container.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from ssmux.sessions.shim import INSTALLED_MESSAGE, install_shim
from tests.support.emulator import RunningEmulator, start_emulator

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("aws") is None, reason="the aws CLI is not installed (pip install awscli)"
    ),
]

SCENARIO: dict[str, Any] = {
    "profiles": [{"name": "dev", "account_id": "111111111111", "region": "eu-central-1"}],
    "ecs": {"clusters": [{"profile": "dev", "name": "shop", "services": [
        {"name": "web", "containers": [{"name": "app", "environment": {"APP_ROLE": "shop-web-app"}}]}]}]},
}  # fmt: skip


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(SCENARIO, "--fast", tmp_dir=tmp_path_factory.mktemp("ecs-dropin")) as running:
        yield running


@pytest.fixture(scope="module")
def shim_env(emulator: RunningEmulator, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A user's environment: ssmux's launcher first on PATH, no AWS plugin, the emulator's AWS config."""
    folder = tmp_path_factory.mktemp("ecs-shim")
    install_shim(folder)
    path = [str(folder), str(Path(sys.executable).parent)] + [
        entry
        for entry in os.environ.get("PATH", "").split(os.pathsep)
        if entry and not (Path(entry) / "session-manager-plugin").exists()
    ]
    home = tmp_path_factory.mktemp("ecs-home")
    return {**os.environ, **emulator.env(), "PATH": os.pathsep.join(path), "SSMUX_HOME": str(home),
            "TERM": "xterm"}  # fmt: skip


@pytest.fixture(scope="module")
def task_arn(emulator: RunningEmulator) -> str:
    arn: str = emulator.client("ecs", "dev").list_tasks(cluster="shop")["taskArns"][0]
    return arn


def execute_command(task_arn: str, command: str) -> list[str]:
    return ["aws", "--profile", "dev", "ecs", "execute-command", "--cluster", "shop", "--task", task_arn,
            "--container", "app", "--interactive", "--command", command]  # fmt: skip


def test_aws_ecs_execute_command_runs_a_command_through_the_shim(
    shim_env: dict[str, str], task_arn: str, emulator: RunningEmulator
) -> None:
    """The command runs in the container (its environment shows), and the session ends with it."""
    done = subprocess.run(
        execute_command(task_arn, "sh -c 'echo role=$APP_ROLE; pwd'"),
        env=shim_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "role=shop-web-app" in done.stdout
    assert INSTALLED_MESSAGE.strip() in done.stdout  # aws-cli's check that the plugin is there
    assert "ssmux: error" not in done.stderr
    assert "Traceback" not in done.stderr
    sessions = emulator.client("ssm", "dev").describe_sessions(State="Active")["Sessions"]
    assert not [item for item in sessions if item["SessionId"].startswith("ecs-execute-command")]


def test_interactive_shell_in_the_container_through_the_shim(shim_env: dict[str, str], task_arn: str) -> None:
    """An interactive /bin/sh on a terminal: typed commands run in the container; exit ends the session."""
    child = pexpect.spawn(
        "aws", execute_command(task_arn, "/bin/sh")[1:], env=shim_env, dimensions=(24, 80), timeout=30
    )
    try:
        child.expect("Starting session with SessionId: ecs-execute-command")
        child.sendline("echo marker-$APP_ROLE-$((6*7))")
        child.expect("marker-shop-web-app-42")
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
