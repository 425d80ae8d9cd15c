"""NonInteractiveCommands agent: a command without a pty, stdout and stderr kept apart (spec §7.3).

* The command runs with stdin closed; stdout goes out as Output (type 1), stderr as StdErr (type 11), in
  messages of at most 1024 bytes with UTF-8 sequences kept whole (the protocol layer cuts them).
* When both streams end, the exit status goes out as ``EXIT_CODE: <n>`` (type 12), then the host finishes
  (channel_closed). Like the Go agent, a command killed by a signal reports ``-1``.
* Keys are not delivered: only ``0x03`` (SIGINT) and ``0x1C`` (SIGQUIT) are honoured, the first one found in
  a message. The signal goes to the command's process group so ``sh -c`` pipelines stop too. Size
  messages are ignored.
* A command that cannot start reports ``EXIT_CODE: 1`` and the error on stderr, as the agent does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Mapping, Sequence

from ssmux.emulator.agents.base import READ_SIZE, Agent, AgentHost

log = logging.getLogger(__name__)

#: Bytes honoured as signals in a NonInteractiveCommands session (``ByteControlSignalsLinux``).
CONTROL_SIGNALS = {0x03: signal.SIGINT, 0x1C: signal.SIGQUIT}

#: Seconds a stopped command gets between SIGTERM and SIGKILL.
STOP_GRACE = 0.5


class CommandAgent(Agent):
    """A command with pipes, relayed to the client.

    Args:
        host: the data channel.
        argv: program and arguments.
        env: extra environment variables.
        cwd: working directory (default: this process's).
    """

    def __init__(
        self,
        host: AgentHost,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> None:
        super().__init__(host)
        self.argv = list(argv)
        self.env = dict(env or {})
        self.cwd = cwd
        self.process: asyncio.subprocess.Process | None = None
        self._stopped = False

    @property
    def ready(self) -> bool:
        """Always ready: signals are honoured (or ignored) at once, as in the agent."""
        return True

    async def start(self) -> None:
        """Start the command; a command that cannot start is reported to the client, not raised."""
        env = dict(os.environ)
        env.update(self.env)
        if not env.get("LANG"):
            env["LANG"] = "C.UTF-8"
        try:
            if not self.argv:
                raise FileNotFoundError("the command is empty")
            self.process = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=self.cwd,
                start_new_session=True,  # its own process group, so a signal reaches the whole pipeline
            )
        except OSError as error:
            self.host.send_exit_code(1)
            self.host.send_stderr(f"Error occurred starting the command: {error}\n".encode())
            self.host.finish()
            return
        self.spawn(self._run(), name=f"command-{self.process.pid}")

    def on_input(self, data: bytes) -> None:
        """Deliver the first control byte of ``data`` as a signal; ignore everything else."""
        for byte in data:
            signum = CONTROL_SIGNALS.get(byte)
            if signum is not None:
                self._signal(signum)
                return

    async def stop(self) -> None:
        """Kill the command's process group if it still runs, and reap it."""
        if self._stopped:
            return
        self._stopped = True
        await self.cancel_tasks()
        process = self.process
        if process is None:
            return
        if process.returncode is None:
            self._signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(STOP_GRACE):
                    await process.wait()
            except TimeoutError:
                self._signal(signal.SIGKILL)
                await process.wait()
        # Children that outlived the command in its group must not linger either.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    # -- internals ---------------------------------------------------------------------------------

    def _signal(self, signum: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)

    async def _run(self) -> None:
        process = self.process
        assert process is not None and process.stdout is not None and process.stderr is not None
        await asyncio.gather(
            self._pump(process.stdout, self.host.send_output),
            self._pump(process.stderr, self.host.send_stderr),
        )
        returncode = await process.wait()
        self.host.send_exit_code(returncode if returncode >= 0 else -1)
        self.host.finish()

    async def _pump(self, stream: asyncio.StreamReader, send: Callable[[bytes], None]) -> None:
        while True:
            await self.host.writable()
            data = await stream.read(READ_SIZE)
            if not data:
                break
            send(data)  # cut into <= 1024-byte messages, characters kept whole, by the protocol layer
