"""A tiny publish/subscribe point on the event loop, so every open page hears about shared changes.

Sessions, syncs and saved profiles live in the server and are shared by every browser tab. When one of them
changes, each page that shows it re-renders its part; a page that fails to do so (its browser just went
away) is logged and skipped, never allowed to stop the others from hearing the news.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class Hub:
    """Callbacks to call on a change; each subscriber gets an unsubscribe function back."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., Any]] = []

    def subscribe(self, callback: Callable[..., Any]) -> Callable[[], None]:
        """Call ``callback(*args)`` on every :meth:`emit` until the returned function is called."""
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe

    def emit(self, *args: Any) -> None:
        """Call every subscriber; one that raises is logged and the rest still run."""
        for callback in list(self._callbacks):
            try:
                callback(*args)
            except Exception:
                log.exception("a page failed to apply a change")

    def __len__(self) -> int:
        return len(self._callbacks)
