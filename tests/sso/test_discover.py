"""Discovering every account and role of the signed-in user, against the emulator's portal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ssmux.errors import AwsError
from ssmux.sso.discover import discover
from ssmux.sso.login import DeviceLogin
from ssmux.sso.tokens import TokenCache

from .test_login import LEGACY, Center, directory, serve


@pytest.fixture
def organization() -> Iterator[Center]:
    yield from serve(directory(accounts=45))  # more than two pages of the portal's 20


def test_every_account_and_role_across_pages(organization: Center, tmp_path: Path) -> None:
    token = DeviceLogin(organization.client("sso-oidc"), LEGACY, TokenCache(tmp_path)).login(lambda a: None)
    found = discover(organization.client("sso"), token, LEGACY)
    assert found.failed == ()
    assert len(found.accounts()) == 45
    assert len(found.roles) == 90
    assert found.roles[0].account_name == "team-1" and [r.role_name for r in found.roles[:2]] == [
        "Admin",
        "ReadOnly",
    ]
    assert {r.account_id for r in found.select(roles=["readonly"], accounts=["team-4*"])} == {
        f"{n:012d}" for n in (4, 40, 41, 42, 43, 44, 45)
    }
    assert [r.role_name for r in found.select(roles=["Admin"], accounts=["000000000007"])] == ["Admin"]


def test_an_expired_sign_in_names_the_command(organization: Center, tmp_path: Path) -> None:
    token = DeviceLogin(organization.client("sso-oidc"), LEGACY, TokenCache(tmp_path)).login(lambda a: None)
    organization.service.now = lambda: 2e10  # long after the token's 8 hours
    with pytest.raises(
        AwsError, match=f"no longer valid: run 'ssmux sso login --start-url {LEGACY.start_url}"
    ):
        discover(organization.client("sso"), token, LEGACY)
