"""NonInteractiveCommands agent: the command split like the SSM agent does and run without a shell or pty.

Follows amazon-ssm-agent ``agent/session/shell/shell.go`` and ``shell_unix.go`` (and
``agent/session/plugins/singlecommand/singlecommand_unix.go``) for the ``linux`` ``ShellConfig`` of the
session's document:

* ``commands`` empty: the plugin fails ("Commands cannot be empty ..."), nothing runs.
* ``separateOutputStream`` is read like ``parameters.ConvertToBool`` (absent or ``""``: false; Go's
  ``strconv.ParseBool`` spellings), the two prefixes must match ``^[0-9a-zA-Z\\r\\n_:-]{0,30}$``
  (``setSeparateOutputStreamProperties``); otherwise the plugin fails.
* ``commands`` is split with google/shlex (:mod:`.goshlex`) and the first word executed with the others as
  arguments: ``echo a; exit 3`` prints ``a; exit 3``. A string that does not split fails after 2 s with
  "Unable to start command: ..." on StdErr. Environment: the agent's own plus ``TERM=xterm-256color`` and
  ``LANG=C.UTF-8`` when LANG is unset. Stdin is closed.
* With ``separateOutputStream`` (``processCommandsWithOutputStreamSeparate``): stdout goes out as Output
  (type 1) and stderr as StdErr (type 11) while the command runs, each read of a pipe (at most
  1024 - len(prefix) bytes) preceded by the stream's prefix when the previous read ended a line (or it is
  the first); once both pipes end, the exit status as ``EXIT_CODE: <n>`` (type 12; ``-1`` for a command
  killed by a signal). A command that cannot start sends ``EXIT_CODE: 1`` then Go's start error on StdErr.
* Without it (``processCommandsWithExec``): stdout and stderr both go to one file; only when the command
  has exited is the file sent, as Output, and no exit code is sent. A command that cannot start sends
  Go's start error on StdErr.
* Keys are not delivered: only ``0x03`` (SIGINT) and ``0x1C`` (SIGQUIT) are honoured, the first found in a
  message, sent to the command's process (``InputStreamMessageHandler``, ``execcmd.go`` ``Signal``). Size
  messages are ignored.

Then the host finishes (Terminating, channel_closed). One thing is the emulator's own: stopping kills the
command's whole process group (the agent kills the process only), so no test leaves processes behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import signal
import tempfile
from collections.abc import Callable, Mapping
from typing import IO, Any

from ssmux.emulator.agents.base import FAST_READ_SIZE, REALISTIC, Agent, AgentHost, Pacing
from ssmux.emulator.agents.goshlex import SplitError, split
from ssmux.errors import SessionError
from ssmux.protocol.chunking import MAX_PAYLOAD_SIZE as MAX_PAYLOAD

log = logging.getLogger(__name__)

#: Bytes honoured as signals in a NonInteractiveCommands session (``ByteControlSignalsLinux``).
CONTROL_SIGNALS = {0x03: signal.SIGINT, 0x1C: signal.SIGQUIT}

#: Seconds a stopped command gets between SIGTERM and SIGKILL.
STOP_GRACE = 0.5

#: Seconds the agent waits before reporting a command that could not be prepared (``execute``).
START_ERROR_DELAY = 2.0

#: ``separateOutputStreamPrefixRegex`` (Go ``MatchString``: ``$`` is the end of the text).
_PREFIX = re.compile(r"[0-9a-zA-Z\r\n_:-]{0,30}")
#: ``strconv.ParseBool``.
_BOOLS = {
    **dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True),
    **dict.fromkeys(("0", "f", "F", "FALSE", "false", "False"), False),
}


def separate_output(config: Mapping[str, Any]) -> tuple[bool, str, str]:
    """``(separateOutputStream, stdout prefix, stderr prefix)`` of a ``ShellConfig``, checked like the agent.

    Raises:
        SessionError: the value is not a boolean, or a prefix is not allowed (the plugin fails).
    """
    value = config.get("separateOutputStream")
    if value is None or value == "":
        separate = False
    elif isinstance(value, bool):
        separate = value
    elif isinstance(value, str) and value in _BOOLS:
        separate = _BOOLS[value]
    elif isinstance(value, str):
        raise SessionError(
            "fail to get separateOutPutStream property: unable to convert separateOutPutStream: "
            f'invalid input strconv.ParseBool: parsing "{value}": invalid syntax'
        )
    else:
        raise SessionError(
            "fail to get separateOutPutStream property: unable to convert separateOutPutStream: "
            "invalid parameter type"
        )
    if not separate:
        return False, "", ""
    prefixes = []
    for key, name in (("stdOutSeparatorPrefix", "stdoutSeparatorPrefix"),
                      ("stdErrSeparatorPrefix", "stderrSeparatorPrefix")):  # fmt: skip
        prefix = str(config.get(key) or "")
        if not _PREFIX.fullmatch(prefix):
            raise SessionError(f"invalid {name} {prefix}")
        prefixes.append(prefix)
    return True, prefixes[0], prefixes[1]


class CommandAgent(Agent):
    """A NonInteractiveCommands plugin for one session.

    Args:
        host: the data channel.
        config: the document's resolved ``linux`` ``ShellConfig`` (``commands``, ``separateOutputStream``,
            ``stdOutSeparatorPrefix``, ``stdErrSeparatorPrefix``).
        env: extra environment variables.
        cwd: working directory (default: this process's).
        pacing: read sizes and waits (:data:`~.base.REALISTIC`: the agent's).
        inherit_env: False: ``env`` is the whole environment (with TERM/LANG), as in an ECS container.
    """

    def __init__(
        self,
        host: AgentHost,
        config: Mapping[str, Any],
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        pacing: Pacing = REALISTIC,
        *,
        inherit_env: bool = True,
    ) -> None:
        super().__init__(host)
        self.inherit_env = inherit_env
        self.commands = str(config.get("commands") or "")
        self.config = dict(config)
        self.env = dict(env or {})
        self.cwd = cwd
        self.pacing = pacing
        self.argv: list[str] = []
        self.process: asyncio.subprocess.Process | None = None
        self._output: IO[bytes] | None = None
        self._stopped = False

    @property
    def ready(self) -> bool:
        """Always ready: signals are honoured (or ignored) at once, as in the agent."""
        return True

    async def start(self) -> None:
        """Check the properties, split the command and run it; failures are reported as the agent does.

        Raises:
            SessionError: empty ``commands`` or bad separateOutputStream properties (the plugin fails).
        """
        if not self.commands.strip():
            raise SessionError("Commands cannot be empty for session type NonInteractiveCommands")
        separate, out_prefix, err_prefix = separate_output(self.config)
        try:
            self.argv = split(self.commands)
        except SplitError as error:
            reason = f"Failed to parse commands input: {error}\n"
            self.spawn(self._fail_to_prepare(reason), name="command-error")
            return
        if not self.argv:
            # The agent indexes commands[0] and its plugin crashes: the session ends with nothing said.
            self.host.finish()
            return
        if separate:
            await self._start_separate(out_prefix, err_prefix)
        else:
            await self._start_merged()

    def on_input(self, data: bytes) -> None:
        """Deliver the first control byte of ``data`` as a signal to the command; ignore everything else."""
        for byte in data:
            signum = CONTROL_SIGNALS.get(byte)
            if signum is not None:
                if self.process is not None and self.process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        self.process.send_signal(signum)
                return

    async def stop(self) -> None:
        """Kill the command (and, unlike the agent, its process group) if it still runs, and reap it."""
        if self._stopped:
            return
        self._stopped = True
        await self.cancel_tasks()
        process = self.process
        if process is not None:
            if process.returncode is None:
                self._signal_group(signal.SIGTERM)
                try:
                    async with asyncio.timeout(STOP_GRACE):
                        await process.wait()
                except TimeoutError:
                    self._signal_group(signal.SIGKILL)
                    await process.wait()
            self._signal_group(signal.SIGKILL)  # children that outlived the command must not linger
        if self._output is not None:
            self._output.close()

    # -- internals ---------------------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ) if self.inherit_env else {}
        env.update(self.env)
        env["TERM"] = "xterm-256color"
        if not env.get("LANG"):
            env["LANG"] = "C.UTF-8"
        return env

    async def _exec(self, stdout: Any, stderr: Any) -> str | None:
        """Start the command; None, or the error text Go's ``exec.Cmd.Start`` would give."""
        env = self._environment()
        program = self.argv[0]
        if "/" not in program and shutil.which(program, path=env.get("PATH", os.defpath)) is None:
            return f'exec: "{program}": executable file not found in $PATH'
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=env,
                cwd=self.cwd, start_new_session=True,  # a group of its own, for stop() only
            )  # fmt: skip
        except OSError as error:
            reason = (error.strerror or str(error)).lower()
            return f"fork/exec {program}: {reason}"
        return None

    async def _fail_to_prepare(self, error: str) -> None:
        if self.pacing.first_output_delay > 0:
            await asyncio.sleep(START_ERROR_DELAY)
        self.host.send_stderr(f"Unable to start command: {error}\n".encode())
        self.host.finish()

    async def _start_separate(self, out_prefix: str, err_prefix: str) -> None:
        error = await self._exec(asyncio.subprocess.PIPE, asyncio.subprocess.PIPE)
        if error is not None:
            self.host.send_exit_code(1)
            self.host.send_stderr(error.encode())
            self.host.finish()
            return
        self.spawn(self._run_separate(out_prefix.encode(), err_prefix.encode()), name="command-separate")

    async def _run_separate(self, out_prefix: bytes, err_prefix: bytes) -> None:
        process = self.process
        assert process is not None and process.stdout is not None and process.stderr is not None
        await asyncio.gather(
            self._pump(process.stdout, out_prefix, self.host.send_output),
            self._pump(process.stderr, err_prefix, self.host.send_stderr),
        )
        returncode = await process.wait()
        self.host.send_exit_code(returncode if returncode >= 0 else -1)
        self.host.finish()

    async def _pump(self, stream: asyncio.StreamReader, prefix: bytes, send: Callable[[bytes], None]) -> None:
        size = (MAX_PAYLOAD if self.pacing.read_size <= MAX_PAYLOAD else FAST_READ_SIZE) - len(prefix)
        need_prefix = True
        while True:
            await self.host.writable()
            data = await stream.read(size)
            if not data:
                return
            # setupRoutineToWriteCmdPipelineOutput: the prefix goes before the first read, and before each
            # read that follows one ending with a newline.
            send(prefix + data if need_prefix else data)
            need_prefix = data.endswith(b"\n")

    async def _start_merged(self) -> None:
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        error = await self._exec(self._output, self._output)
        if error is not None:
            self.host.send_stderr(error.encode())
            self.host.finish()
            return
        self.spawn(self._run_merged(), name="command-merged")

    async def _run_merged(self) -> None:
        process, output = self.process, self._output
        assert process is not None and output is not None
        await process.wait()
        # processCommandsWithExec: the output file is read and sent once the command has exited.
        output.seek(0)
        while True:
            await self.host.writable()
            data = output.read(self.pacing.read_size)
            if not data:
                break
            self.host.send_output(data)
            await asyncio.sleep(self.pacing.read_interval)
        self.host.finish()

    def _signal_group(self, signum: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)
