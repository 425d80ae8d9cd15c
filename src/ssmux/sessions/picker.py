"""A small picker on the terminal: type to filter, arrows to move, Enter to choose, Esc or Ctrl-C to cancel.

Used when a TARGET matches several instances and a person is at the terminal. The state and the key
decoding are plain objects (:class:`PickerState`, :func:`parse_keys`) so they are tested without a
terminal; :func:`pick` is the thin loop that reads the controlling terminal in raw mode and draws below the
cursor, leaving the screen as it was when done.
"""

from __future__ import annotations

import codecs
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from ssmux.sessions import platform

MAX_ROWS = 12
_ESCAPES = {
    "[A": "up",
    "[B": "down",
    "OA": "up",
    "OB": "down",
    "[5~": "page-up",
    "[6~": "page-down",
    "[H": "home",
    "[F": "end",
}
_CONTROL = {
    "\r": "enter",
    "\n": "enter",
    "\x03": "cancel",
    "\x04": "cancel",
    "\x7f": "backspace",
    "\x08": "backspace",
    "\x15": "clear",
    "\x10": "up",
    "\x0e": "down",
}


class Outcome(Enum):
    """What a key did to the picker."""

    CHOSEN = "chosen"
    CANCELLED = "cancelled"


@dataclass
class PickerState:
    """The picker without a terminal: labels, the query typed so far, and the highlighted match."""

    labels: Sequence[str]
    query: str = ""
    cursor: int = 0  # index into matches()
    _lowered: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._lowered = [label.casefold() for label in self.labels]

    def matches(self) -> list[int]:
        """Indexes of the labels that contain every word of the query (case-insensitive)."""
        words = self.query.casefold().split()
        return [index for index, label in enumerate(self._lowered) if all(word in label for word in words)]

    def chosen(self) -> int | None:
        """Index (into ``labels``) of the highlighted match, or ``None`` when nothing matches."""
        matches = self.matches()
        return matches[self.cursor] if matches else None

    def key(self, key: str) -> Outcome | None:
        """Apply one key (a character, or a name from :func:`parse_keys`); returns the outcome, if final."""
        if key == "enter":
            return Outcome.CHOSEN if self.chosen() is not None else None
        if key in ("cancel", "escape"):
            return Outcome.CANCELLED
        count = len(self.matches())
        if key in ("up", "down", "page-up", "page-down", "home", "end"):
            if count:
                step = {"up": -1, "down": 1, "page-up": -MAX_ROWS, "page-down": MAX_ROWS}.get(key, 0)
                target = 0 if key == "home" else count - 1 if key == "end" else self.cursor + step
                self.cursor = min(max(target, 0), count - 1)
            return None
        if key == "backspace":
            self.query = self.query[:-1]
        elif key == "clear":
            self.query = ""
        elif len(key) == 1 and key.isprintable():
            self.query += key
        else:
            return None
        self.cursor = 0
        return None


def parse_keys(text: str) -> list[str]:
    """Split decoded terminal input into keys: characters, or names (``up``, ``enter``, ``escape``...)."""
    keys: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\x1b":
            rest = text[index + 1 :]
            for sequence, name in _ESCAPES.items():
                if rest.startswith(sequence):
                    keys.append(name)
                    index += 1 + len(sequence)
                    break
            else:
                if rest[:1] in ("[", "O"):  # an escape sequence we do not use: skip it whole
                    end = index + 2
                    while end < len(text) and not ("@" <= text[end] <= "~"):
                        end += 1
                    index = end + 1
                else:
                    keys.append("escape")
                    index += 1
            continue
        keys.append(_CONTROL.get(char, char))
        index += 1
    return keys


def render(state: PickerState, title: str, width: int, rows: int = MAX_ROWS) -> list[str]:
    """The picker's lines: the prompt with the query, then a window of matches around the cursor."""
    matches = state.matches()
    lines = [_fit(f"{title} ({len(matches)}/{len(state.labels)}) > {state.query}", width)]
    start = min(max(state.cursor - rows + 1, 0), max(len(matches) - rows, 0))
    for position in range(start, min(start + rows, len(matches))):
        marker = "> " if position == state.cursor else "  "
        label = _fit(marker + state.labels[matches[position]], width)
        lines.append(f"\x1b[7m{label}\x1b[0m" if position == state.cursor else label)
    if not matches:
        lines.append(_fit("  (no match: Backspace to widen, Esc to cancel)", width))
    return lines


def _fit(text: str, width: int) -> str:
    # One screen line per entry, never wrapped, so the redraw can count lines; control chars shown safely.
    clean = "".join(char if char.isprintable() else "?" for char in text)
    return clean[: max(width - 1, 1)]


def pick(labels: Sequence[str], title: str = "Choose a target") -> int | None:
    """Let the person at the terminal choose one of ``labels``; the index, or ``None`` if cancelled.

    Raises:
        OSError: there is no controlling terminal (callers check for one first).
    """
    module = platform.current()
    with module.open_tty() as fds:
        if fds is None:
            raise OSError("no terminal to show the picker on")
        fd_in, fd_out = fds
        state = PickerState(labels)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        drawn = 0
        with module.raw_mode(fd_in):
            try:
                while True:
                    drawn = _draw(fd_out, render(state, title, shutil.get_terminal_size().columns), drawn)
                    data = os.read(fd_in, 1024)
                    if not data:
                        return None
                    for key in parse_keys(decoder.decode(data)):
                        outcome = state.key(key)
                        if outcome is Outcome.CANCELLED:
                            return None
                        if outcome is Outcome.CHOSEN:
                            return state.chosen()
            finally:
                _draw(fd_out, [], drawn)


def _draw(fd: int, lines: list[str], previous: int) -> int:
    # Back to the picker's first line, clear to the end of the screen, draw again.
    up = f"\x1b[{previous - 1}A" if previous > 1 else ""
    os.write(fd, ("\r" + up + "\x1b[J" + "\r\n".join(lines)).encode("utf-8"))
    return len(lines)
