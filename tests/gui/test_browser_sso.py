"""Signing in from the settings page in real Chromium, then the Accounts table, against the emulator.

``ssmux ui --no-show`` runs as a subprocess with a HOME of the test's (so its token cache too) and the AWS
config of an emulator whose IAM Identity Center waits for approval on its device page. The dialog's link
opens that page in a new tab, where the code shown matches the dialog's; "Allow access" there signs the app
in. Fails on any console error of the app's page.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.app import running_ui
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.emulator import RunningEmulator, start_emulator

from .test_sign_in import organization

pytestmark = pytest.mark.e2e
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install playwright")

TIMEOUT_MS = 30_000


@pytest.fixture
def manual_org(tmp_path: Path) -> Iterator[RunningEmulator]:
    with start_emulator(organization("manual"), "--fast", tmp_dir=tmp_path / "emulator") as running:
        yield running


def test_sign_in_from_settings_then_the_accounts_table(manual_org: RunningEmulator, tmp_path: Path) -> None:
    """Settings: not signed in; Sign in shows a code and a link; the link's page (a new tab) shows the same
    code and approves; the settings say signed in, and Accounts lists every account and role; adding pairs of
    every enabled region syncs them, and the sync shows a row per account."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (install Debian's chromium package)")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ, **manual_org.env(), "HOME": str(home), "SSMUX_HOME": str(tmp_path / "ssmux"),
        "PYTHONUNBUFFERED": "1",
    }  # fmt: skip
    errors: list[str] = []
    with running_ui(tmp_path / "ui.log", env) as app, playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 860})
            page = context.new_page()
            # The app's page; the device page is the emulator's stand-in for AWS's (it has no favicon).
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(app.url)
            page.locator(".q-header").get_by_role("link", name="Settings").click()
            page.get_by_text("not signed in").wait_for()
            page.get_by_role("button", name="Sign in").click()

            link = page.get_by_role("link", name=re.compile("user_code="))
            link.wait_for()
            code = page.locator(".text-4xl").inner_text().strip()
            assert re.fullmatch(r"[A-Z]{4}-[A-Z]{4}", code), code
            with context.expect_page() as opened:
                link.click()
            device = opened.value
            device.wait_for_load_state()
            assert device.locator("#user-code").inner_text() == code
            device.locator("#approve").click()
            device.get_by_text("Request approved").wait_for()
            device.close()

            page.get_by_text("signed in until").wait_for()
            assert not page.get_by_text("not signed in").is_visible()
            page.get_by_role("main").get_by_role("link", name="Accounts").click()  # the settings card's
            table = page.locator(".q-table")
            table.get_by_text("Production").wait_for()
            rows = [row.inner_text().split("\t") for row in table.locator("tbody tr").all()]
            assert [[cell.strip() for cell in row] for row in rows] == [
                ["Development", "111111111111", "AdministratorAccess"],
                ["Development", "111111111111", "ReadOnlyAccess"],
                ["Production", "222222222222", "ReadOnlyAccess"],
            ]

            # Every region enabled in each account (eu-central-1 and us-east-1 here), then the sync's rows.
            page.get_by_text("Every region enabled in each account").click()
            page.get_by_role("button", name="Add profiles and pairs").click()
            page.get_by_text(re.compile("Synced 6 pairs")).wait_for()
            progress = page.locator(".q-card", has_text="Sync by account").locator(".q-table")
            progress.get_by_text("Production").wait_for()
            rows = [row.inner_text().split("\t") for row in progress.locator("tbody tr").all()]
            assert [[cell.strip() for cell in row] for row in rows] == [
                ["Development", "4 of 4", "4", "0"],
                ["Production", "2 of 2", "0", "0"],
            ]
            context.close()
        finally:
            browser.close()
    assert not errors, f"browser console errors: {errors}"
    assert list((home / ".aws" / "sso" / "cache").glob("*.json"))  # the test's HOME, never the user's
