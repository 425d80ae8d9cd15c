"""`ssmux sync`, `ssmux ls` and `ssmux profile save-synced` as a user runs them, against the emulator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ssmux.cli.main import cli
from ssmux.core import store
from ssmux.core.models import SyncPair
from tests.support.emulator import RunningEmulator

from .conftest import aws_files_with_extra

pytestmark = pytest.mark.e2e

LS_FIELDS = [
    "name",
    "instance_id",
    "aws_profile",
    "region",
    "group",
    "source",
    "state",
    "ping_status",
    "platform",
    "private_ip",
    "tags",
    "kind",
    "container",
]
DEMO_PAIRS = (("dev", "eu-central-1"), ("dev", "eu-west-1"), ("prod", "us-east-1"), ("prod", "us-west-2"))


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def enable(pairs: tuple[tuple[str, str], ...], *, only_running: bool = True) -> None:
    store.update_settings(
        lambda s: replace(
            s,
            sync_enabled=True,
            sync_only_running=only_running,
            sync_pairs=tuple(SyncPair(p, r) for p, r in pairs),
        )
    )


def test_sync_json_and_exit_status(demo: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """`sync --json` prints the documented fields per pair and in total; exit 0 when every pair succeeds."""
    demo.apply(monkeypatch)
    enable(DEMO_PAIRS)
    result = run("sync", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == ["pairs", "instances", "seconds", "containers"]
    assert [(p["profile"], p["region"], p["status"], p["error"]) for p in data["pairs"]] == [
        (*pair, "ok", None) for pair in DEMO_PAIRS
    ]
    assert all(
        list(p) == ["profile", "region", "status", "instances", "seconds", "error", "containers", "ecs_error"]
        for p in data["pairs"]
    )
    assert [p["instances"] for p in data["pairs"]] == [5, 2, 5, 1]
    assert data["instances"] == 13 and data["seconds"] > 0


def test_sync_with_a_failing_pair_exits_1_and_keeps_the_rest(
    fleet_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Named pairs sync even with sync off; a failing pair gives exit 1 and its error; the rest is saved."""
    fleet_emulator.apply(monkeypatch)
    result = run("sync", "--pair", "dev/eu-central-1", "--pair", "denied/eu-central-1", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    ok, denied = data["pairs"]
    assert (ok["status"], ok["instances"], ok["error"]) == ("ok", 3, None)  # a stopped one too
    assert denied["status"] == "error" and denied["instances"] == 0
    assert denied["error"]["code"] == "UnauthorizedOperation"
    assert "access denied to" in denied["error"]["message"]
    assert "1 of 2 pairs failed" in result.stderr
    listed = json.loads(run("ls", "--json").stdout)
    assert sorted(t["name"].split(" ")[0] for t in listed) == ["web-1", "web-2"]


def test_sync_disabled_says_how_to_enable(demo: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """With sync off and no --pair, one line says how to turn it on, exit 1, and nothing is synced."""
    demo.apply(monkeypatch)
    assert run("settings", "set", "sync_enabled", "false").exit_code == 0
    result = run("sync")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "ssmux: error: sync is disabled: enable it with 'ssmux settings set sync_enabled true'"
    )
    assert len(result.stderr.strip().splitlines()) == 1
    assert json.loads(run("ls", "--json").stdout) == []


def test_bad_input_is_one_clear_line(demo: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Malformed pairs, unknown regions, bad tags and concurrency are refused before any AWS call."""
    demo.apply(monkeypatch)
    no_slash = run("sync", "--pair", "dev")
    assert no_slash.exit_code == 1 and "write it as PROFILE/REGION" in no_slash.stderr
    bad_region = run("sync", "--pair", "dev/eu-centrl-1")
    assert (
        bad_region.exit_code == 1
        and "eu-centrl-1" in bad_region.stderr
        and "Traceback" not in bad_region.output
    )
    assert run("sync", "--pair", "dev/eu-central-1", "--concurrency", "0").exit_code == 2
    bad_tag = run("ls", "--tag", "=web")
    assert bad_tag.exit_code == 1 and "write KEY=VALUE or KEY" in bad_tag.stderr


def test_full_sync_forgets_pairs_no_longer_enabled(
    demo: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full sync is the truth about the enabled pairs: a pair disabled since then leaves the listing."""
    demo.apply(monkeypatch)
    enable(DEMO_PAIRS[:2])
    assert run("sync").exit_code == 0
    assert {t["group"] for t in json.loads(run("ls", "--json").stdout)} == {
        "dev/eu-central-1",
        "dev/eu-west-1",
    }
    enable(DEMO_PAIRS[:1])
    assert run("sync").exit_code == 0
    assert {t["group"] for t in json.loads(run("ls", "--json").stdout)} == {"dev/eu-central-1"}


def test_ls_query_filters_and_json_fields(demo: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ls` matches all words in any case, ranks, filters by group, tag and state, prints the JSON fields."""
    demo.apply(monkeypatch)
    enable(DEMO_PAIRS, only_running=False)
    assert run("sync").exit_code == 0

    def names(*args: str) -> list[str]:
        result = run("ls", "--json", *args)
        assert result.exit_code == 0, result.output
        return [target["name"].split(" (")[0] for target in json.loads(result.stdout)]

    web = json.loads(run("ls", "--json", "WEB-1").stdout)
    assert [list(target) for target in web] == [LS_FIELDS, LS_FIELDS]
    assert {(t["group"], t["source"], t["state"], t["ping_status"]) for t in web} == {
        ("dev/eu-central-1", "synced", "running", "Online"),
        ("prod/us-east-1", "synced", "running", "Online"),
    }
    assert all(t["tags"]["Name"] == "web-1" and t["private_ip"] for t in web)
    assert names("web", "prod") == ["web-1", "web-2"]  # web-dr (prod, stopped) is hidden
    assert names("web", "prod", "--all") == ["web-1", "web-2", "web-dr"]
    assert names("--state", "stopped") == ["worker-1", "cache-1", "web-dr"]  # by group, then name
    assert names("--group", "dev/eu-west-1") == ["bastion", "legacy-app"]
    unnamed, db = names("--tag", "team=data")  # cache-1 has the tag too, but is stopped
    assert unnamed.startswith("i-") and db == "db-1"
    assert names("onprem") == ["onprem-db"]
    assert names("no-such-thing") == []
    table = run("ls", "bastion")
    lines = table.stdout.splitlines()
    assert lines[0].split() == [
        "NAME",
        "INSTANCE",
        "GROUP",
        "STATE",
        "SSM",
        "PLATFORM",
        "PRIVATE",
        "IP",
        "SOURCE",
    ]
    assert len(lines) == 2 and "dev/eu-west-1" in lines[1] and "Online" in lines[1]


def test_save_synced_makes_an_editable_profile(
    demo: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A synced instance becomes a saved profile with its pair's profile, region, tags; ls shows it once."""
    demo.apply(monkeypatch)
    enable(DEMO_PAIRS)
    assert run("sync").exit_code == 0
    ambiguous = run("profile", "save-synced", "web-1")
    assert ambiguous.exit_code == 1 and "names 2 synced instances" in ambiguous.stderr
    [dev_web] = [t for t in json.loads(run("ls", "--json", "web-1").stdout) if t["aws_profile"] == "dev"]
    saved = run("profile", "save-synced", dev_web["instance_id"], "--name", "my web", "--group", "fav")
    assert saved.exit_code == 0, saved.output
    [profile] = store.load_profiles().profiles
    assert (profile.name, profile.instance_id, profile.group) == ("my web", dev_web["instance_id"], "fav")
    assert (profile.aws_profile, profile.region) == ("dev", "eu-central-1")
    assert {"team=web", "env=dev"} <= profile.tags
    listed = json.loads(run("ls", "--json", "web-1").stdout)
    assert sorted((t["name"], t["source"]) for t in listed) == [
        ("my web", "saved"),
        (next(t["name"] for t in listed if t["source"] == "synced"), "synced"),
    ]
    assert [t["aws_profile"] for t in listed if t["source"] == "synced"] == ["prod"]
    again = run("profile", "save-synced", dev_web["instance_id"])
    assert again.exit_code == 1 and "already saved as profile 'my web'" in again.stderr
    missing = run("profile", "save-synced", "nothing-like-this")
    assert missing.exit_code == 1 and "no synced instance 'nothing-like-this'" in missing.stderr


def test_ls_warns_when_a_pair_is_stale(
    fleet_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a failed sync, `ls` still lists nothing new but says which pair is stale and why."""
    fleet_emulator.apply(monkeypatch)
    run("sync", "--pair", "throttled/eu-central-1")
    result = run("ls")
    assert (
        "ssmux: warning: throttled/eu-central-1 is stale (it never synced): last sync failed:"
        in result.stderr
    )


def ssmux_argv(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "ssmux"), *args]


def test_installed_ssmux_sync_then_ls(
    fleet_emulator: RunningEmulator, isolated_home: Path, tmp_path: Path
) -> None:
    """The installed `ssmux` syncs a pair and lists it, as a separate process would for a user."""
    env = {**os.environ, **fleet_emulator.env(), "SSMUX_HOME": str(isolated_home)}
    synced = subprocess.run(
        ssmux_argv("sync", "--pair", "prod/us-east-1"), env=env, capture_output=True, text=True, timeout=60
    )
    assert synced.returncode == 0, synced.stderr
    assert synced.stderr == ""  # each result once: the table's row and one summary line, on stdout
    assert synced.stdout.count("prod/us-east-1") == 1
    assert synced.stdout.splitlines()[-1].startswith("3 instances from 1 pair in ")
    listed = subprocess.run(
        ssmux_argv("ls", "api", "--json"), env=env, capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    assert sorted(t["name"].split(" ")[0] for t in json.loads(listed.stdout)) == ["api-1", "api-2", "api-3"]


def test_ctrl_c_exits_130_and_keeps_finished_pairs(
    fleet_emulator: RunningEmulator, isolated_home: Path, tmp_path: Path, hung_endpoint: str
) -> None:
    """Ctrl-C during a sync ends it at once with status 130; the pair that had finished is kept."""
    config, credentials = aws_files_with_extra(
        fleet_emulator, tmp_path / "aws", {"hung": ("dev", hung_endpoint)}
    )
    env = {
        **os.environ,
        **fleet_emulator.env(),
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "SSMUX_HOME": str(isolated_home),
    }
    process = subprocess.Popen(
        ssmux_argv("sync", "--pair", "dev/eu-central-1", "--pair", "hung/eu-central-1"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The finished pair is in the cache as soon as it is done: wait for it there (bounded), then Ctrl-C.
        deadline = time.monotonic() + 30
        while not _listed_groups(env) and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130
    assert "ssmux: interrupted: 1 of 2 pairs finished and kept" in rest
    assert _listed_groups(env) == {"dev/eu-central-1"}


def _listed_groups(env: dict[str, str]) -> set[str]:
    listed = subprocess.run(ssmux_argv("ls", "--json"), env=env, capture_output=True, text=True, timeout=60)
    return {t["group"] for t in json.loads(listed.stdout or "[]")}


def test_ls_never_imports_boto3(demo: RunningEmulator, isolated_home: Path) -> None:
    """`ssmux ls QUERY` reads the cache without loading boto3, botocore or rich, which keeps it quick."""
    env = {**os.environ, **demo.env(), "SSMUX_HOME": str(isolated_home)}
    synced = subprocess.run(
        ssmux_argv("sync", "--pair", "dev/eu-west-1"), env=env, capture_output=True, timeout=60
    )
    assert synced.returncode == 0, synced.stderr
    probe = (
        "import sys\n"
        "from ssmux.cli.main import main\n"
        "try:\n    main(['ls', 'bastion'])\nexcept SystemExit as done:\n    assert not done.code, done.code\n"
        "heavy = {m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'rich', 'moto'}\n"
        "print('heavy:', sorted(heavy))\n"
    )
    run_ls = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    assert run_ls.returncode == 0, run_ls.stderr
    assert "bastion  i-" in run_ls.stdout
    assert run_ls.stdout.strip().endswith("heavy: []")


def test_progress_display_on_a_terminal(demo: RunningEmulator, isolated_home: Path) -> None:
    """On a terminal, `ssmux sync` shows a live line per pair that ends with its result."""
    pexpect = pytest.importorskip("pexpect")
    env = {**os.environ, **demo.env(), "SSMUX_HOME": str(isolated_home), "COLUMNS": "120"}
    child = pexpect.spawn(
        ssmux_argv()[0],
        ["sync", "--pair", "dev/eu-west-1", "--pair", "nobody/eu-west-1"],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(24, 120),
    )
    try:
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    screen = child.before
    assert "dev/eu-west-1" in screen and "ok: 3 instances" in screen
    assert "ProfileNotFound: unknown AWS CLI profile 'nobody'" in screen
    assert child.exitstatus == 1
