"""``sso.generate`` rules that leave an opt-in region disabled in some accounts, and what they refuse."""

from __future__ import annotations

from typing import Any

import pytest

from ssmux.emulator.regions import AccountRegions
from ssmux.emulator.scenario import parse_scenario
from ssmux.errors import InvalidValue


def scenario(rule: dict[str, Any], regions: tuple[str, ...] = ("eu-west-1", "ap-east-1")) -> Any:
    generate = {"accounts": 3, "regions": list(regions), "instances": 1, "faults": [rule]}
    return parse_scenario({"sso": {"generate": generate}}, source="test")


def test_a_disabled_region_has_no_instances_and_is_listed_disabled() -> None:
    """The chosen accounts get no instances in the region, and their ListRegions status says DISABLED."""
    made = scenario({"accounts": ["team-002"], "disabled_regions": ["ap-east-1"]})
    places = {(i.profile, i.region) for i in made.instances}
    assert ("team-002", "ap-east-1") not in places and ("team-001", "ap-east-1") in places
    regions = AccountRegions(made)
    assert regions.statuses("100000000002") == {"ap-east-1": "DISABLED", "eu-west-1": "ENABLED_BY_DEFAULT"}
    assert regions.statuses("100000000001")["ap-east-1"] == "ENABLED"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"accounts": 1.0, "disabled_regions": ["eu-west-1"]},
            "not one of sso.generate.regions after the first",
        ),
        ({"accounts": 1.0, "disabled_regions": ["us-west-2"]}, "not one of sso.generate.regions"),
        ({"accounts": 1.0, "disabled_regions": ["eu-west-2"]}, "enabled by default in every AWS account"),
        ({"accounts": 1.0, "roles": ["ReadOnlyAccess"], "disabled_regions": ["ap-east-1"]}, "drop 'roles'"),
        ({"accounts": 1.0, "disabled_regions": "ap-east-1"}, "must be a non-empty list"),
    ],
)
def test_what_cannot_be_disabled_is_refused(rule: dict[str, Any], message: str) -> None:
    """Only opt-in regions of the organization, never the default one, for whole accounts."""
    with pytest.raises(InvalidValue, match=message):
        scenario(rule, ("eu-west-1", "ap-east-1", "eu-west-2"))
