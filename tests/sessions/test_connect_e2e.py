"""``ssmux connect`` end to end: a real pty on our side (pexpect), the emulator's real shell on the other."""

from __future__ import annotations

import os
import shlex
import signal
import sys
import time
from typing import Any

import pexpect
import pytest

from tests.support.emulator import RunningEmulator

from .conftest import demo_instance, run_ssmux

pytestmark = pytest.mark.e2e

WEB1 = demo_instance("web-1")
PROMPT = r"web-1:~\$ "


def connect(spawn: Any, *extra: str, rows: int = 24, cols: int = 80) -> Any:
    child = spawn(
        "connect", WEB1, "--aws-profile", "dev", "--backend", "native", *extra, rows=rows, cols=cols
    )
    child.expect("Starting session with SessionId: ")
    child.expect(PROMPT)
    return child


def session_states(emulator: RunningEmulator, state: str) -> set[str]:
    client = emulator.client("ssm", "dev", "eu-central-1")
    return {item["SessionId"] for item in client.describe_sessions(State=state)["Sessions"]}


def test_prompt_echo_and_exit(spawn: Any) -> None:
    """The remote prompt appears, output comes back, exit ends the session with the plugin's line."""
    child = connect(spawn)
    child.sendline("echo $((6*7))")
    child.expect("42")
    child.expect(PROMPT)
    child.sendline("exit")
    child.expect(r"Exiting session with sessionId: \S+\.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_window_size_at_start_and_on_resize(spawn: Any) -> None:
    """``stty size`` on the remote side shows our size at start, and the new one after a resize."""
    child = connect(spawn, rows=31, cols=97)
    child.sendline("stty size")
    child.expect("31 97")
    child.expect(PROMPT)
    child.setwinsize(42, 133)  # sends SIGWINCH to ssmux
    deadline = time.monotonic() + 20
    while True:
        child.sendline("stty size")
        index = child.expect(["42 133", PROMPT])
        if index == 0:
            break
        assert time.monotonic() < deadline, "the new size never reached the remote pty"
        time.sleep(0.2)
    child.sendline("exit")
    child.expect(pexpect.EOF)


def test_ctrl_c_interrupts_the_remote_command_not_the_session(spawn: Any) -> None:
    """Ctrl-C stops a remote ``sleep 100`` and the same session goes on."""
    child = connect(spawn)
    child.sendline("sleep 100; echo slept")
    time.sleep(1.0)
    child.sendcontrol("c")
    child.expect(PROMPT, timeout=10)
    child.sendline("echo still-$((40+2))")
    child.expect("still-42")
    assert b"slept" not in child.before
    child.sendline("exit")
    child.expect(pexpect.EOF)


def test_non_ascii_round_trip(spawn: Any) -> None:
    """Umlauts, the euro sign and a 4-byte emoji typed here arrive as the same UTF-8 bytes and come back."""
    child = connect(spawn)
    text = "äöü € 😀"
    child.sendline(f"printf '%s' '{text}' | od -An -tx1")
    child.expect("c3 a4 c3 b6 c3 bc 20 e2 82 ac 20 f0 9f 98 80")
    child.expect(PROMPT)
    child.sendline(f"echo '<{text}>'")
    child.expect(f"<{text}>".encode())
    child.sendline("exit")
    child.expect(pexpect.EOF)


def test_shell_exit_status_is_not_reported_by_the_service(spawn: Any) -> None:
    """``exit 3`` in a shell ends the session; the service reports no shell exit code, so the status is 0."""
    child = connect(spawn)
    child.sendline("exit 3")
    child.expect(r"Exiting session with sessionId")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_remote_exit_code_is_the_exit_status_when_known(spawn: Any) -> None:
    """A NonInteractiveCommands session on a terminal ends with the remote command's exit code (which the
    agent sends with separateOutputStream; the command is split, not run by a shell, so sh -c is explicit)."""
    child = spawn(
        "connect", WEB1, "--aws-profile", "dev", "--backend", "native",
        "--document", "AWS-StartNonInteractiveCommand", "--parameter", "command=sh -c 'echo ran; exit 3'",
        "--parameter", "separateOutputStream=true",
    )  # fmt: skip
    child.expect("ran")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 3


def test_escape_disconnects_and_terminates_the_session(spawn: Any, demo_env: RunningEmulator) -> None:
    """Enter then ``~.`` ends the session here and on the service; the status is 0."""
    child = connect(spawn)
    child.sendline("echo ready")
    child.expect("ready")
    child.expect(PROMPT)
    child.send("~.")
    child.expect(r"Exiting session with sessionId: (\S+)\.")
    session_id = child.match.group(1).decode()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert session_id not in session_states(demo_env, "Active")
    assert session_id in session_states(demo_env, "History")


def test_tilde_inside_a_line_is_typed(spawn: Any) -> None:
    """``~.`` in the middle of a line is ordinary text for the remote shell."""
    child = connect(spawn)
    child.sendline("echo a~.b")
    child.expect(r"a~\.b\r\n")
    child.sendline("exit")
    child.expect(pexpect.EOF)


@pytest.mark.parametrize("ending", ["exit", "escape", "sigterm"])
def test_terminal_is_restored_on_every_exit_path(demo_env: RunningEmulator, ending: str) -> None:
    """After the session ends (exit, ~., SIGTERM) the local terminal is back in cooked mode."""
    command = shlex.join(
        [sys.executable, "-m", "ssmux", "connect", WEB1, "--aws-profile", "dev", "--backend", "native"]
    )
    shell = pexpect.spawn(
        "/bin/sh",
        ["-c", f"{command}; echo STATUS=$?; stty -a"],
        env={**os.environ, "TERM": "xterm"},
        timeout=30,
    )
    try:
        shell.expect(PROMPT)
        if ending == "exit":
            shell.sendline("exit")
        elif ending == "escape":
            shell.send("\r~.")
        else:
            os.kill(child_of(shell.pid), signal.SIGTERM)
        shell.expect(r"STATUS=(\d+)")
        status = int(shell.match.group(1))
        shell.expect(pexpect.EOF)
        modes = f" {shell.before.decode()} ".replace("\r\n", " ").replace(";", " ")
        assert " icanon " in modes and " echo " in modes and " isig " in modes and " opost " in modes
        assert status == (130 if ending == "sigterm" else 0)
    finally:
        shell.close(force=True)


def child_of(parent: int) -> int:
    """The pid of a child process of ``parent`` (Linux /proc)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()  # noqa: SIM115
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                return int(entry)
    raise LookupError(f"process {parent} has no child")


def test_ctrl_z_and_ctrl_backslash_reach_the_remote_side(spawn: Any) -> None:
    """Ctrl-Z stops the remote job and Ctrl-\\ quits one; ssmux itself is neither stopped nor quit."""
    child = connect(spawn)
    child.sendline("sleep 100")
    time.sleep(1.0)
    child.sendcontrol("z")
    child.expect("Stopped")
    child.expect(PROMPT)
    child.sendline("kill -9 %1; wait %1 2>/dev/null; echo gone-$((1+1))")
    child.expect("gone-2")
    child.expect(PROMPT)
    child.sendline("sleep 100")
    time.sleep(1.0)
    child.sendcontrol("\\")
    child.expect("Quit")
    child.expect(PROMPT)
    child.sendline("echo alive-$((9*9))")
    child.expect("alive-81")
    child.sendline("exit")
    child.expect(pexpect.EOF)


def test_pipe_mode(demo_env: RunningEmulator) -> None:
    """stdin not a terminal: the script runs as a command; stdout is exactly its output, errors stay on
    stderr, and the exit status is the script's (ls of a missing folder: 2)."""
    result = run_ssmux(
        "connect", WEB1, "--aws-profile", "dev", "--backend", "native",
        input=b"echo piped-$((2+3))\nls /nonexistent-dir\n",
    )  # fmt: skip
    stdout, stderr = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 2, stderr
    assert stdout == "piped-5\n"
    assert "No such file or directory" in stderr


def test_kms_encrypted_session(spawn: Any) -> None:
    """A prod session is KMS-encrypted: the handshake's notice is shown and the shell works through it."""
    child = spawn("connect", demo_instance("web-1", "prod"), "--aws-profile", "prod", "--backend", "native")
    child.expect("This session is encrypted using AWS KMS.")
    child.expect(PROMPT)
    child.sendline("echo secret-$((3*3))")
    child.expect("secret-9")
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_target_not_connected(demo_env: RunningEmulator) -> None:
    """An offline agent: one line saying so and what to check, exit status 1."""
    target = demo_instance("batch-1", "prod")
    result = run_ssmux(
        "connect", target, "--aws-profile", "prod", "--region", "us-west-2", "--backend", "native"
    )
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert stderr.startswith("ssmux: error: ") and "is not connected to Session Manager" in stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr


def test_unknown_target(demo_env: RunningEmulator) -> None:
    """A name that matches nothing: one line pointing at ls and sync, exit 1."""
    result = run_ssmux("connect", "no-such-box", "--backend", "native")
    assert result.returncode == 1
    assert result.stderr.decode() == (
        "ssmux: error: no target named 'no-such-box': see 'ssmux ls' (run 'ssmux sync' to refresh it), "
        "or give an instance id\n"
    )


def test_recent_lists_updated_by_a_session(demo_env: RunningEmulator) -> None:
    """A session puts its instance, profile and region at the front of the recent lists."""
    from ssmux.core.store import load_settings

    result = run_ssmux("connect", WEB1, "--aws-profile", "dev", "--backend", "native", input=b"exit\n")
    assert result.returncode == 0, result.stderr.decode()
    settings = load_settings()
    assert settings.recent_instance_ids[0] == WEB1
    assert settings.recent_aws_profiles[0] == "dev"
    assert settings.recent_regions[0] == "eu-central-1"
