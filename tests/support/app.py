"""Run the real ``ssmux ui --no-show`` as a subprocess, for the tests of who may reach the app."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from ssmux.emulator.process import stop_process

#: The first line ``ssmux ui`` prints: the address with its one-time code.
URL_LINE = re.compile(r"^http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]{40,})$")
START_TIMEOUT = 60.0


@dataclass
class RunningUi:
    """A running ``ssmux ui``: the line it printed, its base URL and port, the code, the process, its log."""

    url: str
    base: str
    port: int
    token: str
    process: subprocess.Popen[str]
    log: Path

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def running_ui(log: Path, env: Mapping[str, str] | None = None) -> Iterator[RunningUi]:
    """Start ``ssmux ui --no-show`` (stderr to ``log``), wait (bounded) until it answers; stop and reap it."""
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "ssmux", "ui", "--no-show"],
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            text=True,
            env=None if env is None else dict(env),
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        match = URL_LINE.match(line)
        assert match, f"first line is not the URL: {line!r}; log: {log.read_text()}"
        port = int(match.group(1))
        running = RunningUi(line, f"http://127.0.0.1:{port}", port, match.group(2), process, log)
        _wait_until_serving(running)
        yield running
    finally:
        stop_process(process)


def _wait_until_serving(app: RunningUi) -> None:
    # The URL is printed before the server accepts.
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            httpx.get(app.base + "/", timeout=2.0)
            return
        except httpx.TransportError:
            assert app.process.poll() is None, app.stderr()
            time.sleep(0.1)
    raise AssertionError(f"the app never answered: {app.stderr()}")
