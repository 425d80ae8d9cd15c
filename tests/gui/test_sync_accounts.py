"""The Accounts page's sync by account: pairs of every enabled region, a row per account, failures grouped.

Three accounts of the emulator's IAM Identity Center; two of them refuse ``ec2:DescribeInstances``. With
"Every region enabled in each account", "Add profiles and pairs" asks each account which regions it has
(three here), writes a pair per region and syncs them: the page then shows a row per account (pairs done,
instances, errors) and one group for the six pairs denied the same way, which opens to list them by
account, role and region.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ssmux.core import store
from tests.support.emulator import RunningEmulator, start_emulator

from .conftest import Gui, eventually
from .test_accounts import field, sign_in_now, table_rows
from .test_sign_in import text_of, use, visible

pytestmark = pytest.mark.e2e

DENIED = ["ec2:DescribeInstances"]
SCENARIO = {
    "name": "sync-accounts",
    "profiles": [
        {"name": "dev", "account_id": "111111111111", "region": "eu-central-1"},
        {"name": "prod", "account_id": "222222222222", "region": "us-east-1", "deny": DENIED},
        {"name": "stage", "account_id": "333333333333", "region": "eu-west-1", "deny": DENIED},
    ],
    "instances": [{"profile": "dev", "region": "eu-central-1", "name": "web", "count": 2}],
    "sso": {
        "session": "corp",
        "region": "eu-west-1",
        "accounts": [
            {"profile": "dev", "name": "Development", "roles": ["ReadOnlyAccess"]},
            {"profile": "prod", "name": "Production", "roles": ["ReadOnlyAccess"]},
            {"profile": "stage", "name": "Staging", "roles": ["ReadOnlyAccess"]},
        ],
    },
}
REGIONS = ("eu-central-1", "eu-west-1", "us-east-1")  # every region of the scenario, all enabled by default


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(SCENARIO, "--fast", tmp_dir=tmp_path_factory.mktemp("sync-accounts")) as running:
        yield running


def progress_rows(gui: Gui) -> list[tuple[str, str, int, int]]:
    table: Any = field(gui, "sync-accounts-table")
    return [(r["account"], r["pairs"], r["instances"], r["errors"]) for r in table.rows]


async def test_every_enabled_region_then_rows_per_account_and_grouped_errors(
    gui: Gui, org: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pair per enabled region of each account, labelled with the account and role; after the sync, a row
    per account and the denied pairs as one group that opens onto each of them."""
    use(org, tmp_path, monkeypatch)
    await asyncio.to_thread(sign_in_now)
    await gui.user.open("/accounts")
    await eventually(lambda: visible(gui, "accounts-table") and len(table_rows(gui)) == 3)
    assert not visible(gui, "sync-accounts")  # no sync yet

    field(gui, "accounts-all-regions").set_value(True)
    assert not field(gui, "accounts-regions").enabled
    gui.user.find(marker="accounts-add").click()
    await eventually(lambda: "Synced 9 pairs" in text_of(gui, "accounts-result"), timeout=30)
    pairs = store.load_settings().sync_pairs
    assert {(p.account_name, p.role_name, p.region) for p in pairs} == {
        (account, "ReadOnlyAccess", region)
        for account in ("Development", "Production", "Staging")
        for region in REGIONS
    }

    await eventually(lambda: visible(gui, "sync-accounts") and progress_rows(gui))
    assert progress_rows(gui) == [
        ("Development", "3 of 3", 2, 0),
        ("Production", "3 of 3", 0, 3),
        ("Staging", "3 of 3", 0, 3),
    ]
    assert "6 of 9 pairs failed" in text_of(gui, "sync-accounts-summary")
    (group,) = visible(gui, "sync-error-group UnauthorizedOperation")
    assert str(group.props["label"]).startswith(
        "UnauthorizedOperation in 6 pairs (Production ReadOnlyAccess "
    )
    group.set_value(True)  # open it
    listed = sorted(str(label.text).split(":", 1)[0] for label in visible(gui, "sync-error-pair"))
    assert listed == sorted(
        f"{account} ReadOnlyAccess {region}" for account in ("Production", "Staging") for region in REGIONS
    )
