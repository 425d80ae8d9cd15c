"""NonInteractiveCommands end to end: the real emulator process, boto3 StartSession, the data channel.

What the agent does with ``AWS-StartNonInteractiveCommand`` (amazon-ssm-agent ``agent/session/shell``): the
command string is split, not given to a shell; stdout and stderr apart with an exit code only when
``separateOutputStream`` is true, else merged and sent once the command has ended.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from typing import Any

import pytest

from tests.emulator.test_sessions_e2e import SCENARIO
from tests.support.emulator import RunningEmulator, start_emulator
from tests.support.wsclient import SessionDriver, first_instance, open_session

pytestmark = pytest.mark.e2e

DOCUMENT = "AWS-StartNonInteractiveCommand"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(SCENARIO, tmp_dir=tmp_path_factory.mktemp("command-e2e")) as running:
        yield running


@pytest.fixture(scope="module")
def ssm(emulator: RunningEmulator) -> Any:
    return emulator.client("ssm", "dev")


@pytest.fixture(scope="module")
def target(emulator: RunningEmulator) -> str:
    return first_instance(emulator)


async def run(ssm: Any, target: str, command: str, **parameters: str) -> SessionDriver:
    """Run one NonInteractiveCommands session to its end and return the finished driver."""
    params = {"command": [command], **{key: [value] for key, value in parameters.items()}}
    async with open_session(ssm, target=target, document_name=DOCUMENT, parameters=params) as s:
        await s.wait_closed()
        return s


def kinds(s: SessionDriver) -> list[str]:
    return [type(e).__name__ for e in s.events]


async def test_the_command_is_not_run_by_a_shell(ssm: Any, target: str) -> None:
    """`echo a; exit 3` runs echo with three arguments: `a; exit 3` is printed, no exit code is sent."""
    s = await run(ssm, target, "echo a; exit 3")
    assert bytes(s.output) == b"a; exit 3\n"
    assert bytes(s.stderr) == b""
    assert s.exit_code is None
    assert "ExitCode" not in kinds(s)
    assert s.session_type() == "NonInteractiveCommands"


async def test_by_default_stdout_and_stderr_are_merged_without_exit_code(ssm: Any, target: str) -> None:
    """separateOutputStream false (the default): both streams in Output, in order, and no EXIT_CODE."""
    s = await run(ssm, target, shlex.join(["sh", "-c", "echo out; echo err >&2; echo out2; exit 3"]))
    assert bytes(s.output) == b"out\nerr\nout2\n"
    assert bytes(s.stderr) == b""
    assert s.exit_code is None


async def test_separate_output_stream_splits_streams_and_sends_the_exit_code(ssm: Any, target: str) -> None:
    """separateOutputStream true: stdout as Output, stderr as StdErr, then EXIT_CODE, then channel_closed."""
    s = await run(ssm, target, shlex.join(["sh", "-c", "echo to-out; echo to-err >&2; exit 7"]),
                  separateOutputStream="true")  # fmt: skip
    assert bytes(s.output) == b"to-out\n"
    assert bytes(s.stderr) == b"to-err\n"
    assert s.exit_code == 7
    assert kinds(s).index("ExitCode") < kinds(s).index("ChannelClosed")


async def test_separator_prefixes_mark_each_stream(ssm: Any, target: str) -> None:
    """The prefixes go before the first read of each stream (and after a read that ended a line)."""
    s = await run(ssm, target, shlex.join(["sh", "-c", "printf 'one\\ntwo\\n'; printf 'e\\n' >&2"]),
                  separateOutputStream="true", stdoutSeparatorPrefix="OUT:",
                  stderrSeparatorPrefix="ERR:")  # fmt: skip
    assert bytes(s.output) == b"OUT:one\ntwo\n"
    assert bytes(s.stderr) == b"ERR:e\n"
    assert s.exit_code == 0


async def test_a_program_that_does_not_exist(ssm: Any, target: str) -> None:
    """Go's start error on StdErr; with separateOutputStream EXIT_CODE 1 comes first, without it none."""
    separate = await run(ssm, target, "no-such-program-here --x", separateOutputStream="true")
    assert separate.exit_code == 1
    assert bytes(separate.stderr) == b'exec: "no-such-program-here": executable file not found in $PATH'
    assert kinds(separate).index("ExitCode") < kinds(separate).index("StdErr")
    merged = await run(ssm, target, "no-such-program-here")
    assert merged.exit_code is None
    assert b"executable file not found" in merged.stderr


async def test_a_command_that_does_not_split(ssm: Any, target: str) -> None:
    """An unclosed quote: the agent cannot split it and says so on StdErr; nothing runs."""
    s = await run(ssm, target, "echo 'unclosed", separateOutputStream="true")
    assert bytes(s.stderr) == (
        b"Unable to start command: Failed to parse commands input: EOF found when expecting closing quote\n\n"
    )
    assert s.exit_code is None
    assert bytes(s.output) == b""


async def test_ctrl_c_signals_the_command_process(ssm: Any, target: str) -> None:
    """0x03 is delivered as SIGINT to the command's process (here a shell with a trap); other keys ignored."""
    script = "trap 'echo got-int; exit 5' INT; echo ready; while :; do sleep 0.1; done"
    params = {"command": [shlex.join(["sh", "-c", script])], "separateOutputStream": ["true"]}
    async with open_session(ssm, target=target, document_name=DOCUMENT, parameters=params) as s:
        await s.wait_for(b"ready")
        await s.send_input(b"ignored keys\r")
        await s.send_input(b"\x03")
        await s.wait_closed()
        assert b"got-int" in s.output
        assert b"ignored" not in s.output
        assert s.exit_code == 5


async def test_bad_separate_output_stream_properties_fail_the_session(ssm: Any, target: str) -> None:
    """A prefix the agent refuses fails the plugin: nothing runs, the session closes."""
    s = await run(ssm, target, "echo never", separateOutputStream="true", stdoutSeparatorPrefix="STD@OUT")
    assert bytes(s.output) == b""
    assert s.exit_code is None
    assert s.closed is not None
