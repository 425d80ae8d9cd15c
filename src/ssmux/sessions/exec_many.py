"""One command on many targets at once: ``ssmux exec --group G | --tag K=V | TARGET... -- CMD`` and the app.

Each target runs through the one ``exec`` path of :mod:`ssmux.sessions.runner` and
:mod:`ssmux.sessions.remote_exec`: the same request (:func:`~ssmux.sessions.runner.build_request`, ``sh -c``
with ``separateOutputStream``), the same retry without it when the document refuses the parameter
(:func:`~ssmux.sessions.runner.merged_exec_request` and its exit-status marker), the same native session
(:meth:`NativeSession.start <ssmux.sessions.native.NativeSession.start>`). What differs is only the local end:
instead of this terminal's stdout and stderr, a :class:`Collector` per target keeps its output (bounded) and
hands whole lines to a callback, so the CLI can prefix them and the app can show them apart.

All targets share one event loop and one :class:`~ssmux.core.aws.AwsClients`, so each AWS CLI profile's
credentials are resolved once and its SSM client is reused by every target of that profile and region. At
most ``max_parallel`` sessions run at a time; one target's failure (agent offline, access denied, a data
channel that cannot be opened, a timeout) is its own result and never stops the others.

Each command runs with two variables exported, so one command line can act per target by the name the user
knows it by (which is rarely its host name): ``SSMUX_TARGET`` (the target's name as listed) and
``SSMUX_INSTANCE_ID``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ssmux.errors import AwsError, ExitStatus, SsmuxError
from ssmux.sessions.api import SessionApi

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients
    from ssmux.protocol.events import ClientEvent
    from ssmux.sessions.native import NativeSession
    from ssmux.sessions.remote_exec import ExitMarker

log = logging.getLogger(__name__)

#: Sessions at a time unless asked otherwise: enough to hide StartSession's round trip, few enough for one
#: account's StartSession rate (AWS throttles it at a few per second; botocore retries the throttled ones).
DEFAULT_MAX_PARALLEL = 16
#: Bytes of stdout and of stderr kept per target; more is dropped (and said), so a chatty command on many
#: targets cannot fill the memory.
OUTPUT_LIMIT = 1 << 20
#: A line longer than this is handed on in pieces: a command printing without newlines still shows progress.
LINE_LIMIT = 64 << 10


class Outcome(StrEnum):
    """How one target's run ended."""

    OK = "ok"  # the command ran and exited 0
    FAILED = "failed"  # it ran and exited non-zero, was killed, timed out, or its status was not reported
    UNREACHABLE = "unreachable"  # no session: agent offline, access denied, data channel not opened


class Stream(StrEnum):
    """Which output a line came on."""

    STDOUT = "stdout"
    STDERR = "stderr"


@dataclass(frozen=True)
class ExecTarget:
    """Where one run goes.

    Attributes:
        name: how to name it to the user (a saved profile's name, the Name tag, or the instance id).
        instance_id: ``i-...`` or ``mi-...``.
        aws_profile / region: what to connect with (``None``: the SDK decides).
    """

    name: str
    instance_id: str
    aws_profile: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class TargetResult:
    """One target's run.

    Attributes:
        target: where it ran.
        outcome: see :class:`Outcome`.
        exit_code: the remote exit code (``-1``: killed by a signal), ``None`` when not known.
        stdout / stderr: what it printed, at most :data:`OUTPUT_LIMIT` bytes each.
        duration: seconds from the start of its StartSession to its end.
        error: why it failed or was unreachable, one line; ``None`` when it ran to an exit code.
        truncated: output beyond the limit was dropped.
    """

    target: ExecTarget
    outcome: Outcome
    exit_code: int | None = None
    stdout: bytes = b""
    stderr: bytes = b""
    duration: float = 0.0
    error: str | None = None
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form; output is decoded as UTF-8 (bytes that are not become U+FFFD)."""
        return {
            "name": self.target.name,
            "instance_id": self.target.instance_id,
            "aws_profile": self.target.aws_profile,
            "region": self.target.region,
            "status": str(self.outcome),
            "exit_code": self.exit_code,
            "stdout": self.stdout.decode("utf-8", "replace"),
            "stderr": self.stderr.decode("utf-8", "replace"),
            "duration": round(self.duration, 3),
            "error": self.error,
            "truncated": self.truncated,
        }

    @property
    def summary(self) -> str:
        """One short phrase: ``exit 3``, ``unreachable: ...``."""
        if self.outcome is Outcome.UNREACHABLE:
            return f"unreachable: {self.error}"
        if self.error:
            return self.error
        return f"exit {self.exit_code}"


@dataclass(frozen=True)
class ManyResult:
    """Every target's run, in the order the targets were given."""

    command: str
    results: tuple[TargetResult, ...]

    def count(self, outcome: Outcome) -> int:
        """How many targets ended with ``outcome``."""
        return sum(1 for result in self.results if result.outcome is outcome)

    @property
    def exit_status(self) -> int:
        """0 when every target's command exited 0; else 1 (:attr:`ExitStatus.ERROR`)."""
        ok = all(result.outcome is Outcome.OK for result in self.results)
        return int(ExitStatus.OK if ok else ExitStatus.ERROR)

    def summary_line(self) -> str:
        """``10 targets: 8 ok, 1 failed, 1 unreachable``."""
        counts = ", ".join(f"{self.count(outcome)} {outcome}" for outcome in Outcome)
        noun = "target" if len(self.results) == 1 else "targets"
        return f"{len(self.results)} {noun}: {counts}"

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document."""
        return {
            "command": self.command,
            "summary": {
                "total": len(self.results),
                **{str(outcome): self.count(outcome) for outcome in Outcome},
            },
            "results": [result.to_dict() for result in self.results],
        }


#: Called with each whole line (newline kept) a target prints, as it comes.
LineHandler = Callable[[ExecTarget, Stream, bytes], None]
#: Called with each target's result as soon as it is known.
ResultHandler = Callable[[TargetResult], None]


@dataclass
class _Buffer:
    kept: bytearray = field(default_factory=bytearray)
    line: bytearray = field(default_factory=bytearray)
    truncated: bool = False


class Collector:
    """The local end of one target's run: keeps its output and exit code, passes its lines on.

    Args:
        target: the target (named in each line handed on).
        on_line: takes each whole line; ``None``: lines are only kept.
        limit: bytes kept per stream.
    """

    def __init__(
        self, target: ExecTarget, on_line: LineHandler | None = None, limit: int = OUTPUT_LIMIT
    ) -> None:
        self.target = target
        self.on_line = on_line
        self.limit = limit
        self.marker: ExitMarker | None = None
        self.exit_code: int | None = None
        self._buffers = {Stream.STDOUT: _Buffer(), Stream.STDERR: _Buffer()}

    def handle(self, event: ClientEvent) -> None:
        """Take one event of the session."""
        from ssmux.protocol.client import ExitCode, Output, StdErr

        if isinstance(event, Output):
            self._take(Stream.STDOUT, self.marker.feed(event.data) if self.marker else event.data)
        elif isinstance(event, StdErr):
            self._take(Stream.STDERR, event.data)
        elif isinstance(event, ExitCode):
            self.exit_code = event.code

    def finish(self) -> None:
        """The output has ended: what the marker held back, the last unfinished lines, the marker's status."""
        if self.marker is not None:
            self._take(Stream.STDOUT, self.marker.finish())
            if self.exit_code is None:
                self.exit_code = self.marker.code
            self.marker = None
        for stream, buffer in self._buffers.items():
            if buffer.line:
                self._emit(stream, bytes(buffer.line))
                buffer.line.clear()

    def output(self, stream: Stream) -> bytes:
        """What ``stream`` kept."""
        return bytes(self._buffers[stream].kept)

    @property
    def truncated(self) -> bool:
        """Output beyond the limit was dropped."""
        return any(buffer.truncated for buffer in self._buffers.values())

    def _take(self, stream: Stream, data: bytes) -> None:
        if not data:
            return
        buffer = self._buffers[stream]
        room = self.limit - len(buffer.kept)
        if room < len(data):
            buffer.truncated = True
        if room > 0:
            buffer.kept += data[:room]
        buffer.line += data
        end = buffer.line.rfind(b"\n") + 1
        if end == 0 and len(buffer.line) >= LINE_LIMIT:
            end = len(buffer.line)
        if end:
            whole = bytes(buffer.line[:end])
            del buffer.line[:end]
            for line in whole.splitlines(keepends=True):
                self._emit(stream, line)

    def _emit(self, stream: Stream, line: bytes) -> None:
        if self.on_line is not None:
            self.on_line(self.target, stream, line)


def remote_line(target: ExecTarget, command: str) -> str:
    """The command line as run on ``target``: ``SSMUX_TARGET`` and ``SSMUX_INSTANCE_ID`` exported first.

    The values are quoted for the remote sh; the user's line follows on a line of its own, so nothing it
    starts with can join the export.
    """
    exports = f"SSMUX_TARGET={shlex.quote(target.name)} SSMUX_INSTANCE_ID={shlex.quote(target.instance_id)}"
    return f"export {exports}\n{command}"


@dataclass(frozen=True)
class RunOptions:
    """How every target's command runs.

    Attributes:
        document: the document (default: AWS-StartNonInteractiveCommand).
        reason: the Reason recorded with each session.
        max_parallel: sessions at a time.
        timeout: seconds each target's run may take before it is ended (``None``: no limit).
        output_limit: bytes of stdout and of stderr kept per target.
    """

    document: str | None = None
    reason: str | None = None
    max_parallel: int = DEFAULT_MAX_PARALLEL
    timeout: float | None = None
    output_limit: int = OUTPUT_LIMIT


async def run_one(
    target: ExecTarget,
    command: str,
    clients: AwsClients,
    options: RunOptions,
    on_line: LineHandler | None = None,
) -> TargetResult:
    """Run ``command`` on ``target`` through the ``exec`` session path; never raises for the target's own
    failure (that is the result), only for cancellation."""
    from ssmux.sessions.native import NativeSession
    from ssmux.sessions.remote_exec import ExitMarker, new_token
    from ssmux.sessions.runner import Kind, build_request, merged_exec_request

    started = time.monotonic()
    collector = Collector(target, on_line, options.output_limit)
    line = remote_line(target, command)
    # One SessionApi per target: its own HTTP connections, while the profile's credentials (resolved once)
    # come from the shared clients.
    api = SessionApi(target.aws_profile, target.region, clients=clients)
    request = build_request(Kind.EXEC, target.instance_id, target.aws_profile, target.region,
                            reason=options.reason, document=options.document, command=line)  # fmt: skip
    session: NativeSession | None = None

    def attach(started_session: NativeSession) -> None:
        nonlocal session
        session = started_session
        started_session.handler = collector.handle

    def result(outcome: Outcome, error: str | None = None) -> TargetResult:
        return TargetResult(
            target, outcome, collector.exit_code, collector.output(Stream.STDOUT),
            collector.output(Stream.STDERR), time.monotonic() - started, error, collector.truncated,
        )  # fmt: skip

    async def start() -> NativeSession:
        try:
            return await NativeSession.start(request, api, on_started=attach)
        except AwsError as error:
            token = new_token()
            retry = merged_exec_request(request, error, line, token)
            if retry is None:
                raise
            collector.marker = ExitMarker(token)
            return await NativeSession.start(retry, api, on_started=attach)

    deadline = asyncio.timeout(options.timeout)
    try:
        async with deadline:
            try:
                running = await start()
            except SsmuxError as error:
                return result(Outcome.UNREACHABLE, str(error))
            end = await running.wait_closed()
            await running.close()
    except TimeoutError:
        if not deadline.expired():
            raise  # not the --timeout: a failure of its own, reported by run_many
        if session is not None:
            await session.terminate()
        collector.finish()
        outcome = Outcome.FAILED if session is not None else Outcome.UNREACHABLE
        return result(outcome, f"timed out after {options.timeout:g} s")
    finally:
        if session is not None and not session.closed:
            # Cancelled (Ctrl-C) or failed here: leave nothing running on the service side.
            with contextlib.suppress(Exception):
                await asyncio.shield(session.terminate())
    collector.finish()
    from ssmux.sessions.ending import EndReason

    if end.reason is EndReason.ERROR:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(api.terminate_session, running.session_id, quiet=True)
        message = str(end.error) if end.error else end.message or "the session failed"
        return result(Outcome.FAILED, message)
    if collector.exit_code is None:
        return result(Outcome.FAILED, "exit status not reported (the command was killed, or never ran)")
    return result(Outcome.OK if collector.exit_code == 0 else Outcome.FAILED)


async def run_many(
    targets: Sequence[ExecTarget],
    command: str,
    clients: AwsClients,
    options: RunOptions | None = None,
    *,
    on_line: LineHandler | None = None,
    on_result: ResultHandler | None = None,
) -> ManyResult:
    """Run ``command`` on every target, at most ``options.max_parallel`` at a time, in this event loop.

    Args:
        targets: where to run it (each once; the results keep this order).
        command: the shell command line.
        clients: the AWS sessions and clients every target shares.
        options: document, reason, parallelism, per-target timeout.
        on_line: takes each line of output as it comes.
        on_result: takes each target's result as soon as it ends.
    """
    options = options or RunOptions()
    gate = asyncio.Semaphore(max(1, options.max_parallel))

    async def one(target: ExecTarget) -> TargetResult:
        started = time.monotonic()
        async with gate:
            try:
                result = await run_one(target, command, clients, options, on_line)
            except Exception as error:  # a bug, or an error no layer named: this target's, not the run's
                log.exception("exec on %s failed", target.name)
                failure = f"unexpected {type(error).__name__}: {error}"
                result = TargetResult(
                    target, Outcome.FAILED, duration=time.monotonic() - started, error=failure
                )
        if on_result is not None:
            on_result(result)
        return result

    results = await asyncio.gather(*(one(target) for target in targets))
    return ManyResult(command, tuple(results))


def run_many_blocking(
    targets: Sequence[ExecTarget],
    command: str,
    clients: AwsClients,
    options: RunOptions | None = None,
    **handlers: Any,
) -> ManyResult:
    """:func:`run_many` in an event loop of its own (the CLI), with a worker pool as wide as the runs.

    StartSession, TerminateSession and KMS calls are blocking botocore calls run in the loop's default
    executor; its default size (a few threads per core) would queue them behind each other.
    """
    from concurrent.futures import ThreadPoolExecutor

    options = options or RunOptions()
    workers = max(4, min(options.max_parallel, len(targets)) + 4)

    async def main() -> ManyResult:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(workers, thread_name_prefix="ssmux-exec"))
        return await run_many(targets, command, clients, options, **handlers)

    return asyncio.run(main())


__all__ = [
    "DEFAULT_MAX_PARALLEL",
    "Collector",
    "ExecTarget",
    "LineHandler",
    "ManyResult",
    "Outcome",
    "ResultHandler",
    "RunOptions",
    "Stream",
    "TargetResult",
    "remote_line",
    "run_many",
    "run_many_blocking",
    "run_one",
]
