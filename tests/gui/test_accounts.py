"""The Accounts page against the emulator's IAM Identity Center: the table of accounts and roles, its filters,
and writing profiles and pairs that are then synced; before signing in, the page offers Sign in.

HOME is the test's own, so the token cache (``~/.aws/sso/cache``) is too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ssmux.core import store
from ssmux.core.aws import AwsClients
from ssmux.gui.components.target_row import TargetRow
from tests.support.emulator import RunningEmulator, start_emulator

from .conftest import Gui, eventually
from .test_sign_in import organization, text_of, use, visible

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(
        organization("auto"), "--fast", tmp_dir=tmp_path_factory.mktemp("accounts")
    ) as running:
        yield running


def sign_in_now() -> None:
    """Sign in as ``ssmux sso login`` does (the emulator approves at once)."""
    from ssmux.sso.login import DeviceLogin, resolve_target

    target, profile = resolve_target()
    DeviceLogin(AwsClients().unsigned_client("sso-oidc", profile, target.region), target).login(print)


def table_rows(gui: Gui) -> list[tuple[str, str, str]]:
    table: Any = field(gui, "accounts-table")
    return [(r["account_name"], r["account_id"], r["role_name"]) for r in table.rows]


def field(gui: Gui, marker: str) -> Any:
    (element,) = visible(gui, marker)
    return element


async def test_table_filters_then_profiles_and_pairs_are_written_and_synced(
    gui: Gui, org: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every account and role is listed; the role and account filters narrow the table; "Add profiles and
    pairs" writes a profile per shown role into the AWS config's block, a pair per profile and region, and
    syncs them: the account's instances appear in the panel."""
    use(org, tmp_path, monkeypatch)
    await asyncio.to_thread(sign_in_now)
    await gui.user.open("/accounts")
    await eventually(lambda: visible(gui, "accounts-table") and table_rows(gui))
    assert table_rows(gui) == [
        ("Development", "111111111111", "AdministratorAccess"),
        ("Development", "111111111111", "ReadOnlyAccess"),
        ("Production", "222222222222", "ReadOnlyAccess"),
    ]
    assert "3 of 3 roles in 2 accounts" in text_of(gui, "accounts-status")

    field(gui, "accounts-role-filter").set_value(["ReadOnlyAccess"])
    assert [row[0] for row in table_rows(gui)] == ["Development", "Production"]
    field(gui, "accounts-account-filter").set_value("prod*")
    assert table_rows(gui) == [("Production", "222222222222", "ReadOnlyAccess")]
    field(gui, "accounts-account-filter").set_value("1111*")  # ids match too
    assert table_rows(gui) == [("Development", "111111111111", "ReadOnlyAccess")]
    field(gui, "accounts-account-filter").set_value("")

    gui.user.find(marker="accounts-add").click()  # no region chosen: nothing is written
    regions = field(gui, "accounts-regions")
    message = "choose at least one region to sync"
    await eventually(lambda: regions.props.get("error-message") == message)
    assert store.load_settings().sync_pairs == ()

    regions.set_value(["eu-central-1", "us-east-1"])
    gui.user.find(marker="accounts-add").click()
    await eventually(lambda: "Synced 4 pairs" in text_of(gui, "accounts-result"), timeout=30)
    assert "Wrote 2 profiles" in text_of(gui, "accounts-result")
    text = (tmp_path / "aws-config").read_text()
    assert "[profile corp-Development-ReadOnlyAccess]" in text
    assert "[profile corp-Production-ReadOnlyAccess]" in text
    assert "[profile corp-Development-AdministratorAccess]" not in text  # filtered out
    assert {pair.key for pair in store.load_settings().sync_pairs} == {
        ("corp-Development-ReadOnlyAccess", "eu-central-1"),
        ("corp-Development-ReadOnlyAccess", "us-east-1"),
        ("corp-Production-ReadOnlyAccess", "eu-central-1"),
        ("corp-Production-ReadOnlyAccess", "us-east-1"),
    }
    await gui.user.open("/")
    names = {row.target.name for row in gui.user.find(kind=TargetRow).elements if not row.is_deleted}
    assert names == {"web-1", "web-2"}


async def test_before_signing_in_the_page_offers_sign_in(
    gui: Gui, org: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not signed in: the page says which command would sign in and shows Sign in; after it, the table."""
    use(org, tmp_path, monkeypatch)
    await gui.user.open("/accounts")
    await eventually(lambda: visible(gui, "accounts-sign-in"))
    assert "not signed in" in text_of(gui, "accounts-status")
    gui.user.find(marker="accounts-sign-in").click()
    await eventually(lambda: visible(gui, "accounts-table") and len(table_rows(gui)) == 3)
    assert not visible(gui, "accounts-sign-in")
