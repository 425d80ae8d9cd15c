"""The picker's logic without a terminal: filtering, moving, choosing, key decoding, drawing."""

from __future__ import annotations

from ssmux.sessions.picker import Outcome, PickerState, parse_keys, render

LABELS = ["web-1  i-0000000000000000a  dev/eu-central-1", "web-2  i-0000000000000000b  dev/eu-west-1", "db-1"]


def test_typing_filters_by_every_word_case_insensitively() -> None:
    """Typed words narrow the list to labels containing all of them."""
    state = PickerState(LABELS)
    for char in "WEB west":
        state.key(char)
    assert state.matches() == [1]


def test_arrows_move_and_enter_chooses_the_highlighted_match() -> None:
    """Down then Enter picks the second match; Up stops at the top."""
    state = PickerState(LABELS)
    state.key("up")
    assert state.chosen() == 0
    state.key("down")
    assert state.key("enter") is Outcome.CHOSEN
    assert state.chosen() == 1


def test_enter_with_no_match_does_nothing_and_escape_cancels() -> None:
    """Enter is ignored while nothing matches; Esc cancels."""
    state = PickerState(LABELS)
    for char in "zzz":
        state.key(char)
    assert state.key("enter") is None
    state.key("backspace")
    assert state.query == "zz"
    assert state.key("escape") is Outcome.CANCELLED


def test_parse_keys_decodes_arrows_controls_and_text() -> None:
    """Escape sequences become names, Enter and Ctrl-C become names, text stays text."""
    assert parse_keys("a\x1b[B\x1bOA\r\x03ü\x7f\x1b") == [
        "a",
        "down",
        "up",
        "enter",
        "cancel",
        "ü",
        "backspace",
        "escape",
    ]


def test_unknown_escape_sequences_are_skipped_whole() -> None:
    """A key the picker does not use (F5) leaves no stray characters in the query."""
    assert parse_keys("\x1b[15~x") == ["x"]


def test_render_marks_the_cursor_and_fits_the_width() -> None:
    """The highlighted line is marked and no line is wider than the terminal."""
    state = PickerState(LABELS)
    state.key("down")
    lines = render(state, "Choose", width=20)
    assert lines[0].startswith("Choose (3/3) >")
    assert "> web-2" in lines[2]
    assert all(len(line.replace("\x1b[7m", "").replace("\x1b[0m", "")) < 20 for line in lines)


def test_render_shows_control_characters_safely() -> None:
    """A label with an escape character cannot send escape sequences to the terminal."""
    lines = render(PickerState(["evil\x1b]0;title\x07"]), "Choose", width=80)
    assert "\x1b]" not in lines[1]
