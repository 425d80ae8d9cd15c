"""The installed aws CLI's ``ecs execute-command`` against the emulator, up to the plugin and through it.

aws-cli calls ExecuteCommand, then DescribeTasks for the container's runtime id, then runs
``session-manager-plugin <session JSON> <region> StartSession <profile> <{"Target": "ecs:..."}> <endpoint>``
(``awscli/customizations/ecs/executecommand.py``). A stand-in plugin records that argv; the test then dials
the session it names, as the plugin would, and runs a command in the container.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.emulator import RunningEmulator, start_emulator
from tests.support.wsclient import connect_session

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("aws") is None, reason="the aws CLI is not installed"),
]

SCENARIO: dict[str, Any] = {
    "profiles": [{"name": "dev", "account_id": "111111111111", "region": "eu-central-1"}],
    "ecs": {"clusters": [{"profile": "dev", "name": "shop", "services": [
        {"name": "web", "containers": [{"name": "app", "environment": {"APP_ROLE": "from-aws-cli"}}]}]}]},
}  # fmt: skip

PLUGIN = """\
import json, os, sys
if len(sys.argv) == 1:
    print("The Session Manager plugin was installed successfully. Use the AWS CLI to start a session.")
else:
    with open(os.environ["PLUGIN_ARGV_FILE"], "w") as out:
        json.dump(sys.argv[1:], out)
"""


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(SCENARIO, "--fast", tmp_dir=tmp_path_factory.mktemp("ecs-awscli")) as running:
        yield running


def fake_plugin(folder: Path) -> Path:
    """A ``session-manager-plugin`` on PATH that records its arguments."""
    folder.mkdir()
    script = folder / "session-manager-plugin"
    script.write_text(f"#!{sys.executable}\n{PLUGIN}")
    script.chmod(0o755)
    return folder


async def test_aws_ecs_execute_command_hands_the_plugin_a_live_session(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    """aws ecs execute-command: lower-case session keys, ECS endpoint, ecs: target; the session runs."""
    ecs = emulator.client("ecs", "dev")
    task_arn = ecs.list_tasks(cluster="shop")["taskArns"][0]
    argv_file = tmp_path / "argv.json"
    env = {
        **os.environ,
        **emulator.env(),
        "PATH": f"{fake_plugin(tmp_path / 'bin')}{os.pathsep}{os.environ.get('PATH', '')}",
        "PLUGIN_ARGV_FILE": str(argv_file),
    }
    command = ["aws", "--profile", "dev", "ecs", "execute-command", "--cluster", "shop", "--task", task_arn,
               "--container", "app", "--command", "sh -c 'echo role=$APP_ROLE'", "--interactive"]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    session_json, region, operation, profile, request_json, endpoint = json.loads(argv_file.read_text())
    session = json.loads(session_json)
    assert set(session) == {"sessionId", "streamUrl", "tokenValue"}
    assert (region, operation, profile) == ("eu-central-1", "StartSession", "dev")
    assert endpoint == emulator.endpoint
    described = ecs.describe_tasks(cluster="shop", tasks=[task_arn])["tasks"][0]
    runtime_id = described["containers"][0]["runtimeId"]
    target = f"ecs:shop_{task_arn.rsplit('/', 1)[-1]}_{runtime_id}"
    assert json.loads(request_json) == {"Target": target}
    response = {"SessionId": session["sessionId"], "TokenValue": session["tokenValue"],
                "StreamUrl": session["streamUrl"]}  # fmt: skip
    async with connect_session(emulator.client("ssm", "dev"), response, target=target) as driver:
        await driver.wait_closed()
        assert b"role=from-aws-cli" in bytes(driver.output)
