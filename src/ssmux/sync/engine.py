"""The sync engine: every EC2 instance and managed node of many (AWS CLI profile, region) pairs, at once.

How pairs are run (:func:`sync_pairs`): one event loop, in a thread of its own, lists the pairs with
:func:`ssmux.sync.pair.list_pair`, at most ``concurrency`` at a time, all through one HTTP client
(:mod:`ssmux.sync.calls`: pooled connections per endpoint, botocore's credentials, signing and retries, no
botocore client per pair); each pair ends in a :class:`PairOutcome`. One pair's failure (unknown profile,
SSO expired, denied, throttled after retries, unreachable) is recorded and never stops or slows the
others. A finished pair is written to the inventory at once (by one writer thread, so SQLite never stalls
the calls), so cancelling (``cancel.set()``, or Ctrl-C while waiting) keeps every pair already done. A
cancelled sync returns at once: the calls in flight are cancelled and write nothing.

boto3/botocore stay in :mod:`ssmux.core.aws`; the call layer only uses what it hands out.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Collection, Iterator, Sequence
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
    list_pair,
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

#: Pairs synced at once. A pair is I/O bound (two calls waiting on the network, a few ms of CPU per page),
#: so every pair of a usual setup starts at once: with 16, 20 pairs took two rounds, twice the wall time.
#: The bound keeps connections (two per pair) sane when hundreds of pairs are enabled; AWS throttles per
#: account and region, so pairs do not share a rate limit (same account, other regions).
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

    @property
    def containers(self) -> int:
        """ECS containers found over all pairs whose ECS listing succeeded."""
        return sum(outcome.containers for outcome in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        """The ``ssmux sync --json`` form."""
        return {
            "pairs": [outcome.to_dict() for outcome in self.outcomes],
            "instances": self.instances,
            "seconds": round(self.seconds, 3),
            "containers": self.containers,
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
    no_containers: Collection[tuple[str, str]] = (),
) -> SyncResult:
    """Sync ``pairs`` (``(aws_profile, region)``) concurrently, at most ``concurrency`` at a time.

    Each pair's ECS containers are listed too, except for the pairs in ``no_containers``
    (:func:`ssmux.sync.ecs.pairs_without_containers` of the settings).

    Each finished pair is written to ``inventory`` at once (success: its rows replaced; failure: the error
    recorded, last good rows kept). ``progress`` is called from the sync's threads; it must be thread-safe
    and quick (the GUI hops to its own loop). Setting ``cancel`` (or Ctrl-C while this waits) stops handing
    out pairs and returns at once; pairs already done are kept, the rest end cancelled.
    Every pair goes through one HTTP client and the caller's ``clients`` (sessions and credentials per
    profile); no botocore client is made per pair.

    Returns:
        One outcome per distinct pair, in the order given. Never raises for a pair's failure.
    """
    if concurrency < 1:
        raise SsmuxError(f"concurrency must be at least 1, not {concurrency}: pass --concurrency 1 or more")
    cancel = cancel or threading.Event()
    keys = list(dict.fromkeys(pairs))
    started = time.monotonic()
    run = _Run(keys, inventory, progress)
    loop = asyncio.new_event_loop()
    main: list[asyncio.Task[None]] = []

    def serve() -> None:
        async def everything() -> None:
            main.append(asyncio.current_task())  # type: ignore[arg-type]
            await _list_all(run, clients, only_running, concurrency, ec2_page_size, frozenset(no_containers))

        try:
            loop.run_until_complete(everything())
        except BaseException:  # cancelled: the caller has already returned  # noqa: S110
            pass
        finally:
            loop.close()
            run.close()

    with _fewer_collections():
        if keys:
            threading.Thread(target=serve, name="ssmux-sync", daemon=True).start()
        else:
            run.close()
        try:
            # A timed wait, so that a cancel from another thread (the GUI's button) is noticed too.
            while not run.all_done.wait(0.2) and not cancel.is_set():
                pass
        except KeyboardInterrupt:
            pass
        finished = run.stop()
    if main and not run.all_done.is_set():
        # Calls in flight end now; the loop's thread closes the connections and ends on its own.
        with contextlib.suppress(RuntimeError):  # the loop already ended
            loop.call_soon_threadsafe(main[0].cancel)
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


#: Allocations between two young-generation garbage collections while a sync runs (Python's default: 700).
SYNC_GC_THRESHOLD = 50_000
_GC_LOCK = threading.Lock()
_GC_USERS: list[tuple[int, ...]] = []  # the thresholds to restore, while syncs run


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Collect cycles less often while a sync runs.

    Why: parsing allocates millions of short-lived objects (XML trees, dicts) beside a large live heap
    (sessions, instances); with the default threshold the collector keeps walking that heap: ~3 s of the
    CPU of a 1,200-pair sync (11-12 s down to 8-9 s measured). Reference counting still frees almost
    everything at once; only cycles wait a little longer. The previous thresholds come back afterwards.
    """
    import gc

    with _GC_LOCK:
        if not _GC_USERS:
            _GC_USERS.append(gc.get_threshold())
            gc.set_threshold(SYNC_GC_THRESHOLD, *gc.get_threshold()[1:])
        else:
            _GC_USERS.append(_GC_USERS[0])
    try:
        yield
    finally:
        with _GC_LOCK:
            previous = _GC_USERS.pop()
            if not _GC_USERS:
                gc.set_threshold(*previous)


#: How long the writer gathers finished pairs before writing them together (their DONE events wait as long).
WRITE_BATCH_SECONDS = 0.1


class _Run:
    """One sync's shared state: outcomes written and recorded by one writer thread, until the stop.

    Outcomes are recorded only until :meth:`stop`: an interrupt in the waiting thread can then never lose a
    finished pair, and nothing is written after the stop. The stop is ours (the caller's ``cancel`` is only
    read), so a caller can keep its event. SQLite writes block, so they are not done on the event loop: the
    writer takes every pair finished since its last write and writes them in one transaction (at 1,200
    pairs, one connection and commit per pair cost 2.4 s of CPU; batches of 0.1 s, a tenth of that).
    """

    def __init__(
        self, keys: list[tuple[str, str]], inventory: Inventory | None, progress: Progress | None
    ) -> None:
        self.keys = keys
        self.inventory = inventory
        self.progress = progress
        self.stopped = threading.Event()
        self.all_done = threading.Event()
        self.outcomes: dict[int, PairOutcome] = {}
        self.lock = threading.Lock()
        self._finished: queue.SimpleQueue[tuple[int, PairOutcome] | None] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write_all, name="ssmux-sync-write", daemon=True)
        self._writer.start()

    def finished(self, index: int, outcome: PairOutcome) -> None:
        """Hand a pair's outcome to the writer (from the event loop)."""
        self._finished.put((index, outcome))

    def close(self) -> None:
        """No more outcomes: wait for the writer to write what it has, then mark the run done."""
        self._finished.put(None)
        self._writer.join()
        self.all_done.set()  # also after a bug in the listing: the waiting thread reports the rest cancelled

    def stop(self) -> dict[int, PairOutcome]:
        """Stop recording; the outcomes recorded so far."""
        with self.lock:
            self.stopped.set()
            return dict(self.outcomes)

    def _write_all(self) -> None:
        ended = False
        while not ended:
            first = self._finished.get()
            if first is None:
                return
            batch = [first]
            # Gather what else finishes within WRITE_BATCH_SECONDS: one transaction for many pairs costs what
            # one pair costs alone (~2 ms: opening the file and a commit).
            deadline = time.monotonic() + WRITE_BATCH_SECONDS
            while (left := deadline - time.monotonic()) > 0:
                try:
                    more = self._finished.get(timeout=left)
                except queue.Empty:
                    break
                if more is None:
                    ended = True
                    break
                batch.append(more)
            self._record(batch)

    def _record(self, batch: list[tuple[int, PairOutcome]]) -> None:
        with self.lock:
            if self.stopped.is_set():
                return
            if self.inventory is not None:
                batch = _save(self.inventory, batch)
            self.outcomes.update(batch)
            if len(self.outcomes) == len(self.keys):
                self.all_done.set()
        for _, outcome in batch:
            done = SyncEvent(
                EventKind.DONE,
                outcome.aws_profile,
                outcome.region,
                instances=outcome.instances,
                outcome=outcome,
            )
            emit(self.progress, done)


async def _list_all(
    run: _Run,
    clients: AwsClients,
    only_running: bool,
    concurrency: int,
    ec2_page_size: int,
    no_containers: frozenset[tuple[str, str]],
) -> None:
    """List every pair of ``run``, at most ``concurrency`` at once, on one HTTP client."""
    from ssmux.sync.calls import Caller

    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        aws_profile, region = run.keys[index]
        async with gate:
            if run.stopped.is_set():
                return
            emit(run.progress, SyncEvent(EventKind.STARTED, aws_profile, region))
            outcome = await list_pair(
                caller,
                aws_profile,
                region,
                only_running=only_running,
                progress=run.progress,
                cancel=run.stopped,
                ec2_page_size=ec2_page_size,
                containers=(aws_profile, region) not in no_containers,
            )
        run.finished(index, outcome)

    # Two calls per pair in flight (EC2 and SSM side by side), each on its own connection.
    async with Caller(clients, connections=2 * concurrency) as caller:
        await asyncio.gather(*(one(index) for index in range(len(run.keys))))


def _save(inventory: Inventory, batch: list[tuple[int, PairOutcome]]) -> list[tuple[int, PairOutcome]]:
    """Write a batch of finished pairs (not the cancelled ones); the outcomes as the user sees them."""
    writes = [outcome.to_write() for _, outcome in batch if not outcome.cancelled]
    try:
        if writes:
            inventory.write_pairs(writes)
    except SsmuxError as error:
        # The listing worked but the cache could not take it: the pairs failed for the user all the same.
        return [(index, _unsaved(outcome, error)) for index, outcome in batch]
    return batch


def _unsaved(outcome: PairOutcome, error: SsmuxError) -> PairOutcome:
    if outcome.cancelled:
        return outcome
    return PairOutcome(
        outcome.aws_profile,
        outcome.region,
        OutcomeKind.FAILED,
        pages=outcome.pages,
        seconds=outcome.seconds,
        error_code=ErrorCode.CACHE_WRITE_FAILED,
        error_message=str(error),
    )


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
