"""What StartSession hands the data channel: session type, handshake properties, command, KMS key, env.

These run the SSM handlers in-process over a fleet seeded into moto, and read the session registry the
data channel reads (the websocket side is tested with the data channel).
"""

from __future__ import annotations

from typing import Any

import pytest

from ssmux.emulator.faults import Faults
from ssmux.emulator.fleet import Fleet, prepare_moto_environment
from ssmux.emulator.scenario import parse_scenario
from ssmux.emulator.sessions import SessionRegistry, SessionStatus, SessionType
from ssmux.emulator.ssm_api import Caller, SsmApi
from ssmux.emulator.wire import ApiError

SCENARIO = {
    "profiles": [
        {"name": "plain", "account_id": "101010101010", "region": "eu-north-1"},
        {"name": "secret", "account_id": "202020202020", "region": "eu-north-1", "kms_key": "alias/sessions",
         "faults": {"loss": 0.25}},
    ],
    "instances": [
        {"profile": "plain", "name": "bash-box", "command": "/bin/bash --noprofile --norc",
         "prompt": "u@{name}$ "},
        {"profile": "plain", "name": "odd-box", "command": ["/no/such/shell", "-x"]},
        {"profile": "secret", "name": "vault", "agent_version": "2.3.0.0"},
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def api() -> tuple[SsmApi, SessionRegistry, Any]:
    prepare_moto_environment()
    scenario = parse_scenario(SCENARIO, source="test")
    fleet = Fleet(scenario)
    fleet.seed()
    registry = SessionRegistry()
    return SsmApi(fleet, registry, lambda sid: f"ws://127.0.0.1:9/v1/data-channel/{sid}"), registry, scenario


def start(api: Any, profile: str, name: str, **body: Any) -> Any:
    ssm, registry, scenario = api
    spec = next(i for i in scenario.instances if i.name == name)
    caller = Caller(
        scenario.profile(profile), "eu-north-1", Faults(seed=1).merged(scenario.profile(profile).faults)
    )
    response = ssm.handle("StartSession", caller, {"Target": spec.instance_id, **body})
    return registry.get(response["SessionId"])


def test_shell_session_runs_the_instance_command_with_its_prompt(api: Any) -> None:
    """No document: Standard_Stream running the instance's command, its prompt in the environment."""
    session = start(api, "plain", "bash-box")
    assert session.session_type is SessionType.STANDARD_STREAM
    assert session.document_name == "SSM-SessionManagerRunShell"
    assert session.command == ["/bin/bash", "--noprofile", "--norc"]
    assert session.env == {"SSMUX_PROMPT": "u@bash-box$ ", "PS1": "${SSMUX_PROMPT}"}
    assert session.properties is None
    assert session.kms_key_id is None


def test_missing_shell_falls_back(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """An instance command that does not exist here falls back to $SHELL, then /bin/sh."""
    monkeypatch.setenv("SHELL", "/no/such/either")
    assert start(api, "plain", "odd-box").command == ["/bin/sh"]
    monkeypatch.setenv("SHELL", "/bin/bash")
    assert start(api, "plain", "odd-box").command == ["/bin/bash"]


def test_command_documents_run_sh_c(api: Any) -> None:
    """Interactive and non-interactive command documents run `sh -c <command>` with their session type."""
    interactive = start(api, "plain", "bash-box", DocumentName="AWS-StartInteractiveCommand",
                        Parameters={"command": ["top -b"]})  # fmt: skip
    assert interactive.session_type is SessionType.INTERACTIVE_COMMANDS
    assert interactive.command == ["/bin/sh", "-c", "top -b"]
    batch = start(api, "plain", "bash-box", DocumentName="AWS-StartNonInteractiveCommand",
                  Parameters={"command": ["exit 3"]})  # fmt: skip
    assert batch.session_type is SessionType.NON_INTERACTIVE_COMMANDS
    assert batch.command == ["/bin/sh", "-c", "exit 3"]
    assert batch.parameters == {"command": ["exit 3"]}


def test_port_documents_carry_the_properties_of_spec_8_1(api: Any) -> None:
    """Port documents: properties with portNumber, localPortNumber (default 0), type, and host when remote."""
    local = start(api, "plain", "bash-box", DocumentName="AWS-StartPortForwardingSession",
                  Parameters={"portNumber": ["8080"]})  # fmt: skip
    assert local.session_type is SessionType.PORT
    assert local.properties == {"portNumber": "8080", "localPortNumber": "0", "type": "LocalPortForwarding"}
    assert local.command == []
    remote = start(
        api, "plain", "bash-box", DocumentName="AWS-StartPortForwardingSessionToRemoteHost",
        Parameters={"host": ["db.example"], "portNumber": ["5432"], "localPortNumber": ["15432"]},
    )  # fmt: skip
    assert remote.properties == {
        "portNumber": "5432", "localPortNumber": "15432", "host": "db.example", "type": "LocalPortForwarding",
    }  # fmt: skip
    ssh = start(api, "plain", "bash-box", DocumentName="AWS-StartSSHSession")
    assert ssh.properties == {"portNumber": "22"}


def test_kms_profile_encrypts_shells_but_not_ports(api: Any) -> None:
    """The kms_key profile's shell sessions carry its key ARN in that region; port sessions never do."""
    shell = start(api, "secret", "vault")
    assert shell.kms_key_id is not None
    assert shell.kms_key_id.startswith("arn:aws:kms:eu-north-1:202020202020:key/")
    command = start(api, "secret", "vault", DocumentName="AWS-StartNonInteractiveCommand",
                    Parameters={"command": ["id"]})  # fmt: skip
    assert command.kms_key_id == shell.kms_key_id
    port = start(api, "secret", "vault", DocumentName="AWS-StartPortForwardingSession")
    assert port.kms_key_id is None


def test_session_carries_agent_version_faults_and_owner(api: Any) -> None:
    """The instance's agent version, the profile's faults and the owner ARN reach the data channel."""
    session = start(api, "secret", "vault")
    assert session.agent_version == "2.3.0.0"
    assert session.faults == Faults(loss=0.25, seed=1)
    assert session.owner == "arn:aws:iam::202020202020:user/secret-user"
    assert session.session_id.startswith("secret-user-")


def test_registry_tokens_resume_and_terminate(api: Any) -> None:
    """A resumed session answers only its new token; terminating it tells listeners once and ends it."""
    _, registry, _ = api
    session = start(api, "plain", "bash-box")
    old = session.token
    assert registry.by_token(old) is session
    new = registry.resume(session.session_id)
    assert new and new != old
    assert registry.by_token(old) is None
    assert registry.by_token(new) is session
    told: list[str] = []
    registry.add_terminate_listener(lambda s: told.append(s.session_id))
    registry.terminate(session.session_id)
    registry.terminate(session.session_id)
    assert told == [session.session_id]
    assert session.status is SessionStatus.TERMINATED
    assert registry.by_token(new) is None
    assert registry.resume(session.session_id) is None


def test_agent_ending_marks_history_without_listeners(api: Any) -> None:
    """mark_ended (shell exit) moves the session to History and calls no terminate listener."""
    _, registry, _ = api
    session = start(api, "plain", "bash-box")
    told: list[str] = []
    registry.add_terminate_listener(lambda s: told.append(s.session_id))
    registry.mark_ended(session.session_id)
    assert told == []
    assert session in registry.describe("History", {"SessionId": session.session_id})
    assert registry.describe("Active", {"SessionId": session.session_id}) == []


def test_unknown_target_and_bad_parameters_raise_api_errors(api: Any) -> None:
    """Errors come out as ApiError with AWS's codes, and nothing is registered."""
    ssm, registry, scenario = api
    caller = Caller(scenario.profile("plain"), "eu-north-1", Faults())
    before = len(registry.active())
    with pytest.raises(ApiError) as caught:
        ssm.handle("StartSession", caller, {"Target": "i-0123456789abcdef0"})
    assert caught.value.code == "InvalidInstanceId"
    with pytest.raises(ApiError) as caught:
        ssm.handle(
            "StartSession", caller, {"Target": scenario.instances[0].instance_id, "Parameters": {"x": "y"}}
        )
    assert caught.value.code == "InvalidParameters"
    with pytest.raises(ApiError) as caught:
        ssm.handle("StartSession", caller, {})
    assert caught.value.code == "ValidationException"
    assert len(registry.active()) == before
