"""The desktop window of ``ssmux ui --native``: ``python -m ssmux.gui.native TITLE`` with the URL on stdin.

pywebview must own the main thread of its process, so the window runs in a child process of the server;
the server stops when this process ends (the user closed the window).
"""

from __future__ import annotations

import sys


def main() -> int:
    """Open one window on the URL read from stdin; return when it is closed."""
    import webview  # optional dependency, checked by the server before it starts this process

    url = sys.stdin.readline().strip()
    title = sys.argv[1] if len(sys.argv) > 1 else "ssmux"
    webview.create_window(title, url, width=1280, height=800)
    webview.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
