"""``ssmux exec --group G | --tag K=V | TARGET... -- CMD``: one command on many targets at once.

``ssmux exec`` stays one command for the user; :class:`ExecDispatch` (the class of ``exec``) looks at the
words before ``--`` and hands a many-target call to :data:`exec_many`: ``--group``, ``--tag``, ``--json``,
``--max-parallel`` or ``--timeout`` there, or more than one TARGET. ``ssmux exec TARGET -- CMD`` is left to
the single-target command, unchanged.

Each target's output comes as it is printed, each line prefixed with the target's name (``web-1 | line``;
coloured on a terminal), stdout to stdout and stderr to stderr; or, with ``--json``, one JSON document at the
end with each target's stdout, stderr, exit code, duration and error apart. Then a summary on stderr, and the
exit status: 0 when every target's command exited 0, 1 when any failed or could not be reached.

How the runs go: :mod:`ssmux.sessions.exec_many`.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ssmux.sessions.exec_many import ExecTarget, ManyResult, Stream, TargetResult

#: Options that only a many-target call has: any of them before ``--`` makes the call one.
MANY_OPTIONS = ("--group", "--tag", "--json", "--max-parallel", "--timeout")
#: ANSI colours of the name prefixes, by target position (on a terminal only).
COLOURS = (36, 33, 35, 32, 34, 91, 96, 93, 95, 92, 94)


def split_dashes(args: list[str]) -> tuple[list[str], list[str] | None]:
    """The words before the first ``--`` and those after it (``None`` when there is no ``--``)."""
    if "--" not in args:
        return args, None
    at = args.index("--")
    return args[:at], args[at + 1 :]


def is_many(args: list[str], value_options: set[str]) -> bool:
    """Whether an ``exec`` command line asks for many targets.

    Before ``--``: a many-target option, or more than one positional word (option values skipped, as
    ``value_options`` names the options that take one). Without ``--`` only the options before the second
    positional word count: what follows may be the command's own (``ssmux exec web-1 curl --json x``).
    """
    before, after = split_dashes(args)
    positionals = 0
    skip = False
    for word in before:
        if skip:
            skip = False
            continue
        if word.split("=", 1)[0] in MANY_OPTIONS:
            return True
        if word.startswith("-") and word != "-":
            skip = "=" not in word and word in value_options
            continue
        positionals += 1
        if after is None and positionals > 1:
            return False
    return after is not None and positionals > 1


class ExecDispatch(click.Command):
    """``ssmux exec``: the single-target command, which hands a many-target call to :data:`exec_many`."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        if is_many(list(args), _value_options(self) | _value_options(exec_many)):
            before, after = split_dashes(list(args))
            context = exec_many.make_context(info_name, before, parent=parent, **extra)
            context.params["command"] = tuple(after or ())
            return context
        return super().make_context(info_name, args, parent=parent, **extra)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        with formatter.section("Many targets at once"):
            formatter.write_text(
                "ssmux exec --group G | --tag K=V | TARGET... [options] -- COMMAND  runs COMMAND on every "
                "target, in parallel; see 'ssmux exec --group G --help'."
            )


def _value_options(command: click.Command) -> set[str]:
    return {
        name
        for param in command.params
        if isinstance(param, click.Option) and not param.is_flag and not param.count
        for name in param.opts
    }


@click.command("exec")
@click.argument("targets", nargs=-1, metavar="[TARGET]... -- COMMAND...")
@click.option("--group", metavar="G", help="Every target of this group (a saved group, or PROFILE/REGION).")
@click.option("--tag", "tags", multiple=True, metavar="K=V", help="Targets with this tag; repeatable.")
@click.option("--aws-profile", "aws_profile", metavar="P", help="AWS CLI profile for every target.")
@click.option("--region", metavar="R", help="AWS region for every target.")
@click.option("--document", metavar="D", help="Document with a 'command' parameter.")
@click.option("--reason", metavar="R", help="Reason recorded with each session.")
@click.option(
    "--max-parallel",
    type=click.IntRange(1, 256),
    default=16,
    show_default=True,
    metavar="N",
    help="Sessions at a time.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="End a target's run after this long (it counts as failed).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print each target's output apart, as JSON, at the end."
)
def exec_many(
    targets: tuple[str, ...],
    group: str | None,
    tags: tuple[str, ...],
    aws_profile: str | None,
    region: str | None,
    document: str | None,
    reason: str | None,
    max_parallel: int,
    timeout: float | None,
    as_json: bool,
    command: tuple[str, ...] = (),
) -> None:
    """Run COMMAND on many targets at once: every target of --group, those with --tag, and each TARGET.

    Put COMMAND after --. Each TARGET names what 'ssmux ls TARGET' lists (an exact name or id wins); with
    TARGETs, --group and --tag narrow them. COMMAND runs through sh on each target, with SSMUX_TARGET (its
    name) and SSMUX_INSTANCE_ID exported. Output lines come as printed, prefixed with the target's name;
    --json keeps each target's stdout, stderr, exit code, duration and error apart. A summary follows on
    stderr. Exit status: 0 when every command exited 0; 1 when any failed or its target was unreachable.
    """
    from ssmux.cli.ls import parse_tag
    from ssmux.core.validation import validate_aws_profile_name, validate_region
    from ssmux.errors import InvalidValue
    from ssmux.sessions.remote_exec import command_line

    if not command:
        raise InvalidValue(
            "no command: put it after --, e.g. ssmux exec --group web -- uptime (several targets need the --)"
        )
    for value, check in ((aws_profile, validate_aws_profile_name), (region, validate_region)):
        if value is not None:
            check(value)
    result = run(
        list(targets),
        command_line(command),
        group=group,
        tags=[parse_tag(tag) for tag in tags],
        aws_profile=aws_profile,
        region=region,
        document=document,
        reason=reason,
        max_parallel=max_parallel,
        timeout=timeout,
        as_json=as_json,
    )
    raise SystemExit(result.exit_status)


def run(
    words: list[str],
    line: str,
    *,
    group: str | None,
    tags: list[tuple[str, str | None]],
    aws_profile: str | None,
    region: str | None,
    document: str | None,
    reason: str | None,
    max_parallel: int,
    timeout: float | None,
    as_json: bool,
) -> ManyResult:
    """Choose the targets, run ``line`` on each, print as it comes (or JSON at the end), then the summary."""
    from ssmux.core.aws import AwsClients
    from ssmux.sessions.exec_many import RunOptions, run_many_blocking
    from ssmux.sessions.exec_targets import select_targets

    chosen = select_targets(words, group=group, tags=tags, aws_profile=aws_profile, region=region)
    printer = LinePrinter(chosen, colour=_colour())
    options = RunOptions(document=document, reason=reason, max_parallel=max_parallel, timeout=timeout)
    handlers: dict[str, Any] = {"on_result": printer.result}
    if not as_json:
        handlers["on_line"] = printer.line
    try:
        result = run_many_blocking(chosen, line, AwsClients(), options, **handlers)
    except KeyboardInterrupt:
        sys.stderr.write("ssmux: interrupted: every started session was ended\n")
        raise SystemExit(130) from None
    if as_json:
        from ssmux.cli.output import print_json

        print_json(result.to_dict())
    printer.summary(result)
    return result


class LinePrinter:
    """Prints each target's lines with its name in front, and the summary; one write per line.

    Args:
        targets: every target (the prefixes are padded to the longest name).
        colour: colour the prefixes (a terminal).
    """

    def __init__(self, targets: list[ExecTarget], *, colour: bool) -> None:
        from ssmux.cli.ls import clean

        self._clean = clean
        width = max((len(clean(target.name)) for target in targets), default=0)
        self._prefix: dict[ExecTarget, bytes] = {}
        for index, target in enumerate(targets):
            name = clean(target.name).ljust(width)
            text = f"\x1b[{COLOURS[index % len(COLOURS)]}m{name}\x1b[0m | " if colour else f"{name} | "
            self._prefix[target] = text.encode()

    def line(self, target: ExecTarget, stream: Stream, data: bytes) -> None:
        """One line of ``target`` on its stream (a line cut by the line limit gets its newline here)."""
        from ssmux.sessions.exec_many import Stream

        text = self._prefix.get(target, f"{target.name} | ".encode()) + data
        if not text.endswith(b"\n"):
            text += b"\n"
        _write(1 if stream is Stream.STDOUT else 2, text)

    def result(self, result: TargetResult) -> None:
        """A target that could not run says why at once (stderr), so a long run shows it early."""
        from ssmux.sessions.exec_many import Outcome

        if result.outcome is Outcome.UNREACHABLE:
            self.line(result.target, _stderr(), f"ssmux: {result.summary}\n".encode())

    def summary(self, result: ManyResult) -> None:
        """The counts, then one line per target that did not succeed."""
        from ssmux.sessions.exec_many import Outcome

        lines = [f"ssmux: {result.summary_line()}"]
        lines += [
            f"  {self._clean(item.target.name)}: {item.summary}"
            for item in result.results
            if item.outcome is not Outcome.OK
        ]
        _write(2, ("\n".join(lines) + "\n").encode())


def _stderr() -> Stream:
    from ssmux.sessions.exec_many import Stream

    return Stream.STDERR


def _colour() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _write(fd: int, data: bytes) -> None:
    stream = sys.stdout if fd == 1 else sys.stderr
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        buffer.write(data)
    else:
        stream.write(data.decode("utf-8", "replace"))
    stream.flush()
