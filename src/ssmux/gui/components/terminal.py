"""The terminal of a session tab: ``ui.xterm`` wired to a :class:`~ssmux.gui.session_manager.ManagedSession`.

Keystrokes (``on_data``) go to the session unchanged; every fit of the terminal to its tab (``on_resize``)
goes to the remote pty. Output flows the other way through a small pump: bytes are decoded incrementally
(a UTF-8 character split across two chunks stays whole), coalesced, and sent in chunks of at most
:data:`CHUNK_CHARS`; the pump waits until xterm.js has drawn a chunk before sending the next, so a ``cat`` of
a large file cannot pile up unbounded messages in the server or the browser.

A terminal that falls far behind (its browser tab asleep, a huge burst) does not keep every byte: once more
than the session's history limit is waiting, it drops what is pending and repaints from the session's
history, which holds the same recent output. A write the browser never acknowledges (its socket dropped
and reconnected, losing the answer) is treated the same way: repaint, and keep pumping. That is also how a
terminal attached after a reload shows the screen: reset, then the history.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from nicegui.elements.xterm.xterm import Xterm
from nicegui.events import GenericEventArguments

from ssmux.gui.session_manager import ManagedSession

log = logging.getLogger(__name__)

#: Most characters sent to the browser in one message.
CHUNK_CHARS = 256 * 1024
#: Chunks sent before the first of them is acknowledged.
IN_FLIGHT = 2
#: How long to wait for the browser to draw one chunk before treating it as gone.
ACK_TIMEOUT = 30.0

TERMINAL_OPTIONS: dict[str, Any] = {
    "cursorBlink": True,
    "scrollback": 10000,
    "fontSize": 14,
    # xterm.js draws each row in a box of fontSize x lineHeight and clips what falls outside; at 1.0 the
    # underscore of common monospace fonts (DejaVu Sans Mono) sits below that box at 1x pixel density and
    # vanishes (``x86_64`` read ``x86 64``). 1.2 leaves room for descenders.
    "lineHeight": 1.2,
    "fontFamily": "Menlo, Consolas, 'DejaVu Sans Mono', 'Liberation Mono', monospace",
    "theme": {"background": "#1e1e1e"},
    "allowProposedApi": True,
}


class SessionTerminal(Xterm, component="ssmux_terminal.js"):
    """xterm.js that fits its box, acknowledges writes, copies/pastes and searches (see the .js file)."""

    def __init__(self, view: TerminalView) -> None:
        super().__init__(TERMINAL_OPTIONS)
        self._view = view

    def _handle_delete(self) -> None:
        # The page went away (reload, closed browser tab): the session lives on, this view does not.
        self._view.detach()
        super()._handle_delete()


#: Takes what is typed into a session's terminal (the broadcast of :mod:`ssmux.gui.broadcast`).
InputRoute = Callable[[ManagedSession, str], None]


class TerminalView:
    """One browser terminal showing one session.

    Args:
        session: the session it shows.
        on_input: where typed keys go (default: to ``session``); broadcast input sends them to other tabs too.
    """

    def __init__(self, session: ManagedSession, on_input: InputRoute | None = None) -> None:
        self.session = session
        self._route = on_input
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending: list[str] = []
        self._pending_size = 0
        self._resync = False
        self._ready = False
        self._pump: asyncio.Task[None] | None = None
        self._attached = True
        self.element = SessionTerminal(self).classes("ssmux-terminal").mark(f"terminal-{session.id}")
        self.element.on("ready", self._on_ready)
        self.element.on_data(lambda e: self._input(e.data))
        self.element.on_resize(lambda e: self.session.resize(e.cols, e.rows))
        self._queue(session.attach(self))

    def _input(self, text: str) -> None:
        if self._route is None:
            self.session.input(text)
        else:
            self._route(self.session, text)

    # View protocol -------------------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Output from the session."""
        self._queue(data)

    def status_changed(self) -> None:
        """The page's tab shows the status; nothing to do in the terminal itself."""

    # Pumping -------------------------------------------------------------------------------------------
    def _queue(self, data: bytes) -> None:
        if not self._attached:
            return
        if self._resync:
            self._kick()  # the repaint takes this from the history
            return
        text = self._decoder.decode(data)
        if text:
            self._pending.append(text)
            self._pending_size += len(text)
        if self._pending_size > self.session.history.limit:
            # Too far behind: repaint from the history instead of sending all of this.
            self._pending.clear()
            self._pending_size = 0
            self._resync = True
        self._kick()

    def _kick(self) -> None:
        if self._ready and (self._pump is None or self._pump.done()) and (self._pending or self._resync):
            self._pump = asyncio.get_running_loop().create_task(self._run_pump())

    async def _run_pump(self) -> None:
        # Up to IN_FLIGHT chunks travel at once: the browser draws one while the next is on its way, and
        # the server never gets more than that ahead of what was drawn.
        in_flight: deque[asyncio.Future[Any]] = deque()
        try:
            while self._attached and (self._pending or self._resync or in_flight):
                try:
                    await self._pump_once(in_flight)
                except TimeoutError:
                    # No acknowledgement: the browser was asleep, or its connection dropped and came back
                    # (socket.io loses answers in flight then). What it drew is unknown, so it is repainted
                    # from the history, at once, and the pump goes on: output keeps flowing either way.
                    log.info(
                        "terminal %s: no answer from the browser in %s s, repainting",
                        self.session.id,
                        ACK_TIMEOUT,
                    )
                    _drop(in_flight)
                    self._pending.clear()
                    self._pending_size = 0
                    self._resync = True
        except Exception:
            # A bug, not the browser: repaint on the next output rather than retrying in a loop.
            log.exception("terminal pump failed")
            self._resync = True
        finally:
            _drop(in_flight)

    async def _pump_once(self, in_flight: deque[asyncio.Future[Any]]) -> None:
        if not (self._pending or self._resync):
            await in_flight.popleft()
            return
        if self._resync:
            self._resync = False
            self._decoder.reset()
            text = "\x1bc" + self._decoder.decode(self.session.history.snapshot())
        else:
            text = "".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
        for start in range(0, len(text), CHUNK_CHARS):
            in_flight.append(asyncio.ensure_future(self._write(text[start : start + CHUNK_CHARS])))
            if len(in_flight) >= IN_FLIGHT:
                await in_flight.popleft()

    async def _write(self, chunk: str) -> None:
        await self.element.run_method("writeChunk", chunk, timeout=ACK_TIMEOUT)

    def _on_ready(self, event: GenericEventArguments) -> None:
        args = event.args or {}
        self._ready = True
        if isinstance(args, dict) and args.get("cols") and args.get("rows"):
            self.session.resize(int(args["cols"]), int(args["rows"]))
        self._kick()

    # Actions -------------------------------------------------------------------------------------------
    def focus(self) -> None:
        self.element.run_method("focus")

    async def search(self, term: str, backwards: bool = False) -> bool:
        """Find ``term`` in the scrollback and select it; False when it is not there."""
        try:
            return bool(await self.element.run_method("search", term, backwards, timeout=5))
        except TimeoutError:
            return False

    async def text(self, lines: int = 0) -> str:
        """The last ``lines`` lines as the browser shows them (0: all)."""
        return str(await self.element.run_method("getText", lines, timeout=5))

    def detach(self) -> None:
        if self._attached:
            self._attached = False
            self.session.detach(self)
            if self._pump is not None:
                self._pump.cancel()


def _drop(in_flight: deque[asyncio.Future[Any]]) -> None:
    """Forget writes in flight; the ones that already failed are read so asyncio does not report them."""
    while in_flight:
        future = in_flight.popleft()
        if future.done():
            if not future.cancelled():
                future.exception()
        else:
            future.cancel()
