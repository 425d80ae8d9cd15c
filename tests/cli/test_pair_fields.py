"""A sync pair's ECS switch and the account and role discovery named: ``ssmux pair add/edit/ls`` and the
TOML file, where ``containers`` is written only when off and bad values are refused with the file's line."""

from __future__ import annotations

from collections.abc import Callable

from ssmux.core.store import load_settings, settings_path
from tests.cli.conftest import Run

Ssmux = Callable[..., Run]


def test_containers_off_is_written_only_when_off_and_shown(ssmux: Ssmux) -> None:
    """``--no-containers`` writes ``containers = false`` under that pair only; ``edit --containers`` takes
    the key away again; ``pair ls`` shows the switch."""
    assert ssmux("pair", "add", "dev/eu-west-1").status == 0
    added = ssmux("pair", "add", "prod/us-east-1", "--no-containers")
    assert (added.status, added.out) == (0, "added sync pair prod/us-east-1 (no containers)\n")
    text = settings_path().read_text()
    assert text.count("containers = false") == 1
    assert text.index("containers = false") > text.index('aws_profile = "prod"')
    rows = {line.split()[0]: line.split() for line in ssmux("pair", "ls").out.splitlines()[1:]}
    assert rows["dev"][-1] == "yes" and rows["prod"][-1] == "no"
    assert [p["containers"] for p in ssmux("pair", "ls", "--json").json()] == [True, False]

    assert ssmux("pair", "edit", "prod/us-east-1", "--containers").status == 0
    assert "containers" not in settings_path().read_text()
    assert load_settings().pair("prod", "us-east-1").containers is True


def test_edit_names_the_account_and_role_and_ls_shows_them(ssmux: Ssmux) -> None:
    """``edit --account-name/--role-name`` labels a pair; ls shows them; '' clears them."""
    ssmux("pair", "add", "corp-dev/eu-west-1")
    assert ssmux("pair", "edit", "corp-dev/eu-west-1", "--account-name", "Development", "--role-name",
                 "ReadOnlyAccess").status == 0  # fmt: skip
    header, row = ssmux("pair", "ls").out.splitlines()[:2]
    assert header.split() == ["AWS", "PROFILE", "REGION", "ACCOUNT", "ROLE", "ENABLED", "CONTAINERS"]
    assert row.split() == ["corp-dev", "eu-west-1", "Development", "ReadOnlyAccess", "yes", "yes"]
    assert 'account_name = "Development"' in settings_path().read_text()
    ssmux("pair", "edit", "corp-dev/eu-west-1", "--account-name", "", "--role-name", "")
    assert "account_name" not in settings_path().read_text()
    # Nothing named any more: the ACCOUNT and ROLE columns are gone again.
    assert ssmux("pair", "ls").out.splitlines()[0].split() == [
        "AWS",
        "PROFILE",
        "REGION",
        "ENABLED",
        "CONTAINERS",
    ]


def test_bad_values_are_one_line_and_change_nothing(ssmux: Ssmux) -> None:
    """An account name with a control character, an edit with nothing to change, an unknown pair, and a
    hand-written ``containers = "no"``: one line on stderr each, nothing written."""
    ssmux("pair", "add", "dev/eu-west-1")
    before = settings_path().read_text()
    bad = ssmux("pair", "edit", "dev/eu-west-1", "--account-name", "bad\x1bname")
    assert (
        bad.status != 0
        and bad.err.startswith("ssmux: error: invalid account name")
        and bad.err.count("\n") == 1
    )
    nothing = ssmux("pair", "edit", "dev/eu-west-1")
    assert nothing.status != 0 and "nothing to change" in nothing.err
    missing = ssmux("pair", "edit", "gone/eu-west-1", "--no-containers")
    assert missing.status != 0 and "sync pair gone/eu-west-1 not found" in missing.err
    assert settings_path().read_text() == before

    settings_path().write_text(
        before.replace('region = "eu-west-1"', 'region = "eu-west-1"\ncontainers = "no"')
    )
    broken = ssmux("pair", "ls")
    assert broken.status != 0
    assert "containers must be" in broken.err and ", line " in broken.err and broken.err.count("\n") == 1
