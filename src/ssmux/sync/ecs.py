"""One pair's ECS containers: clusters, running tasks and their containers, read leanly.

The listing (:func:`list_containers`) is three steps, each on the sync's call layer
(:mod:`ssmux.sync.calls`; ECS speaks the JSON 1.1 protocol, ``X-Amz-Target:
AmazonEC2ContainerServiceV20141113.<Action>``, as botocore's ``ecs`` model says):

1. ``ListClusters`` (100 per page);
2. per cluster, all clusters at once: ``ListTasks`` with ``desiredStatus=RUNNING`` (100 per page), and as
   each page arrives ``DescribeTasks`` of its tasks (at most 100 per call, the API's limit). A task's
   ``group`` is ``service:NAME`` when a service started it, so ``DescribeServices`` is never needed.

Why the pages are pipelined and the clusters run side by side: a pair's wall time is its longest chain of
dependent calls, so 10 clusters cost ListClusters + ListTasks + DescribeTasks, three round trips, not 21.
The answers are JSON; :func:`containers_of` reads them straight from ``json.loads`` (no botocore model
walk, no ``datetime`` per timestamp), which is what 20 pairs x 500 tasks cost in CPU.

A pair with ECS switched off (``containers = false`` on its sync pair) never calls ECS.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ssmux.errors import AwsError, ErrorCode
from ssmux.sync.container import EXEC_AGENT, Container, not_ready_reason

if TYPE_CHECKING:
    from ssmux.core.models import Settings
    from ssmux.sync.calls import Caller, Target

#: ListClusters and ListTasks accept 1..100 per page.
LIST_PAGE_SIZE = 100
#: DescribeTasks takes at most 100 tasks per call.
DESCRIBE_BATCH = 100

#: Reads one page: the action's parameters in, the answer's body out (raises AwsError when it fails).
Call = Callable[[str, dict[str, Any]], Awaitable[bytes]]
#: Told of each page read (``instances`` argument: always 0 for ECS pages).
PageSeen = Callable[[], None]


async def call(caller: Caller, target: Target, action: str, params: Mapping[str, Any]) -> bytes:
    """One ECS JSON-protocol call through ``caller``; the 200 answer's body.

    Raises:
        AwsError: the call failed (retries spent); its botocore error is the ``__cause__``.
    """
    return await caller.json_call(target, "ecs", action, params)


def _json_loads() -> Callable[[bytes], Any]:
    # orjson reads DescribeTasks' large answers (~100 KB for 50 tasks) in half the time of json; NiceGUI
    # brings it (on every platform but 32-bit x86, where json does the same).
    try:
        import orjson
    except ImportError:
        return json.loads
    loads: Callable[[bytes], Any] = orjson.loads
    return loads


_loads = _json_loads()


def parse(body: bytes) -> dict[str, Any]:
    """An ECS answer as it is.

    Raises:
        ValueError: ``body`` is not a JSON object.
    """
    parsed = _loads(body)
    if not isinstance(parsed, dict):
        raise ValueError(f"expected a JSON object, got {type(parsed).__name__}")
    return parsed


async def list_containers(
    send: Call,
    read: Callable[[bytes, str], dict[str, Any]],
    *,
    aws_profile: str,
    region: str,
    now: float,
    seen: PageSeen | None = None,
) -> list[Container]:
    """Every container of the pair's running tasks.

    Args:
        send: sends one ECS action with its parameters, returns the body.
        read: parses a body (and names the action in its error), as :func:`parse` does.
        aws_profile / region: the pair (written into the records).
        now: the records' ``last_seen``.
        seen: told of each page read (progress).

    Raises:
        AwsError: a call failed; nothing of the pair's ECS is returned then.
    """

    async def pages(action: str, params: dict[str, Any], key: str) -> AsyncIterator[list[str]]:
        token: str | None = None
        while True:
            page = read(await send(action, {**params, **({"nextToken": token} if token else {})}), action)
            if seen is not None:
                seen()
            yield [str(item) for item in page.get(key) or ()]
            following = page.get("nextToken")
            if not following:
                return
            if following == token:  # as botocore's paginator: an endpoint that loops would never end
                raise AwsError(
                    f"AWS profile '{aws_profile}' in {region}: ecs:{action} returned the same page token "
                    "twice: the endpoint is broken",
                    ErrorCode.ERROR,
                )
            token = str(following)

    async def describe(cluster: str, arns: list[str]) -> list[Container]:
        body = await send("DescribeTasks", {"cluster": cluster, "tasks": arns})
        page = read(body, "DescribeTasks")
        if seen is not None:
            seen()
        return containers_of(page.get("tasks") or (), aws_profile=aws_profile, region=region, now=now)

    async def cluster_containers(cluster: str) -> list[Container]:
        batches: list[asyncio.Future[list[Container]]] = []
        try:
            params = {"cluster": cluster, "desiredStatus": "RUNNING", "maxResults": LIST_PAGE_SIZE}
            async for arns in pages("ListTasks", params, "taskArns"):
                # Each page is described while the next one is listed.
                for start in range(0, len(arns), DESCRIBE_BATCH):
                    batch = arns[start : start + DESCRIBE_BATCH]
                    batches.append(asyncio.ensure_future(describe(cluster, batch)))
        except BaseException:
            await _cancel(batches)
            raise
        return await _every(batches)

    clusters: list[str] = []
    async for arns in pages("ListClusters", {"maxResults": LIST_PAGE_SIZE}, "clusterArns"):
        clusters += arns
    return await _every([asyncio.ensure_future(cluster_containers(arn)) for arn in clusters])


async def _every(tasks: list[asyncio.Future[list[Container]]]) -> list[Container]:
    """The containers of every task, in order; the first failure cancels the others (and is raised)."""
    try:
        listed = await asyncio.gather(*tasks)
    except BaseException:
        await _cancel(tasks)
        raise
    return [container for found in listed for container in found]


async def _cancel(tasks: list[asyncio.Future[list[Container]]]) -> None:
    """Cancel ``tasks`` and wait for them, so none runs on (or leaves an unread failure) after ours."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def containers_of(
    tasks: Iterable[Mapping[str, Any]], *, aws_profile: str, region: str, now: float
) -> list[Container]:
    """The containers of DescribeTasks' ``tasks``, as inventory records (pure, no I/O).

    Addresses: a container's own ``networkInterfaces`` (``awsvpc``), else the task's ENI attachment details
    (``privateIPv4Address``, ``ipv6Address``); a bridge-mode container has none of its own.
    """
    # Runs over every container of every pair (10,000 for 20 pairs of 500 tasks): plain lookups, positional
    # records, the task's own addresses read only for a container that has none.
    found: list[Container] = []
    append = found.append
    for task in tasks:
        task_arn = task.get("taskArn")
        cluster_arn = task.get("clusterArn")
        if not task_arn or not cluster_arn:
            continue
        group = task.get("group") or ""
        service = group[8:] if group.startswith("service:") else ""
        task_status = task.get("lastStatus") or ""
        exec_enabled = task.get("enableExecuteCommand") is True
        cluster = cluster_arn.rpartition("/")[2]
        task_id = task_arn.rpartition("/")[2]
        definition = (task.get("taskDefinitionArn") or "").rpartition("/")[2]
        launch_type = task.get("launchType") or ""
        task_addresses: tuple[str, str] | None = None
        for container in task.get("containers") or ():
            name = container.get("name")
            if not name:
                continue
            runtime_id = container.get("runtimeId") or ""
            status = container.get("lastStatus") or ""
            agent_status = agent_reason = ""
            for agent in container.get("managedAgents") or ():
                if agent.get("name") == EXEC_AGENT:
                    agent_status, agent_reason = agent.get("lastStatus") or "", agent.get("reason") or ""
                    break
            ip, ipv6 = _interface_addresses(container)
            if not ip and not ipv6:
                if task_addresses is None:
                    task_addresses = _attachment_addresses(task)
                ip, ipv6 = task_addresses
            ready = exec_enabled and agent_status == "RUNNING" and task_status == "RUNNING"
            reason = ""
            if not (ready and runtime_id and status in ("", "RUNNING")):  # the usual case costs no call
                reason = not_ready_reason(
                    task_status=task_status,
                    container_status=status,
                    exec_enabled=exec_enabled,
                    agent_status=agent_status,
                    runtime_id=runtime_id,
                    agent_reason=agent_reason,
                )
            append(
                Container(
                    aws_profile,
                    region,
                    cluster,
                    cluster_arn,
                    task_id,
                    task_arn,
                    name,
                    runtime_id,
                    service,
                    definition,
                    launch_type,
                    status or task_status,
                    ip,
                    ipv6,
                    exec_enabled,
                    agent_status,
                    reason,
                    now,
                )
            )
    return found


def _interface_addresses(container: Mapping[str, Any]) -> tuple[str, str]:
    for interface in container.get("networkInterfaces") or ():
        ip = interface.get("privateIpv4Address") or ""
        ipv6 = interface.get("ipv6Address") or ""
        if ip or ipv6:
            return ip, ipv6
    return "", ""


def _attachment_addresses(task: Mapping[str, Any]) -> tuple[str, str]:
    for attachment in task.get("attachments") or ():
        if attachment.get("type") != "ElasticNetworkInterface":
            continue
        ip = ipv6 = ""
        for item in attachment.get("details") or ():
            name = item.get("name")
            if name == "privateIPv4Address":
                ip = item.get("value") or ""
            elif name == "ipv6Address":
                ipv6 = item.get("value") or ""
        return ip, ipv6
    return "", ""


def pairs_without_containers(settings: Settings) -> frozenset[tuple[str, str]]:
    """The sync pairs whose ECS listing is switched off (their ``containers`` setting is false)."""
    return frozenset(pair.key for pair in settings.sync_pairs if not getattr(pair, "containers", True))
