"""The Chromium the browser tests and the app benchmark drive: Debian's package, headless, quiet."""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("SSMUX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
