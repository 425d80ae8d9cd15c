"""The local end of a many-target run: lines handed on whole, output kept within its limit, the marker."""

from __future__ import annotations

from ssmux.protocol.events import ExitCode, Output, StdErr
from ssmux.sessions.exec_many import (
    Collector,
    ExecTarget,
    ManyResult,
    Outcome,
    Stream,
    TargetResult,
    remote_line,
)
from ssmux.sessions.exec_targets import distinct_names
from ssmux.sessions.remote_exec import ExitMarker

WEB = ExecTarget("web-1", "i-0123456789abcdef0", "dev", "eu-west-1")


def collect(limit: int = 1 << 20) -> tuple[Collector, list[tuple[Stream, bytes]]]:
    lines: list[tuple[Stream, bytes]] = []
    return Collector(WEB, lambda _t, stream, line: lines.append((stream, line)), limit), lines


def test_lines_are_handed_on_whole_per_stream() -> None:
    """Output cut anywhere comes out as whole lines, stdout and stderr apart; the last unfinished line at
    the end."""
    collector, lines = collect()
    for event in (Output(b"a"), StdErr(b"e1\ne"), Output(b"b\nc\nd"), StdErr(b"2\n"), ExitCode(3)):
        collector.handle(event)
    assert lines == [(Stream.STDERR, b"e1\n"), (Stream.STDOUT, b"ab\n"), (Stream.STDOUT, b"c\n"),
                     (Stream.STDERR, b"e2\n")]  # fmt: skip
    collector.finish()
    assert lines[-1] == (Stream.STDOUT, b"d")
    assert (collector.output(Stream.STDOUT), collector.output(Stream.STDERR)) == (b"ab\nc\nd", b"e1\ne2\n")
    assert collector.exit_code == 3 and not collector.truncated


def test_output_beyond_the_limit_is_dropped_and_said() -> None:
    """What is kept stops at the limit (the lines are still handed on), and the result says so."""
    collector, lines = collect(limit=5)
    collector.handle(Output(b"12345678\n"))
    assert collector.output(Stream.STDOUT) == b"12345" and collector.truncated
    assert lines == [(Stream.STDOUT, b"12345678\n")]


def test_the_exit_marker_is_removed_and_read() -> None:
    """With merged output (a document without separateOutputStream) the marker gives the status."""
    collector, lines = collect()
    collector.marker = ExitMarker("tok=")
    collector.handle(Output(b"out\nerr\ntok"))
    collector.handle(Output(b"=7\n"))
    collector.finish()
    assert collector.output(Stream.STDOUT) == b"out\nerr\n" and collector.exit_code == 7
    assert [line for _, line in lines] == [b"out\n", b"err\n"]


def test_remote_line_exports_the_target_quoted() -> None:
    """The name is quoted for sh; the user's line follows on its own line."""
    odd = ExecTarget("it's; rm -rf /", "i-0123456789abcdef0")
    assert remote_line(odd, "echo hi") == (
        "export SSMUX_TARGET='it'\"'\"'s; rm -rf /' SSMUX_INSTANCE_ID=i-0123456789abcdef0\necho hi"
    )


def test_summary_and_exit_status() -> None:
    """Counts per outcome; status 0 only when every target is ok."""
    ok = TargetResult(WEB, Outcome.OK, 0)
    failed = TargetResult(WEB, Outcome.FAILED, 2)
    gone = TargetResult(WEB, Outcome.UNREACHABLE, error="offline")
    assert ManyResult("c", (ok, ok)).exit_status == 0
    result = ManyResult("c", (ok, failed, gone))
    assert result.exit_status == 1
    assert result.summary_line() == "3 targets: 1 ok, 1 failed, 1 unreachable"
    assert (failed.summary, gone.summary) == ("exit 2", "unreachable: offline")


def test_a_shared_name_gets_the_instance_id() -> None:
    """Two targets of one name (two accounts) are told apart by their ids; others keep their names."""
    a = ExecTarget("web", "i-000000000000000aa", "dev")
    b = ExecTarget("web", "i-000000000000000bb", "prod")
    assert [t.name for t in distinct_names([a, b, WEB])] == [
        "web (i-000000000000000aa)",
        "web (i-000000000000000bb)",
        "web-1",
    ]
