"""End to end in real Chromium against ``ssmux demo``: sync, tabs, typing, resizing, closing, reloading.

``ssmux demo --no-show`` runs as a subprocess (the emulator, a temporary ssmux home, the app), and Playwright
drives Debian's Chromium (``/usr/bin/chromium``) headless. The run saves a screenshot: into
``docs/screenshot.png`` for the README when ``SSMUX_UPDATE_SCREENSHOT=1`` (``make screenshot``), else into
the test's temporary folder, so a test run never changes the tree. Skipped only when Chromium or Playwright
is missing, and says so (under CI a skip fails the run: see the root conftest).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install playwright")

README_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot.png"
URL_LINE = re.compile(r"^http://127\.0\.0\.1:(\d+)/\?token=\S+$")
EXPORT_LINE = re.compile(r"export AWS_CONFIG_FILE=(\S+) AWS_SHARED_CREDENTIALS_FILE=(\S+)")
TIMEOUT_MS = 30_000


@dataclass
class Demo:
    url: str
    base: str
    process: subprocess.Popen[str]
    log: Path
    aws_config: Path | None = None
    aws_credentials: Path | None = None

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    """``ssmux demo --no-show --port 0`` until the test ends; then Ctrl-C, and it must clean up."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (install Debian's chromium package)")
    log = tmp_path / "demo.log"
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "ssmux", "demo", "--no-show", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    running = None
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        match = URL_LINE.match(line)
        assert match, f"first stdout line is not the URL: {line!r}\n{log.read_text()}"
        running = Demo(line, f"http://127.0.0.1:{match.group(1)}", process, log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not EXPORT_LINE.search(running.stderr()):
            time.sleep(0.1)
        found = EXPORT_LINE.search(running.stderr())
        assert found, running.stderr()
        running.aws_config, running.aws_credentials = Path(found.group(1)), Path(found.group(2))
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
    # Ctrl-C stopped everything: the demo exited and removed its temporary folder (with the emulator's).
    assert process.returncode is not None
    if running is not None and running.aws_config is not None:
        assert not running.aws_config.parent.parent.exists()


def ssm_sessions(demo: Demo, state: str) -> list[dict[str, object]]:
    """DescribeSessions of the demo's dev account, through its own AWS config files."""
    import boto3
    import botocore.session

    core = botocore.session.Session()
    core.set_config_variable("config_file", str(demo.aws_config))
    core.set_config_variable("credentials_file", str(demo.aws_credentials))
    core.set_config_variable("profile", "dev")
    client = boto3.Session(botocore_session=core, region_name="eu-central-1").client("ssm")
    return list(client.describe_sessions(State=state)["Sessions"])


def terminal_text(page: playwright_api.Page) -> str:
    """What the visible terminal shows, line by line."""
    return str(page.locator(".q-tab-panel:visible .xterm-rows").first.inner_text())


def wait_for_text(page: playwright_api.Page, pattern: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = terminal_text(page)
        if re.search(pattern, text, re.MULTILINE):
            return text
        page.wait_for_timeout(100)
    raise AssertionError(f"{pattern!r} not in the terminal:\n{text}")


def stty_size(page: playwright_api.Page, marker: str) -> tuple[int, int]:
    page.keyboard.type(f"echo {marker}-$(stty size | tr ' ' x)\n")
    text = wait_for_text(page, rf"^{marker}-\d+x\d+")
    rows, cols = re.findall(rf"^{marker}-(\d+)x(\d+)", text, re.MULTILINE)[-1]
    return int(rows), int(cols)


def dev_id(name: str) -> str:
    from ssmux.emulator.scenario import load_scenario

    return next(
        i.instance_id for i in load_scenario("demo").instances if i.name == name and i.profile == "dev"
    )


def expected_counts() -> Counter[str]:
    """Rows per group after a sync: every instance by pair (stopped ones are synced too), minus those the demo
    saved as profiles; the pairs the demo's sign-in discovered are named by account, role and region."""
    from ssmux.cli.demo import DEMO_DISCOVERED, DEMO_PROFILES, DEMO_SYNCED_ROLE
    from ssmux.emulator.scenario import load_scenario

    scenario = load_scenario("demo")
    assert scenario.sso is not None
    account_names = {account_id: name for account_id, name, _ in scenario.sso.accounts}
    saved = {(instance, profile) for _, instance, profile, _ in DEMO_PROFILES}
    counts: Counter[str] = Counter()
    for i in scenario.instances:
        if (i.name, i.profile) in saved:
            continue
        account = account_names[i.account_id]
        if (account, i.region) in DEMO_DISCOVERED:
            counts[f"{account} {DEMO_SYNCED_ROLE} {i.region}"] += 1
        else:
            counts[f"{i.profile}/{i.region}"] += 1
    counts["favourites"] = len(DEMO_PROFILES)
    return counts


def expected_pairs() -> int:
    """The demo's pairs: one per (profile, region) of its instances, and one per discovered account."""
    return len([group for group in expected_counts() if group != "favourites"])


def test_demo_in_chromium(demo: Demo) -> None:
    """Sync all, two tabs, 42, stty size follows the window, closing ends the session, reload keeps a tab."""
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # A request without the token is refused.
            stranger = browser.new_context()
            refused = stranger.request.get(demo.base + "/")
            assert refused.status == 403
            assert "token" in refused.text()
            stranger.close()

            context = browser.new_context(viewport={"width": 1400, "height": 860})
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(demo.url)
            assert page.url == demo.base + "/"  # the token left the address bar

            # Sync all: every pair of the demo shows up with its number of (running) instances.
            page.get_by_role("button", name="Sync all").click()
            for group, count in expected_counts().items():
                header = page.locator(".ssmux-group-header", has_text=group)
                header.get_by_text(f"({count})", exact=True).wait_for()
            page.get_by_text(f"synced {expected_pairs()} pairs").wait_for()

            # The connect dialog opens from the keyboard (Alt+T: browsers keep Ctrl+T for themselves).
            page.keyboard.press("Alt+t")
            page.get_by_text("New connection", exact=True).wait_for()
            page.keyboard.press("Escape")
            page.get_by_text("New connection", exact=True).wait_for(state="hidden")

            # Two sessions in tabs.
            page.locator(".ssmux-row", has_text=dev_id("web-3")).dblclick()
            page.locator(".q-tab", has_text="web-3").wait_for()
            wait_for_text(page, r"ec2-user@web-3:~\$")
            page.locator(".ssmux-row", has_text=dev_id("web-2")).dblclick()
            page.locator(".q-tab", has_text="web-2").wait_for()
            wait_for_text(page, r"ec2-user@web-2:~\$")
            assert page.locator(".q-tab .ssmux-dot-connected").count() == 2

            page.locator(".q-tab-panel:visible .xterm").click()
            page.keyboard.type("echo $((6*7))\n")
            wait_for_text(page, r"^42$")
            update = os.environ.get("SSMUX_UPDATE_SCREENSHOT") == "1"
            screenshot = README_SCREENSHOT if update else demo.log.with_name("screenshot.png")
            page.screenshot(path=str(screenshot))

            # The size reaches the remote pty on every resize.
            before = stty_size(page, "size1")
            page.set_viewport_size({"width": 1000, "height": 600})
            page.wait_for_timeout(700)
            after = stty_size(page, "size2")
            assert after != before
            assert after[0] < before[0] and after[1] < before[1]

            # Close the web-2 tab: its session ends on the service.
            active = {s["SessionId"] for s in ssm_sessions(demo, "Active")}
            assert len(active) == 2
            page.locator(".q-tab", has_text="web-2").locator("button").last.click()
            page.locator(".q-tab", has_text="web-2").wait_for(state="detached")
            deadline = time.monotonic() + 20
            while (
                time.monotonic() < deadline
                and len({s["SessionId"] for s in ssm_sessions(demo, "Active")}) != 1
            ):
                time.sleep(0.2)
            remaining = {s["SessionId"] for s in ssm_sessions(demo, "Active")}
            ended = {s["SessionId"] for s in ssm_sessions(demo, "History")}
            assert len(remaining) == 1
            assert active - remaining <= ended and len(active - remaining) == 1

            # Reload: the web-3 tab is still there, repainted and connected.
            page.reload()
            page.locator(".q-tab", has_text="web-3").wait_for()
            wait_for_text(page, r"ec2-user@web-3:~\$")
            page.locator(".q-tab .ssmux-dot-connected").wait_for()
            page.locator(".q-tab-panel:visible .xterm").click()
            page.keyboard.type("echo still-$((1+1))\n")
            wait_for_text(page, r"^still-2$")
            assert {s["SessionId"] for s in ssm_sessions(demo, "Active")} == remaining
            context.close()
        finally:
            browser.close()
    assert "6*7" not in demo.stderr()  # keystrokes are never logged
    assert shutil.which("true")  # the demo ran on a normal POSIX machine
