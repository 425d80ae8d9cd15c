"""``ssmux sso login`` end to end: the emulator as IAM Identity Center, the installed aws CLI as the reader.

The sign-in's token file is the aws CLI's own: after ``ssmux sso login``, ``aws sts get-caller-identity
--profile sso`` (an sso-session profile) gets role credentials with it from the portal and answers as the
role's account, which only works when the CLI found, parsed and accepted the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.emulator import RunningEmulator, start_emulator

pytestmark = pytest.mark.e2e

SCENARIO = {
    "name": "organization",
    "profiles": [
        {"name": "dev", "account_id": "111111111111", "region": "eu-central-1"},
        {"name": "prod", "account_id": "222222222222", "region": "us-east-1"},
    ],
    "instances": [{"profile": "dev", "name": "web", "command": "/bin/sh"}],
    "sso": {
        "session": "corp",
        "region": "eu-west-1",
        "accounts": [
            {"profile": "dev", "name": "Development", "roles": ["AdministratorAccess", "ReadOnlyAccess"]},
            {"profile": "prod", "name": "Production", "roles": ["ReadOnlyAccess"]},
        ],
    },
}

#: The installed aws CLI asking who the sso profile (an sso-session profile) is: it reads ssmux's token.
WHO_AM_I = [
    sys.executable,
    "-m",
    "awscli",
    "sts",
    "get-caller-identity",
    "--profile",
    "sso",
    "--output",
    "json",
]


@pytest.fixture(scope="module")
def organization(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(SCENARIO, "--fast", tmp_dir=tmp_path_factory.mktemp("organization")) as emulator:
        yield emulator


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_sign_in_then_the_aws_cli_uses_it(organization: RunningEmulator, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, **organization.env(), "HOME": str(home), "SSMUX_HOME": str(tmp_path / "ssmux")}

    before = run(WHO_AM_I, env)
    assert before.returncode != 0  # not signed in yet: the CLI finds no token

    login = run([sys.executable, "-m", "ssmux", "sso", "login", "--no-browser"], env)
    assert login.returncode == 0, login.stderr
    assert login.stderr == ""  # the emulator approves at once: no page to visit, nothing to show
    assert login.stdout.startswith("signed in to https://")
    token_file = home / ".aws" / "sso" / "cache" / f"{hashlib.sha1(b'corp').hexdigest()}.json"
    assert json.loads(token_file.read_text())["region"] == "eu-west-1"

    after = run(WHO_AM_I, env)
    assert after.returncode == 0, after.stderr
    identity = json.loads(after.stdout)
    assert identity["Account"] == "111111111111"


def test_unknown_session_is_one_line(organization: RunningEmulator, tmp_path: Path) -> None:
    env = {**os.environ, **organization.env(), "HOME": str(tmp_path), "SSMUX_HOME": str(tmp_path / "ssmux")}
    result = run(
        [sys.executable, "-m", "ssmux", "sso", "login", "--sso-session", "nope", "--no-browser"], env
    )
    assert result.returncode != 0
    assert result.stderr.startswith("ssmux: error: no [sso-session nope] in the AWS config")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / ".aws" / "sso").exists()


def test_discover_writes_profiles_and_pairs_then_sync_reaches_the_accounts(
    organization: RunningEmulator, tmp_path: Path
) -> None:
    """Sign in, discover, write the profiles into a marked block (every other byte of the file kept), add
    pairs, and sync: instances of the organization's accounts come through the role credentials."""
    home = tmp_path / "home"
    home.mkdir()
    config = tmp_path / "config"
    # The user's file has Windows line ends and a last line with no newline: both stay as they are.
    original = organization.aws_config_file.read_text().replace("\n", "\r\n") + "# a comment, no newline"
    config.write_bytes(original.encode())
    env = {
        **os.environ, **organization.env(), "AWS_CONFIG_FILE": str(config), "HOME": str(home),
        "SSMUX_HOME": str(tmp_path / "ssmux"),
    }  # fmt: skip
    ssmux = [sys.executable, "-m", "ssmux"]
    assert run([*ssmux, "sso", "login", "--no-browser"], env).returncode == 0

    listed = run([*ssmux, "sso", "discover", "--json"], env)
    assert listed.returncode == 0, listed.stderr
    roles = json.loads(listed.stdout)["roles"]
    assert [(r["account_name"], r["role_name"]) for r in roles] == [
        ("Development", "AdministratorAccess"),
        ("Development", "ReadOnlyAccess"),
        ("Production", "ReadOnlyAccess"),
    ]

    write = [
        *ssmux,
        "sso",
        "discover",
        "--role",
        "ReadOnly*",
        "--write-aws-config",
        "--region",
        "eu-central-1",
    ]
    written = run([*write, "--add-pairs"], env)
    assert written.returncode == 0, written.stderr
    text = config.read_bytes().decode()
    assert text.startswith(original + "\n\n# >>> ssmux sso corp:")
    assert text.count("[profile corp-") == 2
    again = run(write, env)  # a second run replaces the block, nothing else
    assert again.returncode == 0 and config.read_bytes().decode() == text

    pairs = run([*ssmux, "pair", "ls", "--json"], env)
    assert {(p["aws_profile"], p["region"]) for p in json.loads(pairs.stdout)} == {
        ("corp-Development-ReadOnlyAccess", "eu-central-1"),
        ("corp-Production-ReadOnlyAccess", "eu-central-1"),
    }
    synced = run([*ssmux, "sync"], env)
    assert synced.returncode == 0, synced.stderr + synced.stdout
    names = {item["name"] for item in json.loads(run([*ssmux, "ls", "--json"], env).stdout)}
    assert "web" in names


def test_discover_before_signing_in_names_the_command(organization: RunningEmulator, tmp_path: Path) -> None:
    env = {**os.environ, **organization.env(), "HOME": str(tmp_path), "SSMUX_HOME": str(tmp_path / "ssmux")}
    result = run([sys.executable, "-m", "ssmux", "sso", "discover"], env)
    assert result.returncode != 0
    line = result.stderr.strip()
    assert line.startswith("ssmux: error: not signed in to IAM Identity Center at https://")
    assert line.endswith("run 'ssmux sso login --sso-session corp'") and "\n" not in line


def test_sign_in_in_the_browser_with_the_code_flow(organization: RunningEmulator, tmp_path: Path) -> None:
    """With a browser here, an sso-session signs in with the authorization code: the browser (a stand-in
    that follows the page's redirects, as a user who allows it) brings the code back to ssmux."""
    home = tmp_path / "home"
    home.mkdir()
    browser = f"{sys.executable} {Path(__file__).parents[1] / 'support' / 'fetch_url.py'} %s"
    env = {**os.environ, **organization.env(), "HOME": str(home), "BROWSER": browser}
    login = run([sys.executable, "-m", "ssmux", "sso", "login"], env)
    assert login.returncode == 0, login.stderr
    assert "Sign in in the browser" in login.stderr and "/authorize?response_type=code" in login.stderr
    registration = [json.loads(p.read_text()) for p in (home / ".aws" / "sso" / "cache").glob("*.json")]
    assert any(r.get("grantTypes") == ["authorization_code", "refresh_token"] for r in registration)
    identity = run(WHO_AM_I, env)
    assert identity.returncode == 0, identity.stderr
    assert json.loads(identity.stdout)["Account"] == "111111111111"


def test_pairs_that_sign_as_their_role_need_no_aws_profile(
    organization: RunningEmulator, tmp_path: Path
) -> None:
    """--add-pairs without --write-aws-config: each pair signs with its role's credentials from the portal
    (sso:SESSION/ACCOUNT/ROLE), the AWS config stays as it was, and the sync reaches the accounts."""
    home = tmp_path / "home"
    home.mkdir()
    config = tmp_path / "config"
    config.write_text(organization.aws_config_file.read_text())
    before = config.read_bytes()
    env = {
        **os.environ, **organization.env(), "AWS_CONFIG_FILE": str(config), "HOME": str(home),
        "SSMUX_HOME": str(tmp_path / "ssmux"),
    }  # fmt: skip
    ssmux = [sys.executable, "-m", "ssmux"]
    assert run([*ssmux, "sso", "login", "--no-browser"], env).returncode == 0
    added = run(
        [*ssmux, "sso", "discover", "--role", "ReadOnly*", "--region", "eu-central-1", "--add-pairs"], env
    )
    assert added.returncode == 0, added.stderr
    assert config.read_bytes() == before
    pairs = {
        (p["aws_profile"], p["region"]) for p in json.loads(run([*ssmux, "pair", "ls", "--json"], env).stdout)
    }
    assert pairs == {
        ("sso:corp/111111111111/ReadOnlyAccess", "eu-central-1"),
        ("sso:corp/222222222222/ReadOnlyAccess", "eu-central-1"),
    }
    synced = run([*ssmux, "sync"], env)
    assert synced.returncode == 0, synced.stderr + synced.stdout
    assert "web" in {item["name"] for item in json.loads(run([*ssmux, "ls", "--json"], env).stdout)}
    # A role taken away since: discovery says which pairs name it.
    assert run([*ssmux, "pair", "add", "sso:corp/333333333333/Gone/eu-central-1"], env).returncode == 0
    again = run([*ssmux, "sso", "discover"], env)
    assert again.returncode == 0, again.stderr
    gone = "(sso:corp/333333333333/Gone/eu-central-1)"
    assert f"ssmux: warning: 1 sync pair of roles you can no longer reach {gone}" in again.stderr
