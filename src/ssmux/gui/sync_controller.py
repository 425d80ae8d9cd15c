"""The app's side of a sync: one at a time, live progress per pair, cancel, and errors kept for the panel.

The engine (:func:`ssmux.sync.engine.sync_pairs`) runs in a worker thread (it blocks on AWS calls), and calls
our progress callback from its own threads; each event hops onto the event loop with
``call_soon_threadsafe`` and updates :attr:`SyncController.progress`. Pages listen on :attr:`changed` and
redraw at most every :data:`REFRESH_SECONDS`, so a pair that fetches hundreds of pages does not flood the
browsers. When the sync ends the panel data is reloaded from the cache, which now holds every finished pair.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from ssmux.errors import ErrorCode, SsmuxError
from ssmux.gui.hub import Hub

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients
    from ssmux.core.models import SyncPair
    from ssmux.gui.services import PanelSource
    from ssmux.sync.engine import PairOutcome, SyncEvent, SyncResult
    from ssmux.sync.grouping import ErrorGroup

REFRESH_SECONDS = 0.1

#: A pair failed with one of these when its IAM Identity Center sign-in expired or is no longer valid (the
#: SDK's token errors, and ssmux's own from :mod:`ssmux.sso`): signing in again is the fix, so the app offers
#: "Sign in" on it and syncs it again afterwards.
SIGN_IN_CODES = frozenset({ErrorCode.SSO_TOKEN_EXPIRED.value, "ExpiredToken", "UnauthorizedException"})


class PairState(StrEnum):
    """Where one pair stands in the app's sync; the value names it in markers and styles."""

    QUEUED = "queued"
    RUNNING = "running"
    OK = "ok"
    ERROR = "error"
    CANCELLED = "cancelled"

    @property
    def done(self) -> bool:
        """The pair's sync has ended, one way or another."""
        return self in (PairState.OK, PairState.ERROR, PairState.CANCELLED)


@dataclass(frozen=True)
class PairProgress:
    """Where one pair's sync stands.

    Attributes:
        state: queued, running, ok, error or cancelled.
        pages: API pages fetched so far.
        instances: Instances seen so far (the total once done).
        message: For ``error``: what went wrong and what to do.
        code: For ``error``: the AWS error code (or ours).
        seconds: How long the pair took, once done.
    """

    aws_profile: str
    region: str
    state: PairState = PairState.QUEUED
    pages: int = 0
    instances: int = 0
    message: str = ""
    code: str = ""
    seconds: float = 0.0

    @property
    def key(self) -> tuple[str, str]:
        return (self.aws_profile, self.region)

    @property
    def label(self) -> str:
        return f"{self.aws_profile}/{self.region}"


@dataclass(frozen=True)
class AccountProgress:
    """Where the pairs of one account stand in the app's sync (a row of the Accounts page).

    Attributes:
        account: The account as the pairs name it: discovery's name, else the ``sso:`` pair's account id,
            else the AWS CLI profile (one per account, as people set them up).
        pairs: Pairs of the account in this sync.
        done: Of those, the ones that ended.
        instances: Instances listed so far.
        errors: Pairs that failed.
    """

    account: str
    pairs: int
    done: int
    instances: int
    errors: int


def account_of(pair: SyncPair) -> str:
    """The account a pair belongs to, for grouping progress: see :class:`AccountProgress`."""
    if pair.account_name:
        return pair.account_name
    from ssmux.sso.credentials import RoleSource

    source = RoleSource.parse(pair.aws_profile)
    return source.account_id if source else pair.aws_profile


SyncFunction = Callable[..., "SyncResult"]


class SyncController:
    """Runs syncs for the app; shared by every page.

    Args:
        panel: Reloaded when a sync ends.
        clients: The app's AWS sessions and clients; every sync goes through them.
        sync_function: The engine (``ssmux.sync.engine.sync_pairs``); replaceable for the benchmark.
    """

    def __init__(
        self, panel: PanelSource, clients: AwsClients, sync_function: SyncFunction | None = None
    ) -> None:
        self.panel = panel
        self.clients = clients
        self._sync_function = sync_function
        self.changed = Hub()
        self.progress: dict[tuple[str, str], PairProgress] = {}
        #: Each pair's account (:func:`account_of`) and title (``team-001 ReadOnlyAccess eu-west-1``), from
        #: the settings when the sync started.
        self.accounts: dict[tuple[str, str], str] = {}
        self.titles: dict[tuple[str, str], str] = {}
        self.running = False
        self.last_error = ""
        self._cancel: threading.Event | None = None
        self._flush_scheduled = False
        self._last_flush = 0.0

    # Starting and stopping -----------------------------------------------------------------------------
    async def sync_all(self) -> SyncResult | None:
        """Sync every enabled pair of the settings.

        Raises:
            SsmuxError: Sync is disabled, no pair is enabled, or a sync is already running.
        """
        from nicegui import run

        from ssmux.core import store
        from ssmux.sync.engine import pairs_to_sync

        settings = await run.io_bound(store.load_settings)
        if settings is None:
            return None
        return await self.sync(pairs_to_sync(settings), only_running=settings.sync_only_running)

    async def sync_pair(self, aws_profile: str, region: str) -> SyncResult | None:
        """Sync one pair (a synced group's sync button), whether or not sync is enabled, like ``--pair``."""
        return await self.sync_these([(aws_profile, region)])

    async def sync_these(self, pairs: Sequence[tuple[str, str]]) -> SyncResult | None:
        """Sync ``pairs`` whether or not they are enabled (one group, or the pairs a sign-in fixed).

        Raises:
            SsmuxError: A sync is already running.
        """
        from nicegui import run

        from ssmux.core import store

        settings = await run.io_bound(store.load_settings)
        only_running = settings.sync_only_running if settings is not None else True
        return await self.sync(pairs, only_running=only_running)

    async def sync(self, pairs: Sequence[tuple[str, str]], *, only_running: bool = True) -> SyncResult | None:
        """Sync ``pairs`` now; returns the result (``None`` if the app stopped meanwhile).

        Raises:
            SsmuxError: A sync is already running.
        """
        from nicegui import run

        from ssmux.sync.engine import sync_pairs
        from ssmux.sync.inventory import Inventory

        if self.running:
            raise SsmuxError("a sync is already running: wait for it to finish or cancel it")
        known = await run.io_bound(_known_pairs)
        self._label(known)
        loop = asyncio.get_running_loop()
        cancel = threading.Event()
        self._cancel = cancel
        self.running = True
        self.last_error = ""
        self.progress = {key: PairProgress(*key) for key in dict.fromkeys(pairs)}
        self.changed.emit()

        def on_event(event: SyncEvent) -> None:  # called from the engine's threads
            loop.call_soon_threadsafe(self._apply, event)

        engine = self._sync_function or sync_pairs
        try:
            result = await run.io_bound(
                engine,
                list(self.progress),
                clients=self.clients,
                only_running=only_running,
                inventory=Inventory(),
                progress=on_event,
                cancel=cancel,
                no_containers=frozenset(pair.key for pair in known or () if not pair.containers),
            )
        except SsmuxError as error:
            self.last_error = str(error)
            result = None
        finally:
            self.running = False
            self._cancel = None
        if result is not None:
            for outcome in result.outcomes:
                self.progress[(outcome.aws_profile, outcome.region)] = self._from_outcome(outcome)
        self.changed.emit()
        await self.panel.reload()
        return result

    def _label(self, known: Sequence[SyncPair] | None) -> None:
        self.accounts = {pair.key: account_of(pair) for pair in known or ()}
        self.titles = {pair.key: pair.title for pair in known or () if pair.account_name}

    def account_rows(self) -> list[AccountProgress]:
        """One row per account of this sync, by account name: pairs done of all, instances, errors."""
        rows: dict[str, list[PairProgress]] = {}
        for key, item in self.progress.items():
            rows.setdefault(self.accounts.get(key) or key[0], []).append(item)
        return [
            AccountProgress(
                account,
                len(items),
                sum(item.state.done for item in items),
                sum(item.instances for item in items),
                sum(item.state is PairState.ERROR for item in items),
            )
            for account, items in sorted(rows.items())
        ]

    def failure_groups(self) -> list[ErrorGroup]:
        """The failed pairs of this sync grouped by what went wrong, as ``ssmux sync`` groups them."""
        from ssmux.sync.grouping import group_errors

        return group_errors(
            (key, item.code or "Error", item.message)
            for key, item in self.progress.items()
            if item.state is PairState.ERROR
        )

    def title(self, pair: tuple[str, str]) -> str:
        """How a user knows ``pair``: its account, role and region once discovery named them."""
        return self.titles.get(pair) or f"{pair[0]}/{pair[1]}"

    def error_code(self, pair: tuple[str, str], cached: str = "") -> str:
        """The error code of ``pair``'s last sync: this session's when it ran here, else ``cached`` (the
        cache's record); ``""`` when it did not fail."""
        progress = self.progress.get(pair)
        if progress is None or not progress.state.done:
            return cached
        return progress.code if progress.state is PairState.ERROR else ""

    def signed_out(self, cached: dict[tuple[str, str], str]) -> list[tuple[str, str]]:
        """The pairs whose last sync failed for want of a valid sign-in (``cached``: the cache's codes)."""
        pairs = dict.fromkeys([*cached, *self.progress])
        return [pair for pair in pairs if self.error_code(pair, cached.get(pair, "")) in SIGN_IN_CODES]

    def cancel(self) -> None:
        """Stop handing out pairs; pairs already done are kept, the others end as cancelled."""
        if self._cancel is not None:
            self._cancel.set()

    # Progress ------------------------------------------------------------------------------------------
    def _apply(self, event: SyncEvent) -> None:
        from ssmux.sync.engine import EventKind

        key = (event.aws_profile, event.region)
        current = self.progress.get(key, PairProgress(*key))
        if event.kind is EventKind.STARTED:
            current = replace(current, state=PairState.RUNNING)
        elif event.kind is EventKind.PAGE:
            current = replace(current, state=PairState.RUNNING, pages=event.pages, instances=event.instances)
        elif event.kind is EventKind.DONE and event.outcome is not None:
            current = self._from_outcome(event.outcome)
        self.progress[key] = current
        self._schedule_flush()

    @staticmethod
    def _from_outcome(outcome: PairOutcome) -> PairProgress:
        from ssmux.sync.engine import OutcomeKind

        state = {
            OutcomeKind.OK: PairState.OK,
            OutcomeKind.FAILED: PairState.ERROR,
            OutcomeKind.CANCELLED: PairState.CANCELLED,
        }[outcome.kind]
        return PairProgress(
            outcome.aws_profile,
            outcome.region,
            state,
            pages=outcome.pages,
            instances=outcome.instances,
            message=outcome.error_message or "",
            code=outcome.error_code or "",
            seconds=outcome.seconds,
        )

    def _schedule_flush(self) -> None:
        # Coalesce bursts of page events into one redraw per REFRESH_SECONDS.
        if self._flush_scheduled:
            return
        self._flush_scheduled = True
        delay = max(0.0, REFRESH_SECONDS - (time.monotonic() - self._last_flush))
        asyncio.get_running_loop().call_later(delay, self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._last_flush = time.monotonic()
        self.changed.emit()

    def summary(self) -> str:
        """One line for the toolbar: ``syncing 3 of 4 pairs`` / ``1 pair failed`` / ``""``."""
        if not self.progress:
            return ""
        states = [item.state for item in self.progress.values()]
        if self.running:
            done = sum(state.done for state in states)
            return f"syncing: {done} of {len(states)} pairs done"
        failed = states.count(PairState.ERROR)
        if failed:
            return f"{failed} of {len(states)} pairs failed"
        if PairState.CANCELLED in states:
            return "sync cancelled"
        instances = sum(item.instances for item in self.progress.values())
        return f"synced {len(states)} pairs, {instances} instances"


def _known_pairs() -> tuple[SyncPair, ...]:
    """The settings' pairs (their accounts and titles); none when the settings cannot be read (the sync
    itself then says why)."""
    from ssmux.core import store

    try:
        return store.load_settings().sync_pairs
    except SsmuxError:
        return ()
