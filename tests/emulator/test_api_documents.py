"""What StartSession hands the data channel: session type, handshake properties, command, KMS key, env.

These run the SSM handlers in-process over a fleet seeded into moto, and read the session registry the
data channel reads (the websocket side is tested with the data channel).
"""

from __future__ import annotations

import json
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


def test_command_documents_carry_their_shell_config(api: Any) -> None:
    """InteractiveCommands run `sh -c <commands>` in a pty; NonInteractiveCommands keep the ShellConfig."""
    interactive = start(api, "plain", "bash-box", DocumentName="AWS-StartInteractiveCommand",
                        Parameters={"command": ["top -b"]})  # fmt: skip
    assert interactive.session_type is SessionType.INTERACTIVE_COMMANDS
    assert interactive.command == ["sh", "-c", "top -b"]
    batch = start(api, "plain", "bash-box", DocumentName="AWS-StartNonInteractiveCommand",
                  Parameters={"command": ["echo a; exit 3"]})  # fmt: skip
    assert batch.session_type is SessionType.NON_INTERACTIVE_COMMANDS
    assert batch.command == []  # no shell: the agent splits the string itself
    assert batch.shell_config == {
        "commands": "echo a; exit 3", "runAsElevated": False, "separateOutputStream": "false",
        "stdOutSeparatorPrefix": "", "stdErrSeparatorPrefix": "",
    }  # fmt: skip
    assert batch.parameters == {"command": ["echo a; exit 3"]}
    separate = start(api, "plain", "bash-box", DocumentName="AWS-StartNonInteractiveCommand",
                     Parameters={"command": ["id"], "separateOutputStream": ["true"],
                                 "stdoutSeparatorPrefix": ["OUT:"]})  # fmt: skip
    assert separate.shell_config["separateOutputStream"] == "true"
    assert separate.shell_config["stdOutSeparatorPrefix"] == "OUT:"


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


# ------------------------------------------------------------------------------- the account's documents


def create_document(
    account_id: str, name: str, content: dict[str, Any], document_type: str = "Session"
) -> None:
    """CreateDocument in moto (the backend behind the emulator's own CreateDocument)."""
    from moto.ssm.models import ssm_backends

    ssm_backends[account_id]["eu-north-1"].create_document(
        content=json.dumps(content), requires=None, attachments=None, name=name, version_name=None,
        document_type=document_type, document_format="JSON", target_type=None, tags=None,
    )  # fmt: skip


def delete_document(account_id: str, name: str) -> None:
    from moto.ssm.models import ssm_backends

    ssm_backends[account_id]["eu-north-1"].delete_document(
        name=name, document_version=None, version_name=None, force=True
    )


def caller(api: Any, profile: str) -> Caller:
    _, _, scenario = api
    return Caller(scenario.profile(profile), "eu-north-1", Faults())


OLD_NON_INTERACTIVE = {
    "schemaVersion": "1.0",
    "description": "A NonInteractiveCommands document without separateOutputStream (older AWS versions)",
    "sessionType": "NonInteractiveCommands",
    "parameters": {"command": {"type": "String", "description": "The command to run on the instance"}},
    "properties": {"linux": {"commands": "{{command}}", "runAsElevated": False}},
}


def test_a_created_session_document_starts_sessions_with_its_own_rules(api: Any) -> None:
    """A CreateDocument'd Session document is used by StartSession: its defaults, pattern and properties."""
    create_document("101010101010", "Team-Tail", {
        "schemaVersion": "1.0",
        "sessionType": "NonInteractiveCommands",
        "parameters": {"file": {"type": "String", "default": "/var/log/syslog",
                                "allowedPattern": "^/var/log/[a-z]+$"}},
        "properties": {"linux": {"commands": "tail -n 5 {{ file }}", "separateOutputStream": "true"}},
    })  # fmt: skip
    session = start(api, "plain", "bash-box", DocumentName="Team-Tail")
    assert session.document_name == "Team-Tail"
    assert session.session_type is SessionType.NON_INTERACTIVE_COMMANDS
    assert session.shell_config == {"commands": "tail -n 5 /var/log/syslog", "separateOutputStream": "true"}
    chosen = start(api, "plain", "bash-box", DocumentName="Team-Tail", Parameters={"file": ["/var/log/auth"]})
    assert chosen.shell_config["commands"] == "tail -n 5 /var/log/auth"
    for parameters, code in (
        ({"file": ["/etc/shadow"]}, "InvalidParameters"),
        ({"separateOutputStream": ["true"]}, "InvalidParameters"),
    ):
        with pytest.raises(ApiError) as caught:
            start(api, "plain", "bash-box", DocumentName="Team-Tail", Parameters=parameters)
        assert caught.value.code == code
    create_document("101010101010", "Old-NonInteractive", OLD_NON_INTERACTIVE)
    with pytest.raises(ApiError) as caught:
        start(api, "plain", "bash-box", DocumentName="Old-NonInteractive",
              Parameters={"command": ["id"], "separateOutputStream": ["true"]})  # fmt: skip
    assert caught.value.code == "InvalidParameters"


def test_documents_that_cannot_start_a_session(api: Any) -> None:
    """A missing document, another account's, or one that is not a Session document: InvalidDocument."""
    create_document("101010101010", "Plain-Only", {"schemaVersion": "1.0", "sessionType": "Port",
                                                    "properties": {"portNumber": "22"}})  # fmt: skip
    create_document("101010101010", "Run-Things", {
        "schemaVersion": "2.2", "description": "a Command document",
        "mainSteps": [{"action": "aws:runShellScript", "name": "run", "inputs": {"runCommand": ["id"]}}],
    }, document_type="Command")  # fmt: skip
    for profile, name in (("plain", "No-Such-Document"), ("secret", "Plain-Only"), ("plain", "Run-Things")):
        with pytest.raises(ApiError) as caught:
            start(api, profile, "bash-box" if profile == "plain" else "vault", DocumentName=name)
        assert caught.value.code == "InvalidDocument", name


def test_preferences_come_from_the_accounts_session_manager_run_shell(api: Any) -> None:
    """Without its own SSM-SessionManagerRunShell an account gets the console's defaults (and its KMS key);
    once it creates one, its inputs apply to shells and command sessions, kmsKeyId included."""
    plain = start(api, "plain", "bash-box")
    assert plain.preferences["idleSessionTimeout"] == "" and plain.preferences["kmsKeyId"] == ""
    assert plain.preferences["shellProfile"] == {"windows": "", "linux": ""}
    secret = start(api, "secret", "vault")
    assert secret.preferences["kmsKeyId"] == secret.kms_key_id
    create_document("101010101010", "SSM-SessionManagerRunShell", {
        "schemaVersion": "1.0", "sessionType": "Standard_Stream",
        "inputs": {"idleSessionTimeout": "15", "kmsKeyId": "alias/team",
                   "shellProfile": {"linux": "cd /tmp"}},
    })  # fmt: skip
    try:
        shell = start(api, "plain", "bash-box")
        assert shell.preferences == {"idleSessionTimeout": "15", "kmsKeyId": "alias/team",
                                     "shellProfile": {"linux": "cd /tmp"}}  # fmt: skip
        assert shell.kms_key_id == "alias/team"
        command = start(api, "plain", "bash-box", DocumentName="AWS-StartNonInteractiveCommand",
                        Parameters={"command": ["id"]})  # fmt: skip
        assert command.preferences["idleSessionTimeout"] == "15"
        port = start(api, "plain", "bash-box", DocumentName="AWS-StartSSHSession")
        assert port.kms_key_id is None
    finally:
        delete_document("101010101010", "SSM-SessionManagerRunShell")


def test_get_and_describe_document_serve_aws_session_documents(api: Any) -> None:
    """GetDocument/DescribeDocument answer AWS's Session documents with their real content, owner Amazon."""
    from ssmux.emulator.documents import AWS_DOCUMENTS, aws_document

    ssm, _, _ = api
    for name in AWS_DOCUMENTS:
        got = ssm.handle("GetDocument", caller(api, "plain"), {"Name": name})
        assert got["DocumentType"] == "Session" and got["DocumentFormat"] == "JSON"
        document = aws_document(name)
        assert document is not None
        assert json.loads(got["Content"]) == document.content
    described = ssm.handle("DescribeDocument", caller(api, "plain"), {"Name": "AWS-StartSSHSession"})[
        "Document"
    ]
    assert described["Owner"] == "Amazon"
    assert described["Parameters"] == [{"Name": "portNumber", "Type": "String",
                                        "Description": "(Optional) Port number of SSH server on the instance",
                                        "DefaultValue": "22"}]  # fmt: skip
    assert described["Hash"] and described["HashType"] == "Sha256"
    non_interactive = ssm.handle("DescribeDocument", caller(api, "plain"),
                                 {"Name": "AWS-StartNonInteractiveCommand"})["Document"]  # fmt: skip
    assert [p["Name"] for p in non_interactive["Parameters"]] == [
        "command", "separateOutputStream", "stdoutSeparatorPrefix", "stderrSeparatorPrefix",
    ]  # fmt: skip
    assert non_interactive["Parameters"][1]["DefaultValue"] == "false"
    as_yaml = {"Name": "AWS-StartPortForwardingSession", "DocumentFormat": "YAML"}
    yaml_text = ssm.handle("GetDocument", caller(api, "plain"), as_yaml)["Content"]
    assert "sessionType: Port" in yaml_text
    prefs = ssm.handle("DescribeDocument", caller(api, "plain"), {"Name": "SSM-SessionManagerRunShell"})
    assert prefs["Document"]["Owner"] == "101010101010"
    with pytest.raises(ApiError) as caught:
        ssm.handle("GetDocument", caller(api, "plain"), {"Name": "No-Such-Document"})
    assert caught.value.code == "InvalidDocument"
    create_document("101010101010", "Mine-Port", {"schemaVersion": "1.0", "sessionType": "Port",
                                                   "properties": {"portNumber": "8080"}})  # fmt: skip
    mine = ssm.handle("GetDocument", caller(api, "plain"), {"Name": "Mine-Port"})
    assert json.loads(mine["Content"])["properties"] == {"portNumber": "8080"}
