"""Emulators and helpers for the sync tests: the built-in demo, and a fleet with faulty profiles."""

from __future__ import annotations

import configparser
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.emulator import RunningEmulator, start_emulator

#: One account per profile. dev/prod hold small fleets, big one to page over, nodip may only use the older
#: DescribeInstanceInformation, the others fail on purpose.
FLEET_SCENARIO = {
    "profiles": [
        {"name": "dev", "account_id": "111111111111", "region": "eu-central-1"},
        {"name": "prod", "account_id": "222222222222", "region": "us-east-1"},
        {"name": "big", "account_id": "333333333333", "region": "eu-west-1"},
        {"name": "denied", "account_id": "444444444444", "region": "eu-central-1", "deny": True},
        {
            "name": "nossm",
            "account_id": "555555555555",
            "region": "eu-central-1",
            "deny": ["ssm:DescribeInstance*"],
        },
        {
            "name": "nodip",
            "account_id": "888888888888",
            "region": "eu-central-1",
            "deny": ["ssm:DescribeInstanceProperties"],
        },
        {
            "name": "throttled",
            "account_id": "666666666666",
            "region": "eu-central-1",
            "faults": {"throttle": 1.0},
        },
        {
            "name": "slow",
            "account_id": "777777777777",
            "region": "eu-central-1",
            "faults": {"latency_ms": 1500},
        },
    ],
    "instances": [
        {"profile": "dev", "region": "eu-central-1", "name": "web", "count": 2, "tags": {"team": "web"}},
        {
            "profile": "dev",
            "region": "eu-central-1",
            "name": "db-1",
            "state": "stopped",
            "tags": {"team": "data"},
        },
        {"profile": "prod", "region": "us-east-1", "name": "api", "count": 3, "tags": {"team": "api"}},
        {"profile": "big", "region": "eu-west-1", "name": "node", "count": 120, "tags": {"team": "grid"}},
        {"profile": "denied", "region": "eu-central-1", "name": "secret"},
        {"profile": "nossm", "region": "eu-central-1", "name": "plain"},
        {"profile": "nodip", "region": "eu-central-1", "name": "old-policy", "count": 7},
        {"profile": "nodip", "region": "eu-central-1", "name": "lost", "ssm": "offline"},
        {"profile": "throttled", "region": "eu-central-1", "name": "busy"},
        {"profile": "slow", "region": "eu-central-1", "name": "far", "count": 2},
    ],
}


@pytest.fixture(scope="session")
def fleet_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """The emulator with :data:`FLEET_SCENARIO` (read-only use)."""
    with start_emulator(FLEET_SCENARIO, tmp_dir=tmp_path_factory.mktemp("fleet-emulator")) as running:
        yield running


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """The emulator with the built-in demo scenario (read-only use)."""
    with start_emulator("demo", tmp_dir=tmp_path_factory.mktemp("demo-emulator")) as running:
        yield running


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def hung_endpoint() -> Iterator[str]:
    """A loopback URL that accepts connections and never answers (a hung proxy or VPN)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)  # the kernel completes the handshakes; nobody ever reads or replies
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def aws_files_with_extra(
    emulator: RunningEmulator, folder: Path, extra: dict[str, tuple[str, str]]
) -> tuple[Path, Path]:
    """Copies of the emulator's AWS config files plus profiles ``name -> (keys of profile, endpoint_url)``."""
    config = configparser.ConfigParser()
    config.read(emulator.aws_config_file)
    credentials = configparser.ConfigParser()
    credentials.read(emulator.aws_shared_credentials_file)
    for name, (keys_of, endpoint) in extra.items():
        source = config[f"profile {keys_of}"]
        config[f"profile {name}"] = {"region": source["region"], "endpoint_url": endpoint}
        credentials[name] = dict(credentials[keys_of])
    folder.mkdir(parents=True, exist_ok=True)
    config_file, credentials_file = folder / "config", folder / "credentials"
    with config_file.open("w") as out:
        config.write(out)
    with credentials_file.open("w") as out:
        credentials.write(out)
    return config_file, credentials_file


def use_aws_files(monkeypatch: pytest.MonkeyPatch, config: Path, credentials: Path) -> None:
    """Point botocore (in this process) at these files: AwsClients made from now on read them."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
