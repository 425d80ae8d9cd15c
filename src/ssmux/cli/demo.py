"""``ssmux demo`` (``make demo``): the whole product on a local stand-in for AWS, in one command.

It starts ``ssmux emulator --scenario demo`` as a child process, makes a temporary ``SSMUX_HOME`` whose
sync is enabled for the demo's (profile, region) pairs, points this process's AWS config at the emulator, and
serves the app exactly as ``ssmux ui`` does (same options). The URL is the first line on stdout and the first
thing printed at all; a few commands to try from another terminal follow on stderr, spelled so they run as
printed (``.venv/bin/ssmux`` when ``ssmux`` is not on PATH), and a line saying so when no browser can open.

Ctrl-C, SIGTERM or SIGHUP stop the app, which ends every session; then the emulator, which ends every shell;
then the temporary folder is removed: nothing is left behind. If the demo is killed outright (SIGKILL), the
emulator sees its stdin pipe end, stops the same way and removes the temporary folder itself.
"""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any, TextIO, cast

import click

from ssmux.cli.ui import browser_available, serve_options

#: Environment variables that would make the demo's AWS calls go somewhere else.
_CLEARED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
)


@click.command("demo")
@serve_options
def demo(host: str, port: int, native: bool, no_show: bool, allow_remote: bool) -> None:
    """Open the app on a local AWS with two accounts and ~15 instances (nothing real is touched).

    The first line printed is the app's address, as with 'ssmux ui'. Ctrl-C stops everything.
    """
    from ssmux.emulator.process import EmulatorProcess
    from ssmux.gui.app import run
    from ssmux.gui.server import ServeOptions, check_host, check_native

    options = ServeOptions(
        host=host, port=port, show=not no_show, native=native, allow_remote=allow_remote, title="ssmux demo"
    )
    check_host(options)  # refuse a bad --host before starting anything
    if native:
        check_native()
    root = Path(tempfile.mkdtemp(prefix="ssmux-demo-"))
    log_path = root / "emulator.log"
    emulator: EmulatorProcess | None = None
    with _signals_end_the_demo():
        try:
            with log_path.open("wb") as log:
                emulator = EmulatorProcess(
                    [
                        "--scenario",
                        "demo",
                        "--aws-config-dir",
                        str(root / "aws"),
                        "--remove-on-exit",
                        str(root),
                    ],
                    log=log,
                )
                try:
                    ready = emulator.start()
                except Exception:
                    sys.stderr.write(_tail(log_path))
                    raise
            home = root / "home"
            prepare_home(home, ready)
            hints = _Hints(ready, home, browser_expected=options.show and not options.native)
            run(options, out=cast(TextIO, _AfterFirstLine(sys.stdout, hints.print)), err=sys.stderr)
        finally:
            if emulator is not None:
                emulator.stop()
            shutil.rmtree(root, ignore_errors=True)
            click.echo("ssmux demo: stopped; nothing is left running.", err=True)


@contextlib.contextmanager
def _signals_end_the_demo() -> Iterator[None]:
    """SIGTERM and SIGHUP end the demo as Ctrl-C does: through every ``finally``, so nothing is left.

    By default both kill the process on the spot, skipping the clean-up. uvicorn handles SIGTERM while the
    app serves (a graceful shutdown) and then raises it again: here that raises SystemExit, which unwinds
    through the clean-up. SIGHUP, which uvicorn does not handle, becomes a SIGTERM, so it goes the same way.
    """

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    def hang_up(signum: int, frame: FrameType | None) -> None:
        signal.raise_signal(signal.SIGTERM)

    handlers: dict[int, Callable[[int, FrameType | None], None]] = {signal.SIGTERM: terminate}
    sighup = getattr(signal, "SIGHUP", None)  # POSIX only
    if sighup is not None:
        handlers[sighup] = hang_up
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class _AfterFirstLine(io.TextIOBase):
    """Writes to ``out``; once the first line (the app's URL) is out, calls ``then`` (once)."""

    def __init__(self, out: TextIO, then: Callable[[], None]) -> None:
        super().__init__()
        self._out = out
        self._then: Callable[[], None] | None = then

    def write(self, text: str) -> int:
        written = self._out.write(text)
        if "\n" in text and self._then is not None:
            then, self._then = self._then, None
            self._out.flush()
            then()
        return written

    def flush(self) -> None:
        self._out.flush()


class _Hints:
    """What the demo prints on stderr right after the URL: what runs, how to reach it, what to try."""

    def __init__(self, ready: dict[str, str], home: Path, *, browser_expected: bool) -> None:
        self.ready = ready
        self.home = home
        self.browser_expected = browser_expected

    def print(self) -> None:
        from ssmux.emulator.scenario import load_scenario

        scenario = load_scenario("demo")
        if self.browser_expected and not browser_available():
            click.echo("ssmux demo: no browser found to open here: open the URL above in one.", err=True)
        ssmux = ssmux_command()
        click.echo(
            "ssmux demo: a local AWS (the emulator) is running with the accounts "
            + ", ".join(p.name for p in scenario.profiles)
            + f" and {len(scenario.instances)} instances; press 'Sync all' in the app.\n"
            "  To use it from another terminal too:\n"
            f"  export AWS_CONFIG_FILE={shlex.quote(self.ready['aws_config_file'])}"
            f" AWS_SHARED_CREDENTIALS_FILE={shlex.quote(self.ready['aws_shared_credentials_file'])}"
            f" SSMUX_HOME={shlex.quote(str(self.home))}\n"
            f"  then e.g. '{ssmux} sync' and '{ssmux} ls'. Ctrl-C here stops everything.",
            err=True,
        )


def ssmux_command() -> str:
    """How to run ``ssmux`` from a shell here, as printed: ``ssmux`` if on PATH, else a path that works."""
    if shutil.which("ssmux"):
        return "ssmux"
    # Not on PATH (an unactivated venv, as after `make demo`): the script next to this interpreter.
    script = shutil.which("ssmux", path=str(Path(sys.executable).parent))
    if script is None:
        return f"{shlex.quote(sys.executable)} -m ssmux"
    path = Path(script)
    with contextlib.suppress(ValueError):
        path = path.relative_to(Path.cwd())  # `.venv/bin/ssmux` from the project folder
    # A bare name would be looked up on PATH, where it is not.
    return shlex.quote(str(path) if path.parent != Path() else f".{os.sep}{path}")


def prepare_home(home: Path, ready: dict[str, str]) -> list[tuple[str, str]]:
    """Point this process at the emulator and a fresh ssmux home with sync on for the demo's pairs."""
    from ssmux.core import store
    from ssmux.core.models import SyncPair
    from ssmux.emulator.scenario import load_scenario

    for name in _CLEARED:
        os.environ.pop(name, None)
    os.environ["SSMUX_HOME"] = str(home)
    os.environ["AWS_CONFIG_FILE"] = ready["aws_config_file"]
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = ready["aws_shared_credentials_file"]
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    home.mkdir(parents=True, exist_ok=True)
    scenario = load_scenario("demo")
    pairs = list(dict.fromkeys((item.profile, item.region) for item in scenario.instances))
    store.update_profiles(lambda book: demo_profiles(book, scenario))
    store.update_settings(
        lambda settings: replace(
            settings,
            sync_enabled=True,
            sync_pairs=tuple(SyncPair(profile, region, True) for profile, region in pairs),
            default_aws_profile=scenario.profiles[0].name,
        )
    )
    return pairs


#: Saved profiles the demo starts with: (profile name, scenario instance name, AWS profile, tags).
DEMO_PROFILES = (
    ("dev web", "web-1", "dev", ("demo", "team=web")),
    ("prod database", "db-1", "prod", ("demo", "team=data", "critical")),
)


def demo_profiles(book: Any, scenario: Any) -> Any:
    """``book`` with a "favourites" group of saved profiles, so the panel shows both kinds of targets."""
    from ssmux.core.models import Group, Profile

    book = book.with_group(Group("favourites"))
    for name, instance_name, aws_profile, tags in DEMO_PROFILES:
        instance = next(i for i in scenario.instances if i.name == instance_name and i.profile == aws_profile)
        book = book.with_profile(
            Profile(
                name,
                instance.instance_id,
                group="favourites",
                tags=frozenset(tags),
                aws_profile=aws_profile,
                region=instance.region,
                description=f"A saved profile for the demo's {instance_name} in {aws_profile}.",
            )
        )
    return book


def _tail(path: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
    return ""
