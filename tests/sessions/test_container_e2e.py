"""Sessions to ECS containers end to end: `ssmux connect`, `exec`, `forward` against the emulator's ECS.

The emulator runs a scenario of its own: one cluster ``shop`` with a service ``web`` (exec enabled, its
container ``app`` with its own environment and working directory), a service ``worker`` started without
exec, and a service ``stuck`` whose ExecuteCommandAgent is STOPPED; a second profile ``viewer`` of the same
account may not call ecs:ExecuteCommand. The pair is synced once (``ssmux sync``, see ``container_cache``)
and each test gets its own copy of that home, then runs ``ssmux`` as a user does.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.emulator import RunningEmulator, start_emulator

from .conftest import run_ssmux
from .container_cache import sync_pair
from .recorder import calls, make_recorder
from .test_exec_forward_e2e import EchoServer, round_trip, stop_forward

pytestmark = pytest.mark.e2e

SCENARIO = {
    "name": "containers",
    "defaults": {"command": "/bin/sh", "prompt": "$ "},
    "profiles": [
        {"name": "dev", "account_id": "111111111111", "region": "eu-central-1"},
        # The same account through a role that may not use ECS Exec.
        {
            "name": "viewer",
            "account_id": "111111111111",
            "region": "eu-central-1",
            "deny": ["ecs:ExecuteCommand"],
        },
    ],
    "instances": [{"profile": "dev", "region": "eu-central-1", "name": "web-vm"}],
    "ecs": {
        "clusters": [
            {
                "profile": "dev",
                "region": "eu-central-1",
                "name": "shop",
                "services": [
                    {
                        "name": "web",
                        "family": "web",
                        "revision": 3,
                        "count": 1,
                        "exec": True,
                        "containers": [
                            {
                                "name": "app",
                                "environment": {"ROLE": "shop-web-app"},
                                "working_directory": "/srv/app",
                                "ports": [8080],
                            }
                        ],
                    },
                    {"name": "worker", "count": 1, "exec": False, "containers": [{"name": "job"}]},
                    {
                        "name": "stuck",
                        "count": 1,
                        "exec": True,
                        "agent": "STOPPED",
                        "containers": [{"name": "side"}],
                    },
                ],
            }
        ]
    },
}


@pytest.fixture(scope="module")
def ecs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """The emulator with the scenario above, shared by this module's tests (they only read from it)."""
    with start_emulator(SCENARIO, tmp_dir=tmp_path_factory.mktemp("ecs-emulator")) as running:
        yield running


@pytest.fixture(scope="module")
def synced_home(ecs_emulator: RunningEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An ssmux home with the pair dev/eu-central-1 synced (its instance and its containers), made once."""
    home = tmp_path_factory.mktemp("synced-home")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("SSMUX_HOME", str(home))
        ecs_emulator.apply(monkeypatch)
        sync_pair("dev", "eu-central-1")
    yield home


@pytest.fixture
def synced(
    ecs_emulator: RunningEmulator, synced_home: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> RunningEmulator:
    """This test's own home, a copy of the synced one; the emulator's AWS config in the environment."""
    shutil.copytree(synced_home, isolated_home, dirs_exist_ok=True)
    ecs_emulator.apply(monkeypatch)
    return ecs_emulator


def test_exec_in_a_container_by_service_name_gives_its_output_and_exit_code(synced: RunningEmulator) -> None:
    """`exec shop/web/app` runs in that container (its environment and working directory, not an
    instance's), prints exactly what the command wrote, and exits with its code."""
    command = 'echo "$ROLE"; echo "$ECS_CONTAINER_METADATA_URI"; pwd; printf no-newline; exit 3'
    result = run_ssmux("exec", "shop/web/app", "--", command)
    assert result.returncode == 3, result.stderr.decode()
    lines = result.stdout.decode().split("\n")
    assert lines[0] == "shop-web-app"
    assert lines[1].startswith("http://169.254.170.2/v3/")  # what ECS sets in a container
    assert lines[2].endswith("/app") and lines[2] != os.getcwd()
    assert lines[3:] == ["no-newline"]
    assert result.stderr == b""
    ok = run_ssmux("exec", "shop/web/app", "--", "echo err >&2; true")
    assert (ok.returncode, ok.stdout) == (0, b"err\n")  # a pty: stderr comes merged into stdout
    piped = run_ssmux("connect", "shop/web/app", input=b'echo "piped $ROLE"\nexit 4\n')  # pipe mode
    assert (piped.returncode, piped.stdout) == (4, b"piped shop-web-app\n")


def test_connect_to_a_container_opens_its_shell(synced: RunningEmulator, spawn_ecs: object) -> None:
    """`connect shop/web/app` on a terminal: a shell in the container (ECS Exec of /bin/sh)."""
    child = spawn_ecs("connect", "shop/web/app")  # type: ignore[operator]
    child.expect(r"Starting session with SessionId: (\S+)")
    assert child.match.group(1).startswith(b"ecs-execute-command")
    child.sendline('echo "role=$ROLE"')
    child.expect("role=shop-web-app")
    child.sendline("exit")
    child.expect("Exiting session with sessionId")
    child.expect(pytest.importorskip("pexpect").EOF)
    child.close()
    assert child.exitstatus == 0


def test_connect_with_a_command(synced: RunningEmulator, spawn_ecs: object) -> None:
    """`connect --command` runs that command in the container's pty instead of a shell."""
    child = spawn_ecs("connect", "shop/web/app", "--command", "env")  # type: ignore[operator]
    child.expect("ROLE=shop-web-app")
    child.expect(pytest.importorskip("pexpect").EOF)
    child.close()


def test_not_ready_containers_are_refused_before_any_call(synced: RunningEmulator) -> None:
    """A container whose task runs without exec, or whose agent is stopped, is refused with the reason
    and the fix, one line, status 1, with no AWS call (ECS and SSM point at a closed port here: a call
    would fail with a different message)."""
    nowhere = {"AWS_ENDPOINT_URL_ECS": "http://127.0.0.1:9", "AWS_ENDPOINT_URL_SSM": "http://127.0.0.1:9"}
    worker = run_ssmux("exec", "shop/worker/job", "--", "true", env=nowhere)
    assert worker.returncode == 1
    (line,) = worker.stderr.decode().splitlines()
    assert line.startswith("ssmux: error: shop/worker/job is not ready for ECS Exec: execute command is not")
    assert "--enable-execute-command" in line
    stuck = run_ssmux("connect", "shop/stuck/side", env=nowhere)
    assert stuck.returncode == 1
    (line,) = stuck.stderr.decode().splitlines()
    assert "ExecuteCommandAgent" in line and "STOPPED" in line
    forward = run_ssmux("forward", "shop/worker/job", "0:8080", env=nowhere)
    assert forward.returncode == 1 and "not ready for ECS Exec" in forward.stderr.decode()


def test_execute_command_denied_is_one_line_naming_the_action(synced: RunningEmulator) -> None:
    """A profile that may not call ecs:ExecuteCommand: one line saying so and what to allow, status 1."""
    result = run_ssmux("exec", "shop/web/app", "--aws-profile", "viewer", "--", "true")
    assert result.returncode == 1
    (line,) = result.stderr.decode().splitlines()
    assert line.startswith(
        "ssmux: error: AWS profile 'viewer' in eu-central-1 may not call ecs:ExecuteCommand"
    )
    assert "allow ecs:ExecuteCommand" in line


def test_forward_to_a_container_port_with_twenty_connections(synced: RunningEmulator) -> None:
    """`forward shop/web/app 0:PORT` (StartSession to the container's ecs: target): 20 connections at once
    each get their own bytes back."""

    async def scenario(port: int, echo: EchoServer) -> None:
        process, local, _ = await _start_forward("shop/web/app", f"0:{port}")
        try:
            payloads = [os.urandom(20_000 + index) + b"#%d" % index for index in range(20)]
            received = await asyncio.gather(*(round_trip(local, payload) for payload in payloads))
            assert received == payloads
            assert echo.connections == 20
        finally:
            status, rest = await stop_forward(process)
        assert status == 0
        assert rest.count("Connection accepted for session [") == 20

    with EchoServer() as echo:
        asyncio.run(scenario(echo.port, echo))


def test_aws_cli_backend_runs_ecs_execute_command_as_argv(synced: RunningEmulator, tmp_path: Path) -> None:
    """--backend aws-cli runs `aws ecs execute-command` with the synced container's cluster, task and
    container, each value one argument (a recording stand-in for aws)."""
    aws = make_recorder(tmp_path / "bin", "aws")
    make_recorder(tmp_path / "bin", "session-manager-plugin")
    env = {"PATH": f"{aws.parent}{os.pathsep}{os.environ['PATH']}"}
    result = run_ssmux("connect", "shop/web/app", "--backend", "aws-cli", "--command", "ls -la /", env=env)
    assert result.returncode == 0, result.stderr.decode()
    (call,) = calls(aws)
    argv = call["argv"][1:]
    assert argv[:3] == ["ecs", "execute-command", "--cluster"]
    task = argv[argv.index("--task") + 1]
    assert re.fullmatch(r"[0-9a-f]{32}", task)
    assert argv[3:] == [
        "shop", "--task", task, "--container", "app", "--interactive", "--command", "ls -la /",
        "--profile", "dev", "--region", "eu-central-1",
    ]  # fmt: skip


async def _start_forward(*args: str) -> tuple[asyncio.subprocess.Process, int, list[str]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ssmux", "forward", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
        env=dict(os.environ),
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    lines: list[str] = []
    port = None
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        if not line:
            error = (await process.stderr.read()).decode()
            raise AssertionError(f"forward ended early: {lines} {error}")
        lines.append(line.rstrip("\n"))
        if match := re.match(r"Port (\d+) opened for sessionId \S+\.$", line.strip()):
            port = int(match.group(1))
        if line.strip() == "Waiting for connections..." and port:
            return process, port, lines


@pytest.fixture
def spawn_ecs(synced: RunningEmulator) -> Iterator[object]:
    """``python -m ssmux ARGS`` on a real pty against this module's emulator; reaped when the test ends."""
    pexpect = pytest.importorskip("pexpect")
    children: list[object] = []

    def start(*args: str) -> object:
        env = {**os.environ, "TERM": "xterm"}
        child = pexpect.spawn(
            sys.executable, ["-m", "ssmux", *args], env=env, dimensions=(24, 80), timeout=30
        )
        children.append(child)
        return child

    yield start
    for child in children:
        child.close(force=True)  # type: ignore[attr-defined]


def test_scenario_is_json() -> None:
    """The scenario above is plain JSON (it is written to a file for the emulator)."""
    assert json.loads(json.dumps(SCENARIO)) == SCENARIO


def test_plugin_backend_hands_the_plugin_what_aws_ecs_execute_command_does(
    synced: RunningEmulator, tmp_path: Path
) -> None:
    """--backend plugin: ExecuteCommand here, then the plugin gets the aws CLI's ECS argv: the `session`
    JSON with lower-case keys, the region, StartSession, the profile, the ecs: target, the ECS endpoint."""
    plugin = make_recorder(tmp_path / "bin", "session-manager-plugin")
    env = {"PATH": f"{plugin.parent}{os.pathsep}{os.environ['PATH']}"}
    result = run_ssmux("connect", "shop/web/app", "--backend", "plugin", env=env)
    assert result.returncode == 0, result.stderr.decode()
    (call,) = calls(plugin)
    session, region, operation, profile, request, endpoint = call["argv"][1:]
    assert sorted(json.loads(session)) == ["sessionId", "streamUrl", "tokenValue"]
    assert json.loads(session)["sessionId"].startswith("ecs-execute-command")
    assert (region, operation, profile) == ("eu-central-1", "StartSession", "dev")
    assert re.fullmatch(r"ecs:shop_[0-9a-f]{32}_[0-9a-f]{32}-\d+", json.loads(request)["Target"])
    assert endpoint.startswith("http://127.0.0.1:")


def test_plugin_backend_with_ssmux_drop_in_runs_the_container_command(
    synced: RunningEmulator, tmp_path: Path
) -> None:
    """--backend plugin with ssmux's own session-manager-plugin (the drop-in) as the plugin: the whole
    chain, ExecuteCommand here and the ECS argv there, runs the command in the container."""
    from ssmux.sessions.shim import install_shim

    plugin = install_shim(tmp_path / "shim-bin")
    env = {"PATH": f"{plugin.parent}{os.pathsep}{os.environ['PATH']}"}
    command = "sh -c 'echo via-plugin-$ROLE'"
    result = run_ssmux("connect", "shop/web/app", "--backend", "plugin", "--command", command, env=env)
    assert result.returncode == 0, result.stderr.decode()
    assert b"via-plugin-shop-web-app" in result.stdout
    assert "Starting session with SessionId: ecs-execute-command" in result.stderr.decode()
