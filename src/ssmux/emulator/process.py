"""Run ``ssmux emulator`` as a child process from ssmux itself (``ssmux demo``, the GUI's demo mode).

The child gets its own process, so its shells and moto never share the caller's event loop or signals;
:class:`EmulatorProcess` waits (bounded) for its ready line and always stops it: SIGTERM, a bounded wait,
then SIGKILL. If this process dies without stopping it (SIGKILL), the child still stops: its stdin is a pipe
whose only writer is this process, and it exits when that pipe ends (``--exit-on-stdin-eof``).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from ssmux.errors import BackendUnavailable

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0  # it ends every session first; a SIGKILL would orphan their shells


class EmulatorProcess:
    """A running ``ssmux emulator`` child.

    Args:
        args: Options for ``ssmux emulator`` (``["--scenario", "demo", "--aws-config-dir", dir]``).
        log: Where the child's stderr (its log) goes; None inherits this process's stderr.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. :attr:`ready` holds the ready line:
    ``endpoint``, ``aws_config_file``, ``aws_shared_credentials_file``.
    """

    def __init__(self, args: list[str], log: IO[bytes] | None = None) -> None:
        self.args = args
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.ready: dict[str, str] = {}

    def __enter__(self) -> EmulatorProcess:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self, timeout: float = READY_TIMEOUT) -> dict[str, str]:
        """Start the child and wait for its ready line.

        Raises:
            BackendUnavailable: It exited or stayed silent; the message says what it printed last.
        """
        argv = [sys.executable, "-m", "ssmux", "emulator", "--exit-on-stdin-eof", *self.args]
        # The stdin pipe's write end is not inheritable: only this process holds it, so its death ends it.
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, env={**os.environ}
        )
        stdout = self.process.stdout
        assert stdout is not None
        lines: queue.Queue[bytes] = queue.Queue()
        # readline() cannot time out, so it runs in a thread that ends with the pipe.
        threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            raise BackendUnavailable(
                f"the emulator printed nothing in {timeout:.0f} s: see its log above"
            ) from None
        if not line:
            status = self.process.wait(STOP_TIMEOUT)
            self.stop()
            raise BackendUnavailable(f"the emulator exited with status {status}: see its message above")
        self.ready = {key: str(value) for key, value in json.loads(line).items()}
        return self.ready

    def stop(self) -> int | None:
        """SIGTERM the child and wait for it (SIGKILL after a bound); returns its exit status."""
        if self.process is None:
            return None
        return stop_process(self.process)

    def env(self) -> dict[str, str]:
        """The variables that point boto3, the aws CLI and ssmux at this emulator."""
        return {
            "AWS_CONFIG_FILE": self.ready["aws_config_file"],
            "AWS_SHARED_CREDENTIALS_FILE": self.ready["aws_shared_credentials_file"],
        }

    @property
    def config_dir(self) -> Path:
        """Folder of the AWS config files."""
        return Path(self.ready["aws_config_file"]).parent


def stop_process(process: subprocess.Popen[Any]) -> int:
    """SIGTERM ``process``, wait for it (SIGKILL after a bound), close its pipes; return its exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()
    return process.returncode
