"""The emulator's ECS at the size issue 13 names: 20 pairs x 10 clusters x 50 tasks.

Starts the emulator on a scenario of 5 profiles x 4 regions (20 pairs) with 300 instances per pair and
``ecs.generate`` of 10 clusters of 50 tasks, then lists every pair with 20 threads the way a sync does:
EC2 (DescribeInstances, paged) and ECS (ListClusters, ListTasks per cluster, DescribeTasks in batches of
100). The first ECS listing seeds each pair into moto; the second is what every later sync costs. Prints wall
time and the emulator's CPU time for each, and the ratio of ECS to EC2 listing.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

PROFILES = 5
REGIONS = ("eu-west-1", "eu-central-1", "us-east-1", "us-west-2")
INSTANCES = 300
CLUSTERS = 10
TASKS = 50


def scenario() -> dict[str, Any]:
    profiles = [
        {"name": f"acct{n}", "account_id": f"{n:012d}", "region": REGIONS[0]} for n in range(1, PROFILES + 1)
    ]
    instances = [{"profile": p["name"], "region": region, "name": "web", "count": INSTANCES}
                 for p in profiles for region in REGIONS]  # fmt: skip
    return {"profiles": profiles, "instances": instances,
            "ecs": {"generate": {"clusters": CLUSTERS, "tasks": TASKS}}}  # fmt: skip


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a running process has used so far (0 where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def list_ec2(client: Any) -> int:
    pages = client.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 1000})
    return sum(len(r["Instances"]) for page in pages for r in page["Reservations"])


def list_ecs(client: Any) -> int:
    count = 0
    for cluster in client.list_clusters()["clusterArns"]:
        arns = [
            a
            for page in client.get_paginator("list_tasks").paginate(cluster=cluster)
            for a in page["taskArns"]
        ]
        for start in range(0, len(arns), 100):
            count += len(client.describe_tasks(cluster=cluster, tasks=arns[start : start + 100])["tasks"])
    return count


def measure(label: str, pid: int, clients: list[Any], lister: Callable[[Any], int]) -> float:
    cpu, started = cpu_seconds(pid), time.perf_counter()
    with ThreadPoolExecutor(len(clients)) as pool:
        total = sum(pool.map(lister, clients))
    wall = time.perf_counter() - started
    print(f"{label:<34} {total:>6} items  wall {wall:6.2f} s  emulator CPU {cpu_seconds(pid) - cpu:6.2f} s",
          flush=True)  # fmt: skip
    return wall


def main() -> None:
    from tests.support.emulator import start_emulator

    print(f"scenario: {PROFILES} profiles x {len(REGIONS)} regions = {PROFILES * len(REGIONS)} pairs; "
          f"{INSTANCES} instances and {CLUSTERS} clusters x {TASKS} tasks per pair")  # fmt: skip
    with tempfile.TemporaryDirectory() as workdir:
        started = time.perf_counter()
        with start_emulator(scenario(), tmp_dir=Path(workdir)) as emulator:
            print(f"emulator ready in {time.perf_counter() - started:.2f} s")
            pid = emulator.process.pid
            pairs = [(f"acct{n}", region) for n in range(1, PROFILES + 1) for region in REGIONS]
            ec2 = [emulator.client("ec2", profile, region) for profile, region in pairs]
            ecs = [emulator.client("ecs", profile, region) for profile, region in pairs]
            measure("EC2 listing, first", pid, ec2, list_ec2)
            ec2_wall = measure("EC2 listing, again", pid, ec2, list_ec2)
            measure("ECS listing, first (seeds moto)", pid, ecs, list_ecs)
            ecs_wall = measure("ECS listing, again", pid, ecs, list_ecs)
            print(f"ratio ECS / EC2 listing (again): {ecs_wall / ec2_wall:.2f}")
