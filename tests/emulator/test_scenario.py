"""Scenario files: the built-in demo, expansion of entries, and one-line errors for bad files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ssmux.emulator.faults import Faults
from ssmux.emulator.scenario import load_scenario, parse_scenario
from ssmux.errors import InvalidValue

MINIMAL = {
    "profiles": [{"name": "dev", "account_id": "111111111111", "region": "eu-central-1"}],
    "instances": [],
}


def scenario_with(*instances: dict, **profile: object) -> dict:
    return {
        "profiles": [{"name": "dev", "account_id": "111111111111", "region": "eu-central-1", **profile}],
        "instances": list(instances),
    }


def test_demo_has_what_the_issue_asks_for() -> None:
    """The demo: dev and prod in two regions each, ~15 instances, every kind of node the issue lists."""
    demo = load_scenario("demo")
    assert [p.name for p in demo.profiles] == ["dev", "prod"]
    assert len({p.account_id for p in demo.profiles}) == 2
    for profile in demo.profiles:
        assert len(demo.regions(profile)) == 2
    instances = demo.instances
    assert 12 <= len(instances) <= 20
    assert any(i.state == "stopped" for i in instances)
    assert any(i.name is None for i in instances)
    assert any(i.ssm == "unmanaged" for i in instances)
    assert any(i.ssm == "offline" for i in instances)
    assert any(i.platform == "windows" for i in instances)
    assert any(i.is_managed_node for i in instances)
    assert all("team" in i.tags for i in instances)
    assert demo.profile("prod").kms_key == "alias/ssm"
    assert demo.profile("dev").kms_key is None
    web = [i for i in instances if i.profile == "dev" and (i.name or "").startswith("web-")]
    assert [i.name for i in web] == ["web-1", "web-2", "web-3"]
    assert web[0].command == ("/bin/bash", "--noprofile", "--norc")


def test_ids_are_stable_and_distinct() -> None:
    """Loading a scenario twice gives the same instance ids; no two instances share one."""
    first = [i.instance_id for i in load_scenario("demo").instances]
    second = [i.instance_id for i in load_scenario("demo").instances]
    assert first == second
    assert len(set(first)) == len(first)
    assert all(i.startswith(("i-", "mi-")) for i in first)


def test_each_profile_gets_its_own_access_key() -> None:
    """Profiles get distinct 20-character access keys, and requests map back to the right profile."""
    demo = load_scenario("demo")
    dev, prod = demo.profiles
    assert dev.access_key_id != prod.access_key_id
    assert len(dev.access_key_id) == 20
    assert demo.profile_for_key(prod.access_key_id) is prod
    assert demo.profile_for_key("AKIAUNKNOWN000000000") is None


def test_count_names_instances_and_defaults_apply() -> None:
    """count 3 names them web-1..web-3; defaults fill fields an entry lacks, and the entry wins."""
    data = scenario_with(
        {"profile": "dev", "name": "web", "count": 3},
        {"profile": "dev", "name": "db", "command": ["/bin/sh"]},
    )
    data["defaults"] = {"command": "/bin/bash -l", "tags": {"team": "x"}}
    scenario = parse_scenario(data, source="test")
    assert [i.name for i in scenario.instances] == ["web-1", "web-2", "web-3", "db"]
    assert scenario.instances[0].command == ("/bin/bash", "-l")
    assert scenario.instances[3].command == ("/bin/sh",)
    assert scenario.instances[0].region == "eu-central-1"  # the profile's region by default


def test_prompt_is_passed_literally() -> None:
    """A prompt with $(...) and backslashes reaches the shell through a variable PS1 names, never expanded."""
    data = scenario_with({"profile": "dev", "name": "$(touch x)\\u", "prompt": "me@{name}> "})
    (instance,) = parse_scenario(data, source="test").instances
    assert instance.env == {"SSMUX_PROMPT": "me@$(touch x)\\u> ", "PS1": "${SSMUX_PROMPT}"}


def test_prompt_shows_literally_in_a_real_shell(tmp_path: Path) -> None:
    """sh given the scenario's PS1 shows the name as written and runs nothing from it."""
    data = scenario_with({"profile": "dev", "name": "$(touch pwned)", "prompt": "me@{name}> "})
    (instance,) = parse_scenario(data, source="test").instances
    result = subprocess.run(
        ["/bin/sh", "-i"], input="exit\n", capture_output=True, text=True, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", **instance.env}, timeout=10,
    )  # fmt: skip
    assert "me@$(touch pwned)> " in result.stderr
    assert not (tmp_path / "pwned").exists()


def test_deny_patterns() -> None:
    """deny true refuses all but GetCallerIdentity; a list refuses only what its patterns match."""
    everything = parse_scenario(scenario_with(deny=True), source="t").profiles[0]
    assert everything.denies("ec2:DescribeInstances")
    assert not everything.denies("sts:GetCallerIdentity")
    some = parse_scenario(scenario_with(deny=["ec2:Describe*", "ssm:StartSession"]), source="t").profiles[0]
    assert some.denies("ec2:DescribeInstances")
    assert some.denies("ssm:StartSession")
    assert not some.denies("ssm:DescribeInstanceInformation")
    assert not parse_scenario(scenario_with(), source="t").profiles[0].denies("ec2:DescribeInstances")


def test_profile_faults_override_the_command_line() -> None:
    """A profile's faults replace only the fields it names."""
    profile = parse_scenario(scenario_with(faults={"throttle": 1.0}), source="t").profiles[0]
    merged = Faults(latency_ms=20, seed=7).merged(profile.faults)
    assert merged == Faults(latency_ms=20, throttle=1.0, seed=7)


def test_faults_validate() -> None:
    """Probabilities outside 0..1, negative latency and unknown names are refused with the field named."""
    with pytest.raises(InvalidValue, match="'loss'"):
        Faults(loss=1.5)
    with pytest.raises(InvalidValue, match="'latency_ms'"):
        Faults(latency_ms=-1)
    with pytest.raises(InvalidValue, match="'jitter'"):
        Faults().merged({"jitter": 1})


def test_dice_are_repeatable() -> None:
    """The same seed and stream give the same decisions; another stream gives others."""
    first = Faults(seed=3).dice("api/dev")
    second = Faults(seed=3).dice("api/dev")
    other = Faults(seed=3).dice("api/prod")
    a = [first.chance(0.5) for _ in range(64)]
    assert a == [second.chance(0.5) for _ in range(64)]
    assert a != [other.chance(0.5) for _ in range(64)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"profiles": []}, "'profiles' must be a non-empty list"),
        (scenario_with(account_id="123"), "profiles[0].account_id '123' is not valid (12 digits)"),
        (scenario_with(region="Europe"), "profiles[0].region 'Europe' is not valid"),
        (scenario_with(colour="red"), "profiles[0] has unknown key 'colour'"),
        (scenario_with(kms_key="arn:aws:kms:x"), "kms_key"),
        (scenario_with(deny="yes"), "profiles[0].deny must be true, false or a list"),
        (scenario_with(faults={"loss": 2}), "profiles[0].faults: fault 'loss' must be a probability"),
        (scenario_with({"profile": "qa"}), "instances[0].profile 'qa' is not one of dev"),
        (scenario_with({"profile": "dev", "state": "asleep"}), "instances[0].state 'asleep' must be one of"),
        (scenario_with({"profile": "dev", "ssm": "maybe"}), "instances[0].ssm 'maybe' must be one of"),
        (scenario_with({"profile": "dev", "count": 0}), "instances[0].count must be an integer >= 1"),
        (scenario_with({"profile": "dev", "id": "i-1", "count": 1}), "instances[0].id 'i-1' must look like"),
        (scenario_with({"profile": "dev", "id": "i-0123456789abcdef0", "count": 2}), "'id' and 'count' > 1"),
        (scenario_with({"profile": "dev", "tags": {"Name": "x"}}), 'give the Name tag as "name"'),
        (scenario_with({"profile": "dev", "command": []}), "instances[0].command is empty"),
        (scenario_with({"profile": "dev", "id": "mi-0123456789abcdef0", "ssm": "unmanaged"}), "managed node"),
        (
            scenario_with(
                {"profile": "dev", "id": "i-0123456789abcdef0"},
                {"profile": "dev", "id": "i-0123456789abcdef0"},
            ),
            "duplicate instance id",
        ),
    ],
)
def test_bad_scenarios_say_where_and_what(data: dict, message: str) -> None:
    """Each mistake gives one line naming the place in the file and what is wrong."""
    with pytest.raises(InvalidValue) as caught:
        parse_scenario(data, source="scenario file 'x.json'")
    text = str(caught.value)
    assert text.startswith("scenario file 'x.json': ")
    assert message in text
    assert "\n" not in text


def test_unreadable_and_invalid_json_files(tmp_path: Path) -> None:
    """A missing file and a file that is not JSON are named in the error, with the JSON position."""
    with pytest.raises(InvalidValue, match=r"scenario file '.*nope\.json' cannot be read"):
        load_scenario(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"profiles": [}')
    with pytest.raises(InvalidValue, match=r"broken\.json' is not valid JSON: .* line 1 column 15"):
        load_scenario(broken)


def test_scenario_file_round_trip(tmp_path: Path) -> None:
    """A scenario written to a file loads the same as the dict it came from."""
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps(scenario_with({"profile": "dev", "name": "a", "count": 2})))
    assert (
        load_scenario(path).instances
        == parse_scenario(scenario_with({"profile": "dev", "name": "a", "count": 2}), source="x").instances
    )
    assert load_scenario(path).name == "fleet"


def test_big_scenario_expands() -> None:
    """A 20,000-instance scenario parses into 20,000 instances with distinct ids."""
    data = scenario_with({"profile": "dev", "name": "node", "count": 20_000})
    scenario = parse_scenario(data, source="big")
    assert len(scenario.instances) == 20_000
    assert len({i.instance_id for i in scenario.instances}) == 20_000
