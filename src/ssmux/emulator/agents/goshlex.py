"""``shlex.Split`` of github.com/google/shlex: how the SSM agent splits a NonInteractiveCommands string.

The agent (``agent/session/shell/shell_unix.go``, ``StartCommandExecutor``) splits ``commands`` with
``shlex.Split`` (``vendor/github.com/google/shlex/shlex.go``) and executes the first word with the others as
arguments: no shell sees the string. This is that state machine, rule for rule; it differs from Python's
:func:`shlex.split`:

* inside double quotes a backslash escapes *any* character (``"a\\nb"`` is ``anb``);
* ``#`` starts a comment only where a word would start (``a#b`` is one word), up to the end of the line;
* spaces are exactly space, tab, CR and LF;
* an unclosed quote or a trailing backslash is an error (:class:`SplitError`), with Go's message.

:func:`shlex.quote`/:func:`shlex.join` output splits back to the same words here.
"""

from __future__ import annotations

__all__ = ["SplitError", "split"]

_SPACE = " \t\r\n"


class SplitError(ValueError):
    """The string cannot be split; the message is the Go library's."""


def split(text: str) -> list[str]:
    """Split ``text`` into words as ``shlex.Split`` does (comments dropped).

    Raises:
        SplitError: ``EOF found when expecting closing quote`` or ``EOF found after escape character``.
    """
    words: list[str] = []
    state = "start"
    word: list[str] = []
    is_word = False
    for char in text:
        if state == "start":
            if char in _SPACE:
                continue
            is_word = True
            if char == '"':
                state = "dquote"
            elif char == "'":
                state = "squote"
            elif char == "\\":
                state = "escape"
            elif char == "#":
                is_word, state = False, "comment"
            else:
                word.append(char)
                state = "word"
        elif state == "word":
            if char in _SPACE:
                words.append("".join(word))
                word, state = [], "start"
            elif char == '"':
                state = "dquote"
            elif char == "'":
                state = "squote"
            elif char == "\\":
                state = "escape"
            else:
                word.append(char)
        elif state == "escape":
            word.append(char)
            state = "word"
        elif state == "dquote_escape":
            word.append(char)
            state = "dquote"
        elif state == "dquote":
            if char == '"':
                state = "word"
            elif char == "\\":
                state = "dquote_escape"
            else:
                word.append(char)
        elif state == "squote":
            if char == "'":
                state = "word"
            else:
                word.append(char)
        elif char == "\n":  # comment: a newline ends it; the next token starts afresh
            word, state = [], "start"
    if state in ("escape", "dquote_escape"):
        raise SplitError("EOF found after escape character")
    if state in ("dquote", "squote"):
        raise SplitError("EOF found when expecting closing quote")
    if state == "word" and is_word:
        words.append("".join(word))
    return words
