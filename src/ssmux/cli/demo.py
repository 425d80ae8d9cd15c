"""``ssmux demo`` (``make demo``): the whole product on a local stand-in for AWS, in one command.

It starts ``ssmux emulator --scenario demo`` as a child process, makes a temporary ``SSMUX_HOME`` whose
sync is enabled for the demo's (profile, region) pairs, points this process's AWS config at the emulator, and
serves the app exactly as ``ssmux ui`` does (same options; the URL line is the first line on stdout). A few
commands to try from another terminal follow on stderr. Ctrl-C (or SIGTERM) stops the app, which ends every
session; then the emulator, which ends every shell; then the temporary folder is removed: nothing is left
behind.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from ssmux.cli.ui import serve_options

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
    try:
        with log_path.open("wb") as log:
            emulator = EmulatorProcess(["--scenario", "demo", "--aws-config-dir", str(root / "aws")], log=log)
            try:
                ready = emulator.start()
            except Exception:
                sys.stderr.write(_tail(log_path))
                raise
        prepare_home(root / "home", ready)
        run(options, err=sys.stderr)
    finally:
        if emulator is not None:
            emulator.stop()
        shutil.rmtree(root, ignore_errors=True)
        click.echo("ssmux demo: stopped; nothing is left running.", err=True)


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
    click.echo(
        "ssmux demo: a local AWS (the emulator) is running with the accounts "
        + ", ".join(p.name for p in scenario.profiles)
        + f" and {len(scenario.instances)} instances; press 'Sync all' in the app.\n"
        "  To use it from another terminal too:\n"
        f"  export AWS_CONFIG_FILE={shlex.quote(ready['aws_config_file'])}"
        f" AWS_SHARED_CREDENTIALS_FILE={shlex.quote(ready['aws_shared_credentials_file'])}"
        f" SSMUX_HOME={shlex.quote(str(home))}\n"
        "  then e.g. 'ssmux sync' and 'ssmux ls'. Ctrl-C here stops everything.",
        err=True,
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
