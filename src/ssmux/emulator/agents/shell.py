"""Shell agent: Standard_Stream and InteractiveCommands sessions, a real program in a real pty (spec §7.2).

* The session's command (a shell, or ``sh -c <command>`` for InteractiveCommands, resolved by the API side)
  runs in a new pty with ``TERM=xterm-256color`` and ``LANG=C.UTF-8`` when LANG is unset.
* Keys are written to the pty master as they come; the line discipline makes ``0x03`` a SIGINT.
* Size messages set the window size (``TIOCSWINSZ``); the kernel sends SIGWINCH.
* The shell starts when the session starts, before any client connects (the agent runs the plugin as soon
  as the service hands it the session; the data channel buffers what it says until a client is there).
* Output is paced like the agent's ``writePump`` (agent ``agent/session/shell/shell.go``): the first read
  comes 1 s after the pty starts (``executeCommandsWithPty`` passes ``initialWaitSecond`` 1), then reads of
  at most 1024 bytes with a 1 ms sleep after each, and none while the channel is paused (``IsActive``).
  :data:`~ssmux.emulator.agents.base.FAST` pacing drops the waits and reads more at once. The protocol
  layer sends it in messages of at most 1024 bytes, never splitting a UTF-8 sequence between two of them.
* When the program exits (end of pty output, or the child gone and the pty quiet), the agent asks the
  host to finish: drain, Terminating, then the gateway's channel_closed. The shell's exit status is not
  sent: the service reports none for shells.
* Stopping a running shell (TerminateSession, idle timeout) SIGKILLs the shell's process group, as the
  agent kills the shell (``execCmd.Kill()`` in ``executeCommandsWithPty``, ``execcmd.go``: ``Process.Kill``),
  then hangs up and reaps whatever else is left in its session so nothing outlives the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ssmux.emulator.agents.base import REALISTIC, SINK_LIMIT, Agent, AgentHost, Pacing, wait_readable

if TYPE_CHECKING:
    from ssmux.sessions.ptyproc import PtyProcess

log = logging.getLogger(__name__)

#: How often the pump checks that the child is still alive while the pty is quiet.
CHILD_POLL_INTERVAL = 0.25


class ShellAgent(Agent):
    """A program in a pty, relayed to the client.

    Args:
        host: the data channel.
        argv: program and arguments.
        env: extra environment variables (on top of this process's environment and TERM/LANG).
        cwd: working directory (default: the user's home directory when it exists).
        inherit_env: False: ``env`` is the whole environment (with TERM/LANG), as in an ECS container.
        pacing: how output is read (default: the agent's).
    """

    def __init__(
        self,
        host: AgentHost,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        pacing: Pacing = REALISTIC,
        *,
        inherit_env: bool = True,
    ) -> None:
        super().__init__(host)
        self.argv = list(argv)
        self.env = dict(env or {})
        self.cwd = cwd
        self.inherit_env = inherit_env
        self.pacing = pacing
        self.process: PtyProcess | None = None
        self._keys = bytearray()  # keys the pty could not take yet (its input queue was full)
        self._writer_registered = False
        self._stopped = False

    @property
    def ready(self) -> bool:
        """Input is taken once the pty exists (before that the client resends, spec §7.2) and keeps up."""
        return self.process is not None and not self._stopped and len(self._keys) < SINK_LIMIT

    async def start(self) -> None:
        """Spawn the program in a pty and start relaying its output."""
        from ssmux.sessions.ptyproc import PtyProcess  # POSIX only; imported when a shell is needed

        env = dict(os.environ) if self.inherit_env else {}
        env.update(self.env)
        env["TERM"] = "xterm-256color"
        if not env.get("LANG"):
            env["LANG"] = "C.UTF-8"
        cwd = self.cwd
        if cwd is None:
            home = env.get("HOME", "")
            cwd = home if home and os.path.isdir(home) else None  # noqa: PTH112 - a str path from the env
        self.process = PtyProcess.spawn(self.argv, env=env, cwd=cwd)
        log.debug("shell started: pid %s", self.process.pid)
        self.spawn(self._pump(), name=f"pty-pump-{self.process.pid}")

    def on_input(self, data: bytes) -> None:
        """Write the keys to the pty; what it cannot take now is written when it drains."""
        if self.process is None or self._stopped:
            return
        self._keys += data
        self._write_keys()

    def on_resize(self, cols: int, rows: int) -> None:
        """Set the pty's window size."""
        if self.process is not None and not self._stopped:
            with contextlib.suppress(OSError):
                self.process.resize(cols, rows)

    async def stop(self) -> None:
        """SIGKILL the program's process group, then reap everything in its session and close the pty."""
        if self._stopped:
            return
        self._stopped = True
        self._unregister_writer()
        await self.cancel_tasks()
        process = self.process
        if process is not None:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)  # the agent's execCmd.Kill(): no SIGHUP, no grace
            # close() may wait up to its grace period for stubborn jobs: keep the loop free meanwhile.
            await asyncio.to_thread(process.close)

    # -- internals ---------------------------------------------------------------------------------

    def _write_keys(self) -> None:
        assert self.process is not None
        try:
            while self._keys:
                written = self.process.write(bytes(self._keys[:4096]))
                if written == 0:
                    break
                del self._keys[:written]
        except OSError as error:
            log.debug("pty write failed: %s", error)
            self._keys.clear()
        if self._keys and not self._writer_registered:
            asyncio.get_running_loop().add_writer(self.process.fd, self._write_keys)
            self._writer_registered = True
        elif not self._keys:
            self._unregister_writer()

    def _unregister_writer(self) -> None:
        if self._writer_registered and self.process is not None:
            asyncio.get_running_loop().remove_writer(self.process.fd)
        self._writer_registered = False

    async def _pump(self) -> None:
        process = self.process
        assert process is not None
        pacing = self.pacing
        await asyncio.sleep(pacing.first_output_delay)  # writePump: "Wait for all input commands to run"
        while not self._stopped:
            await self.host.writable()
            try:
                data = process.read(pacing.read_size)
            except BlockingIOError:
                # Quiet pty: if the program has exited (a background job may still hold the pty open),
                # the session is over.
                if not await wait_readable(process.fd, CHILD_POLL_INTERVAL) and process.poll() is not None:
                    break
                continue
            except OSError as error:
                log.debug("pty read failed: %s", error)
                break
            if not data:
                break
            # The protocol layer cuts this into <= 1024-byte messages and holds back a split character.
            self.host.send_output(data)
            await asyncio.sleep(pacing.read_interval)  # writePump: "Wait for stdout to process more data"
        self._unregister_writer()
        self.host.finish()
