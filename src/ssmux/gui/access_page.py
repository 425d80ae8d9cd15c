"""The small page every page address answers first: it holds the page key and loads the real page with it.

A browser cannot add a header to a navigation, and a cookie would reach every port of the host (see
:mod:`ssmux.gui.security`). So a navigation gets this page, which carries no data of the app: its script
reads the key from ``localStorage`` (scoped to our origin: scheme, host and port), fetches the same address
again with the key in the ``X-Ssmux-Key`` header, and writes the answer (NiceGUI's page) into the document.
``localStorage`` rather than ``sessionStorage`` so a new tab of the same browser opens the app too; a key of
an earlier launch is refused by the server, and the page then forgets it.

On the one-time code's first use the page also receives the key to store, and replaces the address (which
ends in ``?token=CODE``) by the same address without the code, before anything else happens.
"""

from __future__ import annotations

import json

STORAGE_NAME = "ssmux-key"

_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ssmux</title></head>
<body style="font-family: sans-serif; background: #121212; color: #ddd">
<noscript>ssmux needs JavaScript.</noscript>
<script>
(() => {
  const name = __NAME__, handed = __KEY__, clean = __CLEAN__;
  if (handed !== null) {
    localStorage.setItem(name, handed);
    history.replaceState(history.state, "", clean);
  }
  const key = localStorage.getItem(name);
  const say = (text) => { document.body.textContent = text; };
  if (key === null) { say(__REFUSED__); return; }
  fetch(location.href, {headers: {"X-Ssmux-Key": key}, cache: "no-store", credentials: "same-origin"})
    .then(async (response) => {
      const text = await response.text();
      if (!response.ok) {
        if (response.status === 403) localStorage.removeItem(name);
        say(text);
        return;
      }
      document.open();
      document.write(text);
      document.close();
    })
    .catch(() => say("ssmux: the app does not answer; is it still running?"));
})();
</script>
</body>
</html>
"""

_REFUSED = (
    "ssmux: this browser has no access to this app yet. Open the address that 'ssmux ui' printed "
    "(it ends in ?token=...)."
)


def _js(value: str | None) -> str:
    # JSON is a JavaScript literal; "<" escaped so no value can close the script element.
    return json.dumps(value).replace("<", "\\u003c")


def boot_page(*, key: str | None = None, clean_url: str = "/") -> str:
    """The page's HTML; with ``key``, it stores the key and shows ``clean_url`` in the address bar."""
    return (
        _PAGE.replace("__NAME__", _js(STORAGE_NAME))
        .replace("__KEY__", _js(key))
        .replace("__CLEAN__", _js(clean_url))
        .replace("__REFUSED__", _js(_REFUSED))
    )
