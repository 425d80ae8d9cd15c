"""ECS containers in the profile panel: under their pair, by cluster and service, greyed when not ready."""

from __future__ import annotations

from ssmux.gui.components.panel_container_row import ContainerRow
from ssmux.gui.components.target_row import TargetRow
from ssmux.sync.container import Container, not_ready_reason
from ssmux.sync.instance import Instance
from ssmux.sync.inventory import Inventory, PairWrite

from .conftest import Gui, instance_id

PAIR = ("dev", "eu-central-1")
PAIR_KEY = "synced:dev/eu-central-1"


def container(task_id: str, name: str, service: str, *, exec_enabled: bool = True) -> Container:
    return Container(
        *PAIR,
        cluster="shop",
        cluster_arn="arn:aws:ecs:eu-central-1:111111111111:cluster/shop",
        task_id=task_id,
        task_arn=f"arn:aws:ecs:eu-central-1:111111111111:task/shop/{task_id}",
        container_name=name,
        runtime_id=f"{task_id}-rt",
        service=service,
        task_definition=f"{service or name}:4",
        launch_type="FARGATE",
        last_status="RUNNING",
        exec_enabled=exec_enabled,
        agent_status="RUNNING",
        not_ready_reason=not_ready_reason(
            task_status="RUNNING",
            container_status="RUNNING",
            exec_enabled=exec_enabled,
            agent_status="RUNNING",
            runtime_id=f"{task_id}-rt",
        ),
    )


def seed(*, ecs_error: str = "") -> None:
    """A pair with one instance and the containers of two services and a standalone task."""
    bastion = Instance(
        *PAIR, instance_id=instance_id(1), name="bastion", state="running", ping_status="Online"
    )
    containers = (
        container("aaa111", "app", "web"),
        container("bbb222", "app", "web"),
        container("ccc333", "worker", "worker", exec_enabled=False),
        container("ddd444", "migrate", ""),
    )
    inventory = Inventory()
    inventory.write_pairs([PairWrite(*PAIR, (bastion,), containers=containers)])
    if ecs_error:
        write = PairWrite(
            *PAIR, (bastion,), ecs_error_code="AccessDeniedException", ecs_error_message=ecs_error
        )
        inventory.write_pairs([write])


def group_titles(gui: Gui) -> list[str]:
    """The group headings, top to bottom (elements are created in display order)."""
    labels = sorted(gui.user.find(marker="group-title").elements, key=lambda label: label.id)
    return [label.text for label in labels if not label.is_deleted]


async def test_containers_are_listed_under_their_pair_by_cluster_and_service(gui: Gui) -> None:
    """The pair's instance, then a group per cluster/service with a container icon and its containers."""
    seed()
    await gui.services.panel.reload()
    await gui.user.open("/")
    assert group_titles(gui) == ["dev/eu-central-1", "shop / web", "shop / worker", "shop / tasks"]
    with gui.user.scope(marker=f"group {PAIR_KEY}"):
        await gui.user.should_see("bastion")
    web = f"group {PAIR_KEY}/ecs:shop/web"
    await gui.user.should_see(marker=f"group-icon-hub {PAIR_KEY}/ecs:shop/web")
    with gui.user.scope(marker=web):
        await gui.user.should_see(marker="group-count", content="(2)")
        await gui.user.should_see(kind=ContainerRow, content="aaa111")
        await gui.user.should_see(kind=ContainerRow, content="bbb222")
        await gui.user.should_see("web:4")
        await gui.user.should_see("FARGATE")
    rows = {row.props["task_id"]: row for row in gui.user.find(kind=ContainerRow).elements}
    assert set(rows) == {"aaa111", "bbb222", "ccc333", "ddd444"}
    assert rows["aaa111"].props["ready"] and rows["aaa111"].props["problem"] == ""
    assert rows["aaa111"].props["full_name"] == "shop/web/app"
    # Not ready: greyed in the browser (ready false), the reason is the row's tooltip.
    worker = rows["ccc333"]
    assert not worker.props["ready"]
    assert "execute command is not enabled" in worker.props["problem"]
    assert "--enable-execute-command" in worker.props["problem"]


async def test_search_finds_containers_and_folding_the_pair_hides_them(gui: Gui) -> None:
    """A query by service path or task id finds the container; folding the pair folds its clusters too."""
    seed()
    await gui.services.panel.reload()
    await gui.user.open("/")
    search = gui.user.find(marker="panel-search")
    search.type("shop/worker")
    await gui.user.should_see(kind=ContainerRow, content="ccc333")
    await gui.user.should_not_see(kind=ContainerRow, content="aaa111")
    await gui.user.should_not_see(kind=TargetRow, content="bastion")
    search.clear()
    await gui.user.should_see(kind=ContainerRow, content="aaa111")
    gui.user.find(marker=f"group-toggle {PAIR_KEY}").click()
    await gui.user.should_not_see(kind=TargetRow)
    assert group_titles(gui) == ["dev/eu-central-1"]
    gui.user.find(marker=f"group-toggle {PAIR_KEY}").click()
    await gui.user.should_see(kind=ContainerRow, content="ddd444")


async def test_a_not_ready_container_is_not_connected_and_says_why(gui: Gui) -> None:
    """Double-clicking a container without exec says why, and opens no tab."""
    seed()
    await gui.services.panel.reload()
    await gui.user.open("/")
    gui.user.find(marker="panel-search").type("ccc333")
    gui.user.find(kind=ContainerRow).trigger("connect")
    await gui.user.should_see("execute command is not enabled", retries=20)
    await gui.user.should_not_see(marker="session-tab")
    gui.user.find(kind=ContainerRow).trigger("menu")
    await gui.user.should_see(marker="menu-copy", retries=20)
    await gui.user.should_see("Copy SSM target")
    await gui.user.should_not_see(marker="menu-save")


async def test_an_ecs_failure_marks_the_containers_stale(gui: Gui) -> None:
    """A pair whose ECS listing failed keeps its containers and shows the failure on its heading."""
    seed(ecs_error="not allowed to ecs:ListClusters")
    await gui.services.panel.reload()
    await gui.user.open("/")
    await gui.user.should_see(marker=f"group-ecs-badge {PAIR_KEY}")
    await gui.user.should_see("ecs:ListClusters")
    await gui.user.should_see(kind=ContainerRow, content="aaa111")
    await gui.user.should_not_see(marker=f"group-badge {PAIR_KEY}")  # the instances are fresh
