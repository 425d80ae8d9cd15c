"""The plugin backend: StartSession on the emulator, then the plugin run with exactly the argv contract (§2).

The plugin is a recording stand-in: the contract (argv, environment) is what is under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ssmux.errors import BackendUnavailable
from ssmux.sessions.api import SessionApi
from ssmux.sessions.backends import SessionRequest
from ssmux.sessions.plugin import run_plugin, takes_env_var
from tests.support.emulator import RunningEmulator

from .conftest import demo_instance, write_aws_config
from .recorder import calls, make_recorder

pytestmark = pytest.mark.e2e

# AWS config profile names cannot hold whitespace and botocore strips quotes; the other shell metacharacters:
NASTY_PROFILE = "dev;$(touch${IFS}/tmp/pwned-plugin)`id`&|<>*?!#"


@pytest.fixture
def nasty_env(
    demo_emulator: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> RunningEmulator:
    """AWS config with the demo profiles plus a copy of 'dev' under a name full of shell metacharacters."""
    config, credentials = write_aws_config(demo_emulator, tmp_path / "aws-nasty", {NASTY_PROFILE: "dev"})
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    return demo_emulator


def active_sessions(emulator: RunningEmulator, state: str = "Active") -> dict[str, dict]:
    client = emulator.client("ssm", "dev", "eu-central-1")
    return {item["SessionId"]: item for item in client.describe_sessions(State=state)["Sessions"]}


def test_new_plugin_gets_the_response_through_the_environment(
    nasty_env: RunningEmulator, tmp_path: Path
) -> None:
    """Plugin > 1.2.497.0: argv[1] names AWS_SSM_START_SESSION_RESPONSE, holding the live session's JSON."""
    plugin = make_recorder(tmp_path / "bin", "session-manager-plugin")
    target = demo_instance("web-1")
    request = SessionRequest(
        target, aws_profile=NASTY_PROFILE, region="eu-central-1", reason="ticket #1; $(reboot)"
    )
    api = SessionApi(NASTY_PROFILE, "eu-central-1")
    assert run_plugin(str(plugin), request, api) == 0

    (call,) = calls(plugin)
    argv = call["argv"]
    assert argv[1:] == [
        "AWS_SSM_START_SESSION_RESPONSE",
        "eu-central-1",
        "StartSession",
        NASTY_PROFILE,
        json.dumps({"Target": target, "Reason": "ticket #1; $(reboot)"}),
        nasty_env.endpoint,
    ]
    response = json.loads(call["env"]["AWS_SSM_START_SESSION_RESPONSE"])
    assert set(response) == {"SessionId", "TokenValue", "StreamUrl"}
    assert response["StreamUrl"].startswith("ws://127.0.0.1:")
    # The session really exists on the service side, for the target asked for.
    assert active_sessions(nasty_env)[response["SessionId"]]["Target"] == target
    assert not Path("/tmp/pwned-plugin").exists()


def test_old_plugin_gets_the_json_in_argv(
    nasty_env: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plugin 1.2.497.0 or older: the JSON itself is argv[1]; no profile chosen by ssmux gives ``""``."""
    monkeypatch.setenv("RECORDER_VERSION", "1.2.497.0")
    monkeypatch.setenv("AWS_PROFILE", "dev")  # the SDK's own choice, as a user's environment would make it
    assert not takes_env_var("1.2.497.0")
    plugin = make_recorder(tmp_path / "bin", "session-manager-plugin")
    request = SessionRequest(
        demo_instance("web-2"),
        document_name="AWS-StartInteractiveCommand",
        parameters={"command": ["top -b; echo $HOME"]},
    )
    assert run_plugin(str(plugin), request, SessionApi(None, None)) == 0
    (call,) = calls(plugin)
    argv = call["argv"]
    assert json.loads(argv[1])["SessionId"] in active_sessions(nasty_env)
    assert "AWS_SSM_START_SESSION_RESPONSE" not in call["env"]
    assert argv[2:5] == ["eu-central-1", "StartSession", ""]
    assert json.loads(argv[5]) == {
        "Target": demo_instance("web-2"),
        "DocumentName": "AWS-StartInteractiveCommand",
        "Parameters": {"command": ["top -b; echo $HOME"]},
    }


def test_plugin_that_cannot_run_terminates_the_session(nasty_env: RunningEmulator, tmp_path: Path) -> None:
    """A plugin that answers --version but cannot be run: one clear error and no session left running."""
    plugin = make_recorder(tmp_path / "bin", "session-manager-plugin")
    before = set(active_sessions(nasty_env))
    request = SessionRequest(demo_instance("web-3"), aws_profile="dev", region="eu-central-1")

    class Vanishing(SessionApi):
        def start_session(self, params):  # type: ignore[no-untyped-def]
            # The plugin disappears between --version and the run.
            started = super().start_session(params)
            plugin.unlink()
            return started

    vanishing = Vanishing("dev", "eu-central-1")
    with pytest.raises(BackendUnavailable, match="not found"):
        run_plugin(str(plugin), request, vanishing)
    assert set(active_sessions(nasty_env)) == before
