"""``ssmux exec --group G | --tag K=V | TARGET... -- CMD`` end to end: the real ``ssmux``, the emulator.

The fleet is ten online instances ``node-1``..``node-10``, one whose agent is offline and one stopped, all
in one pair. The command picks its exit code from ``SSMUX_TARGET``, which ``exec`` exports on each target.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.emulator import start_emulator

pytestmark = pytest.mark.e2e

PAIR = "ops/eu-west-1"
BLUE = {"profile": "ops", "region": "eu-west-1", "tags": {"fleet": "blue"}}
SCENARIO = {
    "profiles": [{"name": "ops", "account_id": "313131313131", "region": "eu-west-1"}],
    "instances": [
        {**BLUE, "name": "node", "count": 10},
        {**BLUE, "name": "gone", "ssm": "offline"},
        {**BLUE, "name": "asleep", "state": "stopped"},
    ],
}
NODES = [f"node-{n}" for n in range(1, 11)]
#: Exit code n % 3 on node-n; its number on stdout, and on stderr too.
MIXED = 'n=${SSMUX_TARGET#node-}; echo "out $n"; echo "err $n" >&2; exit $((n % 3))'


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The emulator (realistic pacing) and an ssmux home that has synced its pair: the env to run ssmux in."""
    tmp = tmp_path_factory.mktemp("exec-many")
    with start_emulator(SCENARIO, tmp_dir=tmp / "emulator") as emulator:
        env = {**os.environ, **emulator.env(), "SSMUX_HOME": str(tmp / "home"), "NO_COLOR": "1"}
        for args in (("pair", "add", PAIR), ("sync",)):
            done = ssmux(env, *args)
            assert done.returncode == 0, done.stderr
        yield env


def ssmux(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m ssmux ARGS`` with pipes, bounded."""
    return subprocess.run(
        [sys.executable, "-m", "ssmux", *args],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=120, check=False,
    )  # fmt: skip


def test_group_exec_over_ten_targets_with_mixed_exit_codes(fleet: dict[str, str]) -> None:
    """Every node's lines come prefixed with its name, stdout on stdout and stderr on stderr; the summary
    counts 3 ok and 7 failed and names each failure with its code; the exit status is 1."""
    result = ssmux(fleet, "exec", "--tag", "fleet=blue", "node", "--", MIXED)
    assert result.returncode == 1, result.stderr
    width = len("node-10")
    assert sorted(result.stdout.splitlines()) == sorted(
        f"{name.ljust(width)} | out {name[5:]}" for name in NODES
    )
    err = result.stderr.splitlines()
    assert sorted(line for line in err if " | " in line) == sorted(
        f"{name.ljust(width)} | err {name[5:]}" for name in NODES
    )
    summary = err.index("ssmux: 10 targets: 3 ok, 7 failed, 0 unreachable")
    failures = {f"  {name}: exit {int(name[5:]) % 3}" for name in NODES if int(name[5:]) % 3}
    assert set(err[summary + 1 :]) == failures


def test_json_keeps_each_target_apart(fleet: dict[str, str]) -> None:
    """--json: one document with the summary and, per target, its stdout, stderr, exit code, duration."""
    result = ssmux(fleet, "exec", "--group", PAIR, "--json", "--max-parallel", "4", *NODES[:5], "--", MIXED)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["command"] == MIXED
    assert document["summary"] == {"total": 5, "ok": 1, "failed": 4, "unreachable": 0}
    by_name = {item["name"]: item for item in document["results"]}
    assert list(by_name) == NODES[:5]  # the order the targets were given
    for name, item in by_name.items():
        n = int(name[5:])
        assert set(item) == {"name", "instance_id", "aws_profile", "region", "status", "exit_code", "stdout",
                             "stderr", "duration", "error", "truncated"}  # fmt: skip
        assert (item["stdout"], item["stderr"], item["exit_code"]) == (f"out {n}\n", f"err {n}\n", n % 3)
        assert item["status"] == ("ok" if n % 3 == 0 else "failed")
        assert (item["aws_profile"], item["region"], item["error"]) == ("ops", "eu-west-1", None)
        assert item["instance_id"].startswith("i-") and item["duration"] > 0
    assert result.stderr == "ssmux: 5 targets: 1 ok, 4 failed, 0 unreachable\n" + "".join(
        f"  {name}: exit {int(name[5:]) % 3}\n" for name in NODES[:5] if int(name[5:]) % 3
    )


def test_an_offline_target_is_unreachable_and_the_rest_succeed(fleet: dict[str, str]) -> None:
    """The offline agent's target is counted unreachable, with why; the ten others run; stopped ones are
    left out, as 'ssmux ls' leaves them out; status 1."""
    result = ssmux(fleet, "exec", "--group", PAIR, "--json", "--", "echo ok")
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["summary"] == {"total": 11, "ok": 10, "failed": 0, "unreachable": 1}
    gone = next(item for item in document["results"] if item["name"] == "gone")
    assert gone["status"] == "unreachable" and gone["exit_code"] is None
    assert "not connected to Session Manager" in gone["error"]
    assert all(item["stdout"] == "ok\n" for item in document["results"] if item["name"] != "gone")
    assert "asleep" not in {item["name"] for item in document["results"]}
    assert "  gone: unreachable: " in result.stderr


def test_every_target_ok_exits_zero_and_single_target_exec_is_unchanged(fleet: dict[str, str]) -> None:
    """All ok: status 0. One TARGET before -- is the single-target exec: bare output, its own exit code."""
    many = ssmux(fleet, "exec", "node-1", "node-2", "--", "echo $SSMUX_TARGET")
    assert many.returncode == 0, many.stderr
    assert sorted(many.stdout.splitlines()) == ["node-1 | node-1", "node-2 | node-2"]
    single = ssmux(fleet, "exec", "node-3", "--", "echo out; exit 4")
    assert (single.returncode, single.stdout, single.stderr) == (4, "out\n", "")
    options_of_the_command = ssmux(fleet, "exec", "node-3", "echo", "--json")  # no --: the command's own
    assert (options_of_the_command.returncode, options_of_the_command.stdout) == (0, "--json\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--group", "nope/eu-west-1", "--", "true"), "ssmux: error: no targets in group 'nope/eu-west-1'"),
        (("--group", PAIR, "true"), "ssmux: error: no command: put it after --"),
        (("node-1", "nodex-1", "--", "true"), "ssmux: error: no target named 'nodex-1'; did you mean"),
        (("--tag", "=x", "--", "true"), "ssmux: error: invalid --tag '=x'"),
    ],
)
def test_bad_input_is_one_line_and_runs_nothing(
    fleet: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    """A group with no targets, a missing --, a TARGET that names nothing, a bad tag: one line, status 1."""
    result = ssmux(fleet, "exec", *args)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr


def test_help_shows_the_many_target_form(fleet: dict[str, str]) -> None:
    """'exec --help' names the many-target form; 'exec --group G --help' shows its options."""
    single = ssmux(fleet, "exec", "--help")
    assert "ssmux exec --group G | --tag K=V | TARGET..." in " ".join(single.stdout.split())
    many = ssmux(fleet, "exec", "--group", "x", "--help")
    assert many.returncode == 0 and "--max-parallel" in many.stdout and "--json" in many.stdout


def test_value_taking_options_are_not_targets() -> None:
    """Which command lines are many-target calls."""
    from ssmux.cli.exec_command import exec_command
    from ssmux.cli.exec_many import _value_options, exec_many, is_many

    values = _value_options(exec_command) | _value_options(exec_many)
    assert not is_many(["web-1", "--", "uptime"], values)
    assert not is_many(["--aws-profile", "dev", "web-1", "--", "uptime"], values)
    assert not is_many(["web-1", "curl", "--json", "x"], values)
    assert is_many(["web-1", "web-2", "--", "uptime"], values)
    assert is_many(["--group", "g", "--", "uptime"], values)
    assert is_many(["--tag=a=b", "--", "uptime"], values)
    assert not is_many(["web-1", "--", "a", "b", "--json"], values)


def test_a_target_past_its_timeout_fails_and_the_others_finish(fleet: dict[str, str]) -> None:
    """--timeout ends a target that takes too long (counted failed, saying why); quick ones pass."""
    slow = 'case $SSMUX_TARGET in node-2) sleep 60;; esac; echo "done $SSMUX_TARGET"'
    result = ssmux(fleet, "exec", "--timeout", "2", "--json", "node-1", "node-2", "--", slow)
    assert result.returncode == 1, result.stderr
    by_name = {item["name"]: item for item in json.loads(result.stdout)["results"]}
    assert (by_name["node-1"]["status"], by_name["node-1"]["stdout"]) == ("ok", "done node-1\n")
    assert (by_name["node-2"]["status"], by_name["node-2"]["error"]) == ("failed", "timed out after 2 s")
    assert no_active_sessions(fleet)


def no_active_sessions(env: dict[str, str]) -> bool:
    """The pair's account has no active session left (each run ended its own)."""
    import boto3
    import botocore.session

    core = botocore.session.Session()
    core.set_config_variable("config_file", env["AWS_CONFIG_FILE"])
    core.set_config_variable("credentials_file", env["AWS_SHARED_CREDENTIALS_FILE"])
    core.set_config_variable("profile", "ops")
    ssm = boto3.Session(botocore_session=core, region_name="eu-west-1").client("ssm")
    return not ssm.describe_sessions(State="Active")["Sessions"]


def test_ctrl_c_ends_every_running_session(fleet: dict[str, str]) -> None:
    """Ctrl-C while commands run: every session is terminated on the service, and the status is 130."""
    import signal

    process = subprocess.Popen(
        [sys.executable, "-m", "ssmux", "exec", "node-1", "node-2", "node-3", "--", "echo started; sleep 60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=fleet, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        started = [process.stdout.readline() for _ in range(3)]
        assert sorted(started) == [f"node-{n} | started\n" for n in (1, 2, 3)]
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, err
    assert "ssmux: interrupted: every started session was ended" in err
    assert "Traceback" not in err
    assert no_active_sessions(fleet)
