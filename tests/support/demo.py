"""Run the real ``ssmux demo`` as a user does, for tests of what it prints and what it leaves behind."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.emulator import RunningEmulator, stop_process

START_TIMEOUT = 90.0  # the machine is shared; the demo starts the emulator first
GONE_TIMEOUT = 60.0


@dataclass
class Demo:
    """A running ``ssmux demo`` and where its parts are."""

    process: subprocess.Popen[bytes]
    url: str
    tmp: Path  # its TMPDIR: the demo's temporary folder is made in here
    stderr: Path  # empty when stderr goes to stdout (``merge_stderr``)
    lines: queue.Queue[bytes]  # stdout's lines after the first (the URL), b"" at its end

    def read_until(self, text: str) -> list[str]:
        """stdout's next lines, up to the first that contains ``text`` (bounded wait)."""
        seen: list[str] = []
        while not seen or text not in seen[-1]:
            line = self.lines.get(timeout=START_TIMEOUT).decode(errors="replace")
            assert line, f"stdout ended before {text!r}: {seen}"
            seen.append(line.rstrip("\n"))
        return seen

    @property
    def root(self) -> Path:
        (root,) = self.tmp.glob("ssmux-demo-*")
        return root

    def emulator(self) -> RunningEmulator:
        aws = self.root / "aws"
        config = (aws / "config").read_text()
        endpoint = re.search(r"endpoint_url\s*=\s*(\S+)", config)
        assert endpoint is not None, config
        return RunningEmulator(
            endpoint.group(1), aws / "config", aws / "credentials", self.process, self.root / "emulator.log"
        )

    def ports(self) -> list[int]:
        """The app's port, the emulator's API port and its data-channel port."""
        emulator = self.emulator()
        data_channel = re.search(r"data channel port (\d+)", emulator.log())
        assert data_channel is not None, emulator.log()
        app = re.search(r":(\d+)/", self.url)
        assert app is not None, self.url
        api = int(emulator.endpoint.rsplit(":", 1)[1])
        return [int(app.group(1)), api, int(data_channel.group(1))]


@contextmanager
def running_demo(
    tmp_path: Path, *args: str, env: Mapping[str, str] | None = None, merge_stderr: bool = False
) -> Iterator[Demo]:
    """Start ``ssmux demo ARGS`` with its own TMPDIR; wait (bounded) for its first line, the URL.

    ``env`` replaces the environment (TMPDIR is added); ``merge_stderr`` sends stderr to stdout, as a
    terminal shows both, so the first line is the first thing a user sees.
    """
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    stderr = tmp_path / "demo.err"
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "ssmux", "demo", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else err,
            env={**(os.environ if env is None else env), "TMPDIR": str(tmp)},
        )  # fmt: skip
    try:
        stdout = process.stdout
        assert stdout is not None
        lines: queue.Queue[bytes] = queue.Queue()

        def pump() -> None:
            for line in stdout:
                lines.put(line)
            lines.put(b"")

        threading.Thread(target=pump, daemon=True).start()
        url = lines.get(timeout=START_TIMEOUT).decode().strip()
        assert url.startswith("http://127.0.0.1:"), (url, stderr.read_text())
        yield Demo(process, url, tmp, stderr, lines)
    finally:
        stop_process(process)
