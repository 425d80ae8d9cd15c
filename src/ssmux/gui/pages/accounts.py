"""The Accounts page: every account and role of an IAM Identity Center sign-in, and sync pairs made from them.

Discovery (:func:`ssmux.sso.organization.discover_organization`) runs off the event loop when the page opens
and on "Discover again". The table shows the roles that pass the filters (role names, and a shell-style
pattern on the account's name or id, as ``ssmux sso discover --role/--account``); "Add profiles and pairs"
writes a profile per shown role into the AWS config's ssmux block and a sync pair per profile and chosen
region (:func:`ssmux.sso.organization.write_profiles`, what ``--write-aws-config --add-pairs`` does), then
syncs those pairs; the regions are chosen, or every region enabled in each account (``--all-regions``,
:mod:`ssmux.sso.regions`). Accounts whose roles could not be listed are shown under the table with their
error. Under it, any sync's progress by account, live, and its failures grouped by cause
(:mod:`ssmux.gui.components.sync_accounts`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nicegui import run, ui

from ssmux.core import validation
from ssmux.errors import SsmuxError
from ssmux.gui.components.dialogs import page_gone
from ssmux.gui.components.sync_accounts import SyncAccounts
from ssmux.gui.layout import frame
from ssmux.gui.services import Services
from ssmux.gui.sync_controller import SIGN_IN_CODES

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients
    from ssmux.sso.discover import AccountRole
    from ssmux.sso.organization import Organization, Populated
    from ssmux.sso.regions import EnabledRegions

COLUMNS = [
    {"name": "account_name", "label": "Account", "field": "account_name", "sortable": True, "align": "left"},
    {"name": "account_id", "label": "Account id", "field": "account_id", "sortable": True, "align": "left"},
    {"name": "role_name", "label": "Role", "field": "role_name", "sortable": True, "align": "left"},
]


def _sessions() -> list[str]:
    from ssmux.sso.organization import sso_sessions

    return sso_sessions()


def _populate(
    clients: AwsClients, organization: Organization, roles: list[AccountRole], regions: list[str] | None
) -> tuple[Populated, EnabledRegions | None]:
    """Write the profiles and pairs; ``regions`` None: every region enabled in each account (asked first)."""
    from ssmux.errors import InvalidValue
    from ssmux.sso.organization import write_profiles
    from ssmux.sso.regions import enabled_regions

    session_name = organization.target.session_name
    enabled = None
    if regions is None:
        if session_name is None:
            raise InvalidValue("every enabled region needs an sso-session sign-in")
        enabled = enabled_regions(clients, session_name, roles)
    chosen = enabled.regions if enabled is not None else regions or []
    done = write_profiles(session_name, organization.aws_profile, roles, chosen, add_pairs=True)
    return done, enabled


class AccountsPage:
    """The page's state and widgets."""

    def __init__(self, services: Services, sessions: list[str]) -> None:
        self.services = services
        self.organization: Organization | None = None
        with ui.column().classes("w-full max-w-5xl mx-auto p-4 gap-4"):
            with ui.card().classes("w-full"):
                with ui.row().classes("w-full items-center gap-2"):
                    ui.label("Accounts").classes("text-lg font-medium")
                    ui.space()
                    self.session = (
                        ui.select(
                            sessions,
                            label="Sign-in (sso-session)",
                            value=sessions[0] if sessions else None,
                            on_change=self.discover,
                        )
                        .classes("w-56")
                        .mark("accounts-session")
                    )
                    self.session.set_visibility(len(sessions) > 1)
                    self.sign_in_button = ui.button("Sign in", icon="login", on_click=self.sign_in).mark(
                        "accounts-sign-in"
                    )
                    self.sign_in_button.set_visibility(False)
                    self.refresh_button = (
                        ui.button("Discover again", icon="refresh", on_click=self.discover)
                        .props("flat")
                        .mark("accounts-refresh")
                    )
                self.status = ui.label("").classes("text-sm text-grey-7").mark("accounts-status")
                with ui.row().classes("w-full items-start gap-4"):
                    self.role_filter = (
                        ui.select([], label="Roles (all when empty)", multiple=True, on_change=self.show)
                        .props("use-chips clearable")
                        .classes("min-w-[16rem]")
                        .mark("accounts-role-filter")
                    )
                    self.account_filter = (
                        ui.input("Account name or id (pattern: prod-*)", on_change=self.show)
                        .classes("w-72")
                        .mark("accounts-account-filter")
                    )
                self.table = (
                    ui.table(columns=COLUMNS, rows=[], row_key="key", pagination=25)
                    .classes("w-full")
                    .mark("accounts-table")
                )
                self.failed = ui.column().classes("w-full gap-1").mark("accounts-failed")
            with ui.card().classes("w-full"):
                ui.label("Sync the roles shown").classes("text-lg font-medium")
                ui.label(
                    "Writes an AWS CLI profile per role into the AWS config (in ssmux's marked block) and a "
                    "sync pair per profile and region, then syncs them."
                ).classes("text-sm text-grey-7")
                with ui.row().classes("w-full items-start gap-2"):
                    self.regions = (
                        ui.select(
                            sorted(validation.known_regions()),
                            label="Regions",
                            multiple=True,
                            with_input=True,
                        )
                        .props("use-chips")
                        .classes("min-w-[20rem]")
                        .mark("accounts-regions")
                    )
                    self.all_regions = (
                        ui.switch("Every region enabled in each account", on_change=self._all_regions_changed)
                        .classes("mt-2")
                        .mark("accounts-all-regions")
                    )
                    self.add_button = (
                        ui.button("Add profiles and pairs", icon="playlist_add", on_click=self.add)
                        .classes("mt-2")
                        .mark("accounts-add")
                    )
                self.result = ui.label("").classes("text-sm whitespace-pre-wrap").mark("accounts-result")
            SyncAccounts(services.sync)

    def _all_regions_changed(self) -> None:
        self.regions.set_enabled(not self.all_regions.value)

    # Discovery -----------------------------------------------------------------------------------------
    async def discover(self) -> None:
        """List the accounts and roles of the chosen sign-in again."""
        from ssmux.sso.organization import discover_organization

        self.refresh_button.disable()
        self.status.set_text("Listing accounts and roles…")
        self.sign_in_button.set_visibility(False)
        session_name = str(self.session.value) if self.session.value else None
        try:
            organization = await run.io_bound(discover_organization, self.services.aws, session_name)
            problem, code = "", ""
        except SsmuxError as error:
            organization, problem, code = None, str(error), str(getattr(error, "code", "") or "")
        if page_gone(self.table):
            return
        self.refresh_button.enable()
        if problem:
            self.status.set_text(problem)
            # Not signed in, or the sign-in expired: signing in is the fix.
            self.sign_in_button.set_visibility(code in SIGN_IN_CODES)
            return
        if organization is None:  # the app is stopping
            return
        self.organization = organization
        found = organization.found
        names = sorted({role.role_name for role in found.roles})
        self.role_filter.set_options(names, value=[v for v in self.role_filter.value or [] if v in names])
        self.show()

    def chosen(self) -> list[AccountRole]:
        """The roles that pass the filters."""
        if self.organization is None:
            return []
        pattern = str(self.account_filter.value or "").strip()
        return self.organization.found.select(
            roles=list(self.role_filter.value or []), accounts=[pattern] if pattern else []
        )

    def show(self) -> None:
        """Fill the table with the roles that pass the filters, and list the accounts that failed."""
        if self.organization is None:
            return
        found = self.organization.found
        chosen = self.chosen()
        self.table.rows = [
            {
                "key": f"{role.account_id}/{role.role_name}",
                "account_name": role.account_name,
                "account_id": role.account_id,
                "role_name": role.role_name,
            }
            for role in chosen
        ]
        accounts = len({role.account_id for role in chosen})
        total = len(found.roles)
        self.status.set_text(
            f"{len(chosen)} of {total} roles in {accounts} accounts, at {self.organization.target.start_url}"
        )
        self.add_button.set_enabled(bool(chosen))
        self.failed.clear()
        with self.failed:
            for account_id, error in found.failed:
                ui.label(f"The roles of account {account_id} could not be listed: {error}").classes(
                    "text-negative text-sm"
                ).mark(f"accounts-failed-row {account_id}")

    async def sign_in(self) -> None:
        from ssmux.gui.components.sign_in import sign_in

        if await sign_in(self.services) is not None and not page_gone(self.table):
            await self.discover()

    # Profiles and pairs --------------------------------------------------------------------------------
    async def add(self) -> None:
        """Write the profiles and pairs of the shown roles and the chosen regions; then sync those pairs."""
        organization, roles = self.organization, self.chosen()
        every = bool(self.all_regions.value)
        regions = [str(region) for region in self.regions.value or []]
        if organization is None or not roles:
            return
        if not (regions or every):
            self.regions.props["error"] = True
            self.regions.props["error-message"] = "choose at least one region to sync"
            self.regions.update()
            return
        self.regions.props.pop("error", None)
        self.regions.update()
        self.add_button.disable()
        try:
            populated = await run.io_bound(
                _populate, self.services.aws, organization, roles, None if every else regions
            )
        except SsmuxError as error:
            self.result.set_text(str(error))
            self.result.classes(replace="text-sm whitespace-pre-wrap text-negative")
            return
        finally:
            if not page_gone(self.add_button):
                self.add_button.enable()
        if populated is None or page_gone(self.result):
            return
        done, enabled = populated
        lines = [
            f"Wrote {len(done.written.profiles)} profiles into {done.config_file}; "
            f"{len(done.added)} new sync pairs ({len(done.pairs)} in all)."
        ]
        lines += [
            f"Profile {name} exists outside ssmux's block: left as it is." for name in done.written.skipped
        ]
        if enabled is not None:
            lines += [
                f"The regions of account {account} could not be listed: {why}"
                for account, why in enabled.failed
            ]
        self.result.classes(replace="text-sm whitespace-pre-wrap")
        self.result.set_text("\n".join(lines))
        await self.services.panel.reload()
        await self._sync([pair.key for pair in done.pairs])

    async def _sync(self, pairs: list[tuple[str, str]]) -> None:
        try:
            result = await self.services.sync.sync_these(pairs)
        except SsmuxError as error:  # a sync is running: these pairs are synced by the next Sync all
            ui.notify(str(error), type="warning")
            return
        if result is None or page_gone(self.result):
            return
        failed = sum(1 for outcome in result.outcomes if outcome.error_code)
        instances = sum(outcome.instances for outcome in result.outcomes)
        summary = f"Synced {len(pairs)} pairs: {instances} instances" + (
            f", {failed} failed" if failed else ""
        )
        self.result.set_text(self.result.text + "\n" + summary + ".")


def create(services: Services) -> None:
    """Register the Accounts page."""

    @ui.page("/accounts")
    async def accounts_page() -> None:
        with frame(services, "/accounts"):
            try:
                sessions = await run.io_bound(_sessions)
            except SsmuxError as error:
                ui.label(str(error)).classes("text-negative p-4").mark("accounts-error")
                return
            if sessions is None:
                return
            if not sessions:
                ui.label(
                    "No [sso-session] in the AWS config: add one with 'aws configure sso-session', then come "
                    "back here to sign in and see every account and role."
                ).classes("p-4 text-grey-7").mark("accounts-error")
                return
            page = AccountsPage(services, sessions)
            await page.discover()
