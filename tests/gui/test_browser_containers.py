"""A container tab in real Chromium against ``ssmux demo``: ECS Exec into the demo's cluster ``shop``.

The same demo as ``test_browser_e2e.py`` (``ssmux demo --no-show``, Debian's Chromium): sync all, open the
connect dialog from the keyboard, type ``shop/web/app``, pick one of the service's two tasks, and use the
container's shell in the tab (its environment says it is that container). Fails on any console error.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

from .test_browser_e2e import TIMEOUT_MS, Demo, demo, expected_pairs, wait_for_text

pytestmark = pytest.mark.e2e
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install playwright")

__all__ = ["demo"]  # the fixture, shared with test_browser_e2e.py


def demo_ecs(demo: Demo) -> Any:
    """A boto3 ECS client of the demo's dev/eu-central-1, through the demo's own AWS config files."""
    import boto3
    import botocore.session

    core = botocore.session.Session()
    core.set_config_variable("config_file", str(demo.aws_config))
    core.set_config_variable("credentials_file", str(demo.aws_credentials))
    core.set_config_variable("profile", "dev")
    return boto3.Session(botocore_session=core).client("ecs", region_name="eu-central-1")


def test_container_tab_in_chromium(demo: Demo) -> None:
    """Sync all, then a tab on a container of shop/web: its shell shows the container's environment."""
    errors: list[str] = []
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1300, "height": 800})
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.on(
                "console", lambda message: errors.append(message.text) if message.type == "error" else None
            )
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(demo.url)
            page.get_by_role("button", name="Sync all").click()
            page.get_by_text(f"synced {expected_pairs()} pairs").wait_for()

            page.keyboard.press("Alt+t")
            page.get_by_text("New connection", exact=True).wait_for()
            field = page.get_by_label("Instance ID or name")
            field.fill("shop/web/app")
            field.press("Enter")
            page.get_by_text("2 targets match: choose one").wait_for()
            arns = demo_ecs(demo).list_tasks(cluster="shop", serviceName="web")["taskArns"]
            task = str(sorted(arns)[0]).rsplit("/", 1)[1]
            page.locator(".q-dialog button", has_text=task).click()
            tab = page.locator(".q-tab", has_text="shop/web/app")
            tab.wait_for()
            tab.locator(".ssmux-dot-connected").wait_for()
            page.locator(".q-tab-panel:visible .xterm").click()
            page.keyboard.type('echo "container-$APP_ROLE-$APP_ENV"\n')
            wait_for_text(page, r"^container-web-dev$")
            context.close()
        finally:
            browser.close()
    assert not errors, f"browser console errors: {errors}"
