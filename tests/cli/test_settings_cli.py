"""`ssmux settings` and `ssmux pair`: show, set, and the sync pair list."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Run

Ssmux = Callable[..., Run]


def test_show_json_has_every_setting_with_defaults(ssmux: Ssmux) -> None:
    """settings show --json lists every key with its default value."""
    data = ssmux("settings", "show", "--json").json()
    assert data == {
        "sync_enabled": True,
        "sync_pairs": [],
        "sync_only_running": False,
        "default_aws_profile": None,
        "default_region": None,
        "backend": "auto",
        "aws_path": "",
        "plugin_path": "",
        "recent_instance_ids": [],
        "recent_aws_profiles": [],
        "recent_regions": [],
    }


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("sync_enabled", "true", True),
        ("sync_enabled", "off", False),
        ("sync_only_running", "no", False),
        ("default_aws_profile", "prod", "prod"),
        ("default_region", "ap-southeast-2", "ap-southeast-2"),
        ("backend", "aws-cli", "aws-cli"),
        ("aws_path", "/opt/aws v2/aws", "/opt/aws v2/aws"),
        ("plugin_path", "", ""),
    ],
)
def test_set_each_key(ssmux: Ssmux, key: str, value: str, expected: object) -> None:
    """settings set KEY VALUE stores the parsed value under the JSON key name."""
    result = ssmux("settings", "set", key, value)
    assert result.status == 0, result.err
    assert ssmux("settings", "show", "--json").json()[key] == expected


def test_empty_value_unsets_a_default(ssmux: Ssmux) -> None:
    """Setting default_region to "" leaves it to the SDK again."""
    ssmux("settings", "set", "default_region", "eu-west-1")
    assert ssmux("settings", "set", "default_region", "").status == 0
    assert ssmux("settings", "show", "--json").json()["default_region"] is None
    assert "default_region:       (AWS SDK default)" in ssmux("settings", "show").out


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (("settings", "set", "colour", "red"), 2, "unknown setting 'colour'"),
        (("settings", "set", "sync_enabled", "maybe"), 1, "sync_enabled must be true or false"),
        (("settings", "set", "default_region", "eu-wst-1"), 1, "did you mean 'eu-west-1'"),
        (("settings", "set", "backend", "putty"), 1, "choose one of auto, native, plugin, aws-cli"),
        (("settings", "set", "sync_pairs", "x"), 1, "ssmux pair"),
        (("settings", "set", "recent_regions", "x"), 1, "cannot be set"),
        (("settings", "set", "aws_path", "/bin/a\x1bb"), 1, "control characters"),
        (("settings", "set", "backend"), 2, "Missing argument 'VALUE'"),
    ],
)
def test_bad_settings_change_nothing(
    ssmux: Ssmux, isolated_home: Path, args: tuple[str, ...], status: int, message: str
) -> None:
    """A bad key or value fails with one line and the settings file stays as it was."""
    ssmux("settings", "set", "backend", "native")
    before = (isolated_home / "settings.toml").read_bytes()
    result = ssmux(*args)
    assert result.status == status and message in result.err
    assert (isolated_home / "settings.toml").read_bytes() == before


def with_two_disabled_pairs(ssmux: Ssmux) -> None:
    """Sync off and two disabled pairs (what a fresh home had before it started with none)."""
    for region in ("eu-central-1", "us-east-1"):
        assert ssmux("pair", "add", "default", region, "--disabled").status == 0
    assert ssmux("settings", "set", "sync_enabled", "false").status == 0


#: What `pair ls --json` says of a pair added by hand: containers listed, no discovered account or role.
NO_LABELS = {"containers": True, "account_name": None, "role_name": None}


def test_pairs_add_disable_enable_rm(ssmux: Ssmux) -> None:
    """Pairs are added (optionally disabled), switched, removed and listed sorted."""
    with_two_disabled_pairs(ssmux)
    assert ssmux("pair", "add", "prod", "us-west-2").status == 0
    assert ssmux("pair", "add", "dev", "eu-west-1", "--disabled").status == 0
    assert ssmux("pair", "enable", "default", "us-east-1").status == 0
    assert ssmux("pair", "disable", "prod", "us-west-2").status == 0
    assert ssmux("pair", "rm", "default", "eu-central-1").status == 0
    assert ssmux("pair", "ls", "--json").json() == [
        {"aws_profile": "default", "region": "us-east-1", "enabled": True, **NO_LABELS},
        {"aws_profile": "dev", "region": "eu-west-1", "enabled": False, **NO_LABELS},
        {"aws_profile": "prod", "region": "us-west-2", "enabled": False, **NO_LABELS},
    ]
    table = ssmux("pair", "ls").out
    assert "sync is off" in table
    assert table.splitlines()[1].split() == ["default", "us-east-1", "yes", "yes"]


def test_pair_errors(ssmux: Ssmux) -> None:
    """Duplicate, unknown and invalid pairs each fail with one clear line."""
    with_two_disabled_pairs(ssmux)
    cases = [
        (("pair", "add", "default", "us-east-1"), 1, "sync pair default/us-east-1 already exists"),
        (("pair", "add", "my profile", "us-east-1"), 1, "no whitespace"),
        (("pair", "add", "prod", "us-east-9"), 1, "unknown AWS region 'us-east-9'"),
        (("pair", "rm", "ghost", "us-east-1"), 1, "sync pair ghost/us-east-1 not found"),
        (("pair", "enable", "ghost", "us-east-1"), 1, "not found: see 'ssmux pair ls'"),
        (("pair", "add", "prod"), 1, "invalid pair 'prod': write it as PROFILE/REGION (or PROFILE REGION)"),
    ]
    for args, status, message in cases:
        result = ssmux(*args)
        assert (result.status, message in result.err) == (status, True), (args, result)


def test_removing_every_pair_is_remembered(ssmux: Ssmux) -> None:
    """After removing both default pairs the list stays empty (defaults do not come back)."""
    with_two_disabled_pairs(ssmux)
    ssmux("pair", "rm", "default", "eu-central-1")
    ssmux("pair", "rm", "default", "us-east-1")
    assert ssmux("pair", "ls", "--json").json() == []
    assert "no sync pairs" in ssmux("pair", "ls").out
