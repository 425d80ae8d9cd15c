"""Emulator start-up: time from spawning ``ssmux emulator`` to its ready line, and the first API calls.

Prints the median of several starts with the demo scenario (the issue asks for < 2 s), the first
DescribeInstances after ready (warm-up should make it fast), and the same for a 20,000-instance scenario
together with how long listing all of it takes through the paginator; then the built-in ``organization``
(300 generated accounts x 4 regions x 20 instances: 24,000 instances, 900 role grants), whose start the issue
wants in a few seconds: wall and CPU time to the ready line, and what a first call into a fresh account and
region costs (its instances are put into moto on first use).
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RUNS = 5
BIG = 20_000
ORG_RUNS = 3
FRESH_PAIRS = 40


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a running process has used so far; None where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(scenario: str, workdir: Path) -> tuple[subprocess.Popen[bytes], dict[str, str], float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ssmux",
            "emulator",
            "--scenario",
            scenario,
            "--aws-config-dir",
            str(workdir / "aws"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    elapsed = time.perf_counter() - started
    if not line:
        process.wait()
        raise SystemExit(f"emulator exited with {process.returncode}")
    return process, json.loads(line), elapsed


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def ec2_client(ready: dict[str, str], profile: str, region: str | None = None):
    return client_for(ready, profile, "ec2", region)


def client_for(ready: dict[str, str], profile: str, service: str, region: str | None = None):
    import boto3
    import botocore.session

    core = botocore.session.Session()
    core.set_config_variable("config_file", ready["aws_config_file"])
    core.set_config_variable("credentials_file", ready["aws_shared_credentials_file"])
    core.set_config_variable("profile", profile)
    return boto3.Session(botocore_session=core).client(service, region_name=region)


def main() -> None:
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        ready_times, first_calls = [], []
        for _ in range(RUNS):
            process, ready, elapsed = start("demo", workdir)
            try:
                client = ec2_client(ready, "dev")
                sts = client_for(ready, "prod", "sts")
                began = time.perf_counter()
                client.describe_instances()
                sts.get_caller_identity()  # served by moto (warmed up), DescribeInstances by us
                first_calls.append(time.perf_counter() - began)
                ready_times.append(elapsed)
            finally:
                stop(process)
        print(f"demo scenario, {RUNS} starts: ready line after median {statistics.median(ready_times):.2f} s "
              f"(min {min(ready_times):.2f}, max {max(ready_times):.2f}); target < 2 s")  # fmt: skip
        print(f"first DescribeInstances + GetCallerIdentity after ready: median "
              f"{statistics.median(first_calls) * 1000:.0f} ms")  # fmt: skip

        big = workdir / "big.json"
        big.write_text(json.dumps({
            "profiles": [{"name": "big", "account_id": "333333333333", "region": "eu-west-1"}],
            "instances": [{"profile": "big", "name": "node", "count": BIG, "tags": {"team": "scale"}}],
        }))  # fmt: skip
        process, ready, elapsed = start(str(big), workdir)
        try:
            client = ec2_client(ready, "big")
            began = time.perf_counter()
            client.describe_instances(MaxResults=5)
            first = time.perf_counter() - began
            began = time.perf_counter()
            count = sum(
                len(reservation["Instances"])
                for page in client.get_paginator("describe_instances").paginate(
                    PaginationConfig={"PageSize": 1000}
                )
                for reservation in page["Reservations"]
            )
            listing = time.perf_counter() - began
        finally:
            stop(process)
        print(f"{BIG:,}-instance scenario: ready after {elapsed:.1f} s; first DescribeInstances (5) "
              f"{first * 1000:.0f} ms; all {count:,} instances in pages of 1000: {listing:.1f} s "
              f"({count / listing:,.0f} instances/s)")  # fmt: skip
        organization(workdir)


def organization(workdir: Path) -> None:
    from ssmux.emulator.scenario import load_scenario

    scenario = load_scenario("organization")
    assert scenario.sso is not None
    walls, cpus = [], []
    for run in range(ORG_RUNS):
        process, ready, elapsed = start("organization", workdir / f"org{run}")
        try:
            walls.append(elapsed)
            cpu = cpu_seconds(process.pid)
            if cpu is not None:
                cpus.append(cpu)
            if run == 0:
                fresh = first_calls_into_fresh_accounts(ready, scenario)
        finally:
            stop(process)
    cpu_text = f"CPU median {statistics.median(cpus):.2f} s" if cpus else "CPU n/a (no /proc)"
    print(f"organization scenario ({len(scenario.hidden)} accounts x 4 regions, {len(scenario.instances):,} "
          f"instances, {len(scenario.sso.grants)} role grants), {ORG_RUNS} starts: ready line after wall "
          f"median {statistics.median(walls):.2f} s (min {min(walls):.2f}), {cpu_text}; "
          "target a few seconds")  # fmt: skip
    print(f"first DescribeInstances into {FRESH_PAIRS} fresh account/regions (seeded on first use): "
          f"median {statistics.median(fresh) * 1000:.0f} ms, max {max(fresh) * 1000:.0f} ms")  # fmt: skip


def first_calls_into_fresh_accounts(ready: dict[str, str], scenario: Any) -> list[float]:
    import boto3
    from botocore.config import Config

    assert scenario.sso is not None
    calm = [g for g in scenario.sso.grants if g.role == "AdministratorAccess" and not g.faults and not g.deny]
    once = Config(retries={"total_max_attempts": 1})
    times = []
    for number in range(FRESH_PAIRS):
        grant = calm[number]
        client = boto3.client(
            "ec2", region_name="us-west-2", endpoint_url=ready["endpoint"], config=once,
            aws_access_key_id=grant.access_key_id, aws_secret_access_key=grant.secret_access_key,
        )  # fmt: skip
        began = time.perf_counter()
        client.describe_instances()
        times.append(time.perf_counter() - began)
    return times


if __name__ == "__main__":
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    main()
