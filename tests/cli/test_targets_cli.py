"""TARGET of ``connect``/``exec``/``forward`` is matched as ``ssmux ls`` matches (issue 11, item 8)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

import pytest

from ssmux.core import store
from ssmux.errors import NotFound
from ssmux.sessions.resolve_target import resolve_target, unknown_instance_note
from ssmux.sync.instance import Instance
from ssmux.sync.inventory import Inventory
from tests.cli.conftest import Run

WEB1 = "i-0aaaaaaaaaaaaaaa1"
WEB2 = "i-0aaaaaaaaaaaaaaa2"
WEB10 = "i-0aaaaaaaaaaaaaa10"
DB1 = "i-0bbbbbbbbbbbbbbb1"


def add_synced(aws_profile: str, region: str, instances: Iterable[dict[str, Any]]) -> None:
    """Write a pair's instances into the cache, as a successful sync would."""
    Inventory().replace_pair(
        aws_profile,
        region,
        [Instance(aws_profile=aws_profile, region=region, **fields) for fields in instances],
    )


@pytest.fixture
def fleet() -> None:
    """web-1, web-2, web-10 and db-1 synced from dev/eu-central-1, all running and online."""
    add_synced(
        "dev",
        "eu-central-1",
        [
            {"instance_id": instance_id, "name": name, "state": "running", "ping_status": "Online"}
            for instance_id, name in ((WEB1, "web-1"), (WEB2, "web-2"), (WEB10, "web-10"), (DB1, "db-1"))
        ],
    )


@pytest.mark.parametrize(
    "command", [("connect", "web"), ("exec", "web", "--", "true"), ("forward", "web", "0:80")]
)
def test_several_matches_are_listed_with_an_error(
    fleet: None, ssmux: Callable[..., Run], command: tuple[str, ...]
) -> None:
    """`ls web` lists three; `connect web` with nobody to ask names all three on one line, exit 1."""
    listed = ssmux("ls", "web", "--json").json()
    assert sorted(target["name"] for target in listed) == ["web-1", "web-10", "web-2"]
    result = ssmux(*command, input="")
    assert result.status == 1
    assert result.out == ""
    assert result.err.startswith("ssmux: error: 'web' matches 3 targets: ")
    assert all(instance_id in result.err for instance_id in (WEB1, WEB2, WEB10))
    assert result.err.count("\n") == 1


def test_several_matches_open_the_picker_on_a_terminal(fleet: None) -> None:
    """On a terminal the picker gets the candidates of the `ls` match, and its choice is used."""
    shown: list[str] = []

    def pick(labels: list[str]) -> int:
        shown.extend(labels)
        return next(index for index, label in enumerate(labels) if WEB2 in label)

    resolved = resolve_target("web", interactive=True, pick=pick)
    assert len(shown) == 3 and all(label.startswith("web-") for label in shown)
    assert (resolved.instance_id, resolved.aws_profile, resolved.region) == (WEB2, "dev", "eu-central-1")


def test_one_match_is_used(fleet: None) -> None:
    """A word only one target contains names that target, with its pair's profile and region."""
    resolved = resolve_target("db")
    assert (resolved.instance_id, resolved.aws_profile, resolved.region) == (DB1, "dev", "eu-central-1")


def test_an_exact_name_wins_over_longer_names(fleet: None) -> None:
    """`web-1` is also part of `web-10`: the exact name wins, and so does an exact id."""
    assert resolve_target("web-1").instance_id == WEB1
    assert resolve_target(WEB10).instance_id == WEB10


def test_no_match_suggests_the_closest_names(fleet: None, ssmux: Callable[..., Run]) -> None:
    """A typo names nothing: one line with "did you mean" and the closest names, exit 1."""
    result = ssmux("exec", "wbe-1", "--", "true")
    assert result.status == 1
    assert result.err.startswith("ssmux: error: no target named 'wbe-1'; did you mean 'web-1'")
    assert result.err.count("\n") == 1


def test_unknown_instance_id_without_a_region_says_what_to_do(ssmux: Callable[..., Run]) -> None:
    """An id no pair knows and no region anywhere: it says so and how to give one, not "no region set"."""
    result = ssmux("exec", "i-0123456789abcdef9", "--", "true")
    assert result.status == 1
    assert result.err.startswith(
        "ssmux: error: i-0123456789abcdef9 is not in any synced pair, and the default AWS profile sets "
        "no region: pass --region"
    )
    assert "no region set" not in result.err


def test_unknown_instance_id_says_which_profile_and_region_are_tried() -> None:
    """An id no pair knows is tried with the default profile and region, silently; when its session fails,
    the note for the error names them."""
    store.update_settings(lambda s: replace(s, default_aws_profile="ops", default_region="eu-north-1"))
    resolved = resolve_target("i-0123456789abcdef9")
    assert (resolved.aws_profile, resolved.region, resolved.problem) == ("ops", "eu-north-1", None)
    assert unknown_instance_note("i-0123456789abcdef9") == (
        "i-0123456789abcdef9 is not in any synced pair: it was tried with AWS profile 'ops' in eu-north-1"
    )
    assert unknown_instance_note("i-0123456789abcdef9", region="us-east-1", aws_profile="dev") == (
        "i-0123456789abcdef9 is not in any synced pair: it was tried with AWS profile 'dev' in us-east-1"
    )


def test_known_instance_id_gets_no_note(fleet: None) -> None:
    """An id the sync knows, or a name, needs no note about the synced pairs."""
    assert unknown_instance_note(WEB1) is None
    assert unknown_instance_note("web-1") is None


def test_a_malformed_id_gets_the_id_format(fleet: None) -> None:
    """Text that starts like an id but is not one is told what ids look like."""
    with pytest.raises(NotFound, match=r"invalid instance id 'i-nothex': expected i- followed by"):
        resolve_target("i-nothex")


@pytest.mark.parametrize("command", ["connect", "exec", "forward"])
def test_region_and_profile_options_are_checked(ssmux: Callable[..., Run], command: str) -> None:
    """A misspelt --region is refused (with the closest region) before anything is resolved or started."""
    extra = {"exec": ("--", "true"), "forward": ("0:80",)}.get(command, ())
    result = ssmux(command, "web", "--region", "eu-centrl-1", *extra, input="")
    assert (result.status, result.out) == (1, "")
    assert result.err == "ssmux: error: unknown AWS region 'eu-centrl-1': did you mean 'eu-central-1'?\n"
    result = ssmux(command, "web", "--aws-profile", "a b", *extra, input="")
    assert result.status == 1 and result.err.startswith("ssmux: error: invalid AWS CLI profile name 'a b'")
