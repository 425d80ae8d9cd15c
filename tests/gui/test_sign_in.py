"""Signing in to IAM Identity Center from the app, against the emulator: the settings page's "Sign in", a
manual approval on the emulator's device page, cancel, and the "Sign in" of a pair whose sign-in expired,
which syncs the pair again once signed in.

HOME is the test's own, so the token cache (``~/.aws/sso/cache``) is too.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from nicegui import ui

from ssmux.core import store
from ssmux.core.models import SyncPair
from ssmux.gui.components.target_row import TargetRow
from tests.support.emulator import RunningEmulator, start_emulator

from .conftest import Gui, eventually

pytestmark = pytest.mark.e2e


def organization(approve: str) -> dict[str, Any]:
    return {
        "name": f"organization-{approve}",
        "profiles": [
            {"name": "dev", "account_id": "111111111111", "region": "eu-central-1"},
            {"name": "prod", "account_id": "222222222222", "region": "us-east-1"},
        ],
        "instances": [{"profile": "dev", "region": "eu-central-1", "name": "web", "count": 2}],
        "sso": {
            "session": "corp",
            "region": "eu-west-1",
            "approve": approve,
            "accounts": [
                {"profile": "dev", "name": "Development", "roles": ["AdministratorAccess", "ReadOnlyAccess"]},
                {"profile": "prod", "name": "Production", "roles": ["ReadOnlyAccess"]},
            ],
        },
    }


@pytest.fixture(scope="module")
def auto_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(
        organization("auto"), "--fast", tmp_dir=tmp_path_factory.mktemp("auto-org")
    ) as running:
        yield running


@pytest.fixture(scope="module")
def manual_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with start_emulator(
        organization("manual"), "--fast", tmp_dir=tmp_path_factory.mktemp("manual-org")
    ) as running:
        yield running


def use(emulator: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point this process at ``emulator`` with a copy of its AWS config and a HOME of the test's; the token
    file a sign-in of ``corp`` writes."""
    emulator.apply(monkeypatch)
    config = tmp_path / "aws-config"
    shutil.copyfile(emulator.aws_config_file, config)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))  # Path.home() on Windows
    cache = home / ".aws" / "sso" / "cache"
    # botocore fixes its token folder when first imported (from the HOME of then): move it here too.
    import botocore.credentials
    import botocore.tokens

    monkeypatch.setattr(botocore.credentials.SSOProvider, "_SSO_TOKEN_CACHE_DIR", str(cache))
    monkeypatch.setattr(botocore.tokens.SSOTokenProvider, "_SSO_TOKEN_CACHE_DIR", str(cache))
    return cache / f"{hashlib.sha1(b'corp').hexdigest()}.json"


def visible(gui: Gui, marker: str) -> list[ui.element]:
    try:
        return [e for e in gui.user.find(marker=marker).elements if not e.is_deleted and e.visible]
    except AssertionError:
        return []


def text_of(gui: Gui, marker: str) -> str:
    return " ".join(str(getattr(e, "text", "")) for e in visible(gui, marker))


async def test_settings_sign_in_approved_at_once(
    gui: Gui, auto_org: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settings page says not signed in; Sign in (approved at once) writes the token to HOME's cache and
    the page then says until when."""
    token_file = use(auto_org, tmp_path, monkeypatch)
    await gui.user.open("/settings")
    await gui.user.should_see(marker="sso-state corp", content="not signed in")
    gui.user.find(marker="sso-sign-in").click()
    await eventually(lambda: "signed in until" in text_of(gui, "sso-state corp"))
    assert token_file.exists()
    assert not visible(gui, "sign-in-dialog")


async def test_manual_approval_shows_the_code_and_the_page(
    gui: Gui, manual_org: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With approval on a page, the dialog shows the code in large type and a link that opens the page in a
    new tab; approving there signs the app in."""
    token_file = use(manual_org, tmp_path, monkeypatch)
    await gui.user.open("/settings")
    gui.user.find(marker="sso-sign-in").click()
    code = await eventually(lambda: text_of(gui, "sign-in-code"))
    (link,) = visible(gui, "sign-in-link")
    href = str(link.props["href"])
    assert href.startswith(manual_org.endpoint) and code in href
    assert link.props.get("target") == "_blank"
    assert not token_file.exists()
    async with httpx.AsyncClient() as client:
        page = await client.post(href, data={"user_code": code})
    assert "Request approved" in page.text
    await eventually(lambda: "signed in until" in text_of(gui, "sso-state corp"))
    assert token_file.exists()


async def test_cancel_stops_waiting(
    gui: Gui, manual_org: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancel closes the dialog; nothing is signed in."""
    token_file = use(manual_org, tmp_path, monkeypatch)
    await gui.user.open("/settings")
    gui.user.find(marker="sso-sign-in").click()
    await eventually(lambda: text_of(gui, "sign-in-code"))
    gui.user.find(marker="sign-in-cancel").click()
    await eventually(lambda: not visible(gui, "sign-in-dialog"))
    assert "not signed in" in text_of(gui, "sso-state corp")
    assert not token_file.exists()


async def test_several_sign_ins_are_a_choice(
    gui: Gui, auto_org: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With two sso-sessions in the AWS config, the dialog asks which one before it signs in."""
    token_file = use(auto_org, tmp_path, monkeypatch)
    config = tmp_path / "aws-config"
    corp = config.read_text().split("[sso-session corp]", 1)[1].split("\n\n", 1)[0]
    config.write_text(config.read_text() + "\n[sso-session another]" + corp + "\n")
    await gui.user.open("/settings")
    await gui.user.should_see(marker="sso-state another", content="not signed in")
    gui.user.find(marker="sso-sign-in").click()
    choice = await eventually(lambda: visible(gui, "sign-in-choice"))
    assert choice[0].options == ["another", "corp"]  # type: ignore[attr-defined]
    assert not text_of(gui, "sign-in-status")  # nothing started yet
    choice[0].set_value("corp")  # type: ignore[attr-defined]
    gui.user.find(marker="sign-in-start").click()
    await eventually(lambda: "signed in until" in text_of(gui, "sso-state corp"))
    assert "not signed in" in text_of(gui, "sso-state another")
    assert token_file.exists()


async def test_a_pair_whose_sign_in_expired_offers_sign_in_and_syncs_again(
    gui: Gui, auto_org: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pair of an SSO profile fails for want of a sign-in and says so with a Sign in button; signing in
    there syncs it again, and its instances appear."""
    use(auto_org, tmp_path, monkeypatch)
    store.update_settings(
        lambda s: replace(s, sync_enabled=True, sync_pairs=(SyncPair("sso", "eu-central-1", True),))
    )
    await gui.services.panel.reload()
    await gui.user.open("/")
    gui.user.find(marker="sync-all").click()
    await eventually(lambda: visible(gui, "group-sign-in synced:sso/eu-central-1"))
    assert "SSO token" in text_of(gui, "group-error synced:sso/eu-central-1")
    gui.user.find(marker="group-sign-in synced:sso/eu-central-1").click()

    def names() -> set[str]:
        return {row.target.name for row in gui.user.find(kind=TargetRow).elements if not row.is_deleted}

    await eventually(lambda: visible(gui, "target-row") and names() == {"web-1", "web-2"})
    assert not visible(gui, "group-sign-in synced:sso/eu-central-1")
