"""The settings page: every setting, IAM Identity Center sign-ins, the sync pairs as an editable table, and
the doctor panel.

Values are checked with the validators the CLI uses (``ssmux settings set`` gives the same messages) and
written with :func:`ssmux.core.store.update_settings`, which keeps the file's comments and never writes an
invalid value. A pair's switches (enabled, containers) are saved at once; the other settings when "Save" is
pressed. A pair shows the account and role discovery named.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from nicegui import run, ui

from ssmux.core import validation
from ssmux.core.models import BACKENDS, Settings, SyncPair
from ssmux.errors import SsmuxError
from ssmux.gui.components.dialogs import page_gone, show_error, value_text
from ssmux.gui.doctor import Finding, run_doctor
from ssmux.gui.layout import frame
from ssmux.gui.services import Services

_LEVEL_ICONS = {
    "ok": ("check_circle", "positive"),
    "note": ("info", "grey-7"),
    "problem": ("error", "negative"),
}


def _load() -> tuple[Settings, list[str]]:
    from ssmux.core import store
    from ssmux.core.awsconfig import aws_profile_names

    return store.load_settings(), aws_profile_names()


def _update(change: Any) -> Settings:
    from ssmux.core import store

    return store.update_settings(change)


class SettingsPage:
    """The page's state and widgets."""

    def __init__(self, services: Services, settings: Settings, aws_profiles: list[str]) -> None:
        self.services = services
        self.settings = settings
        self.aws_profiles = aws_profiles
        regions = sorted(validation.known_regions())
        with ui.column().classes("w-full max-w-4xl mx-auto p-4 gap-6"):
            with ui.card().classes("w-full"):
                ui.label("Settings").classes("text-lg font-medium")
                self.sync_enabled = ui.switch("Sync instances from AWS", value=settings.sync_enabled).mark(
                    "settings-sync-enabled"
                )
                self.only_running = ui.switch(
                    "Sync only running instances", value=settings.sync_only_running
                ).mark("settings-only-running")
                with ui.grid(columns=2).classes("w-full gap-x-4"):
                    self.default_profile = ui.input(
                        "Default AWS profile (empty: the AWS CLI's default)",
                        value=settings.default_aws_profile or "",
                        autocomplete=aws_profiles,
                    ).mark("settings-default-aws-profile")
                    self.default_region = ui.input(
                        "Default region (empty: the profile's)",
                        value=settings.default_region or "",
                        autocomplete=regions,
                    ).mark("settings-default-region")
                    self.backend = ui.select(
                        list(BACKENDS), label="Session backend", value=settings.backend
                    ).mark("settings-backend")
                    ui.label(
                        "auto: the session-manager-plugin when installed, else ssmux's native client"
                    ).classes("text-xs text-grey-7 self-center")
                    self.aws_path = ui.input(
                        "aws executable (empty: search PATH)", value=settings.aws_path
                    ).mark("settings-aws-path")
                    self.plugin_path = ui.input(
                        "session-manager-plugin executable (empty: search PATH)", value=settings.plugin_path
                    ).mark("settings-plugin-path")
                self.error = ui.label("").classes("text-negative").mark("settings-error")
                self.error.set_visibility(False)
                with ui.row().classes("w-full justify-end"):
                    ui.button("Save", on_click=self.save).mark("settings-save")

            with ui.card().classes("w-full"):
                with ui.row().classes("w-full items-center"):
                    ui.label("IAM Identity Center").classes("text-lg font-medium")
                    ui.space()
                    ui.link("Accounts", "/accounts").mark("sso-accounts-link")
                    ui.button("Sign in", icon="login", on_click=self.sign_in).mark("sso-sign-in")
                self.sso_box = ui.column().classes("w-full gap-1").mark("sso-sessions")

            with ui.card().classes("w-full"):
                ui.label("Sync pairs").classes("text-lg font-medium")
                ui.label("Each enabled (AWS CLI profile, region) pair is synced by Sync all.").classes(
                    "text-sm text-grey-7"
                )
                self.pairs_box = ui.column().classes("w-full gap-1").mark("pairs-table")
                with ui.row().classes("w-full items-start gap-2"):
                    self.new_profile = (
                        ui.input("AWS profile", autocomplete=aws_profiles)
                        .classes("w-48")
                        .mark("pair-new-profile")
                    )
                    self.new_region = (
                        ui.input("Region", autocomplete=regions).classes("w-48").mark("pair-new-region")
                    )
                    ui.button("Add pair", icon="add", on_click=self.add_pair).classes("mt-2").mark("pair-add")

            with ui.card().classes("w-full"):
                ui.label("Recent").classes("text-lg font-medium")
                self.recent_box = ui.column().classes("w-full gap-1").mark("recent")
                ui.button("Clear recent lists", on_click=self.clear_recent).props("flat").mark("recent-clear")

            with ui.card().classes("w-full"):
                with ui.row().classes("w-full items-center"):
                    ui.label("Doctor").classes("text-lg font-medium")
                    ui.space()
                    self.doctor_button = (
                        ui.button("Check again", icon="refresh", on_click=self.run_doctor)
                        .props("flat")
                        .mark("doctor-run")
                    )
                self.doctor_box = ui.column().classes("w-full gap-1").mark("doctor")
        self.render_pairs()
        self.render_recent()

    # General settings ----------------------------------------------------------------------------------
    def _checked(self, field: ui.element, check: Any) -> str | None:
        text = value_text(field)
        if not text:
            show_error(field, None)
            return ""
        try:
            value = check(text)
        except SsmuxError as error:
            show_error(field, str(error))
            return None
        show_error(field, None)
        return str(value)

    async def save(self) -> None:
        profile = self._checked(self.default_profile, validation.validate_aws_profile_name)
        region = self._checked(self.default_region, validation.validate_region)
        if profile is None or region is None:
            return
        values = {
            "sync_enabled": bool(self.sync_enabled.value),
            "sync_only_running": bool(self.only_running.value),
            "default_aws_profile": profile or None,
            "default_region": region or None,
            "backend": str(self.backend.value or "auto"),
            "aws_path": value_text(self.aws_path),
            "plugin_path": value_text(self.plugin_path),
        }
        if await self._write(lambda settings: replace(settings, **values)):
            ui.notify("Settings saved", type="positive")

    async def _write(self, change: Any, written_then: Any = None) -> bool:
        """Write ``change``; redraw; call ``written_then()`` before the panel reloads (a user who sees the new
        pair row must find the form already cleared)."""
        try:
            written = await run.io_bound(_update, change)
        except SsmuxError as error:
            self.error.set_text(str(error))
            self.error.set_visibility(True)
            return False
        if written is None:
            return False
        self.error.set_visibility(False)
        self.settings = written
        self.render_pairs()
        self.render_recent()
        if written_then is not None:
            written_then()
        await self.services.panel.reload()
        return True

    # Pairs ---------------------------------------------------------------------------------------------
    def render_pairs(self) -> None:
        self.pairs_box.clear()
        with self.pairs_box:
            if not self.settings.sync_pairs:
                ui.label("No pairs yet: add one below.").classes("text-grey-7")
            for pair in self.settings.sync_pairs:
                label = f"{pair.aws_profile}/{pair.region}"
                with ui.row().classes("w-full items-center gap-3").mark(f"pair-row {label}"):
                    ui.switch(
                        value=pair.enabled, on_change=lambda e, p=pair: self.set_enabled(p, bool(e.value))
                    ).mark(f"pair-enabled {label}")
                    ui.label(pair.aws_profile).classes("w-48 font-mono")
                    ui.label(pair.region).classes("w-48 font-mono")
                    # The account and role discovery named (ssmux sso discover, the Accounts page).
                    ui.label(pair.account or "").classes("w-64 text-grey-8").mark(f"pair-account {label}")
                    ui.switch(
                        "Containers",
                        value=pair.containers,
                        on_change=lambda e, p=pair: self.set_containers(p, bool(e.value)),
                    ).tooltip("List the pair's ECS containers too").mark(f"pair-containers {label}")
                    if pair.aws_profile not in self.aws_profiles and not pair.aws_profile.startswith("sso:"):
                        ui.badge("not in the AWS config", color="warning").tooltip(
                            "no such AWS CLI profile: add it with 'aws configure --profile "
                            f"{pair.aws_profile}' or remove this pair"
                        )
                    ui.space()
                    ui.button(icon="delete", on_click=lambda p=pair: self.remove_pair(p)).props(
                        "flat dense round"
                    ).mark(f"pair-remove {label}")

    async def set_enabled(self, pair: SyncPair, enabled: bool) -> None:
        if pair.enabled == enabled:
            return

        def change(settings: Settings) -> Settings:
            pairs = tuple(
                replace(p, enabled=enabled) if p.key == pair.key else p for p in settings.sync_pairs
            )
            return replace(settings, sync_pairs=pairs)

        await self._write(change)

    async def set_containers(self, pair: SyncPair, containers: bool) -> None:
        if pair.containers == containers:
            return

        def change(settings: Settings) -> Settings:
            pairs = tuple(
                replace(p, containers=containers) if p.key == pair.key else p for p in settings.sync_pairs
            )
            return replace(settings, sync_pairs=pairs)

        await self._write(change)

    async def remove_pair(self, pair: SyncPair) -> None:
        await self._write(
            lambda settings: replace(
                settings, sync_pairs=tuple(p for p in settings.sync_pairs if p.key != pair.key)
            )
        )

    async def add_pair(self) -> None:
        profile = self._checked(self.new_profile, validation.validate_aws_profile_name)
        region = self._checked(self.new_region, validation.validate_region)
        if profile == "":
            show_error(self.new_profile, "AWS CLI profile name is empty: give a name from the AWS config")
        if region == "":
            show_error(self.new_region, "region is empty: give a region such as eu-central-1")
        if not profile or not region:
            return
        if any(p.key == (profile, region) for p in self.settings.sync_pairs):
            show_error(self.new_region, f"sync pair {profile}/{region} already exists")
            return

        def clear() -> None:
            self.new_profile.set_value("")
            self.new_region.set_value("")

        await self._write(
            lambda settings: replace(
                settings, sync_pairs=(*settings.sync_pairs, SyncPair(profile, region, True))
            ),
            clear,
        )

    # IAM Identity Center -------------------------------------------------------------------------------
    async def refresh_sso(self) -> None:
        """Show each sso-session of the AWS config with its sign-in."""
        from ssmux.sso.organization import sign_in_states

        try:
            states = await run.io_bound(sign_in_states)
        except SsmuxError as error:
            states, problem = [], str(error)
        else:
            problem = ""
        if states is None or page_gone(self.sso_box):
            return
        now = datetime.now(UTC)
        self.sso_box.clear()
        with self.sso_box:
            if problem or not states:
                ui.label(
                    problem or "No [sso-session] in the AWS config: add one with 'aws configure sso-session'."
                ).classes("text-grey-7")
            for state in states:
                signed_in = state.signed_in(now)
                with ui.row().classes("w-full items-center gap-3").mark(f"sso-session {state.session_name}"):
                    ui.icon("verified_user" if signed_in else "no_accounts").classes(
                        "text-positive" if signed_in else "text-grey-6"
                    )
                    ui.label(state.session_name).classes("font-mono")
                    ui.label(state.start_url).classes("text-sm text-grey-7 break-all")
                    ui.space()
                    until = state.expires_at.strftime("%Y-%m-%d %H:%M UTC") if state.expires_at else ""
                    ui.label(f"signed in until {until}" if signed_in else "not signed in").classes(
                        "text-sm"
                    ).mark(f"sso-state {state.session_name}")

    async def sign_in(self) -> None:
        from ssmux.gui.components.sign_in import sign_in

        done = await sign_in(self.services)
        if done is None or page_gone(self.sso_box):
            return
        await self.refresh_sso()

    # Recent --------------------------------------------------------------------------------------------
    def render_recent(self) -> None:
        self.recent_box.clear()
        with self.recent_box:
            for title, values in (
                ("Instance ids", self.settings.recent_instance_ids),
                ("AWS profiles", self.settings.recent_aws_profiles),
                ("Regions", self.settings.recent_regions),
            ):
                with ui.row().classes("gap-2 items-center"):
                    ui.label(title + ":").classes("w-32 text-grey-7")
                    ui.label(", ".join(values) or "—").classes("font-mono text-sm")

    async def clear_recent(self) -> None:
        await self._write(
            lambda settings: replace(
                settings, recent_instance_ids=(), recent_aws_profiles=(), recent_regions=()
            )
        )

    # Doctor --------------------------------------------------------------------------------------------
    async def run_doctor(self) -> None:
        self.doctor_button.disable()
        self.doctor_box.clear()
        with self.doctor_box, ui.row().classes("items-center gap-2"):
            ui.spinner(size="sm")
            ui.label("Checking…")
        try:
            findings = await run.io_bound(run_doctor, self.services.aws.renewed()) or []
        finally:
            self.doctor_button.enable()
        self.show_findings(findings)

    def show_findings(self, findings: list[Finding]) -> None:
        self.doctor_box.clear()
        with self.doctor_box:
            for finding in findings:
                icon, color = _LEVEL_ICONS[finding.level]
                with (
                    ui.row()
                    .classes("w-full items-start gap-2 no-wrap")
                    .mark(f"finding finding-{finding.level}")
                ):
                    ui.icon(icon, color=color)
                    with ui.column().classes("gap-0 min-w-0"):
                        ui.label(finding.name).classes("font-medium")
                        ui.label(finding.detail).classes("text-sm break-all")
                        if finding.hint:
                            ui.label(finding.hint).classes("text-xs text-grey-7")


def create(services: Services) -> None:
    """Register the settings page."""

    @ui.page("/settings")
    async def settings_page() -> None:
        with frame(services, "/settings"):
            try:
                loaded = await run.io_bound(_load)
            except SsmuxError as error:
                ui.label(str(error)).classes("text-negative p-4").mark("settings-error")
                return
            if loaded is None:
                return
            page = SettingsPage(services, *loaded)
            await page.refresh_sso()
            # After the page is shown: the checks call AWS and take a moment.
            ui.timer(0.05, page.run_doctor, once=True)
