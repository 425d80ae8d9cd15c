"""A stand-in browser for ``$BROWSER``: opens the page it is given and follows its redirects, as a browser
whose user allows the sign-in does; it prints nothing and exits 0 once the page chain has answered."""

from __future__ import annotations

import sys

import httpx


def main(url: str) -> int:
    response = httpx.get(url, follow_redirects=True, timeout=30)
    return 0 if response.status_code < 400 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
