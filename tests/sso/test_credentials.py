"""Role credentials straight from the portal: a ``sso:<session>/<account>/<role>`` name signs as that role."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ssmux.errors import AwsError
from ssmux.sso.credentials import RoleSource, role_session
from tests.support.emulator import RunningEmulator

from .test_login_cli import organization  # noqa: F401 (the module-scoped emulator fixture)

pytestmark = pytest.mark.e2e

DEV_READONLY = RoleSource("corp", "111111111111", "ReadOnlyAccess")


def test_names_parse_both_ways() -> None:
    assert RoleSource.parse(DEV_READONLY.name) == DEV_READONLY
    assert DEV_READONLY.name == "sso:corp/111111111111/ReadOnlyAccess"
    for name in ("dev", "sso:corp/1111/Role", "sso:/111111111111/Role", None):
        assert RoleSource.parse(name) is None


def sign_in(emulator: RunningEmulator, home: Path) -> None:
    env = {**os.environ, **emulator.env(), "HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-m", "ssmux", "sso", "login", "--use-device-code", "--no-browser"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_a_role_lists_its_accounts_instances(
    organization: RunningEmulator,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    organization.apply(monkeypatch)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(AwsError, match=r"not signed in .* run 'ssmux sso login --sso-session corp'"):
        role_session(DEV_READONLY).create_client("sts", region_name="eu-central-1").get_caller_identity()
    sign_in(organization, tmp_path)
    session = role_session(DEV_READONLY)
    identity = session.create_client("sts", region_name="eu-central-1").get_caller_identity()
    assert identity["Account"] == "111111111111"
    ec2 = session.create_client("ec2", region_name="eu-central-1")
    names = {
        tag["Value"]
        for reservation in ec2.describe_instances()["Reservations"]
        for instance in reservation["Instances"]
        for tag in instance.get("Tags", [])
        if tag["Key"] == "Name"
    }
    assert names == {"web"}
    with pytest.raises(AwsError, match="GetRoleCredentials failed: ForbiddenException"):
        role_session(
            RoleSource("corp", "222222222222", "AdministratorAccess")
        ).get_credentials().get_frozen_credentials()
