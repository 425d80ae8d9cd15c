"""Targets: saved and synced merged, searched with ranking, found exactly, filtered like `ssmux ls`."""

from __future__ import annotations

from pathlib import Path

import pytest

from ssmux.core import store
from ssmux.core.models import Group, Profile, ProfileBook, Settings
from ssmux.sync.instance import UNMANAGED, Instance
from ssmux.sync.inventory import Inventory
from ssmux.sync.targets import Target, filter_targets, find, load_targets, merge, search

DEV = ("dev", "eu-central-1")


def inst(
    instance_id: str, name: str | None = None, pair: tuple[str, str] = DEV, **fields: object
) -> Instance:
    tags = dict(fields.pop("tags", {}) or {})  # type: ignore[call-overload]
    if name:
        tags["Name"] = name
    return Instance(
        instance_id=instance_id, aws_profile=pair[0], region=pair[1], name=name, tags=tags, **fields
    )  # type: ignore[arg-type]


FLEET = [
    inst(
        "i-00000001",
        "web-1",
        state="running",
        ping_status="Online",
        private_ip="10.0.0.1",
        tags={"team": "web"},
    ),
    inst(
        "i-00000002",
        "web-2",
        state="running",
        ping_status="Online",
        private_ip="10.0.0.2",
        tags={"team": "web"},
    ),
    inst("i-00000003", "webhook", state="running", ping_status="Online", tags={"team": "api"}),
    inst("i-00000004", "db-1", state="stopped", ping_status="ConnectionLost", tags={"team": "data"}),
    inst("i-00000005", None, state="running", ping_status=UNMANAGED, private_dns="ip-10-0-0-5.internal"),
    inst("mi-0123456789abcdef0", "onprem", ping_status="Online", pair=("prod", "us-east-1")),
]


def names(targets: list[Target]) -> list[str]:
    return [target.name for target in targets]


def test_synced_targets_carry_pair_group_and_display_name() -> None:
    """A synced instance is named 'Name (id)' (or its id) and sits in the read-only group profile/region."""
    targets = {t.instance_id: t for t in merge(ProfileBook(), Settings(), FLEET)}
    web = targets["i-00000001"]
    assert (web.name, web.group, web.source, web.aws_profile, web.region) == (
        "web-1 (i-00000001)",
        "dev/eu-central-1",
        "synced",
        "dev",
        "eu-central-1",
    )
    assert targets["i-00000005"].name == "i-00000005"
    assert targets["mi-0123456789abcdef0"].group == "prod/us-east-1"


def test_saved_profile_shows_once_with_synced_data() -> None:
    """An instance with a saved profile is listed once, as the saved one, with state, SSM status, tags."""
    book = ProfileBook(
        groups=(Group("frontend", aws_profile="dev", region="eu-central-1"),),
        profiles=(Profile("my-web", "i-00000001", group="frontend", tags=frozenset({"team=mine", "fav"})),),
    )
    targets = merge(book, Settings(), FLEET)
    same = [t for t in targets if t.instance_id == "i-00000001"]
    assert len(same) == 1
    saved = same[0]
    assert (saved.source, saved.name, saved.group, saved.aws_profile, saved.region) == (
        "saved",
        "my-web",
        "frontend",
        "dev",
        "eu-central-1",
    )
    assert (saved.state, saved.ping_status, saved.private_ip, saved.name_tag) == (
        "running",
        "Online",
        "10.0.0.1",
        "web-1",
    )
    assert saved.tags == {"Name": "web-1", "team": "mine", "fav": ""}
    assert saved.to_dict() == {
        "name": "my-web", "instance_id": "i-00000001", "aws_profile": "dev", "region": "eu-central-1",
        "group": "frontend", "source": "saved", "state": "running", "ping_status": "Online", "platform": None,
        "private_ip": "10.0.0.1", "tags": {"Name": "web-1", "team": "mine", "fav": ""},
        "kind": "instance", "container": None,
    }  # fmt: skip


def test_saved_profile_unknown_to_sync_has_unknown_status() -> None:
    """A saved profile the sync never saw has no state or SSM status rather than a guessed one."""
    book = ProfileBook(profiles=(Profile("lonely", "i-0fffffffffffffff0"),))
    [target] = merge(book, Settings(default_region="us-west-2"), [])
    assert (target.state, target.ping_status, target.synced, target.region, target.aws_profile) == (
        None,
        None,
        False,
        "us-west-2",
        None,
    )
    assert target.problem is None


def test_search_needs_every_word_and_ranks_by_relevance() -> None:
    """All words must match (any case); exact names rank above prefixes above substrings, then by name."""
    targets = merge(ProfileBook(), Settings(), FLEET)
    assert names(search(targets, "WEB")) == [
        "web-1 (i-00000001)",
        "web-2 (i-00000002)",
        "webhook (i-00000003)",
    ]
    assert names(search(targets, "web-2")) == ["web-2 (i-00000002)"]
    assert names(search(targets, "webhook")) == ["webhook (i-00000003)"]
    assert names(search(targets, "web team")) == []
    assert names(search(targets, "web 10.0.0.2")) == ["web-2 (i-00000002)"]
    assert names(search(targets, "data")) == ["db-1 (i-00000004)"]  # a tag value
    assert names(search(targets, "ip-10-0-0-5")) == ["i-00000005"]  # a DNS name
    assert names(search(targets, "i-00000003")) == ["webhook (i-00000003)"]
    # Exact Name tag beats a name that only contains the word.
    hook = [*FLEET, inst("i-00000009", "hook")]
    assert names(search(merge(ProfileBook(), Settings(), hook), "hook")) == [
        "hook (i-00000009)",
        "webhook (i-00000003)",
    ]


def test_empty_query_lists_saved_first_then_by_group_and_name() -> None:
    """Without a query, saved profiles come first, then synced ones by group and name."""
    book = ProfileBook(profiles=(Profile("zeta", "i-0aaaaaaaaaaaaaaa0"),))
    listed = search(merge(book, Settings(), FLEET), "")
    assert listed[0].name == "zeta"
    assert [t.group for t in listed[1:]] == sorted(t.group or "" for t in listed[1:])


def test_find_is_exact_by_id_names_and_name_tag() -> None:
    """TARGET resolves by instance id, saved name, synced display name or Name tag; never by substring."""
    book = ProfileBook(profiles=(Profile("my-db", "i-00000004"),))
    targets = merge(book, Settings(), FLEET)
    assert names(find(targets, "i-00000001")) == ["web-1 (i-00000001)"]
    assert names(find(targets, "web-2 (i-00000002)")) == ["web-2 (i-00000002)"]
    assert names(find(targets, "webhook")) == ["webhook (i-00000003)"]
    assert names(find(targets, "my-db")) == ["my-db"]
    assert names(find(targets, "db-1")) == ["my-db"]  # the Name tag of a saved profile's instance
    assert names(find(targets, "WEB-1")) == ["web-1 (i-00000001)"]  # case-insensitive only as a fallback
    assert find(targets, "web") == []


def test_find_reports_every_candidate_when_ambiguous() -> None:
    """Two instances with the same Name tag both come back, so the caller can ask which one."""
    twins = [*FLEET, inst("i-00000099", "web-1", pair=("prod", "us-east-1"))]
    found = find(merge(ProfileBook(), Settings(), twins), "web-1")
    assert sorted(t.instance_id for t in found) == ["i-00000001", "i-00000099"]


def test_filters_hide_stopped_unless_asked() -> None:
    """Stopped instances are hidden by default, shown with --all or --state; unmanaged ones stay listed."""
    targets = merge(ProfileBook(), Settings(), FLEET)
    default = {t.instance_id for t in filter_targets(targets)}
    assert "i-00000004" not in default and {"i-00000005", "mi-0123456789abcdef0"} <= default
    assert "i-00000004" in {t.instance_id for t in filter_targets(targets, include_all=True)}
    assert [t.instance_id for t in filter_targets(targets, state="STOPPED")] == ["i-00000004"]
    assert {t.instance_id for t in filter_targets(targets, tags=[("team", "web")])} == {
        "i-00000001",
        "i-00000002",
    }
    assert {t.instance_id for t in filter_targets(targets, tags=[("team", None)], include_all=True)} == {
        "i-00000001",
        "i-00000002",
        "i-00000003",
        "i-00000004",
    }
    assert [t.instance_id for t in filter_targets(targets, group="prod/us-east-1")] == [
        "mi-0123456789abcdef0"
    ]


def test_problem_says_why_a_connect_will_fail() -> None:
    """Stopped, unmanaged and offline targets each carry a one-line reason with what to do."""
    targets = {t.instance_id: t for t in merge(ProfileBook(), Settings(), FLEET)}
    assert targets["i-00000001"].problem is None
    assert "is stopped: start the instance" in (targets["i-00000004"].problem or "")
    assert "not managed by SSM" in (targets["i-00000005"].problem or "")
    offline = merge(
        ProfileBook(), Settings(), [inst("i-00000007", "x", state="running", ping_status="ConnectionLost")]
    )
    assert "offline (ConnectionLost)" in (offline[0].problem or "")


def test_load_targets_enriches_saved_profiles_matched_by_their_own_name(tmp_path: Path) -> None:
    """A query matching a saved profile's name still shows what the sync knows about its instance."""
    inventory = Inventory(tmp_path / "inv.sqlite3")
    inventory.replace_pair(*DEV, FLEET[:5])
    store.update_profiles(
        lambda book: book.with_profile(Profile("favourite", "i-00000004", aws_profile="dev"))
    )
    found = search(load_targets("favourite", inventory=inventory), "favourite")
    assert [(t.name, t.source, t.state, t.name_tag) for t in found] == [
        ("favourite", "saved", "stopped", "db-1")
    ]
    # And the synced row of that instance is not listed a second time under another query.
    assert [t.source for t in search(load_targets("db-1", inventory=inventory), "db-1")] == ["saved"]


@pytest.mark.parametrize("query", ["", "web", "i-0000000 web"])
def test_load_targets_prefilter_agrees_with_search(tmp_path: Path, query: str) -> None:
    """Pre-filtering in SQL finds exactly what a search over every target finds."""
    inventory = Inventory(tmp_path / "inv.sqlite3")
    inventory.replace_pair(*DEV, FLEET[:5])
    inventory.replace_pair("prod", "us-east-1", FLEET[5:])
    everything = merge(ProfileBook(), Settings(), inventory.instances(), inventory.pairs())
    assert search(load_targets(query, inventory=inventory), query) == search(everything, query)
