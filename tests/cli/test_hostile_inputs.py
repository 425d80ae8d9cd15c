"""Hostile inputs over the CLI: each ends in one ``ssmux: error:`` line, a non-zero exit, and no change.

Not UTF-8, too long, invisible, nested past any sense, or pointing where nothing can be written: whatever
it is, the user gets one line saying what is wrong and what to do, never "unexpected ..." or a traceback,
and the saved profiles and settings stay as they were.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .conftest import Run

ID = "i-0123456789abcdef0"
BIG = "x" * 100_000
LONG_COMPONENT = "a" * 300  # longer than any file system allows for one name (255)
NOT_UTF8 = "caf\udce9"  # b"caf\xe9" as Python receives it in argv on POSIX (surrogateescape)
ERROR_LINE_LIMIT = 500


@pytest.fixture
def seeded(ssmux: Callable[..., Run]) -> None:
    """A home with a group, a profile and settings, so 'nothing changed' means something."""
    for args in (
        ("group", "add", "g"),
        ("profile", "add", "seed", "--instance-id", ID, "--group", "g"),
        ("settings", "set", "default_region", "eu-west-1"),
    ):
        assert ssmux(*args).status == 0


def snapshot(home: Path) -> dict[str, bytes]:
    """Every file of the store but lock files, by relative path."""
    return {
        str(path.relative_to(home)): path.read_bytes()
        for path in sorted(home.rglob("*"))
        if path.is_file() and not path.name.endswith(".lock")
    }


def assert_one_error_line(status: int, err: str, expected: str) -> None:
    lines = err.splitlines()
    assert status != 0
    assert len(lines) == 1, err[:2000]
    assert lines[0].startswith("ssmux: error: "), lines[0][:500]
    # Not "unexpected SomeError (run with --debug)", the line for a bug (click's "unexpected extra argument"
    # is a usage error, and fine).
    assert not re.search(r"unexpected \w+:|run with --debug", lines[0]) and "Traceback" not in err
    assert len(lines[0]) < ERROR_LINE_LIMIT, f"{len(lines[0])} characters: {lines[0][:300]}..."
    assert expected in lines[0], lines[0]


def deep_toml(depth: int) -> str:
    return "schema_version = 1\nx = " + "[" * depth + "]" * depth + "\n"


# (args, what the line must say); files named by {tmp} are made by the setup functions below.
CASES: list[tuple[str, tuple[str, ...], str]] = [
    # Not UTF-8: any argument, anywhere.
    ("utf8-profile-name", ("profile", "add", NOT_UTF8, "--instance-id", ID), "not valid UTF-8"),
    ("utf8-description", ("profile", "add", "x", "--instance-id", ID, "--description", NOT_UTF8), "UTF-8"),
    ("utf8-group", ("group", "add", NOT_UTF8), "not valid UTF-8"),
    ("utf8-setting", ("settings", "set", "default_aws_profile", NOT_UTF8), "not valid UTF-8"),
    ("utf8-ls", ("ls", NOT_UTF8), "not valid UTF-8"),
    ("utf8-export", ("export", NOT_UTF8 + ".toml"), "not valid UTF-8"),
    ("utf8-option-name", ("profile", "add", "x", "--" + NOT_UTF8), "not valid UTF-8"),
    # 100 KB values.
    ("big-profile-name", ("profile", "add", BIG, "--instance-id", ID), "the most is 512"),
    ("big-description", ("profile", "add", "x", "--instance-id", ID, "--description", BIG), "is 65536"),
    ("big-tag", ("profile", "add", "x", "--instance-id", ID, "--tag", BIG), "the most is 512"),
    ("big-group", ("group", "add", BIG), "the most is 512"),
    ("big-profile-group", ("profile", "add", "x", "--instance-id", ID, "--group", BIG), "the most is 512"),
    ("big-aws-profile", ("profile", "add", "x", "--instance-id", ID, "--aws-profile", BIG), "is 512"),
    ("big-region", ("profile", "add", "x", "--instance-id", ID, "--region", BIG), "unknown AWS region"),
    ("big-instance-id", ("profile", "add", "x", "--instance-id", BIG), "invalid instance id"),
    ("big-edit-description", ("profile", "edit", "seed", "--description", BIG), "the most is 65536"),
    ("big-default-profile", ("settings", "set", "default_aws_profile", BIG), "the most is 512"),
    ("big-aws-path", ("settings", "set", "aws_path", "/" + BIG), "the most is 4096"),
    ("big-plugin-path", ("settings", "set", "plugin_path", "/" + BIG), "the most is 4096"),
    ("big-pair", ("pair", "add", BIG, "eu-west-1"), "the most is 512"),
    ("big-command", (BIG,), "No such command"),
    # Messages that quote a 100 KB value show its ends only, whoever raised them.
    ("big-connect-target", ("connect", BIG), ""),
    ("big-exec-target", ("exec", BIG, "true"), ""),
    ("big-profile-show", ("profile", "show", BIG), ""),
    ("big-group-rm", ("group", "rm", BIG), ""),
    ("big-ls-state", ("ls", "--state", BIG), ""),
    ("big-sync-pair", ("sync", "--pair", BIG), ""),
    ("big-extra-argument", ("aws-profiles", BIG), ""),
    ("big-ui-host", ("ui", "--host", BIG), ""),
    ("big-scenario", ("emulator", "--scenario", BIG), ""),
    # Invisible characters make look-alike names.
    ("zero-width-space", ("profile", "add", "se\u200bed", "--instance-id", ID), "U+200B"),
    ("word-joiner-group", ("group", "add", "g\u2060"), "U+2060"),
    ("bom-tag", ("profile", "add", "x", "--instance-id", ID, "--tag", "\ufeffprod"), "U+FEFF"),
    ("zwj-aws-profile", ("profile", "add", "x", "--instance-id", ID, "--aws-profile", "de\u200dv"), "U+200D"),
    ("bidi-override", ("profile", "add", "\u202eeid", "--instance-id", ID), "U+202E"),
    ("soft-hyphen", ("profile", "add", "se\u00aded", "--instance-id", ID), "U+00AD"),
    # Files: too deeply nested, names too long, a home that cannot be written.
    ("deep-import", ("import", "{tmp}/deep.toml"), "too deeply nested"),
    ("long-export-name", ("export", "{tmp}/" + LONG_COMPONENT + ".toml"), "cannot write"),
    ("long-export-csv", ("export", "{tmp}/" + LONG_COMPONENT + ".csv"), "cannot write"),
    ("long-import-name", ("import", "{tmp}/" + LONG_COMPONENT + ".csv"), "cannot read"),
    ("lock-blocked-profile", ("profile", "add", "x", "--instance-id", ID), "cannot write"),
    ("lock-blocked-settings", ("settings", "set", "default_region", "us-east-1"), "cannot write"),
    ("deep-profiles-file", ("profile", "ls"), "too deeply nested"),
    ("long-aws-path", ("settings", "set", "aws_path", "/" + LONG_COMPONENT), "at most 255"),
    ("long-aws-path-in-file", ("connect", ID, "--aws-profile", "p", "--region", "eu-west-1", "--backend",
                               "aws-cli"), "at most 255"),
]  # fmt: skip


def prepare(case: str, home: Path, tmp: Path, ssmux: Callable[..., Run]) -> None:
    """What some cases need on disk before the command runs."""
    if case == "deep-import":
        (tmp / "deep.toml").write_text(deep_toml(5000))
    elif case.startswith("lock-blocked"):
        # The lock's name taken by a folder: the lock cannot be created, as in a read-only home (root ignores
        # permissions, so the test blocks it this way).
        name = "profiles.toml.lock" if case.endswith("profile") else "settings.toml.lock"
        (home / name).unlink(missing_ok=True)
        (home / name).mkdir()
    elif case == "deep-profiles-file":
        (home / "profiles.toml").write_text(deep_toml(5000))
    elif case == "long-aws-path-in-file":  # as a hand-edited settings file may hold it
        settings = home / "settings.toml"
        settings.write_text(settings.read_text().replace('aws_path = ""', f'aws_path = "/{LONG_COMPONENT}"'))


@pytest.mark.parametrize(("case", "args", "expected"), CASES, ids=[case for case, _, _ in CASES])
def test_hostile_input_gets_one_error_line_and_changes_nothing(
    case: str,
    args: tuple[str, ...],
    expected: str,
    seeded: None,
    isolated_home: Path,
    tmp_path: Path,
    ssmux: Callable[..., Run],
) -> None:
    """A hostile value: non-zero exit, one `ssmux: error:` line saying what is wrong, the store as it was."""
    prepare(case, isolated_home, tmp_path, ssmux)
    before = snapshot(isolated_home)
    result = ssmux(*(arg.replace("{tmp}", str(tmp_path)) for arg in args))
    assert_one_error_line(result.status, result.err, expected)
    assert snapshot(isolated_home) == before


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX argv carries bytes; Windows' is UTF-16")
def test_non_utf8_bytes_in_a_real_argv(isolated_home: Path) -> None:
    """Bytes that are not UTF-8 in a real command line: one line, exit 2 (a bad command line), no change."""
    result = subprocess.run(
        [os.fsencode(sys.executable), b"-m", b"ssmux", b"profile", b"add", b"caf\xe9", b"--instance-id",
         ID.encode()],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    err = result.stderr.decode("utf-8", "backslashreplace")
    assert_one_error_line(result.returncode, err, "'caf\\xe9' is not valid UTF-8")
    assert result.returncode == 2
    assert snapshot(isolated_home) == {}


def test_a_value_at_the_limits_is_accepted(ssmux: Callable[..., Run]) -> None:
    """The bounds are not too tight: a 512-character name and a 64 KiB description are saved."""
    name, description = "n" * 512, "d" * 65536
    result = ssmux("profile", "add", name, "--instance-id", ID, "--description", description)
    assert result.status == 0, result.err
    assert ssmux("profile", "show", name).status == 0


def test_emoji_with_joiners_stay_allowed_in_descriptions(ssmux: Callable[..., Run]) -> None:
    """Zero-width joiners are refused in names only: an emoji sequence in free text is fine."""
    result = ssmux("profile", "add", "x", "--instance-id", ID, "--description", "team 👩\u200d💻")
    assert result.status == 0, result.err


class _Answer(http.server.BaseHTTPRequestHandler):
    """Answers every call with ``server.answer``: (status, body)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        status, body = self.server.answer  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # The sync may stop listening: the pair's other calls are cancelled once one fails.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[http.server.ThreadingHTTPServer]:
    """A local HTTP server standing where AWS should be (a proxy, a wrong endpoint_url)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


ANSWERS = {
    "aws-error-8kb-message": (
        400,
        b"<?xml version='1.0'?><Response><Errors><Error><Code>Blocked</Code><Message>"
        + b"x" * 8000
        + b"</Message></Error></Errors><RequestID>1</RequestID></Response>",
        "Blocked",
    ),
    "8kb-not-xml": (200, b"<DescribeInstancesResponse><broken" + b"y" * 8000, "not an AWS response"),
    "proxy-page": (502, b"<html><body>" + b"<p>the proxy says no</p>" * 400 + b"</body></html>", "502"),
}


@pytest.mark.parametrize("answer", list(ANSWERS))
def test_a_failed_sync_says_what_aws_said_in_one_short_line(
    answer: str,
    endpoint: http.server.ThreadingHTTPServer,
    isolated_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    ssmux: Callable[..., Run],
) -> None:
    """An 8 KB answer (an AWS error, a body that is not XML, a proxy's page) becomes one short line with
    the AWS error code and the start of its message, not the whole body."""
    status, body, expected = ANSWERS[answer]
    endpoint.answer = (status, body)  # type: ignore[attr-defined]
    port = endpoint.server_address[1]
    Path(os.environ["AWS_CONFIG_FILE"]).write_text(
        f"[profile p]\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:{port}\n"
    )
    Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        "[p]\naws_access_key_id = AKIAEXAMPLEEXAMPLE00\naws_secret_access_key = secret\n"
    )
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert ssmux("pair", "add", "p", "eu-west-1").status == 0
    result = ssmux("sync", "--pair", "p/eu-west-1")
    assert result.status != 0
    shown = result.out + result.err
    assert expected in shown
    assert all(len(line) < ERROR_LINE_LIMIT for line in shown.splitlines()), shown[:1000]
    assert len(shown) < 2000, f"{len(shown)} characters printed"
