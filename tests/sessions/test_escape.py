"""The ssh-style escape in keystrokes: only ``~.`` after Enter ends a session; the rest passes through."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ssmux.sessions.terminal import EscapeCommand, EscapeScanner


def test_tilde_dot_at_session_start_disconnects() -> None:
    """``~.`` typed first thing ends the session and sends nothing."""
    scanned = EscapeScanner().feed(b"~.")
    assert scanned.command is EscapeCommand.DISCONNECT
    assert scanned.data == b""


def test_tilde_dot_after_enter_disconnects_and_sends_the_line() -> None:
    """The line typed before Enter is sent; ``~.`` after it disconnects."""
    scanned = EscapeScanner().feed(b"ls\r~.rest")
    assert scanned.command is EscapeCommand.DISCONNECT
    assert scanned.data == b"ls\r"


def test_tilde_dot_in_the_middle_of_a_line_is_sent() -> None:
    """``~.`` not at the start of a line is ordinary text."""
    scanned = EscapeScanner().feed(b"cd ~.ssh\r")
    assert scanned == type(scanned)(b"cd ~.ssh\r")


def test_double_tilde_sends_one_tilde() -> None:
    """``~~`` at the start of a line sends a single ``~``."""
    assert EscapeScanner().feed(b"~~/bin\r").data == b"~/bin\r"


def test_tilde_split_across_reads_is_held_then_sent() -> None:
    """A ``~`` at the end of one read waits for the next byte before deciding."""
    scanner = EscapeScanner()
    assert scanner.feed(b"\r~").data == b"\r"
    second = scanner.feed(b"x")
    assert second.data == b"~x"
    assert second.command is None
    third = EscapeScanner()
    third.feed(b"~")
    assert third.feed(b".").command is EscapeCommand.DISCONNECT


def test_tilde_question_mark_asks_for_help() -> None:
    """``~?`` asks for the list of escapes and sends nothing for itself."""
    scanned = EscapeScanner().feed(b"~?ls")
    assert scanned.command is EscapeCommand.HELP
    assert scanned.data == b"ls"


def test_control_keys_and_utf8_pass_through() -> None:
    """Ctrl-C, Ctrl-Z, Ctrl-\\ and any UTF-8 reach the remote side unchanged."""
    keys = "\x03\x1a\x1cäöü € 😀".encode()
    assert EscapeScanner().feed(keys).data == keys


@given(st.binary(max_size=200))
def test_input_without_tilde_is_never_changed(data: bytes) -> None:
    """Any keystrokes without a ``~`` are sent exactly as typed."""
    data = data.replace(b"~", b"")
    scanned = EscapeScanner().feed(data)
    assert scanned.data == data
    assert scanned.command is None


@given(st.lists(st.binary(max_size=20), max_size=10))
def test_chunking_does_not_change_the_result(chunks: list[bytes]) -> None:
    """Fed whole or in pieces, the same bytes go out and the same escape is seen."""
    whole = EscapeScanner().feed(b"".join(chunks))
    scanner = EscapeScanner()
    sent = b""
    command = None
    for chunk in chunks:
        scanned = scanner.feed(chunk)
        sent += scanned.data
        if scanned.command is EscapeCommand.DISCONNECT:
            command = scanned.command
            break
        command = command or scanned.command
    if whole.command is EscapeCommand.DISCONNECT:
        assert command is EscapeCommand.DISCONNECT
        assert sent == whole.data
    else:
        assert command is not EscapeCommand.DISCONNECT
        # A trailing held "~" is still pending in the piecewise scanner.
        assert whole.data.startswith(sent)
