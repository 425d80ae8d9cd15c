"""The "Sign in" dialog: IAM Identity Center's device flow from the app, then the failed pairs synced again.

The flow is :class:`ssmux.sso.login.DeviceLogin`'s (the token goes to the aws CLI's cache, where botocore's
SSO credentials find it), run in a worker thread because it blocks while it polls. When the user has to
approve, the worker hands the code and the page to the event loop, and the dialog shows them: the link opens
the page in a new tab, the code is shown large so it can be compared with the page's. Cancel (or closing the
dialog) stops the polling at its next wait. Once signed in, every pair whose last sync failed for want of a
valid sign-in is synced again.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nicegui import run, ui

from ssmux.errors import SsmuxError
from ssmux.gui.components.dialogs import page_gone

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients
    from ssmux.gui.services import Services
    from ssmux.sso.login import Authorization
    from ssmux.sso.tokens import SsoToken


class SignInCancelled(SsmuxError):
    """The user cancelled the sign-in."""


@dataclass(frozen=True)
class SignedIn:
    """A finished sign-in: where, until when, and the pairs synced again."""

    start_url: str
    expires_at: str
    resumed: tuple[tuple[str, str], ...] = ()


def _login(clients: AwsClients, session_name: str | None, show: Any, cancel: threading.Event) -> SsoToken:
    """The device flow in a worker thread; ``show`` gets the code to approve; ``cancel`` ends the wait."""
    from ssmux.sso.login import DeviceLogin, resolve_target

    target, aws_profile = resolve_target(session_name=session_name)
    oidc = clients.unsigned_client("sso-oidc", aws_profile, target.region)

    def sleep(seconds: float) -> None:
        if cancel.wait(seconds):
            raise SignInCancelled("sign-in cancelled")

    if cancel.is_set():
        raise SignInCancelled("sign-in cancelled")
    return DeviceLogin(oidc, target, sleep=sleep).login(show)


def _choices(aws_profile: str | None) -> tuple[list[str], str | None]:
    """The config's sso-sessions, and the one of ``aws_profile`` (when it signs in with one)."""
    from ssmux.sso.organization import session_of_profile, sso_sessions

    return sso_sessions(), session_of_profile(aws_profile) if aws_profile else None


class SignInDialog:
    """The dialog's widgets and the sign-in it runs.

    Args:
        services: The app's shared state (its AWS clients, its sync).
        sessions: The AWS config's sso-sessions; with more than one and no ``chosen``, the user picks.
        chosen: The sso-session to sign in with, if known.
    """

    def __init__(self, services: Services, sessions: list[str], chosen: str | None) -> None:
        self.services = services
        self.cancel_event = threading.Event()
        self.result: asyncio.Future[SignedIn | None] = asyncio.get_running_loop().create_future()
        with (
            ui.dialog().props("persistent").mark("sign-in-dialog") as self.dialog,
            ui.card().classes("w-[32rem]"),
        ):
            ui.label("Sign in to IAM Identity Center").classes("text-lg font-medium")
            self.choice = (
                ui.select(sessions, label="Sign-in (sso-session)", value=chosen or sessions[0])
                .classes("w-full")
                .mark("sign-in-choice")
            )
            self.choice.set_visibility(chosen is None and len(sessions) > 1)
            with ui.row().classes("items-center gap-2") as self.waiting:
                ui.spinner(size="sm")
                self.status = ui.label("").mark("sign-in-status")
            self.waiting.set_visibility(False)
            with ui.column().classes("w-full gap-2 items-center") as self.pending:
                ui.label("Open this page and check that it shows the code below:").classes("text-sm")
                self.link = ui.link("", "#", new_tab=True).classes("break-all").mark("sign-in-link")
                self.code = (
                    ui.label("").classes("text-4xl font-mono font-bold tracking-widest").mark("sign-in-code")
                )
            self.pending.set_visibility(False)
            self.error = ui.label("").classes("text-negative whitespace-pre-wrap").mark("sign-in-error")
            self.error.set_visibility(False)
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.cancel).props("flat").mark("sign-in-cancel")
                self.start_button = ui.button("Sign in", on_click=self.start).mark("sign-in-start")

    def show(self, authorization: Authorization) -> None:
        """Show the code and the page (on the event loop)."""
        if page_gone(self.dialog):
            return
        self.link.set_text(authorization.verification_uri_complete)
        self.link.props["href"] = authorization.verification_uri_complete
        self.link.update()
        self.code.set_text(authorization.user_code)
        self.pending.set_visibility(True)
        self.status.set_text("Waiting for approval…")

    def cancel(self) -> None:
        self.cancel_event.set()
        if not self.result.done():
            self.result.set_result(None)

    async def start(self) -> None:
        """Sign in with the chosen sso-session (in a worker thread); the result resolves when signed in."""
        loop = asyncio.get_running_loop()
        session_name = str(self.choice.value) if self.choice.value else None
        self.start_button.disable()
        self.choice.disable()
        self.error.set_visibility(False)
        self.waiting.set_visibility(True)
        self.status.set_text("Contacting IAM Identity Center…")

        def show(authorization: Authorization) -> None:  # from the worker thread
            loop.call_soon_threadsafe(self.show, authorization)

        try:
            token = await run.io_bound(_login, self.services.aws, session_name, show, self.cancel_event)
        except SignInCancelled:
            return
        except SsmuxError as error:
            if page_gone(self.dialog):
                return
            self.waiting.set_visibility(False)
            self.pending.set_visibility(False)
            self.error.set_text(str(error))
            self.error.set_visibility(True)
            self.start_button.enable()
            self.choice.enable()
            return
        if token is None or self.result.done():  # the app stopped, or the user cancelled meanwhile
            return
        self.result.set_result(SignedIn(token.start_url, token.expires_at.strftime("%Y-%m-%d %H:%M UTC")))


async def sign_in(services: Services, *, aws_profile: str | None = None) -> SignedIn | None:
    """Open the sign-in dialog (for ``aws_profile``'s sso-session when given); when signed in, sync again the
    pairs that failed for want of a sign-in. ``None`` when cancelled or the page closed."""
    try:
        loaded = await run.io_bound(_choices, aws_profile)
    except SsmuxError as error:
        ui.notify(str(error), type="negative", multi_line=True)
        return None
    if loaded is None:
        return None
    sessions, chosen = loaded
    if chosen not in sessions:  # the profile names a session the config lacks: the user picks
        chosen = None
    if not sessions:
        ui.notify(
            "No [sso-session] in the AWS config: add one with 'aws configure sso-session', then sign in.",
            type="warning",
            multi_line=True,
        )
        return None
    dialog = SignInDialog(services, sessions, chosen)
    ui.context.client.on_delete(dialog.cancel)  # the browser went away: stop waiting for approval
    dialog.dialog.open()
    if chosen is not None or len(sessions) == 1:
        # Nothing to choose: start at once (a task, so the dialog shows first).
        asyncio.get_running_loop().create_task(dialog.start())
    try:
        done = await dialog.result
    finally:
        dialog.cancel_event.set()
        if not page_gone(dialog.dialog):
            dialog.dialog.delete()
    if done is None:
        return None
    ui.notify(f"Signed in to {done.start_url} until {done.expires_at}", type="positive")
    return SignedIn(done.start_url, done.expires_at, tuple(resume(services)))


def resume(services: Services) -> list[tuple[str, str]]:
    """Start syncing again every pair whose last sync failed for want of a valid sign-in; the pairs.

    The sync runs on its own (the header and the panel show it): the caller goes on at once.
    """
    from nicegui import background_tasks

    cached = {
        group.pair: group.status.code
        for group in services.panel.data.groups
        if group.pair is not None and group.status is not None and group.status.code
    }
    pairs = services.sync.signed_out(cached)
    if not pairs:
        return []
    if services.sync.running:
        ui.notify("Signed in; a sync is running: sync the failed pairs again after it.", type="warning")
        return []
    background_tasks.create(services.sync.sync_these(pairs), name="sync after sign-in")
    return pairs
