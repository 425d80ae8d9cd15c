"""Files to and from a tab in real Chromium against ``ssmux demo``: drop a file on the terminal, "Download…".

The same demo as ``test_browser_e2e.py`` (``ssmux demo --no-show``, Debian's Chromium): sync all, open a tab
on web-2, drag a file over its terminal and drop it, as a file manager would (Playwright dispatches the
drag events with a ``DataTransfer`` holding the file: a test cannot drag from the desktop). The progress and
the success notice show; ``ssmux exec`` on the target then sees the same bytes in the home folder. The tab's
menu "Download…" hands the file back to the browser, byte for byte. Fails on any console error.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

from .test_browser_e2e import TIMEOUT_MS, Demo, demo, dev_id, expected_pairs, wait_for_text

pytestmark = pytest.mark.e2e
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install playwright")

__all__ = ["demo"]  # the fixture, shared with test_browser_e2e.py

#: Spaces and non-ASCII in the name; bytes a text path would spoil (CR LF, NUL, Ctrl-C, invalid UTF-8).
NAME = "drop me ünï.bin"
BODY = os.urandom(2_000_000) + b"\r\n\x00\x03\x04\xff\xfe" + "ünï".encode()

#: Every text any notification showed, kept by the page itself as the DOM changes (a progress message
#: may last less than one poll of the test, but it is drawn, so the observer sees it).
RECORD_NOTES = """() => {
  window.ssmuxNotes = [];
  new MutationObserver(() => {
    for (const note of document.querySelectorAll('.q-notification__message')) {
      const text = note.textContent;
      if (window.ssmuxNotes[window.ssmuxNotes.length - 1] !== text) window.ssmuxNotes.push(text);
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""

#: A DataTransfer holding the file, as the browser makes one for a file dragged from the desktop.
DRAGGED_FILE = """([name, data]) => {
  const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, {type: 'application/octet-stream'}));
  return transfer;
}"""


def remote_sha256(demo: Demo, instance_id: str, path: str, tmp_path: Path) -> str:
    """The sha256 of ``path`` on the target, as ``ssmux exec`` there reads it (the demo's AWS config)."""
    assert demo.aws_config is not None and demo.aws_credentials is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST", "NICEGUI"))}
    env.update(AWS_CONFIG_FILE=str(demo.aws_config), AWS_SHARED_CREDENTIALS_FILE=str(demo.aws_credentials),
               SSMUX_HOME=str(tmp_path / "cli-home"))  # fmt: skip
    where = ["--aws-profile", "dev", "--region", "eu-central-1"]
    done = subprocess.run(
        [sys.executable, "-m", "ssmux", "exec", instance_id, *where, "--", f"sha256sum {path}"],
        capture_output=True, env=env, timeout=60, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout.decode().split()[0]


def test_drop_a_file_on_a_tab_then_download_it(demo: Demo, tmp_path: Path) -> None:
    """A file dropped on web-2's terminal shows its progress, lands in the home folder there with the same
    bytes, and "Download…" in the tab's menu gives the browser the same bytes back."""
    errors: list[str] = []
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1300, "height": 800}, accept_downloads=True)
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(demo.url)
            page.get_by_role("button", name="Sync all").click()
            page.get_by_text(f"synced {expected_pairs()} pairs").wait_for()
            page.locator(".ssmux-row", has_text=dev_id("web-2")).dblclick()
            tab = page.locator(".q-tab", has_text="web-2")
            tab.locator(".ssmux-dot-connected").wait_for()
            wait_for_text(page, r"ec2-user@web-2:~\$")

            # Drag the file over the terminal: the drop zone shows; drop it there.
            page.evaluate(RECORD_NOTES)
            dragged = page.evaluate_handle(DRAGGED_FILE, [NAME, base64.b64encode(BODY).decode()])
            panel = page.locator(".ssmux-drop-host:visible")
            zone = panel.locator(".ssmux-drop")
            assert zone.evaluate("(e) => getComputedStyle(e).opacity") == "0", "a drop zone shows undragged"
            panel.locator(".xterm").dispatch_event("dragenter", {"dataTransfer": dragged})
            page.wait_for_function("(e) => getComputedStyle(e).opacity > 0.5", arg=zone.element_handle())
            zone.dispatch_event("dragover", {"dataTransfer": dragged})
            panel.locator(".q-uploader__dnd").dispatch_event("drop", {"dataTransfer": dragged})
            page.get_by_text(f"Uploaded {NAME} to ~/ on web-2").wait_for()
            notes = page.evaluate("window.ssmuxNotes")
            assert any(note.startswith(f"Uploading {NAME}") for note in notes), notes
            assert any(re.search(r"\d+% \([\d.]+ of 2\.0 MB", note) for note in notes), notes
            assert re.search(r"Uploaded .* \(2\.0 MB, sha256 checked\)", notes[-1]), notes

            # On the target, the home folder holds the same bytes.
            quoted = '"$HOME"/' + shlex.quote(NAME)
            assert remote_sha256(demo, dev_id("web-2"), quoted, tmp_path) == hashlib.sha256(BODY).hexdigest()

            # "Download…" in the tab's menu: the browser gets the file.
            tab.locator("button").first.click()  # the tab's menu (the last button closes the tab)
            page.locator(".q-menu .q-item", has_text="Download…").click()
            path = page.get_by_label("Path on web-2")
            path.wait_for()
            assert path.input_value() == "~/"
            path.fill("~/" + NAME)
            with page.expect_download() as download:
                page.get_by_role("button", name="Download", exact=True).click()
            assert download.value.suggested_filename == NAME
            assert Path(download.value.path()).read_bytes() == BODY
            page.get_by_text(f"Downloaded {NAME} from web-2").wait_for()
            context.close()
        finally:
            browser.close()
    assert not errors, f"browser console errors: {errors}"
