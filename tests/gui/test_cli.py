"""``ssmux ui`` and ``ssmux demo`` refuse what they cannot do, in one line, before starting anything."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ssmux", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(importlib.util.find_spec("webview") is not None, reason="pywebview is installed here")
def test_native_without_pywebview_says_what_to_install() -> None:
    """--native without pywebview: one line naming the package and the alternative, exit 1, no URL."""
    result = run("ui", "--native")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "ssmux: error: --native needs pywebview: pip install 'ssmux[native]' "
        "(or leave out --native to use the browser)"
    )


def test_demo_refuses_a_remote_host_before_starting_the_emulator() -> None:
    """`ssmux demo --host 0.0.0.0` fails at once with the same message as `ssmux ui`, starting nothing."""
    result = run("demo", "--no-show", "--host", "0.0.0.0")
    assert result.returncode == 1
    assert result.stderr.startswith("ssmux: error: --host 0.0.0.0 is not a loopback address")
    assert "emulator" not in result.stderr


def test_port_in_use_is_a_clear_error() -> None:
    """A port that is taken gives one line saying to pick another port."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = run("ui", "--no-show", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.startswith(f"ssmux: error: cannot listen on 127.0.0.1:{port}")
    assert "--port" in result.stderr


def test_ui_opens_the_browser_on_the_token_url(tmp_path: Path) -> None:
    """Without --no-show the app opens the printed URL in the browser ($BROWSER here records its argument)."""
    recorded = tmp_path / "opened.txt"
    browser = tmp_path / "fake-browser"
    browser.write_text(f"#!{sys.executable}\nimport sys\nopen({str(recorded)!r}, 'w').write(sys.argv[1])\n")
    browser.chmod(0o755)
    env = {**os.environ, "BROWSER": f"{browser} %s"}
    process = subprocess.Popen(
        [sys.executable, "-m", "ssmux", "ui"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not recorded.exists():
            time.sleep(0.1)
        assert recorded.read_text() == url
        assert "?token=" in url
    finally:
        process.terminate()
        process.wait(20)
        if process.stdout is not None:
            process.stdout.close()
