"""``ssmux demo`` starts signed in to its organization, with discovered pairs; the user's HOME untouched."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.demo import running_demo

pytestmark = pytest.mark.e2e

EXPORT = re.compile(r"export AWS_CONFIG_FILE=(\S+) AWS_SHARED_CREDENTIALS_FILE=(\S+) SSMUX_HOME=(\S+)")


def test_demo_signs_in_discovers_and_keeps_the_token_out_of_the_users_home(tmp_path: Path) -> None:
    """The hints say the demo signed in and what it discovered; the pairs include the discovered one, the
    AWS config has the discovered profiles, the token is under the demo's own HOME, and the user's HOME
    gets no ~/.aws at all."""
    from ssmux.cli.demo import DEMO_DISCOVERED, DEMO_SYNCED_ROLE

    user_home = tmp_path / "user-home"
    user_home.mkdir()
    env = {**os.environ, "HOME": str(user_home)}
    with running_demo(tmp_path, "--no-show", env=env, merge_stderr=True) as demo:
        hints = "\n".join(demo.read_until("stops everything"))
        assert "Signed in to IAM Identity Center (sso-session demo): 4 roles in 2 accounts" in hints
        found = EXPORT.search(hints)
        assert found, hints
        config, _credentials, ssmux_home = found.groups()
        text = Path(config).read_text()
        assert text.count("[profile demo-") == 4
        cli_env = {**env, "AWS_CONFIG_FILE": config, "SSMUX_HOME": ssmux_home}
        listed = subprocess.run(
            [sys.executable, "-m", "ssmux", "pair", "ls", "--json"],
            env=cli_env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        pairs = {(p["aws_profile"], p["region"]) for p in json.loads(listed.stdout)}
        for account, region in DEMO_DISCOVERED:
            assert (f"demo-{account}-{DEMO_SYNCED_ROLE}", region) in pairs
        assert list((demo.root / "user-home" / ".aws" / "sso" / "cache").glob("*.json"))
    assert not (user_home / ".aws").exists()
