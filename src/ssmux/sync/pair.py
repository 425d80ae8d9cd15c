"""Listing one (AWS CLI profile, region) pair: EC2 instances and SSM managed nodes, joined; ECS containers.

:func:`list_pair` pages EC2 ``DescribeInstances`` (1000 per page, with the server-side
``instance-state-name=running`` filter when only running instances are wanted) and SSM
``DescribeInstanceProperties`` (1000 per page; ``DescribeInstanceInformation``, 50 per page, where that is
not allowed) side by side on the sync's call layer (:mod:`ssmux.sync.calls`: one async HTTP client, botocore's
credentials, signing and retry rules), so a pair costs its longest chain of pages, not their sum;
:func:`join` then merges them: EC2 gives names, addresses and state; SSM gives agent status and the ``mi-``
managed nodes that have no EC2 instance. An instance without an SSM registration is kept and marked
:data:`~ssmux.sync.instance.UNMANAGED`. The three listings share one pagination loop (:func:`_read_pages`),
and pages are read by the lean parsers (:mod:`ssmux.sync.ec2`, :mod:`ssmux.sync.ssm`).
The pair's ECS containers (:mod:`ssmux.sync.ecs`) are listed beside both, unless the pair has them switched
off; an ECS failure (``AccessDenied`` on ``ecs:ListClusters``...) is the outcome's ECS error, not the pair's:
its instances are still listed and cached. :func:`fetch_pair` is the same for one pair, blocking.

A pair's failure is its :class:`PairOutcome` (kind :attr:`OutcomeKind.FAILED` with the AWS code and a message
saying what to do, or :attr:`OutcomeKind.CANCELLED`), never an exception. :mod:`ssmux.sync.engine` runs many
pairs at once on top of this.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from ssmux.errors import AwsError, ErrorCode, SsmuxError
from ssmux.sync.container import Container
from ssmux.sync.instance import EC2_TEXT_COLUMNS, UNMANAGED, Instance
from ssmux.sync.inventory import PairWrite

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients
    from ssmux.sync.calls import Caller, Target

#: DescribeInstances accepts 5..1000; the largest page means the fewest round trips.
EC2_PAGE_SIZE = 1000
#: DescribeInstanceInformation accepts 5..50 (used only where DescribeInstanceProperties is not allowed).
SSM_PAGE_SIZE = 50
#: DescribeInstanceProperties accepts 5..1000.
PROPERTIES_PAGE_SIZE = 1000
# Answers to DescribeInstanceProperties that mean "use DescribeInstanceInformation instead": not allowed by
# the caller's policy, or an endpoint (an older emulator, a proxy) that does not know the operation.
_NOT_ALLOWED_OR_UNKNOWN = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnknownOperationException",
        "InvalidAction",
        "NotImplemented",
        "UnsupportedOperation",
    }
)


class EventKind(StrEnum):
    """What a :class:`SyncEvent` reports."""

    STARTED = "started"  # a worker took the pair
    PAGE = "page"  # one API page arrived
    DONE = "done"  # the pair ended; the event carries its outcome


class OutcomeKind(Enum):
    """How a pair's sync ended."""

    OK = "ok"  # listed (and, under the engine, cached)
    FAILED = "failed"  # an AWS call, the profile or the cache failed; the outcome says why
    CANCELLED = "cancelled"  # the sync was cancelled before the pair finished; nothing was written


@dataclass(frozen=True)
class PairOutcome:
    """How one pair's sync ended.

    Attributes:
        kind: ok, failed or cancelled.
        instances: instances found (0 unless ok).
        pages: API pages fetched (EC2 and SSM together).
        seconds: wall time of the pair.
        error_code: the AWS error code or one of ours (:class:`~ssmux.errors.ErrorCode`); ``None`` when ok.
        error_message: one line saying what went wrong and what to do; ``None`` when ok.
        items: the instances themselves (not part of the JSON form).
        containers: ECS containers found (0 unless ok and listed).
        container_items: the containers themselves; ``None`` when ECS was not listed (switched off for the
            pair, or its listing failed: then ``ecs_error_code`` says why).
        ecs_error_code / ecs_error_message: the ECS listing's failure on a pair whose instances were listed;
            ``None`` when it succeeded or was not asked for.
    """

    aws_profile: str
    region: str
    kind: OutcomeKind
    instances: int = 0
    pages: int = 0
    seconds: float = 0.0
    error_code: str | None = None
    error_message: str | None = None
    items: tuple[Instance, ...] = field(default=(), repr=False, compare=False)
    containers: int = 0
    container_items: tuple[Container, ...] | None = field(default=None, repr=False, compare=False)
    ecs_error_code: str | None = None
    ecs_error_message: str | None = None

    @property
    def ok(self) -> bool:
        """The pair was synced."""
        return self.kind is OutcomeKind.OK

    @property
    def cancelled(self) -> bool:
        """The sync was cancelled before this pair finished."""
        return self.kind is OutcomeKind.CANCELLED

    @property
    def status(self) -> str:
        """The JSON form's ``status``: ``"ok"``, else ``"error"`` (a cancelled pair is an error there)."""
        return "ok" if self.ok else "error"

    @property
    def ecs_failed(self) -> bool:
        """The instances were listed but the ECS listing failed (see ``ecs_error_code``)."""
        return self.ok and self.ecs_error_code is not None

    def failures(self) -> tuple[PairOutcome, ...]:
        """Each failure of the pair as a failed outcome of its own, for grouping and listing failures.

        A failed pair is its own one failure; a pair whose ECS listing alone failed gives that failure (its
        instances are fine); otherwise none. A cancelled pair is no failure here.
        """
        if self.kind is OutcomeKind.FAILED:
            return (self,)
        if self.ecs_failed:
            failed = PairOutcome(
                self.aws_profile,
                self.region,
                OutcomeKind.FAILED,
                error_code=self.ecs_error_code,
                error_message=self.ecs_error_message,
            )
            return (failed,)
        return ()

    def to_write(self) -> PairWrite:
        """What the inventory records of this (finished, not cancelled) pair."""
        return PairWrite(
            self.aws_profile,
            self.region,
            self.items if self.ok else None,
            pages=self.pages,
            seconds=self.seconds,
            error_code=self.error_code or ErrorCode.ERROR,
            error_message=self.error_message or "",
            containers=self.container_items,
            ecs_error_code=self.ecs_error_code or "",
            ecs_error_message=self.ecs_error_message or "",
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``ssmux sync --json`` form of a pair (``ecs_error``: the ECS listing's failure, else null)."""
        error = None if self.ok else {"code": self.error_code, "message": self.error_message}
        ecs_error = None
        if self.ecs_error_code is not None:
            ecs_error = {"code": self.ecs_error_code, "message": self.ecs_error_message}
        return {
            "profile": self.aws_profile,
            "region": self.region,
            "status": self.status,
            "instances": self.instances,
            "seconds": round(self.seconds, 3),
            "error": error,
            "containers": self.containers,
            "ecs_error": ecs_error,
        }


@dataclass(frozen=True)
class SyncEvent:
    """Progress of a sync, handed to the ``progress`` callback.

    Attributes:
        kind: started, page or done.
        service: for a page: ``"ec2"``, ``"ssm"`` or ``"ecs"``.
        pages: pages fetched so far for this pair.
        instances: EC2 instances seen so far for this pair (when done: the pair's total).
        outcome: when done: how the pair ended.
    """

    kind: EventKind
    aws_profile: str
    region: str
    service: str = ""
    pages: int = 0
    instances: int = 0
    outcome: PairOutcome | None = None


Progress = Callable[[SyncEvent], None]


class _Cancelled(Exception):
    """Raised inside a worker between pages once the sync is cancelled."""


# The join: pure, no I/O ------------------------------------------------------------------------------------
def join(
    ec2_instances: Iterable[Mapping[str, Any]],
    ssm_infos: Iterable[Mapping[str, Any]],
    *,
    aws_profile: str,
    region: str,
    only_running: bool,
    now: float,
) -> list[Instance]:
    """Merge EC2 instances with SSM instance information into inventory records.

    EC2 instances in state ``terminated`` are dropped (they cannot be reached and vanish within the hour);
    with ``only_running`` only ``running`` ones are kept. SSM entries of EC2 instances that were filtered out
    are ignored; SSM entries with no EC2 instance (``mi-`` managed nodes) are added with no state.
    """
    infos = {str(info["InstanceId"]): info for info in ssm_infos if info.get("InstanceId")}
    found: list[Instance] = []
    seen: set[str] = set()
    for ec2 in ec2_instances:
        # The text columns EC2 gives (ids, state, addresses, placement), each "" when absent.
        texts: dict[str, Any] = {column.name: _text_at(ec2, column.ec2) for column in EC2_TEXT_COLUMNS}
        instance_id = texts["instance_id"]
        state = texts["state"]
        if not instance_id or instance_id in seen or state == "terminated":
            continue
        if only_running and state != "running":
            continue
        seen.add(instance_id)
        # Tags can be absent, and a Name tag can be empty: both mean "no name" (the reference hung on these).
        tags = {str(t.get("Key")): str(t.get("Value") or "") for t in ec2.get("Tags") or () if t.get("Key")}
        info = infos.get(instance_id)
        platform = "windows" if texts["platform"].lower() == "windows" else "linux"
        if info is not None and info.get("PlatformType"):
            platform = str(info["PlatformType"]).lower()
        texts.update(state=state or None, platform=platform)
        found.append(
            Instance(
                **texts,
                aws_profile=aws_profile,
                region=region,
                name=tags.get("Name") or None,
                launch_time=_iso(ec2.get("LaunchTime")),
                tags=tags,
                ssm_managed=info is not None,
                ping_status=str(info.get("PingStatus") or "Unknown") if info is not None else UNMANAGED,
                agent_version=str(info.get("AgentVersion") or "") if info is not None else "",
                last_seen=now,
            )
        )
    for instance_id, info in infos.items():
        if instance_id in seen or not _is_managed_node(instance_id, info):
            continue
        name = str(info.get("Name") or info.get("ComputerName") or "") or None
        found.append(
            Instance(
                instance_id=instance_id,
                aws_profile=aws_profile,
                region=region,
                name=name,
                state=None,
                platform=str(info.get("PlatformType") or "").lower(),
                private_ip=str(info.get("IPAddress") or ""),
                private_dns=str(info.get("ComputerName") or ""),
                launch_time=_iso(info.get("RegistrationDate")),
                tags={"Name": name} if name else {},
                ssm_managed=True,
                ping_status=str(info.get("PingStatus") or "Unknown"),
                agent_version=str(info.get("AgentVersion") or ""),
                last_seen=now,
            )
        )
    return found


def _text_at(record: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    """The value at the key path ``keys`` of ``record`` as text, ``""`` when absent."""
    value: Any = record
    for key in keys:
        value = (value or {}).get(key)
    return str(value or "")


def _is_managed_node(instance_id: str, info: Mapping[str, Any]) -> bool:
    return instance_id.startswith("mi-") or info.get("ResourceType") == "ManagedInstance"


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):  # epoch seconds, from ssmux.sync.ssm
        return datetime.fromtimestamp(value, UTC).isoformat()
    return str(value) if value else ""


# One pair ---------------------------------------------------------------------------------------------------
class _PairProgress:
    """Counts a pair's pages from its two threads and reports them."""

    def __init__(self, aws_profile: str, region: str, progress: Progress | None) -> None:
        self.aws_profile = aws_profile
        self.region = region
        self.progress = progress
        self.pages = 0
        self.instances = 0
        self._lock = threading.Lock()

    def page(self, service: str, instances: int) -> None:
        with self._lock:
            self.pages += 1
            self.instances += instances
            event = SyncEvent(
                EventKind.PAGE, self.aws_profile, self.region, service, self.pages, self.instances
            )
        emit(self.progress, event)


def emit(progress: Progress | None, event: SyncEvent) -> None:
    """Hand ``event`` to ``progress`` (if any); an exception in the callback is swallowed."""
    if progress is None:
        return
    # A display bug must not fail or stall a sync.
    with contextlib.suppress(Exception):
        progress(event)


def _reservation_instances(page: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [item for reservation in page.get("Reservations") or () for item in reservation["Instances"]]


def _page_of(parse: Callable[[bytes], dict[str, Any]], body: bytes, target: Target, action: str) -> Any:
    """A page read by a lean parser; a body it cannot read fails the pair as botocore's parser would."""
    from ssmux.core import aws

    try:
        return parse(body)
    except (ElementTree.ParseError, ValueError) as error:  # not XML; not a JSON object
        failure = aws.unparsable_answer(f"{error}, invalid answer received")
    raise aws.translate(failure, aws_profile=target.aws_profile, region=target.region, action=action) from (
        failure
    )


async def _read_pages(
    call: Callable[[dict[str, Any]], Awaitable[bytes]],
    parse: Callable[[bytes], dict[str, Any]],
    items: Callable[[Mapping[str, Any]], Iterable[Mapping[str, Any]]],
    found: list[Mapping[str, Any]],
    *,
    target: Target,
    service: str,
    action: str,
    counter: _PairProgress,
    cancel: threading.Event | None,
) -> None:
    """The one pagination loop: every page of a listing, its ``items`` appended to ``found`` as they come.

    ``call`` sends one page's request given the ``NextToken`` parameters (empty for the first page). Each page
    is counted (EC2 pages count their instances too), and a cancel stops the loop between pages.

    Raises:
        AwsError: a call failed; the botocore error is its ``__cause__``. Pages read before stay in ``found``.
    """
    token: str | None = None
    while True:
        body = await call({"NextToken": token} if token else {})
        page = _page_of(parse, body, target, action)
        batch = list(items(page))
        found += batch
        counter.page(service, len(batch) if service == "ec2" else 0)
        if cancel is not None and cancel.is_set():
            raise _Cancelled
        following = page.get("NextToken")
        if not following:
            return
        if following == token:  # as botocore's paginator: an endpoint that loops would never end
            raise AwsError(
                f"{_who(target)}: {action} returned the same page token twice: the endpoint is broken",
                ErrorCode.ERROR,
            )
        token = str(following)


def _who(target: Target) -> str:
    return f"AWS profile '{target.aws_profile}' in {target.region}"


async def _list_ec2(
    caller: Caller,
    target: Target,
    only_running: bool,
    counter: _PairProgress,
    cancel: threading.Event | None,
    page_size: int,
) -> list[Mapping[str, Any]]:
    from ssmux.sync import ec2 as lean_ec2

    params = {"MaxResults": str(page_size)}
    if only_running:
        params |= {"Filter.1.Name": "instance-state-name", "Filter.1.Value.1": "running"}
    found: list[Mapping[str, Any]] = []
    await _read_pages(
        lambda token: caller.ec2(target, "DescribeInstances", {**params, **token}),
        lean_ec2.parse_describe_instances,
        _reservation_instances,
        found,
        target=target,
        service="ec2",
        action="ec2:DescribeInstances",
        counter=counter,
        cancel=cancel,
    )
    return found


async def _list_ssm(
    caller: Caller,
    target: Target,
    counter: _PairProgress,
    cancel: threading.Event | None,
    page_size: int,
) -> list[Mapping[str, Any]]:
    """Managed nodes by DescribeInstanceProperties, else (refused or unknown) DescribeInstanceInformation.

    Why DescribeInstanceProperties first: it gives the same fields (PingStatus, PlatformType, AgentVersion,
    ResourceType, IPAddress, ComputerName, Name...) in pages of up to 1000 instead of 50, so a 20,000-node
    region takes 20 round trips instead of 400. Policies written for DescribeInstanceInformation alone, and
    endpoints that predate the operation, answer its first page with an error: then the older operation
    lists the nodes. An error on a later page is the pair's failure, as for any other call.
    """
    from ssmux.sync import ssm as lean_ssm

    found: list[Mapping[str, Any]] = []
    for operation, key, largest in (
        ("DescribeInstanceProperties", "InstanceProperties", PROPERTIES_PAGE_SIZE),
        ("DescribeInstanceInformation", "InstanceInformationList", SSM_PAGE_SIZE),
    ):
        size = min(page_size, largest)
        try:
            await _read_pages(
                lambda token, operation=operation, size=size: caller.ssm(  # type: ignore[misc]
                    target, operation, {"MaxResults": size, **token}
                ),
                lean_ssm.parse_listing,
                lambda page, key=key: page.get(key) or (),  # type: ignore[misc]
                found,
                target=target,
                service="ssm",
                action=f"ssm:{operation}",
                counter=counter,
                cancel=cancel,
            )
            return found
        except AwsError as error:
            if (
                found
                or operation != "DescribeInstanceProperties"
                or not _use_older_operation(error.__cause__)
            ):
                raise
    return found


async def _list_ecs(
    caller: Caller, target: Target, counter: _PairProgress, cancel: threading.Event | None
) -> list[Container]:
    """The pair's ECS containers (:func:`ssmux.sync.ecs.list_containers`); a cancel stops it between pages."""
    from ssmux.sync import ecs

    def seen() -> None:
        counter.page("ecs", 0)
        if cancel is not None and cancel.is_set():
            raise _Cancelled

    return await ecs.list_containers(
        lambda action, params: ecs.call(caller, target, action, params),
        lambda body, action: _page_of(ecs.parse, body, target, f"ecs:{action}"),
        aws_profile=target.aws_profile,
        region=target.region,
        now=time.time(),
        seen=seen,
    )


async def _containers_or_error(
    ecs_side: asyncio.Future[list[Container]] | None, aws_profile: str, region: str
) -> tuple[tuple[Container, ...] | None, str | None, str | None]:
    """The ECS side's containers, or its failure as (None, code, message); (None, None, None) if not asked."""
    if ecs_side is None:
        return None, None, None
    try:
        return tuple(await ecs_side), None, None
    except SsmuxError as error:
        code = (error.code if isinstance(error, AwsError) else "") or ErrorCode.ERROR
        message = str(error)
        if code in _NOT_ALLOWED_OR_UNKNOWN:
            # A role that may not list ECS fails every sync the same way: say how to stop asking.
            message += f" (to skip its containers: 'ssmux pair edit {aws_profile}/{region} --no-containers')"
        return None, str(code), message
    except _Cancelled:
        raise
    except Exception as error:  # a bug, but the ECS side's: the instances still count
        message = f"unexpected {type(error).__name__}: {' '.join(str(error).split())} (run with --debug)"
        return None, str(ErrorCode.UNEXPECTED), message


def _use_older_operation(error: BaseException | None) -> bool:
    """Whether DescribeInstanceProperties failed for want of permission or support, not for the pair."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return False
    code = str((response.get("Error") or {}).get("Code") or "")
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return code in _NOT_ALLOWED_OR_UNKNOWN or status in (404, 501)


async def list_pair(
    caller: Caller,
    aws_profile: str,
    region: str,
    *,
    only_running: bool = True,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    ec2_page_size: int = EC2_PAGE_SIZE,
    ssm_page_size: int = PROPERTIES_PAGE_SIZE,
    containers: bool = True,
) -> PairOutcome:
    """Sync one pair on ``caller``: EC2 and SSM listings side by side, joined, and (``containers``) its ECS
    containers beside them. Never raises for its failure.

    A cancel (``cancel`` set) is noticed between pages; cancelling the task itself stops it at once. An ECS
    failure alone leaves the pair ok, with the failure in the outcome's ``ecs_error_code``/``_message``.

    Returns:
        The pair's outcome; unless ok, the error code and a message saying what to do.
    """
    started = time.monotonic()
    counter = _PairProgress(aws_profile, region, progress)
    try:
        target = await caller.target(
            aws_profile, region, ("ec2", "ssm", "ecs") if containers else ("ec2", "ssm")
        )
        # The SSM and ECS listings run beside the EC2 one: a pair then costs its longest chain of pages, not
        # the sum.
        ssm_side = asyncio.ensure_future(_list_ssm(caller, target, counter, cancel, ssm_page_size))
        ecs_side = asyncio.ensure_future(_list_ecs(caller, target, counter, cancel)) if containers else None
        try:
            ec2_items = await _list_ec2(caller, target, only_running, counter, cancel, ec2_page_size)
            ssm_items = await ssm_side
        except BaseException:
            for side in (ssm_side, ecs_side):
                if side is not None:
                    side.cancel()
                    side.add_done_callback(_forget)
            raise
        container_items, ecs_code, ecs_message = await _containers_or_error(ecs_side, aws_profile, region)
        if cancel is not None and cancel.is_set():
            raise _Cancelled
        items = join(
            ec2_items,
            ssm_items,
            aws_profile=aws_profile,
            region=region,
            only_running=only_running,
            now=time.time(),
        )
    except _Cancelled:
        return _ended(
            OutcomeKind.CANCELLED,
            aws_profile,
            region,
            started,
            counter,
            ErrorCode.CANCELLED,
            "sync cancelled: run ssmux sync again",
        )
    except SsmuxError as error:
        code = (error.code if isinstance(error, AwsError) else "") or ErrorCode.ERROR
        return _ended(OutcomeKind.FAILED, aws_profile, region, started, counter, code, str(error))
    except Exception as error:  # a bug, but still one pair's: report it and let the others finish
        message = f"unexpected {type(error).__name__}: {' '.join(str(error).split())} (run with --debug)"
        return _ended(
            OutcomeKind.FAILED, aws_profile, region, started, counter, ErrorCode.UNEXPECTED, message
        )
    return PairOutcome(
        aws_profile,
        region,
        OutcomeKind.OK,
        instances=len(items),
        pages=counter.pages,
        seconds=time.monotonic() - started,
        items=tuple(items),
        containers=len(container_items or ()),
        container_items=container_items,
        ecs_error_code=ecs_code,
        ecs_error_message=ecs_message,
    )


def _forget(task: asyncio.Future[Any]) -> None:
    """Mark a side task's failure as seen: the pair already failed on the other side."""
    if not task.cancelled():
        task.exception()


def fetch_pair(
    aws_profile: str,
    region: str,
    *,
    clients: AwsClients,
    only_running: bool = True,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    ec2_page_size: int = EC2_PAGE_SIZE,
    ssm_page_size: int = PROPERTIES_PAGE_SIZE,
    containers: bool = True,
) -> PairOutcome:
    """Sync one pair, blocking: :func:`list_pair` on an event loop and HTTP client of its own.

    ``ec2_page_size`` (5..1000) is the DescribeInstances page size, ``ssm_page_size`` (5..1000) the
    DescribeInstanceProperties one (at most 50 with DescribeInstanceInformation); smaller only makes more
    round trips. ``clients`` is the caller's :class:`~ssmux.core.aws.AwsClients`: its sessions (and their
    credentials) serve the pair. Call it from a thread without a running event loop.

    Returns:
        The pair's outcome; unless ok, the error code and a message saying what to do.
    """
    from ssmux.sync.calls import Caller

    async def run() -> PairOutcome:
        async with Caller(clients, connections=4) as caller:
            return await list_pair(
                caller,
                aws_profile,
                region,
                only_running=only_running,
                progress=progress,
                cancel=cancel,
                ec2_page_size=ec2_page_size,
                ssm_page_size=ssm_page_size,
                containers=containers,
            )

    return asyncio.run(run())


def _ended(
    kind: OutcomeKind,
    aws_profile: str,
    region: str,
    started: float,
    counter: _PairProgress,
    code: str,
    message: str,
) -> PairOutcome:
    return PairOutcome(
        aws_profile,
        region,
        kind,
        pages=counter.pages,
        seconds=time.monotonic() - started,
        error_code=code,
        error_message=message,
    )
