"""``ssmux demo`` (``make demo``): the whole product on a local stand-in for AWS, in one command.

It starts ``ssmux emulator --scenario demo`` as a child process, makes a temporary ``SSMUX_HOME`` whose
sync is enabled for the demo's (profile, region) pairs, points this process's AWS config at the emulator,
signs in to the emulator's IAM Identity Center (approved at once) and discovers its accounts and roles, as
``ssmux sso login`` and ``ssmux sso discover --write-aws-config --add-pairs`` would, and serves the app
exactly as ``ssmux ui`` does (same options). The sign-in's token goes to ``~/.aws/sso/cache`` under a
temporary HOME of the demo's own (the aws CLI and botocore fix that folder from HOME): the user's own
``~/.aws`` is never touched; the browser is opened with the user's HOME, so it runs with their profile.

The URL is the first line on stdout and the first thing printed at all; a few commands to try from another
terminal follow on stderr, spelled so they run as printed (``.venv/bin/ssmux`` when ``ssmux`` is not on
PATH), and a line saying so when no browser can open.

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
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
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
    browser = options.show and not options.native
    root = Path(tempfile.mkdtemp(prefix="ssmux-demo-"))
    user_env = use_own_home(root / "user-home")
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
            organization = sign_in_and_discover()
            hints = _Hints(ready, home, organization, browser_expected=browser)

            def after_url(url: str) -> None:
                if browser:
                    open_browser(url, user_env)
                hints.print()

            # The app would open the browser with the demo's HOME (a fresh browser profile): we open it.
            options = replace(options, show=options.show and options.native)
            run(options, out=cast(TextIO, _AfterFirstLine(sys.stdout, after_url)), err=sys.stderr)
        finally:
            if emulator is not None:
                emulator.stop()
            shutil.rmtree(root, ignore_errors=True)
            click.echo("ssmux demo: stopped; nothing is left running.", err=True)


def use_own_home(home: Path) -> dict[str, str]:
    """Make ``home`` this process's HOME (the SSO token cache goes there); the environment as it was.

    Before botocore is imported: it fixes its token folder from HOME then.
    """
    before = dict(os.environ)
    home.mkdir(parents=True, exist_ok=True)
    os.environ["HOME"] = str(home)
    if sys.platform == "win32":
        os.environ["USERPROFILE"] = str(home)  # what Path.home() and expanduser read there
    return before


def open_browser(url: str, env: dict[str, str]) -> None:
    """Open ``url`` in the default browser, run with ``env`` (the user's own HOME), without waiting.

    The URL goes through stdin, as for the native window: a command line is readable by every user.
    """
    import subprocess

    opener = "import sys, webbrowser; webbrowser.open(sys.stdin.readline().strip())"
    process = subprocess.Popen([sys.executable, "-c", opener], stdin=subprocess.PIPE, env=env)
    assert process.stdin is not None
    process.stdin.write(url.encode() + b"\n")
    process.stdin.close()
    threading.Thread(target=process.wait, daemon=True).start()  # reaped when the opener exits


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
    """Writes to ``out``; once the first line (the app's URL) is out, calls ``then`` with it (once)."""

    def __init__(self, out: TextIO, then: Callable[[str], None]) -> None:
        super().__init__()
        self._out = out
        self._then: Callable[[str], None] | None = then
        self._first = ""

    def write(self, text: str) -> int:
        written = self._out.write(text)
        if self._then is not None:
            self._first += text
            if "\n" in self._first:
                then, self._then = self._then, None
                self._out.flush()
                then(self._first.split("\n", 1)[0].strip())
        return written

    def flush(self) -> None:
        self._out.flush()


class _Hints:
    """What the demo prints on stderr right after the URL: what runs, how to reach it, what to try."""

    def __init__(
        self, ready: dict[str, str], home: Path, organization: Discovered, *, browser_expected: bool
    ) -> None:
        self.ready = ready
        self.home = home
        self.organization = organization
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
            f"  {self.organization.summary()}\n"
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
    every = dict.fromkeys((item.profile, item.region) for item in scenario.instances)
    pairs = [pair for pair in every if pair not in DEMO_DISCOVERED]  # those come with the sign-in
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


#: The role the demo's discovered pairs sync with; the other roles are only written as profiles (for the
#: Accounts page and the aws CLI).
DEMO_SYNCED_ROLE = "ReadOnlyAccess"
#: (account, region) the demo syncs through that role rather than a hand-written profile; the others keep
#: their hand-written pair (one instance must not be listed twice, through two profiles of its account).
DEMO_DISCOVERED = (("dev", "eu-west-1"),)


@dataclass(frozen=True)
class Discovered:
    """What the demo's sign-in and discovery did, or why they failed (``error``)."""

    session: str = ""
    roles: int = 0
    accounts: int = 0
    pairs: tuple[tuple[str, str], ...] = ()
    error: str = ""

    def summary(self) -> str:
        if self.error:
            return f"IAM Identity Center: {self.error}"
        synced = ", ".join(f"{profile}/{region}" for profile, region in self.pairs) or "none"
        return (
            f"Signed in to IAM Identity Center (sso-session {self.session}): {self.roles} roles in "
            f"{self.accounts} accounts, written as AWS CLI profiles {self.session}-*; synced through them: "
            f"{synced}. See Accounts in the app."
        )


def sign_in_and_discover() -> Discovered:
    """Sign in to the emulator's IAM Identity Center (it approves at once), discover every account and role,
    write them as profiles, and add the pairs of :data:`DEMO_DISCOVERED` through :data:`DEMO_SYNCED_ROLE`
    (through the hand-written profiles if the sign-in failed, so the demo shows every instance anyway).

    Runs after :func:`prepare_home` (the AWS config and ssmux home are the demo's), with the demo's HOME.
    """
    from ssmux.core.aws import AwsClients
    from ssmux.emulator.scenario import load_scenario
    from ssmux.errors import SsmuxError
    from ssmux.sso.config_block import profile_name
    from ssmux.sso.login import DeviceLogin, resolve_target
    from ssmux.sso.organization import add_pairs_to_settings, discover_organization, role_pair, write_profiles

    scenario = load_scenario("demo")
    assert scenario.sso is not None
    session = scenario.sso.session
    clients = AwsClients()
    try:
        target, aws_profile = resolve_target(session_name=session)
        oidc = clients.unsigned_client("sso-oidc", aws_profile, target.region)
        DeviceLogin(oidc, target).login(lambda _authorization: None)  # approved at once: nothing to show
        found = discover_organization(clients, session).found
        write_profiles(session, aws_profile, found.roles)
    except SsmuxError as error:
        _add_pairs(DEMO_DISCOVERED)
        return Discovered(session, error=f"the demo's sign-in failed: {error}")
    labelled = tuple(  # as `ssmux sso discover --add-pairs` makes them: named by account and role
        role_pair(profile_name(session, role), region, role)
        for role in found.select(roles=[DEMO_SYNCED_ROLE])
        for account, region in DEMO_DISCOVERED
        if role.account_name == account
    )
    add_pairs_to_settings(labelled)
    pairs = tuple(pair.key for pair in labelled)
    return Discovered(session, len(found.roles), len(found.accounts()), pairs)


def _add_pairs(pairs: Sequence[tuple[str, str]]) -> None:
    from ssmux.core import store
    from ssmux.core.models import SyncPair

    new = tuple(SyncPair(profile, region, True) for profile, region in pairs)
    store.update_settings(lambda settings: replace(settings, sync_pairs=(*settings.sync_pairs, *new)))


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
