"""The app's look and behaviour in real Chromium at 1x pixel density, against one ``ssmux demo``.

What only a browser shows: pixels of the terminal (an underscore is drawn), scrolling (the selected row
stays in view), the splitter between the panel and the tabs (dragged, remembered across a reload), chips
that end in an ellipsis, tabs that name their AWS profile/region, and the error card of a failed session.
One demo and one page serve the whole module; every test fails on a browser console error.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ssmux.emulator.process import stop_process
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install playwright")

TIMEOUT_MS = 30_000
VIEWPORT = {"width": 1400, "height": 860}


@dataclass
class App:
    """The demo's page in Chromium, and what its console reported."""

    page: Any
    errors: list[str] = field(default_factory=list)

    def no_errors(self) -> None:
        errors, self.errors[:] = list(self.errors), []
        assert not errors, f"browser console errors: {errors}"


def demo_id(name: str | None, profile: str = "dev") -> str:
    from ssmux.emulator.scenario import load_scenario

    return next(
        i.instance_id for i in load_scenario("demo").instances if i.name == name and i.profile == profile
    )


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """``ssmux demo --no-show --port 0``, synced, in one Chromium page at device scale factor 1."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (install Debian's chromium package)")
    log = tmp_path_factory.mktemp("browser-ui") / "demo.log"
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "ssmux", "demo", "--no-show", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), (
            f"first stdout line is not the URL: {url!r}\n{log.read_text()}"
        )
        with playwright_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
                page = context.new_page()
                page.set_default_timeout(TIMEOUT_MS)
                running = App(page)
                page.on("console", lambda m: running.errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda error: running.errors.append(str(error)))
                page.goto(url)
                page.get_by_role("button", name="Sync all").click()
                page.get_by_text("synced 4 pairs").wait_for()
                yield running
            finally:
                browser.close()
    finally:
        stop_process(process)


def open_tab(app: App, instance_id: str, prompt: str) -> None:
    """Double-click the row of ``instance_id`` and wait for the prompt in its tab's terminal."""
    page = app.page
    count = page.locator(".q-tab").count()
    page.locator(".ssmux-row", has_text=instance_id).dblclick()
    page.wait_for_function(f"document.querySelectorAll('.q-tab').length > {count}")
    page.locator(".q-tab-panel:visible .xterm-rows").wait_for()
    wait_for_text(page, prompt)


def terminal_text(page: Any) -> str:
    return str(page.locator(".q-tab-panel:visible .xterm-rows").first.inner_text())


def wait_for_text(page: Any, pattern: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = terminal_text(page)
        if re.search(pattern, text, re.MULTILINE):
            return text
        page.wait_for_timeout(100)
    raise AssertionError(f"{pattern!r} not in the terminal:\n{text}")


def close_tabs(app: App) -> None:
    page = app.page
    while page.locator(".q-tab").count():
        count = page.locator(".q-tab").count()
        page.locator(".q-tab").first.locator("button").last.click()
        page.wait_for_function(f"document.querySelectorAll('.q-tab').length < {count}")


# A PNG as Chromium's screenshots write it: 8-bit RGB or RGBA, not interlaced.
def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the rows of (R, G, B[, A]) bytes of a PNG screenshot."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks, header = 8, b"", b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks += body
        offset += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, "an unexpected PNG format"
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(chunks)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + best) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, [bytes(row[i] for i in range(len(row)) if i % channels < 3) for row in rows]


def bright_pixels(rows: list[bytes], box: tuple[int, int, int, int]) -> int:
    """Pixels in ``box`` (left, top, right, bottom) as bright as text on the terminal's dark background."""
    left, top, right, bottom = box
    count = 0
    for y in range(top, bottom):
        row = rows[y]
        for x in range(left, right):
            red, green, blue = row[3 * x : 3 * x + 3]
            if (red + green + blue) / 3 > 110:
                count += 1
    return count


_CELLS_JS = """
([text, indexes]) => {
  const rows = [...document.querySelectorAll('.q-tab-panel:not([style*="display: none"]) .xterm-rows > div')];
  const row = rows.reverse().find((r) => r.textContent.replace(/\\s+$/, '') === text);
  if (!row) return null;
  const box = row.getBoundingClientRect();
  const walker = document.createTreeWalker(row, NodeFilter.SHOW_TEXT);
  const cells = [];
  let seen = 0;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.length; i++, seen++) {
      if (!indexes.includes(seen)) continue;
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const r = range.getBoundingClientRect();
      cells.push([r.left, r.right]);
    }
  }
  return { top: box.top, bottom: box.bottom, cells };
}
"""


def test_an_underscore_is_drawn_at_1x(app: App) -> None:
    """At device scale 1 the underscore of ``a_ b`` has lit pixels in its cell; the space next to it none."""
    page = app.page
    open_tab(app, demo_id("web-3"), r"ec2-user@web-3:~\$")
    page.locator(".q-tab-panel:visible .xterm").click()
    page.keyboard.type("echo 'a_ b'\n")
    wait_for_text(page, r"^a_ b$")
    found = page.evaluate(_CELLS_JS, ["a_ b", [1, 2]])
    assert found is not None, terminal_text(page)
    top, bottom = int(found["top"]), int(found["bottom"])
    (underscore_left, underscore_right), (space_left, space_right) = found["cells"]
    # Only what the row's box shows counts: xterm.js clips each row to it.
    shot = page.screenshot(clip={"x": 0, "y": top, "width": VIEWPORT["width"], "height": bottom - top})
    _, height, rows = decode_png(shot)
    lower = (height // 2, height)
    underscore = (int(underscore_left) + 1, lower[0], int(underscore_right) - 1, lower[1])
    space = (int(space_left) + 1, lower[0], int(space_right) - 1, lower[1])
    assert bright_pixels(rows, underscore) >= 3, "the underscore is not drawn (clipped by the row's height)"
    assert bright_pixels(rows, space) == 0
    close_tabs(app)
    app.no_errors()


def selected_row_visible(page: Any) -> bool:
    return bool(
        page.evaluate(
            """() => {
              const row = document.querySelector('.ssmux-row-selected');
              const list = document.querySelector('.ssmux-panel-list');
              if (!row || !list) return false;
              const r = row.getBoundingClientRect(), l = list.getBoundingClientRect();
              return r.top >= l.top - 1 && r.bottom <= l.bottom + 1;
            }"""
        )
    )


def test_arrow_keys_keep_the_selected_row_in_view(app: App) -> None:
    """Down through more rows than the panel shows: the selected row scrolls into view, no console error."""
    page = app.page
    page.set_viewport_size({"width": VIEWPORT["width"], "height": 420})
    try:
        rows = page.locator(".ssmux-row")
        total = rows.count()
        list_box = page.locator(".ssmux-panel-list").bounding_box()
        assert rows.last.bounding_box()["y"] > list_box["y"] + list_box["height"], "every row fits: no test"
        rows.first.click()
        page.locator(".ssmux-row-selected").wait_for()
        for index in range(1, total):
            page.keyboard.press("ArrowDown")
            rows.nth(index).and_(page.locator(".ssmux-row-selected")).wait_for()
            deadline = time.monotonic() + 5
            while not selected_row_visible(page) and not app.errors and time.monotonic() < deadline:
                page.wait_for_timeout(50)
            app.no_errors()
            assert selected_row_visible(page), f"row {index} of {total} is selected but out of view"
    finally:
        page.set_viewport_size(VIEWPORT)
    app.no_errors()


def panel_width(page: Any) -> float:
    return float(page.locator(".ssmux-split-panel").bounding_box()["width"])


def test_the_splitter_resizes_the_panel_and_a_reload_keeps_it(app: App) -> None:
    """Dragging the splitter 150 px left narrows the panel by as much; after a reload it is as narrow."""
    page = app.page
    before = panel_width(page)
    handle = page.locator(".ssmux-splitter").bounding_box()
    x, y = handle["x"] + handle["width"] / 2, handle["y"] + 200
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 150, y, steps=5)
    page.mouse.up()
    after = panel_width(page)
    assert abs(after - (before - 150)) <= 2
    page.reload()
    page.locator(".ssmux-row").first.wait_for()
    assert abs(panel_width(page) - after) <= 1
    # The arrow keys move it too (and it is remembered the same way); back to the default width.
    page.evaluate("localStorage.removeItem('ssmux.panelWidth')")
    page.reload()
    page.locator(".ssmux-row").first.wait_for()
    assert abs(panel_width(page) - before) <= 1
    app.no_errors()


def test_rows_show_the_id_once_and_chips_end_in_an_ellipsis(app: App) -> None:
    """A synced row shows its id once; in a narrow panel cut chips end in '…' with the full text on hover."""
    page = app.page
    row = page.locator(".ssmux-row", has_text=demo_id("web-2"))
    assert row.inner_text().count(demo_id("web-2")) == 1
    assert row.locator(".ssmux-row-name").inner_text() == "web-2"
    untagged = demo_id(None)
    assert page.locator(".ssmux-row", has_text=untagged).inner_text().count(untagged) == 1
    page.evaluate("document.documentElement.style.setProperty('--ssmux-panel-width', '260px')")
    try:
        chips = page.evaluate(
            """() => {
              const panel = document.querySelector('.ssmux-split-panel').getBoundingClientRect();
              return [...document.querySelectorAll('.ssmux-chip-tag')].map((chip) => ({
                text: chip.textContent, title: chip.title, cut: chip.scrollWidth > chip.clientWidth,
                ellipsis: getComputedStyle(chip).textOverflow,
                inside: chip.getBoundingClientRect().right <= panel.right,
                shown: chip.getBoundingClientRect().width > 0 }));
            }"""
        )
    finally:
        page.evaluate("document.documentElement.style.removeProperty('--ssmux-panel-width')")
    cut = [chip for chip in chips if chip["cut"] and chip["inside"]]
    assert cut, f"no tag chip is shortened: {chips}"
    for chip in cut:
        assert chip["ellipsis"] == "ellipsis"
        assert chip["title"] == chip["text"] and "=" in chip["title"]
    app.no_errors()


def test_two_tabs_of_the_same_name_show_their_pair(app: App) -> None:
    """web-2 of dev and web-2 of prod: each tab names its profile/region, in its own colour and tooltip."""
    page = app.page
    open_tab(app, demo_id("web-2"), r"ec2-user@web-2:~\$")
    open_tab(app, demo_id("web-2", "prod"), r"ec2-user@web-2:~\$")
    tabs = page.locator(".q-tab", has_text="web-2")
    assert tabs.count() == 2
    dev = page.locator(".q-tab", has_text="dev/eu-central-1")
    prod = page.locator(".q-tab", has_text="prod/us-east-1")
    assert dev.locator(".ssmux-tab-pair").inner_text() == "dev/eu-central-1"
    assert prod.locator(".ssmux-tab-pair").inner_text() == "prod/us-east-1"
    colour = "(el) => getComputedStyle(el).color"
    assert dev.locator(".ssmux-tab-pair").evaluate(colour) != prod.locator(".ssmux-tab-pair").evaluate(colour)
    for tab, pair, instance in ((dev, "dev/eu-central-1", "web-2"), (prod, "prod/us-east-1", "web-2")):
        tab.hover()
        tooltip = page.locator(".q-tooltip", has_text=pair)
        tooltip.wait_for()
        assert instance in tooltip.inner_text()
        page.mouse.move(700, 500)
        tooltip.wait_for(state="hidden")
    close_tabs(app)
    app.no_errors()


def test_a_failed_session_shows_one_readable_card(app: App) -> None:
    """An offline target: one card (dark text on a light background) says so once, with a Sync button."""
    page = app.page
    page.locator(".ssmux-row", has_text=demo_id("batch-1", "prod")).dblclick()
    page.locator(".q-dialog").get_by_role("button", name="Connect", exact=True).click()
    card = page.locator(".ssmux-error-card")
    card.wait_for()
    assert card.locator(".ssmux-error-title").inner_text() == "batch-1 is not connected to Session Manager"
    body = page.locator("body").inner_text()
    assert body.count("not connected to Session Manager") == 1
    assert "ssmux " not in card.inner_text()
    styles = card.evaluate(
        "(el) => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor, "
        "getComputedStyle(el.querySelector('.ssmux-error-detail')).overflowWrap]"
    )
    text, background = (_luminance(value) for value in styles[:2])
    assert background > 0.8 and text < 0.2, styles
    assert styles[2] == "break-word"
    card.get_by_role("button", name="Sync").click()
    page.get_by_text("Synced prod/us-west-2").wait_for()
    close_tabs(app)
    app.no_errors()


def _luminance(css: str) -> float:
    red, green, blue = (int(part) for part in re.findall(r"\d+", css)[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255
