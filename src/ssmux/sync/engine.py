"""The sync engine: every EC2 instance and managed node of many (AWS CLI profile, region) pairs, at once.

How pairs are run (:func:`sync_pairs`): a pool of at most ``concurrency`` worker threads takes pairs from a
queue; each pair is listed by :func:`ssmux.sync.pair.fetch_pair` and ends in a :class:`PairOutcome`. One
pair's failure (unknown profile, SSO expired, denied, throttled after retries, unreachable) is recorded and
never stops or slows the others. A finished pair is written to the inventory at once, so cancelling
(``cancel.set()``, or Ctrl-C while waiting) keeps every pair already done. Workers are daemon threads: a
cancelled sync returns at once instead of waiting for calls in flight, which end on their own (bounded by
the client timeouts) and write nothing.

boto3/botocore stay in :mod:`ssmux.core.aws`; the pair listing only calls the clients it hands out.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ssmux.errors import ErrorCode, NoPairEnabled, SsmuxError, SyncDisabled
from ssmux.sync.inventory import Inventory
from ssmux.sync.pair import (
    EC2_PAGE_SIZE,
    SSM_PAGE_SIZE,
    EventKind,
    OutcomeKind,
    PairOutcome,
    Progress,
    SyncEvent,
    emit,
    fetch_pair,
    join,
)

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients
    from ssmux.core.models import Settings

__all__ = [
    "DEFAULT_CONCURRENCY",
    "EC2_PAGE_SIZE",
    "FIRST_RUN_HINT",
    "SSM_PAGE_SIZE",
    "EventKind",
    "OutcomeKind",
    "PairOutcome",
    "Progress",
    "SyncEvent",
    "SyncResult",
    "empty_state_hint",
    "fetch_pair",
    "join",
    "pairs_to_sync",
    "sync_pairs",
]

#: What to do on a fresh home, where nothing is saved and no pair is set up: the first steps, said wherever
#: a command finds nothing (``ssmux sync``, ``ssmux ls``).
FIRST_RUN_HINT = (
    "no sync pairs yet: add the AWS CLI profile and region of your instances with "
    "'ssmux pair add PROFILE/REGION' (your profiles: 'ssmux aws-profiles'), then run 'ssmux sync'; "
    "or save one instance with 'ssmux profile add NAME --instance-id ID'"
)

#: Pairs synced at once. A pair is I/O bound (two threads waiting on the network, a few ms of CPU per page),
#: so every pair of a usual setup starts at once: with 16, 20 pairs took two rounds, twice the wall time.
#: The bound keeps threads (two per pair) and connections sane when hundreds of pairs are enabled; AWS
#: throttles per account and region, so pairs do not share a rate limit (same account, other regions).
DEFAULT_CONCURRENCY = 32


@dataclass(frozen=True)
class SyncResult:
    """The outcome of a sync: one :class:`PairOutcome` per pair asked for, in the order asked."""

    outcomes: tuple[PairOutcome, ...]
    seconds: float
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        """Every pair was synced."""
        return all(outcome.ok for outcome in self.outcomes)

    @property
    def instances(self) -> int:
        """Instances found over all pairs that succeeded."""
        return sum(outcome.instances for outcome in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        """The ``ssmux sync --json`` form."""
        return {
            "pairs": [outcome.to_dict() for outcome in self.outcomes],
            "instances": self.instances,
            "seconds": round(self.seconds, 3),
        }


# Many pairs -------------------------------------------------------------------------------------------------
def sync_pairs(
    pairs: Sequence[tuple[str, str]],
    *,
    clients: AwsClients,
    only_running: bool = True,
    concurrency: int = DEFAULT_CONCURRENCY,
    inventory: Inventory | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    ec2_page_size: int = EC2_PAGE_SIZE,
) -> SyncResult:
    """Sync ``pairs`` (``(aws_profile, region)``) concurrently, at most ``concurrency`` at a time.

    Each finished pair is written to ``inventory`` at once (success: its rows replaced; failure: the error
    recorded, last good rows kept). ``progress`` is called from worker threads; it must be thread-safe and
    quick (the GUI hops to its own loop). Setting ``cancel`` (or Ctrl-C while this waits) stops handing out
    pairs and returns at once; pairs already done are kept, the rest end cancelled.
    Every pair goes through the caller's ``clients``: one botocore client per pair and service, one loader
    (and its service models) for all.

    Returns:
        One outcome per distinct pair, in the order given. Never raises for a pair's failure.
    """
    if concurrency < 1:
        raise SsmuxError(f"concurrency must be at least 1, not {concurrency}: pass --concurrency 1 or more")
    cancel = cancel or threading.Event()
    keys = list(dict.fromkeys(pairs))
    started = time.monotonic()
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(keys)):
        todo.put(index)
    # Workers record outcomes themselves, under ``lock`` and only until ``stop``: an interrupt in the
    # waiting thread can then never lose a finished pair, and nothing is written after the stop. ``stop`` is
    # ours (the caller's ``cancel`` is only read), so a caller can keep its event.
    stop = threading.Event()
    outcomes: dict[int, PairOutcome] = {}
    lock = threading.Lock()
    all_done = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            aws_profile, region = keys[index]
            emit(progress, SyncEvent(EventKind.STARTED, aws_profile, region))
            outcome = fetch_pair(
                aws_profile,
                region,
                clients=clients,
                only_running=only_running,
                progress=progress,
                cancel=stop,
                ec2_page_size=ec2_page_size,
            )
            with lock:
                if stop.is_set():
                    return
                if inventory is not None:
                    outcome = _save(inventory, outcome)
                outcomes[index] = outcome
                if len(outcomes) == len(keys):
                    all_done.set()
            done = SyncEvent(
                EventKind.DONE, aws_profile, region, instances=outcome.instances, outcome=outcome
            )
            emit(progress, done)

    if not keys:
        all_done.set()
    for number in range(min(concurrency, len(keys))):
        threading.Thread(target=worker, name=f"ssmux-sync-{number}", daemon=True).start()
    try:
        # A timed wait, so that a cancel from another thread (the GUI's button) is noticed too.
        while not all_done.wait(0.2) and not cancel.is_set():
            pass
    except KeyboardInterrupt:
        pass
    stop.set()  # the workers hand out, fetch and write nothing more
    with lock:
        finished = dict(outcomes)
    result = tuple(
        finished.get(index)
        or PairOutcome(
            aws_profile,
            region,
            OutcomeKind.CANCELLED,
            error_code=ErrorCode.CANCELLED,
            error_message="sync cancelled before this pair finished: run ssmux sync again",
        )
        for index, (aws_profile, region) in enumerate(keys)
    )
    return SyncResult(result, time.monotonic() - started, cancelled=len(finished) < len(keys))


def _save(inventory: Inventory, outcome: PairOutcome) -> PairOutcome:
    try:
        if outcome.ok:
            inventory.replace_pair(
                outcome.aws_profile,
                outcome.region,
                outcome.items,
                pages=outcome.pages,
                seconds=outcome.seconds,
            )
        elif not outcome.cancelled:
            inventory.record_failure(
                outcome.aws_profile,
                outcome.region,
                outcome.error_code or ErrorCode.ERROR,
                outcome.error_message or "",
            )
    except SsmuxError as error:
        # The listing worked but the cache could not take it: the pair failed for the user all the same.
        return PairOutcome(
            outcome.aws_profile,
            outcome.region,
            OutcomeKind.FAILED,
            pages=outcome.pages,
            seconds=outcome.seconds,
            error_code=ErrorCode.CACHE_WRITE_FAILED,
            error_message=str(error),
        )
    return outcome


def empty_state_hint(settings: Settings) -> str:
    """What to do when there is nothing at all to list (no saved profile, no synced instance)."""
    if not settings.sync_pairs:
        return FIRST_RUN_HINT
    if not settings.sync_enabled:
        return "nothing synced: sync is off: turn it on with 'ssmux settings set sync_enabled true'"
    return "nothing synced yet: run 'ssmux sync' (the pairs it lists: 'ssmux pair ls')"


def pairs_to_sync(settings: Settings, named: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """The pairs a sync should visit: ``named`` ones if any, else the settings' enabled pairs.

    Raises:
        SyncDisabled: nothing is named and sync is disabled; the message says how to turn it on.
        NoPairEnabled: nothing is named and no pair is enabled; the message says how to add or enable one.
    """
    if named:
        return list(dict.fromkeys(named))
    if not settings.sync_enabled:
        raise SyncDisabled(
            "sync is disabled: enable it with 'ssmux settings set sync_enabled true', "
            "or name pairs with --pair PROFILE/REGION"
        )
    if not settings.sync_pairs:
        raise NoPairEnabled(FIRST_RUN_HINT)
    enabled = [pair.key for pair in settings.enabled_pairs()]
    if not enabled:
        raise NoPairEnabled(
            "no sync pair is enabled: add one with 'ssmux pair add PROFILE/REGION' "
            "or enable one with 'ssmux pair enable PROFILE/REGION' (see 'ssmux pair ls')"
        )
    return enabled
