"""The profile panel through a user's eyes: groups, search, tag filter, keys, context menu, dialogs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ssmux.core import store
from ssmux.core.models import Group, Profile
from ssmux.gui.components.target_row import TargetRow

from .conftest import Gui, add_synced, eventually, instance_id


def rows(gui: Gui) -> list[str]:
    """Names of the rows the panel shows, top to bottom."""
    return [row.target.name for row in gui.user.find(kind=TargetRow).elements if not row.is_deleted]


def fleet() -> None:
    """Two saved groups, an ungrouped profile, and two synced pairs."""
    store.update_profiles(
        lambda book: (
            book.with_group(Group("web", aws_profile="dev"))
            .with_profile(
                Profile("web-a", instance_id(1), group="web", tags=frozenset({"frontend", "team=web"}))
            )
            .with_profile(Profile("web-b", instance_id(2), group="web", tags=frozenset({"frontend"})))
            .with_profile(Profile("db-main", instance_id(3), group="databases", tags=frozenset({"critical"})))
            .with_profile(Profile("scratch", instance_id(4)))
        )
    )
    add_synced(
        "dev",
        "eu-central-1",
        [
            {
                "instance_id": instance_id(0x10),
                "name": "api-1",
                "state": "running",
                "ping_status": "Online",
                "ssm_managed": True,
                "private_ip": "10.1.2.3",
                "tags": {"Name": "api-1", "team": "api"},
            },
            {
                "instance_id": instance_id(0x11),
                "name": "worker-1",
                "state": "stopped",
                "ping_status": "Online",
                "ssm_managed": True,
                "private_ip": "10.1.9.9",
                "tags": {"Name": "worker-1", "team": "batch"},
            },
        ],
    )
    add_synced(
        "prod",
        "us-east-1",
        [
            {
                "instance_id": instance_id(0x20),
                "name": "billing",
                "state": "running",
                "ping_status": "Online",
                "ssm_managed": True,
                "private_ip": "10.9.0.1",
                "tags": {"Name": "billing", "team": "api"},
            },
        ],
    )


async def test_groups_saved_profiles_and_synced_pairs_with_counts(gui: Gui) -> None:
    """Saved profiles are listed under their groups, synced instances under profile/region, with counts."""
    fleet()
    await gui.services.panel.reload()
    await gui.user.open("/")
    for title in ("web", "databases", "Ungrouped", "dev/eu-central-1", "prod/us-east-1"):
        await gui.user.should_see(marker=["group-title"], content=title)
    with gui.user.scope(marker="group saved:web"):
        await gui.user.should_see("web-a")
        await gui.user.should_see("web-b")
        await gui.user.should_see(marker="group-count", content="(2)")
        await gui.user.should_not_see("api-1")
    with gui.user.scope(marker="group synced:dev/eu-central-1"):
        await gui.user.should_see("api-1")
        await gui.user.should_see("worker-1")
        await gui.user.should_see("stopped")
    with gui.user.scope(marker="group saved:"):
        await gui.user.should_see("scratch")


async def test_a_synced_row_names_its_instance_once(gui: Gui) -> None:
    """A synced row's name is its Name tag, its id is shown beside it once; untagged, the id is the name."""
    fleet()
    add_synced("ops", "eu-west-1", [{"instance_id": instance_id(0x30), "state": "running"}])
    await gui.services.panel.reload()
    await gui.user.open("/")
    shown = {
        row.props["instance_id"]: row.props["name"]
        for row in gui.user.find(kind=TargetRow).elements
        if row.props["instance_id"] in (instance_id(0x10), instance_id(0x30))
    }
    assert shown == {instance_id(0x10): "api-1", instance_id(0x30): instance_id(0x30)}


async def test_collapse_and_expand_all(gui: Gui) -> None:
    """Collapse all hides every row but keeps the group headings; expand all brings them back."""
    fleet()
    await gui.services.panel.reload()
    await gui.user.open("/")
    gui.user.find(marker="collapse-all").click()
    await gui.user.should_not_see(kind=TargetRow)
    await gui.user.should_see(marker="group-title", content="dev/eu-central-1")
    gui.user.find(marker="group-toggle saved:web").click()
    await gui.user.should_see("web-a")
    await gui.user.should_not_see("api-1")
    gui.user.find(marker="expand-all").click()
    await gui.user.should_see("api-1")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("web", {"web-a", "web-b"}),
        ("10.1.9", {"worker-1"}),
        ("batch", {"worker-1"}),
        ("API", {"api-1", "billing"}),
        ("api billing", {"billing"}),
        ("i-00000000000000003", {"db-main"}),
        ("critical", {"db-main"}),
    ],
)
async def test_search_as_you_type(gui: Gui, query: str, expected: set[str]) -> None:
    """Search matches every word, case-insensitively, over name, id, tags and IPs."""
    fleet()
    await gui.services.panel.reload()
    await gui.user.open("/")
    gui.user.find(marker="panel-search").type(query)
    assert set(rows(gui)) == expected


async def test_search_without_match_says_nothing_found(gui: Gui) -> None:
    """A search that matches nothing says so instead of showing an empty list."""
    fleet()
    await gui.services.panel.reload()
    await gui.user.open("/")
    gui.user.find(marker="panel-search").type("no-such-thing")
    await gui.user.should_see("Nothing found.")
    gui.user.find(marker="panel-search").clear()
    await gui.user.should_see("web-a")


async def test_empty_panel_says_how_to_start(gui: Gui) -> None:
    """With nothing saved or synced the panel says how to add a profile or enable sync."""
    await gui.user.open("/")
    await gui.user.should_see("No profiles found")


async def test_tag_filter_any_and_all(gui: Gui) -> None:
    """The tag filter keeps rows with any of the chosen tags, or with all of them."""
    fleet()
    await gui.services.panel.reload()
    await gui.user.open("/")
    tags = gui.user.find(marker="tag-filter")
    select = next(iter(tags.elements))
    assert {"frontend", "team=web", "critical", "team=api", "team=batch"} <= set(select.options)
    select.set_value(["frontend", "team=api"])
    assert set(rows(gui)) == {
        "web-a",
        "web-b",
        "api-1",
        "billing",
    }
    next(iter(gui.user.find(marker="tag-mode").elements)).set_value("all")
    select.set_value(["frontend", "team=web"])
    assert rows(gui) == ["web-a"]
    gui.user.find(marker="tag-clear").click()
    assert len(rows(gui)) == 7


async def test_keyboard_moves_selection_and_enter_connects(gui: Gui) -> None:
    """Arrow keys move the selection through the rows; Enter opens a session tab for the selected row."""
    fleet()
    await gui.services.panel.reload()
    await gui.user.open("/")
    panel_list = gui.user.find(marker="panel-list")
    panel_list.trigger("keydown", "ArrowDown")
    panel_list.trigger("keydown", "ArrowDown")
    selected = [row.target.name for row in gui.user.find(kind=TargetRow).elements if row.selected]
    assert selected == ["web-b"]
    panel_list.trigger("keydown", "ArrowUp")
    selected = [row.target.name for row in gui.user.find(kind=TargetRow).elements if row.selected]
    assert selected == ["web-a"]
    panel_list.trigger("keydown", "Enter")
    await gui.user.should_see(marker="session-tab", retries=20)
    session = next(iter(gui.services.sessions.sessions.values()))
    assert session.title == "web-a"
    assert session.target.instance_id == instance_id(1)
    assert session.target.aws_profile == "dev"  # resolved from the group


async def test_search_box_arrow_and_enter_connect_first_match(gui: Gui) -> None:
    """From the search box, Enter connects the first match without touching the mouse."""
    fleet()
    await gui.services.panel.reload()
    await gui.user.open("/")
    search = gui.user.find(marker="panel-search")
    search.type("billing")
    search.trigger("keydown", "Enter")
    await gui.user.should_see(marker="session-tab")
    (session,) = gui.services.sessions.sessions.values()
    assert session.target.instance_id == instance_id(0x20)
    assert (session.target.aws_profile, session.target.region) == ("prod", "us-east-1")


async def test_f2_edits_and_delete_asks_first(gui: Gui) -> None:
    """F2 opens the editor of the selected profile; Delete deletes it only after confirmation."""
    fleet()
    await gui.services.panel.reload()
    await gui.user.open("/")
    panel_list = gui.user.find(marker="panel-list")
    panel_list.trigger("keydown", "ArrowDown")  # web-a
    panel_list.trigger("keydown", "F2")
    await gui.user.should_see(marker="profile-dialog", retries=30)
    name = gui.user.find(marker="profile-name")
    assert next(iter(name.elements)).value == "web-a"
    name.clear().type("web-alpha")
    gui.user.find(marker="dialog-save").click()
    await gui.user.should_not_see(marker="profile-dialog", retries=20)
    assert store.load_profiles().get_profile("web-alpha") is not None
    await gui.user.should_see("web-alpha")

    panel_list.trigger("keydown", "Delete")
    await gui.user.should_see(marker="confirm-dialog", retries=30)
    gui.user.find(marker="confirm-cancel").click()
    await gui.user.should_not_see(marker="confirm-dialog")
    assert store.load_profiles().get_profile("web-alpha") is not None
    panel_list.trigger("keydown", "Delete")
    await gui.user.should_see(marker="confirm-dialog", retries=30)
    gui.user.find(marker="confirm-ok").click()
    await gui.user.should_see("Deleted profile 'web-alpha'", retries=20)
    assert store.load_profiles().get_profile("web-alpha") is None
    await gui.user.should_not_see(kind=TargetRow, content="web-alpha")


async def test_synced_rows_are_read_only(gui: Gui) -> None:
    """F2 and Delete do nothing on a synced row; its menu offers Save as profile, not Edit or Delete."""
    fleet()
    await gui.services.panel.reload()
    await gui.user.open("/")
    gui.user.find(marker="panel-search").type("billing")
    row = gui.user.find(kind=TargetRow)
    row.trigger("menu")
    await gui.user.should_see(marker="menu-save", retries=30)
    await gui.user.should_not_see(marker="menu-edit")
    await gui.user.should_not_see(marker="menu-delete")
    panel_list = gui.user.find(marker="panel-list")
    panel_list.trigger("keydown", "F2")
    panel_list.trigger("keydown", "Delete")
    await gui.user.should_not_see(marker="profile-dialog")
    await gui.user.should_not_see(marker="confirm-dialog")


async def test_context_menu_save_synced_as_profile(gui: Gui) -> None:
    """Save as profile turns a synced instance into an editable saved profile with its pair."""
    fleet()
    await gui.services.panel.reload()
    await gui.user.open("/")
    gui.user.find(marker="panel-search").type("billing")
    gui.user.find(kind=TargetRow).trigger("menu")
    gui.user.find(marker="menu-save").click()
    await gui.user.should_see(marker="profile-dialog", retries=30)
    assert next(iter(gui.user.find(marker="profile-name").elements)).value == "billing"
    gui.user.find(marker="dialog-save").click()
    await gui.user.should_not_see(marker="profile-dialog", retries=20)
    saved = store.load_profiles().profile("billing")
    assert (saved.instance_id, saved.aws_profile, saved.region) == (instance_id(0x20), "prod", "us-east-1")
    await gui.user.should_see(marker="group-title", content="Ungrouped")


async def test_context_menu_duplicate_and_copy(gui: Gui) -> None:
    """Duplicate saves a copy under a free name; Copy instance id says what it copied."""
    fleet()
    await gui.services.panel.reload()
    await gui.user.open("/")
    gui.user.find(marker="panel-search").type("db-main")
    gui.user.find(kind=TargetRow).trigger("menu")
    gui.user.find(marker="menu-copy").click()
    await gui.user.should_see(f"Copied {instance_id(3)}")
    gui.user.find(marker="menu-duplicate").click()
    await gui.user.should_see(marker="profile-dialog", retries=30)
    assert next(iter(gui.user.find(marker="profile-name").elements)).value == "db-main (copy)"
    gui.user.find(marker="dialog-save").click()
    await gui.user.should_not_see(marker="profile-dialog", retries=20)
    copy = store.load_profiles().profile("db-main (copy)")
    assert copy.instance_id == instance_id(3)
    assert copy.tags == frozenset({"critical"})


def cli_error(*args: str) -> str:
    """The one-line error the CLI prints for ``ssmux ARGS`` (without the ``ssmux: error:`` prefix)."""
    from ssmux.cli.main import cli

    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 1, result.output
    line = result.output.strip().splitlines()[-1]
    return line.removeprefix("ssmux: error: ")


def field_error(gui: Gui, marker: str) -> str:
    element = next(iter(gui.user.find(marker=marker).elements))
    return str(element.props.get("error-message", ""))


@pytest.mark.parametrize(
    ("field", "value", "cli_args"),
    [
        ("profile-instance-id", "i-123", ["--instance-id", "i-123"]),
        (
            "profile-region",
            "eu-centrall-1",
            ["--instance-id", "i-0123456789abcdef0", "--region", "eu-centrall-1"],
        ),
        (
            "profile-aws-profile",
            "my profile",
            ["--instance-id", "i-0123456789abcdef0", "--aws-profile", "my profile"],
        ),
    ],
)
async def test_add_dialog_shows_the_cli_validation_messages(
    gui: Gui, field: str, value: str, cli_args: list[str]
) -> None:
    """A bad value in the new-profile dialog shows the CLI's message under its field and saves nothing."""
    expected = cli_error("profile", "add", "p1", *cli_args)
    await gui.user.open("/")
    gui.user.find(marker="add-profile").click()
    await gui.user.should_see(marker="profile-dialog", retries=30)
    gui.user.find(marker="profile-name").type("p1")
    if field != "profile-instance-id":
        gui.user.find(marker="profile-instance-id").type("i-0123456789abcdef0")
    gui.user.find(marker=field).type(value)
    gui.user.find(marker="dialog-save").click()
    message = await eventually(lambda: field_error(gui, field))
    assert expected.endswith(message), (expected, message)
    await gui.user.should_see(marker="profile-dialog")
    assert store.load_profiles().profiles == ()


async def test_add_dialog_reports_a_taken_name_and_keeps_the_input(gui: Gui) -> None:
    """Saving under a name that exists shows the CLI's message; the dialog stays open with what was typed."""
    fleet()
    expected = cli_error("profile", "add", "scratch", "--instance-id", "i-0123456789abcdef0")
    await gui.services.panel.reload()
    await gui.user.open("/")
    gui.user.find(marker="add-profile").click()
    await gui.user.should_see(marker="profile-dialog", retries=30)
    gui.user.find(marker="profile-name").type("scratch")
    gui.user.find(marker="profile-instance-id").type("i-0123456789abcdef0")
    gui.user.find(marker="dialog-save").click()
    await gui.user.should_see(marker="dialog-error", content=expected, retries=20)
    assert next(iter(gui.user.find(marker="profile-instance-id").elements)).value == "i-0123456789abcdef0"
    assert store.load_profiles().profile("scratch").instance_id == instance_id(4)


async def test_add_profile_with_new_group_and_metacharacters(gui: Gui) -> None:
    """A profile whose name and description hold shell metacharacters is saved verbatim, its new group too."""
    await gui.user.open("/")
    gui.user.find(marker="add-profile").click()
    await gui.user.should_see(marker="profile-dialog", retries=30)
    name = "web $(rm -rf /); `x` & 'y'"
    gui.user.find(marker="profile-name").type(name)
    gui.user.find(marker="profile-instance-id").type("i-0123456789abcdef0")
    gui.user.find(marker="profile-group").type("new group")
    gui.user.find(marker="profile-description").type("line 1\nline 2")
    gui.user.find(marker="profile-region").type("eu-west-1")
    gui.user.find(marker="dialog-save").click()
    await gui.user.should_not_see(marker="profile-dialog", retries=20)
    book = store.load_profiles()
    saved = book.profile(name)
    assert (saved.group, saved.description, saved.region) == ("new group", "line 1\nline 2", "eu-west-1")
    assert book.get_group("new group") is not None
    await gui.user.should_see(marker="group-title", content="new group")
    await gui.user.should_see(name)


async def test_group_dialog_validates_and_renames(gui: Gui) -> None:
    """The group editor checks the region like the CLI and renames a group with its profiles."""
    fleet()
    await gui.services.panel.reload()
    await gui.user.open("/")
    gui.user.find(marker="edit-group saved:web").click()
    await gui.user.should_see(marker="group-dialog", retries=30)
    gui.user.find(marker="group-region").type("mars-1")
    gui.user.find(marker="dialog-save").click()
    expected = cli_error("group", "add", "g", "--region", "mars-1")
    message = await eventually(lambda: field_error(gui, "group-region"))
    assert expected.endswith(message), (expected, message)
    gui.user.find(marker="group-region").clear()
    gui.user.find(marker="group-name").clear().type("frontends")
    gui.user.find(marker="dialog-save").click()
    await gui.user.should_not_see(marker="group-dialog", retries=20)
    book = store.load_profiles()
    assert book.get_group("web") is None
    assert {p.name for p in book.profiles_in_group("frontends")} == {"web-a", "web-b"}
    assert book.group("frontends").aws_profile == "dev"
    await gui.user.should_see(marker="group-title", content="frontends")


async def test_many_targets_render_a_page_and_show_more(gui: Gui) -> None:
    """A group of thousands shows its first rows and a "show more" button, and search still finds any row."""
    add_synced(
        "big",
        "eu-west-1",
        [
            {
                "instance_id": instance_id(0x1000 + n),
                "name": f"node-{n:05d}",
                "state": "running",
                "ping_status": "Online",
                "ssm_managed": True,
                "private_ip": f"10.{n // 65536}.{n // 256 % 256}.{n % 256}",
            }
            for n in range(3000)
        ],
    )
    await gui.services.panel.reload()
    await gui.user.open("/")
    assert len(rows(gui)) == 50
    await gui.user.should_see(marker="group-count", content="(3000)")
    gui.user.find(marker="show-more synced:big/eu-west-1").click()
    assert len(rows(gui)) == 100
    gui.user.find(marker="panel-search").type("node-02999")
    assert rows(gui) == ["node-02999"]
    await gui.user.should_see(marker="group-count", content="(1 of 3000)")


async def test_connect_in_external_terminal_runs_ssmux_connect_as_argv(
    gui: Gui, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Connect in external terminal" starts the terminal program with `ssmux connect ID ...` as separate
    words: the instance id and AWS profile, never the (free-text) profile name."""
    recorded = tmp_path / "argv.json"
    recorder = tmp_path / "fake-terminal"
    recorder.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(recorded)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
    )
    recorder.chmod(0o755)
    monkeypatch.setenv("SSMUX_TERMINAL", str(recorder))
    store.update_profiles(
        lambda book: book.with_profile(
            Profile("evil $(touch pwned); `id`", instance_id(5), aws_profile="dev", region="eu-west-1")
        )
    )
    await gui.services.panel.reload()
    await gui.user.open("/")
    gui.user.find(kind=TargetRow).trigger("menu")
    gui.user.find(marker="menu-external").click()
    argv = await eventually(lambda: recorded.exists() and json.loads(recorded.read_text()), timeout=20)
    assert argv == [
        "-e",
        sys.executable,
        "-m",
        "ssmux",
        "connect",
        instance_id(5),
        "--aws-profile",
        "dev",
        "--region",
        "eu-west-1",
    ]
    assert not (tmp_path / "pwned").exists()
    await gui.user.should_see("in a terminal window", retries=20)


async def test_delete_group_keeps_its_profiles(gui: Gui) -> None:
    """Deleting a group (after confirming) keeps its profiles, which move to Ungrouped."""
    fleet()
    await gui.services.panel.reload()
    await gui.user.open("/")
    gui.user.find(marker="edit-group saved:databases").click()
    await gui.user.should_see(marker="group-dialog", retries=30)
    gui.user.find(marker="group-delete").click()
    await gui.user.should_see(marker="confirm-dialog", retries=30)
    gui.user.find(marker="confirm-ok").click()
    await gui.user.should_not_see(marker="group-dialog", retries=30)
    book = store.load_profiles()
    assert book.get_group("databases") is None
    assert book.profile("db-main").group is None
    await gui.user.should_not_see(marker="group-title", content="databases", retries=20)
    with gui.user.scope(marker="group saved:"):
        await gui.user.should_see("db-main")
