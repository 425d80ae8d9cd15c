"""Session documents' parameter rules, read from the content; google/shlex splitting; separateOutputStream."""

from __future__ import annotations

import shlex
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ssmux.emulator.agents.command import separate_output
from ssmux.emulator.agents.goshlex import SplitError, split
from ssmux.emulator.documents import (
    AWS_DOCUMENTS,
    SessionDocument,
    aws_document,
    parameter_values,
    resolve_session,
    substitute,
)
from ssmux.emulator.sessions import SessionType
from ssmux.emulator.wire import ApiError
from ssmux.errors import SessionError


def aws(name: str) -> SessionDocument:
    document = aws_document(name)
    assert document is not None
    return document


def refused(document: SessionDocument, raw: Any) -> str:
    with pytest.raises(ApiError) as caught:
        parameter_values(document, raw)
    return caught.value.code


def test_aws_documents_ship_with_their_session_types() -> None:
    """Every AWS Session document is packaged, owned by Amazon, with the session type AWS gives it."""
    types = {name: aws(name).session_type for name in AWS_DOCUMENTS}
    assert types == {
        "AWS-StartInteractiveCommand": SessionType.INTERACTIVE_COMMANDS,
        "AWS-StartNonInteractiveCommand": SessionType.NON_INTERACTIVE_COMMANDS,
        "AWS-StartPortForwardingSession": SessionType.PORT,
        "AWS-StartPortForwardingSessionToRemoteHost": SessionType.PORT,
        "AWS-StartSSHSession": SessionType.PORT,
    }
    assert {aws(name).owner for name in AWS_DOCUMENTS} == {"Amazon"}
    assert aws("SSM-SessionManagerRunShell").session_type is SessionType.STANDARD_STREAM
    assert aws_document("AWS-RunShellScript") is None


def test_defaults_fill_what_is_not_given() -> None:
    """A parameter left out takes the document's default; given ones are kept."""
    assert parameter_values(aws("AWS-StartPortForwardingSession"), None) == {
        "portNumber": ["80"], "localPortNumber": ["0"],
    }  # fmt: skip
    assert parameter_values(aws("AWS-StartSSHSession"), {"portNumber": ["2222"]}) == {"portNumber": ["2222"]}
    values = parameter_values(aws("AWS-StartNonInteractiveCommand"), {"command": ["id"]})
    assert values == {
        "command": ["id"], "separateOutputStream": ["false"],
        "stdoutSeparatorPrefix": [""], "stderrSeparatorPrefix": [""],
    }  # fmt: skip


def test_allowed_pattern_is_enforced() -> None:
    """allowedPattern refuses what it does not match: ports out of range, hosts with shell characters."""
    forward = aws("AWS-StartPortForwardingSession")
    for port in ("0", "65536", "80x", "", "-1", "080"):
        assert refused(forward, {"portNumber": [port]}) == "InvalidParameters", port
    assert parameter_values(forward, {"portNumber": ["65535"], "localPortNumber": ["0"]})["portNumber"] == [
        "65535"
    ]
    remote = aws("AWS-StartPortForwardingSessionToRemoteHost")
    for host in ("db;rm -rf", "a$b", "ab", "x`id`"):
        assert refused(remote, {"host": [host]}) == "InvalidParameters", host
    assert parameter_values(remote, {"host": ["db.internal"]})["host"] == ["db.internal"]


def test_allowed_values_unknown_missing_and_shape() -> None:
    """allowedValues, unknown names, required parameters and the one value of a String are checked."""
    document = aws("AWS-StartNonInteractiveCommand")
    assert refused(document, {"command": ["id"], "separateOutputStream": ["yes"]}) == "InvalidParameters"
    assert refused(document, {"command": ["id"], "shell": ["bash"]}) == "InvalidParameters"
    assert refused(document, {}) == "InvalidParameters"  # command has no default
    assert refused(document, {"command": ["a", "b"]}) == "InvalidParameters"
    assert refused(document, {"command": "id"}) == "ValidationException"
    assert refused(document, ["command"]) == "ValidationException"


def test_a_customer_document_gets_the_same_rules() -> None:
    """Rules come from the content, so a document of the account's is checked exactly the same way."""
    document = SessionDocument("Team-Doc", {
        "schemaVersion": "1.0", "sessionType": "InteractiveCommands",
        "parameters": {
            "unit": {"type": "String", "allowedPattern": "^[a-z-]+$", "default": "nginx"},
            "lines": {"type": "String", "allowedValues": ["10", "100"], "default": "10"},
            "tag": {"type": "String", "minChars": 2, "maxChars": 4},
            "hosts": {"type": "StringList", "maxItems": 2, "default": []},
        },
        "properties": {"linux": {"commands": "journalctl -u {{unit}} -n {{ lines }} -t {{tag}}",
                                 "runAsElevated": True}},
    }, owner="101010101010")  # fmt: skip
    resolved = resolve_session(document, {"tag": ["web"]})
    assert resolved.session_type is SessionType.INTERACTIVE_COMMANDS
    assert resolved.properties == {
        "linux": {"commands": "journalctl -u nginx -n 10 -t web", "runAsElevated": True}
    }
    for raw in ({"tag": ["w"]}, {"tag": ["websrv"]}, {"tag": ["ok"], "unit": ["Nginx"]},
                {"tag": ["ok"], "lines": ["50"]}, {"tag": ["ok"], "hosts": ["a", "b", "c"]}):  # fmt: skip
        assert refused(document, raw) == "InvalidParameters", raw
    with pytest.raises(ApiError) as caught:
        resolve_session(SessionDocument("Bad", {"schemaVersion": "1.0", "sessionType": "Shell"}), None)
    assert caught.value.code == "InvalidDocument"


def test_substitution_replaces_known_references_only() -> None:
    """{{ name }} becomes the value; a lone StringList reference becomes the list; others stay."""
    values = {"a": ["1"], "many": ["x", "y"]}
    assert substitute({"k": "{{a}}-{{ a }}", "l": ["{{many}}"], "s": "{{ssm:/p}}", "n": 3}, values) == {
        "k": "1-1", "l": [["x", "y"]], "s": "{{ssm:/p}}", "n": 3,
    }  # fmt: skip
    assert substitute("{{ many }} and {{a}}", values) == "x\ny and 1"


# --------------------------------------------------------------------------------------- google/shlex


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("echo a; exit 3", ["echo", "a;", "exit", "3"]),
        ('one "two three" four', ["one", "two three", "four"]),
        ("\"a\\nb\" 'c\\d'", ["anb", "c\\d"]),  # a backslash escapes anything in double quotes
        ("a#b #comment\nc", ["a#b", "c"]),
        ("x ''", ["x", ""]),
        ("  \t# nothing but a comment", []),
        ("a\\ b", ["a b"]),
    ],
)
def test_split_like_the_agent(text: str, words: list[str]) -> None:
    """The agent's google/shlex rules, which are not Python's shlex rules."""
    assert split(text) == words


def test_split_errors_have_go_messages() -> None:
    """Unclosed quotes and a trailing backslash are errors with the Go library's words."""
    for text, message in (('echo "x', "closing quote"), ("echo 'x", "closing quote"), ("x\\", "escape")):
        with pytest.raises(SplitError, match=message):
            split(text)


@given(
    st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")), min_size=1)
)
def test_shlex_join_round_trips_through_the_agent_split(words: list[str]) -> None:
    """What ssmux quotes with shlex.join, the agent splits back to the same argv."""
    assert split(shlex.join(words)) == words


# --------------------------------------------------------------------------------- separateOutputStream


def test_separate_output_stream_is_read_like_convert_to_bool() -> None:
    """Absent or "" is false; Go's ParseBool spellings; anything else fails the plugin; prefixes checked."""
    assert separate_output({}) == (False, "", "")
    assert separate_output({"separateOutputStream": ""}) == (False, "", "")
    assert separate_output({"separateOutputStream": "false", "stdOutSeparatorPrefix": "!!"}) == (
        False,
        "",
        "",
    )
    for spelling in ("true", "True", "TRUE", "t", "1", True):
        assert separate_output({"separateOutputStream": spelling})[0] is True
    assert separate_output(
        {"separateOutputStream": "true", "stdOutSeparatorPrefix": "OUT:\n", "stdErrSeparatorPrefix": "E_R-R:"}
    ) == (True, "OUT:\n", "E_R-R:")
    for bad in ({"separateOutputStream": "yes"}, {"separateOutputStream": 1},
                {"separateOutputStream": "true", "stdOutSeparatorPrefix": "STD@OUT:"},
                {"separateOutputStream": "true", "stdErrSeparatorPrefix": "x" * 31}):  # fmt: skip
        with pytest.raises(SessionError):
            separate_output(bad)
