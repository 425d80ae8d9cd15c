"""The emulator's EC2 Instance Connect (SendSSHPublicKey, the active-keys metadata) and GetPasswordData."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ssmux.emulator.instance_connect import KEY_LIFETIME, InstanceConnect, parse_active_keys
from ssmux.emulator.scenario import ScenarioProfile
from ssmux.emulator.windows import KEY_FILE, administrator_password
from ssmux.emulator.wire import ApiError
from tests.sessions.conftest import demo_instance
from tests.support.emulator import RunningEmulator

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh0c3QtdGVzdC1rZXktbWF0ZXJpYWwtMDAwMDAwMDAw test@host"
INSTANCE = "i-0123456789abcdef0"
INVALID = "InvalidArgsException"


@dataclass
class Node:
    ec2: Any = True
    ec2_state: str = "running"


class Fleet:
    def __init__(self, state: str = "running") -> None:
        self.state = state

    def node(self, account_id: str, region: str, instance_id: str) -> Node | None:
        return Node(ec2_state=self.state) if instance_id == INSTANCE else None


PROFILE = ScenarioProfile(name="dev", account_id="111111111111", region="eu-west-1")


def test_pushed_key_is_listed_for_sixty_seconds() -> None:
    """The key is in the user's active keys until 60 s after the push, then gone (the emulator's clock)."""
    now = [1_700_000_000.0]
    connect = InstanceConnect(Fleet(), clock=lambda: now[0])  # type: ignore[arg-type]
    answer = connect.send_ssh_public_key(
        PROFILE, "eu-west-1", {"InstanceId": INSTANCE, "InstanceOSUser": "ec2-user", "SSHPublicKey": KEY}
    )
    assert answer["Success"] is True
    [pushed] = connect.active_keys(INSTANCE, "ec2-user")
    assert pushed.expires == 1_700_000_000 + KEY_LIFETIME
    assert connect.active_keys(INSTANCE, "root") == []
    document = pushed.block()
    assert parse_active_keys(document, INSTANCE, now[0] + 59) == [KEY]
    assert parse_active_keys(document, "i-0000000000000000f", now[0]) == []  # another instance's key
    now[0] += KEY_LIFETIME
    assert connect.active_keys(INSTANCE, "ec2-user") == []
    assert parse_active_keys(document, INSTANCE, now[0]) == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"InstanceId": "mi-0123456789abcdef0", "InstanceOSUser": "u", "SSHPublicKey": KEY}, INVALID),
        ({"InstanceId": INSTANCE, "InstanceOSUser": "bad user", "SSHPublicKey": KEY}, INVALID),
        ({"InstanceId": INSTANCE, "InstanceOSUser": "u", "SSHPublicKey": "ssh-ed25519 short"}, INVALID),
        ({"InstanceId": INSTANCE, "InstanceOSUser": "u", "SSHPublicKey": "x" * 100}, INVALID),
        ({"InstanceId": "i-0000000000000000f", "InstanceOSUser": "u", "SSHPublicKey": KEY},
         "EC2InstanceNotFoundException"),
    ],
)  # fmt: skip
def test_refusals_carry_aws_codes(body: dict[str, str], code: str) -> None:
    """Malformed arguments and unknown instances are refused with SendSSHPublicKey's error codes."""
    with pytest.raises(ApiError) as raised:
        InstanceConnect(Fleet()).send_ssh_public_key(PROFILE, "eu-west-1", body)  # type: ignore[arg-type]
    assert raised.value.code == code


def test_stopped_instance_is_refused() -> None:
    """A stopped instance: EC2InstanceStateInvalidException, nothing kept."""
    connect = InstanceConnect(Fleet("stopped"))  # type: ignore[arg-type]
    with pytest.raises(ApiError, match="EC2InstanceStateInvalidException"):
        connect.send_ssh_public_key(
            PROFILE, "eu-west-1", {"InstanceId": INSTANCE, "InstanceOSUser": "u", "SSHPublicKey": KEY}
        )
    assert connect.active_keys(INSTANCE, "u") == []


def test_get_password_data_decrypts_with_the_scenario_key(demo_env: RunningEmulator) -> None:
    """Windows: PKCS#1 v1.5 under the scenario key (aws CLI style); Linux: empty; unknown: NotFound."""
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    ec2 = demo_env.client("ec2", "prod", "us-east-1")
    windows = demo_instance("win-ad", "prod")
    data = ec2.get_password_data(InstanceId=windows)
    assert data["InstanceId"] == windows
    key = load_pem_private_key(KEY_FILE.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    password = key.decrypt(base64.b64decode(data["PasswordData"]), padding.PKCS1v15()).decode()
    assert password == administrator_password(windows) and len(password) == 32
    assert ec2.get_password_data(InstanceId=demo_instance("web-1", "prod"))["PasswordData"] == ""
    with pytest.raises(ClientError) as raised:
        ec2.get_password_data(InstanceId="i-0000000000000000f")
    assert raised.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"
