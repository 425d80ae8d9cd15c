"""Sessions to ECS containers without AWS: requests, resolution, refusal, the marker in a pty, errors."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from ssmux.errors import InvalidValue, NotFound
from ssmux.sessions.awscli import awscli_argv, run_awscli
from ssmux.sessions.backends import ContainerCommand, SessionRequest
from ssmux.sessions.remote_exec import ExitMarker, container_command, new_token
from ssmux.sessions.resolve_target import (
    NotReady,
    container_request,
    refuse_not_ready_id,
    resolve_target,
)
from ssmux.sessions.runner import Kind, build_request
from ssmux.sync.targets import ContainerRef, Source, Target, TargetKind

from .recorder import calls, make_recorder

NOT_ENABLED = (
    "execute command is not enabled on this task: for a service run 'aws ecs update-service "
    "--enable-execute-command --force-new-deployment', for a task run it with --enable-execute-command, "
    "then run ssmux sync"
)


def container(
    service: str | None, name: str, task_id: str, *, ready: bool = True, reason: str | None = None
) -> Target:
    """A synced container target as the cache gives it (C13a's shape)."""
    ref = ContainerRef("shop", task_id, name, f"{task_id}-{name}", service, "web:3", "FARGATE", ready,
                       None if ready else reason or NOT_ENABLED)  # fmt: skip
    return Target(ref.name, ref.ssm_target, "dev", "eu-central-1", "dev/eu-central-1", Source.SYNCED,
                  state="running", platform="linux", synced=True, kind=TargetKind.CONTAINER,
                  container=ref)  # fmt: skip


WEB_A = container("web", "app", "0123456789abcdef0123456789abcdef")
WEB_B = container("web", "app", "fedcba9876543210fedcba9876543210")
WORKER = container("worker", "job", "11112222333344445555666677778888", ready=False)


def test_container_resolves_by_cluster_service_container_and_by_task_id() -> None:
    """`shop/worker/job`-style names, the task id and the container name find the container, with its ref."""
    targets = [WEB_A, WORKER]
    by_name = resolve_target("shop/web/app", targets=targets)
    assert by_name.instance_id == f"ecs:shop_{WEB_A.container.task_id}_{WEB_A.container.runtime_id}"  # type: ignore[union-attr]
    assert by_name.container == WEB_A.container
    assert (by_name.aws_profile, by_name.region) == ("dev", "eu-central-1")
    assert resolve_target(WEB_A.container.task_id, targets=targets).container == WEB_A.container  # type: ignore[union-attr]


def test_two_tasks_of_a_service_ask_which() -> None:
    """Two tasks of one service share a name: nobody to ask is one line listing both; the picker chooses."""
    with pytest.raises(InvalidValue, match="'shop/web/app' matches 2 targets") as caught:
        resolve_target("shop/web/app", targets=[WEB_A, WEB_B])
    hint = "give the instance id, a container's ecs: target (as listed), or a saved profile name"
    assert str(caught.value).endswith(hint)
    chosen = resolve_target("shop/web/app", targets=[WEB_A, WEB_B], interactive=True, pick=lambda labels: 1)
    assert chosen.container in (WEB_A.container, WEB_B.container)


def test_not_ready_container_is_refused_with_the_reason_and_the_fix() -> None:
    """Exec not enabled on the task: refused at resolution (before any AWS call), saying how to enable it."""
    with pytest.raises(NotReady) as caught:
        resolve_target("shop/worker/job", targets=[WORKER])
    message = str(caught.value)
    assert message.startswith("shop/worker/job is not ready for ECS Exec: execute command is not enabled")
    assert "--enable-execute-command --force-new-deployment" in message
    assert int(caught.value.exit_status) == 1


def test_container_requests_of_each_command() -> None:
    """connect: ExecuteCommand of /bin/sh (or --command); exec: sh -c wrapped; forward: StartSession."""
    ref = WEB_A.container
    assert ref is not None
    shell = build_request(Kind.SHELL, WEB_A.instance_id, "dev", "eu-central-1", container=ref)
    assert shell.container == ContainerCommand("shop", ref.task_id, "app", "/bin/sh")
    assert shell.start_session_params() == {"Target": WEB_A.instance_id}
    top = build_request(Kind.SHELL, WEB_A.instance_id, "dev", None, container=ref, command="top -b")
    assert top.container is not None and top.container.command == "top -b"
    token = new_token()
    run = build_request(Kind.EXEC, WEB_A.instance_id, "dev", None, container=ref, command="id; exit 3",
                        exit_token=token)  # fmt: skip
    assert run.container is not None
    words = shlex.split(run.container.command)  # as the container's agent splits it (shell_unix.go)
    assert words[:2] == ["sh", "-c"] and words[-2:] == ["id; exit 3", token]
    forward = build_request(Kind.FORWARD, WEB_A.instance_id, "dev", None, container=ref, local_port=0,
                            remote_port=80)  # fmt: skip
    assert forward.container is None and forward.target == WEB_A.instance_id
    assert forward.document_name == "AWS-StartPortForwardingSession"


def test_document_options_are_refused_for_a_container() -> None:
    """ECS Exec runs a command, no document: --document and --parameter say so."""
    with pytest.raises(InvalidValue, match="is a container: ECS Exec runs a command"):
        build_request(Kind.SHELL, WEB_A.instance_id, None, None, container=WEB_A.container,
                      document="AWS-StartSSHSession")  # fmt: skip


def test_connect_command_on_an_instance_uses_the_interactive_command_document() -> None:
    """`connect --command` on an instance runs the command with AWS-StartInteractiveCommand."""
    request = build_request(Kind.SHELL, "i-0123456789abcdef0", None, None, command="top")
    assert (request.document_name, dict(request.parameters)) == (
        "AWS-StartInteractiveCommand",
        {"command": ["top"]},
    )


def test_wrapped_command_in_a_real_pty_gives_raw_output_and_the_status() -> None:
    """The container's agent runs the words in a pty: stdout comes back as written, the status from the
    marker, which is never printed (checked with this machine's sh in a pty)."""
    pexpect = pytest.importorskip("pexpect")
    token = new_token()
    words = shlex.split(container_command("printf 'a\\nb'; echo err >&2; exit 7", token))
    child = pexpect.spawn(words[0], words[1:], timeout=10)
    child.expect(pexpect.EOF)
    child.close()
    marker = ExitMarker(token)
    output = marker.feed(child.before) + marker.finish()
    assert (output, marker.code, child.exitstatus) == (b"a\nberr\n", 7, 7)


def test_marker_read_after_a_carriage_return() -> None:
    """An image without stty leaves the pty's \\r\\n: the marker is still read and removed."""
    marker = ExitMarker("tok=")
    out = marker.feed(b"hi\r\ntok=") + marker.feed(b"0\r\n") + marker.finish()
    assert (out, marker.code) == (b"hi\r\n", 0)


def test_awscli_argv_for_a_container(tmp_path: Path) -> None:
    """The aws-cli backend runs `aws ecs execute-command ... --interactive --command CMD` as argv."""
    aws = make_recorder(tmp_path / "bin", "aws")
    plugin = make_recorder(tmp_path / "plugin-dir", "session-manager-plugin")
    nasty = "sh -c 'echo $HOME; `id`'"
    request = SessionRequest(WEB_A.instance_id, "dev;$(x)", "eu-central-1",
                             container=ContainerCommand("shop", "t1", "app", nasty))  # fmt: skip
    assert run_awscli(str(aws), request, str(plugin)) == 0
    (call,) = calls(aws)
    assert call["argv"][1:] == [
        "ecs", "execute-command", "--cluster", "shop", "--task", "t1", "--container", "app", "--interactive",
        "--command", nasty, "--profile", "dev;$(x)", "--region", "eu-central-1",
    ]  # fmt: skip
    assert call["env"]["PATH"].split(os.pathsep)[0] == str(plugin.parent)
    assert awscli_argv("aws", SessionRequest(WEB_A.instance_id))[:3] == ["aws", "ssm", "start-session"]


def test_a_tab_on_an_ecs_target_gets_its_container_from_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app opens tabs on target ids: an `ecs:` id becomes ExecuteCommand of its synced container; an
    unknown one, or a not-ready one, is refused before any AWS call."""
    from ssmux.sessions import resolve_target as module
    from ssmux.sync.targets import MatchKind, TargetMatch

    known = {WEB_A.instance_id: WEB_A, WORKER.instance_id: WORKER}

    def fake_lookup(text: str, **_: object) -> TargetMatch:
        found = known.get(text)
        return TargetMatch(MatchKind.EXACT, (found,)) if found else TargetMatch(MatchKind.NONE)

    monkeypatch.setattr(module, "lookup", fake_lookup)
    request = container_request(SessionRequest(WEB_A.instance_id, "dev", "eu-central-1"))
    assert request.container == ContainerCommand("shop", WEB_A.container.task_id, "app", "/bin/sh")  # type: ignore[union-attr]
    plain = SessionRequest("i-0123456789abcdef0")
    assert container_request(plain) is plain
    with pytest.raises(NotReady, match="not enabled"):
        container_request(SessionRequest(WORKER.instance_id))
    with pytest.raises(NotFound, match="run 'ssmux sync'"):
        container_request(SessionRequest("ecs:gone_t_r"))
    # The app's port forwards: a not-ready container refused, anything else left to StartSession.
    with pytest.raises(NotReady, match="not enabled"):
        refuse_not_ready_id(WORKER.instance_id)
    refuse_not_ready_id(WEB_A.instance_id)
    refuse_not_ready_id("ecs:gone_t_r")
    refuse_not_ready_id("i-0123456789abcdef0")


def test_execute_command_errors_are_one_line_saying_what_to_do() -> None:
    """Exec not enabled says how to enable it; agent not connected and access denied say what to check."""
    from botocore.exceptions import ClientError

    from ssmux.sessions.ecs_api import translate

    command = ContainerCommand("shop", "t1", "app", "/bin/sh")

    def error(code: str, message: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": message}}, "ExecuteCommand")

    not_enabled = translate(error("InvalidParameterException", "The execute command failed because execute "
                                  "command was not enabled when the task was run or the execute command "
                                  "agent isn't running."), command, "dev", "eu-central-1")  # fmt: skip
    assert "ECS Exec is not enabled on its task" in not_enabled.message
    assert "--enable-execute-command" in not_enabled.message and "\n" not in not_enabled.message
    agent = translate(error("TargetNotConnectedException", "x"), command, "dev", "eu-central-1")
    assert "ExecuteCommandAgent is not running" in agent.message
    denied = translate(error("AccessDeniedException", "no"), command, "dev", "eu-central-1")
    assert "may not call ecs:ExecuteCommand" in denied.message and denied.code == "AccessDeniedException"
