"""The sync engine end to end: real HTTP to the emulator process, real botocore clients, real SQLite."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ssmux.core.aws import AwsClients, ServiceModels
from ssmux.sync.engine import OutcomeKind, SyncResult, sync_pairs
from ssmux.sync.instance import UNMANAGED
from ssmux.sync.inventory import Inventory
from ssmux.sync.pair import SyncEvent, fetch_pair
from ssmux.sync.targets import load_targets, search
from tests.support.emulator import RunningEmulator

from .conftest import aws_files_with_extra, closed_port, use_aws_files

pytestmark = pytest.mark.e2e

DEMO_PAIRS = [("dev", "eu-central-1"), ("dev", "eu-west-1"), ("prod", "us-east-1"), ("prod", "us-west-2")]


def test_demo_synced_across_all_pairs(
    demo: RunningEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, aws_clients: AwsClients
) -> None:
    """The demo fleet: every pair ok; running instances with names, groups, states, SSM status, platform."""
    demo.apply(monkeypatch)
    inventory = Inventory(tmp_path / "inv.sqlite3")
    result = sync_pairs(DEMO_PAIRS, clients=aws_clients, only_running=True, inventory=inventory)
    assert result.ok and not result.cancelled
    assert [(o.aws_profile, o.region, o.status) for o in result.outcomes] == [(*p, "ok") for p in DEMO_PAIRS]
    seen = {(item.group, item.name): item for outcome in result.outcomes for item in outcome.items}
    assert set(seen) == {
        ("dev/eu-central-1", "web-1"), ("dev/eu-central-1", "web-2"), ("dev/eu-central-1", "web-3"),
        ("dev/eu-central-1", "api-1"), ("dev/eu-central-1", None),
        ("dev/eu-west-1", "bastion"), ("dev/eu-west-1", "legacy-app"),
        ("prod/us-east-1", "web-1"), ("prod/us-east-1", "web-2"), ("prod/us-east-1", "db-1"),
        ("prod/us-east-1", "win-ad"), ("prod/us-east-1", "onprem-db"),
        ("prod/us-west-2", "batch-1"),
    }  # fmt: skip
    unnamed = seen["dev/eu-central-1", None]
    assert unnamed.display_name == unnamed.instance_id and unnamed.instance_id.startswith("i-")
    web = seen["dev/eu-central-1", "web-1"]
    assert (web.state, web.ping_status, web.platform, web.ssm_managed) == ("running", "Online", "linux", True)
    assert web.display_name == f"web-1 ({web.instance_id})" and web.tags["team"] == "web"
    assert web.private_ip and web.availability_zone.startswith("eu-central-1") and web.launch_time
    legacy = seen["dev/eu-west-1", "legacy-app"]
    assert (legacy.ping_status, legacy.ssm_managed) == (UNMANAGED, False)
    assert seen["prod/us-west-2", "batch-1"].ping_status == "ConnectionLost"
    assert seen["prod/us-east-1", "win-ad"].platform == "windows"
    node = seen["prod/us-east-1", "onprem-db"]
    assert node.instance_id == "mi-0123456789abcdef0" and node.state is None and node.ping_status == "Online"
    # What was synced is what the cache now holds, pair by pair.
    assert sorted(inventory.pair_keys()) == sorted(DEMO_PAIRS)
    assert {(i.group, i.instance_id) for i in inventory.instances()} == {
        (i.group, i.instance_id) for i in seen.values()
    }
    assert result.instances == 13


def test_only_running_off_lists_stopped_instances(
    demo: RunningEmulator, monkeypatch: pytest.MonkeyPatch, aws_clients: AwsClients
) -> None:
    """With only-running off, stopped instances are listed with their state; with it on, they are not."""
    demo.apply(monkeypatch)
    running = fetch_pair("dev", "eu-central-1", clients=aws_clients, only_running=True)
    everything = fetch_pair("dev", "eu-central-1", clients=aws_clients, only_running=False)
    assert running.ok and everything.ok
    stopped = {item.name: item.state for item in everything.items if item.state != "running"}
    assert stopped == {"worker-1": "stopped"}
    assert "worker-1" not in {item.name for item in running.items}
    assert everything.instances == running.instances + 1


def test_pagination_over_several_pages(
    fleet_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch, aws_clients: AwsClients
) -> None:
    """120 instances come back whole through 3 EC2 pages of 50 and 3 SSM pages of 50, one event per page."""
    fleet_emulator.apply(monkeypatch)
    events: list[SyncEvent] = []
    outcome = fetch_pair(
        "big",
        "eu-west-1",
        clients=aws_clients,
        progress=events.append,
        ec2_page_size=50,
        ssm_page_size=50,
        containers=False,  # the instance listing's pages alone
    )
    assert outcome.ok, outcome.error_message
    assert outcome.instances == 120
    assert {item.name for item in outcome.items} == {f"node-{n}" for n in range(1, 121)}
    assert all(item.ping_status == "Online" for item in outcome.items)
    pages = [event for event in events if event.kind == "page"]
    assert sorted(event.service for event in pages) == ["ec2"] * 3 + ["ssm"] * 3
    assert outcome.pages == 6 and max(event.instances for event in pages) == 120


def test_large_pages_by_default(
    fleet_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch, aws_clients: AwsClients
) -> None:
    """By default the same 120 instances take one EC2 page and one DescribeInstanceProperties page."""
    fleet_emulator.apply(monkeypatch)
    events: list[SyncEvent] = []
    outcome = fetch_pair("big", "eu-west-1", clients=aws_clients, progress=events.append, containers=False)
    assert outcome.ok and outcome.instances == 120
    assert sorted(event.service for event in events if event.kind == "page") == ["ec2", "ssm"]


def test_profile_denied_instance_properties_falls_back(
    fleet_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch, aws_clients: AwsClients
) -> None:
    """A profile denied ssm:DescribeInstanceProperties still syncs, with SSM status, via the older call."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as denied:  # the scenario really refuses the newer operation
        fleet_emulator.client("ssm", "nodip", "eu-central-1").describe_instance_properties()
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    fleet_emulator.apply(monkeypatch)
    events: list[SyncEvent] = []
    outcome = fetch_pair(
        "nodip", "eu-central-1", clients=aws_clients, progress=events.append, ssm_page_size=5
    )
    assert outcome.ok, outcome.error_message
    status = {item.name: (item.ssm_managed, item.ping_status) for item in outcome.items}
    assert status == {
        **{f"old-policy-{n}": (True, "Online") for n in range(1, 8)},
        "lost": (True, "ConnectionLost"),
    }
    # 8 nodes in DescribeInstanceInformation pages of 5: two SSM pages came through the fallback.
    assert sum(1 for event in events if event.kind == "page" and event.service == "ssm") == 2


@pytest.fixture(scope="module")
def mixed(
    fleet_emulator: RunningEmulator, tmp_path_factory: pytest.TempPathFactory, service_models: ServiceModels
) -> Iterator[tuple[SyncResult, Inventory, list[SyncEvent]]]:
    """One sync over good pairs and pairs failing every way at once (run once, inspected by several tests)."""
    folder = tmp_path_factory.mktemp("mixed")
    config, credentials = aws_files_with_extra(
        fleet_emulator, folder / "aws", {"offline": ("dev", f"http://127.0.0.1:{closed_port()}")}
    )
    inventory = Inventory(folder / "inv.sqlite3")
    events: list[SyncEvent] = []
    lock = threading.Lock()

    def record(event: SyncEvent) -> None:
        with lock:
            events.append(event)

    pairs = [
        ("dev", "eu-central-1"), ("denied", "eu-central-1"), ("nosuch", "eu-central-1"),
        ("throttled", "eu-central-1"), ("offline", "eu-central-1"), ("nossm", "eu-central-1"),
        ("slow", "eu-central-1"), ("prod", "us-east-1"),
    ]  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        use_aws_files(patch, config, credentials)
        result = sync_pairs(pairs, clients=AwsClients(service_models), inventory=inventory, progress=record)
    yield result, inventory, events


def outcome_of(result: SyncResult, aws_profile: str) -> object:
    return next(o for o in result.outcomes if o.aws_profile == aws_profile)


def test_good_pairs_succeed_beside_failing_ones(mixed: tuple[SyncResult, Inventory, list[SyncEvent]]) -> None:
    """Failures in some pairs neither stop nor spoil the others: each good pair is synced and cached."""
    result, inventory, _ = mixed
    assert not result.ok and not result.cancelled
    status = {o.aws_profile: o.status for o in result.outcomes}
    assert status == {
        "dev": "ok", "prod": "ok", "slow": "ok",
        "denied": "error", "nosuch": "error", "throttled": "error", "offline": "error", "nossm": "error",
    }  # fmt: skip
    assert {o.aws_profile: o.instances for o in result.outcomes if o.ok} == {"dev": 2, "prod": 3, "slow": 2}
    cached = {(i.aws_profile, i.name) for i in inventory.instances()}
    assert cached == {
        ("dev", "web-1"), ("dev", "web-2"), ("prod", "api-1"), ("prod", "api-2"), ("prod", "api-3"),
        ("slow", "far-1"), ("slow", "far-2"),
    }  # fmt: skip
    errors = {s.aws_profile: s.error_code for s in inventory.pairs() if s.stale}
    assert set(errors) == {"denied", "nosuch", "throttled", "offline", "nossm"}


def test_latency_in_one_pair_does_not_hold_back_the_others(
    mixed: tuple[SyncResult, Inventory, list[SyncEvent]],
) -> None:
    """The slow pair (1.5 s per call) still succeeds, and every fast good pair is done before it."""
    _, _, events = mixed
    done = [event.aws_profile for event in events if event.kind == "done"]
    assert done.index("slow") > max(done.index("dev"), done.index("prod"))


def test_denied_pair_names_the_action(mixed: tuple[SyncResult, Inventory, list[SyncEvent]]) -> None:
    """A denied profile fails with the AWS code and a message naming the refused action."""
    result, _, _ = mixed
    denied = outcome_of(result, "denied")
    assert denied.error_code in ("UnauthorizedOperation", "AccessDeniedException")
    assert (
        "access denied to" in denied.error_message
        and "AWS profile 'denied' in eu-central-1" in denied.error_message
    )
    nossm = outcome_of(result, "nossm")
    assert nossm.error_code == "AccessDeniedException"
    assert "access denied to ssm:DescribeInstanceInformation" in nossm.error_message


def test_unknown_profile_points_to_aws_profiles(mixed: tuple[SyncResult, Inventory, list[SyncEvent]]) -> None:
    """An AWS CLI profile missing from the config fails its pair with a pointer to `ssmux aws-profiles`."""
    result, _, _ = mixed
    unknown = outcome_of(result, "nosuch")
    assert unknown.error_code == "ProfileNotFound"
    assert unknown.error_message == "unknown AWS CLI profile 'nosuch': see ssmux aws-profiles"


def test_throttled_pair_fails_after_retries(mixed: tuple[SyncResult, Inventory, list[SyncEvent]]) -> None:
    """A pair throttled on every call fails with the throttling code once botocore's retries are spent."""
    result, _, _ = mixed
    throttled = outcome_of(result, "throttled")
    assert throttled.error_code in ("RequestLimitExceeded", "ThrottlingException")
    assert "throttled by AWS" in throttled.error_message and "after retries" in throttled.error_message


def test_unreachable_endpoint_says_so(mixed: tuple[SyncResult, Inventory, list[SyncEvent]]) -> None:
    """A profile whose endpoint does not answer fails as unreachable, naming the URL and what to check."""
    result, _, _ = mixed
    offline = outcome_of(result, "offline")
    assert offline.error_code == "EndpointUnreachable"
    assert "endpoint unreachable (http://127.0.0.1:" in offline.error_message
    assert "check your network, VPN or proxy" in offline.error_message


def test_failure_keeps_previous_result_marked_stale(
    fleet_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, aws_clients: AwsClients
) -> None:
    """After a good sync, a failing one keeps the old instances, and targets show them as stale since then."""
    inventory = Inventory(tmp_path / "inv.sqlite3")
    good = aws_files_with_extra(
        fleet_emulator, tmp_path / "good", {"flaky": ("dev", fleet_emulator.endpoint)}
    )
    use_aws_files(monkeypatch, *good)
    first = sync_pairs([("flaky", "eu-central-1")], clients=aws_clients, inventory=inventory)
    assert first.ok and first.instances == 2
    [before] = inventory.pairs()

    bad = aws_files_with_extra(
        fleet_emulator, tmp_path / "bad", {"flaky": ("dev", f"http://127.0.0.1:{closed_port()}")}
    )
    use_aws_files(monkeypatch, *bad)
    # The AWS config changed: a new holder reads it (as a new CLI command would).
    second = sync_pairs([("flaky", "eu-central-1")], clients=aws_clients.renewed(), inventory=inventory)
    assert not second.ok and second.outcomes[0].error_code == "EndpointUnreachable"

    [after] = inventory.pairs()
    assert (
        after.stale and after.last_success == before.last_success and after.last_attempt > before.last_attempt
    )
    assert after.error_code == "EndpointUnreachable" and after.instances == 2
    targets = search(load_targets("web", inventory=inventory), "web")
    assert sorted(t.name_tag for t in targets) == ["web-1", "web-2"]
    assert {t.stale_since for t in targets} == {before.last_success}


def test_cancel_keeps_finished_pairs(
    fleet_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, aws_clients: AwsClients
) -> None:
    """Cancelling once the fast pair is done keeps it; the slow pair ends Cancelled and is not cached."""
    fleet_emulator.apply(monkeypatch)
    inventory = Inventory(tmp_path / "inv.sqlite3")
    cancel = threading.Event()

    def on_event(event: SyncEvent) -> None:
        if event.kind == "done" and event.aws_profile == "dev":
            cancel.set()

    result = sync_pairs(
        [("dev", "eu-central-1"), ("slow", "eu-central-1")],
        clients=aws_clients,
        inventory=inventory,
        progress=on_event,
        cancel=cancel,
    )
    assert result.cancelled
    dev, slow = result.outcomes
    assert dev.ok and dev.instances == 2
    assert (slow.kind, slow.status, slow.error_code) == (OutcomeKind.CANCELLED, "error", "Cancelled")
    assert inventory.pair_keys() == [("dev", "eu-central-1")]
    assert {i.name for i in inventory.instances()} == {"web-1", "web-2"}
