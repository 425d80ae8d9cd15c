"""`ssmux rdp`: the RDP port forwarded, the client started on it and the forward ended with it (issue 14).

The client is a recorder: it writes its argv, speaks the first RDP message through the forward to the
Windows stand-in on the instance's RDP port, and exits with a status of its own.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ssmux.emulator.windows import CONNECTION_CONFIRM, KEY_FILE, RdpStandIn, administrator_password
from ssmux.sessions.rdp import client_argv
from tests.sessions.conftest import demo_instance, run_ssmux
from tests.support.emulator import RunningEmulator

pytestmark = pytest.mark.e2e

WIN = demo_instance("win-ad", "prod")
WEB1 = demo_instance("web-1")
#: An X.224 Connection Request as mstsc sends it first (TPKT, CR, a cookie-less RDP_NEG_REQ for TLS).
CONNECTION_REQUEST = bytes.fromhex("030000130ee000000000000100080001000000")

RECORDER = f"""#!{sys.executable}
import json, socket, sys
host, port = sys.argv[-1].rsplit(":", 1)
with socket.create_connection((host, int(port)), timeout=30) as s:
    s.sendall(bytes.fromhex("{CONNECTION_REQUEST.hex()}"))
    got = b""
    while len(got) < {len(CONNECTION_CONFIRM)} and (data := s.recv(4096)):
        got += data
    echo = b""
    if got:
        s.sendall(b"after the handshake")
        while len(echo) < len(b"after the handshake") and (data := s.recv(4096)):
            echo += data
with open(sys.argv[0] + ".json", "w") as out:
    json.dump({{"argv": sys.argv, "confirm": got.hex(), "echo": echo.decode()}}, out)
sys.exit(7)
"""


@contextmanager
def stand_in() -> Iterator[RdpStandIn]:
    """The Windows instance's RDP port: a stand-in on 127.0.0.1, served from a thread of its own."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = RdpStandIn()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def active_sessions(emulator: RunningEmulator, target: str) -> list[str]:
    ssm = emulator.client("ssm", "prod", "us-east-1")
    sessions = ssm.describe_sessions(State="Active")["Sessions"]
    return [item["SessionId"] for item in sessions if item["Target"] == target]


def recorder(tmp_path: Path) -> Path:
    path = tmp_path / "rdp-recorder"
    path.write_text(RECORDER)
    path.chmod(0o755)
    return path


def test_rdp_runs_the_client_on_the_forward_and_ends_with_it(
    demo_env: RunningEmulator, tmp_path: Path
) -> None:
    """The client's argv names the local port; its bytes reach the RDP port and back; its status is rdp's."""
    client = recorder(tmp_path)
    with stand_in() as rdp_port:
        result = run_ssmux(
            "rdp", WIN, "--aws-profile", "prod", "--client", str(client), "--port", str(rdp_port.port)
        )
    assert result.returncode == 7, result.stderr
    seen = json.loads(Path(str(client) + ".json").read_text())
    port = int(seen["argv"][1].rsplit(":", 1)[1])
    assert seen["argv"] == [str(client), f"127.0.0.1:{port}"]
    assert port != rdp_port.port
    assert bytes.fromhex(seen["confirm"]) == CONNECTION_CONFIRM
    assert seen["echo"] == "after the handshake"
    assert rdp_port.requests == 1
    assert active_sessions(demo_env, WIN) == []  # the forward ended with the client


def test_the_emulators_windows_instance_serves_rdp_itself(demo_env: RunningEmulator, tmp_path: Path) -> None:
    """With no --port and no stand-in of the test's own, the demo's Windows instance answers on 3389 as an
    RDP server does (the emulator's stand-in), so `ssmux rdp win-ad` in `make demo` reaches something."""
    client = recorder(tmp_path)
    result = run_ssmux("rdp", WIN, "--aws-profile", "prod", "--client", str(client))
    assert result.returncode == 7, result.stderr
    seen = json.loads(Path(str(client) + ".json").read_text())
    assert bytes.fromhex(seen["confirm"]) == CONNECTION_CONFIRM
    assert seen["echo"] == "after the handshake"
    assert active_sessions(demo_env, WIN) == []


def test_password_is_decrypted_with_the_key_pair(demo_env: RunningEmulator, tmp_path: Path) -> None:
    """--password --key: GetPasswordData decrypted to the instance's password, printed before the client."""
    client = recorder(tmp_path)
    with stand_in() as rdp_port:
        result = run_ssmux(
            "rdp", WIN, "--aws-profile", "prod", "--client", str(client), "--port", str(rdp_port.port),
            "--password", "--key", str(KEY_FILE),
        )  # fmt: skip
    assert result.returncode == 7, result.stderr
    assert result.stdout.decode() == f"Administrator password: {administrator_password(WIN)}\n"
    assert administrator_password(WIN).encode() not in result.stderr


def test_password_with_the_wrong_key_says_so(demo_env: RunningEmulator, tmp_path: Path) -> None:
    """Another RSA key: one line naming the file and the fix, exit 1, no client started."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = tmp_path / "other.pem"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))  # fmt: skip
    client = recorder(tmp_path)
    result = run_ssmux(
        "rdp", WIN, "--aws-profile", "prod", "--client", str(client), "--password", "--key", str(other)
    )
    assert result.returncode == 1
    assert result.stderr.decode() == (
        f"ssmux: error: {other} does not decrypt this password: "
        "give the key pair the instance was launched with\n"
    )
    assert not Path(str(client) + ".json").exists()


def test_password_of_a_linux_instance_is_refused(demo_env: RunningEmulator, tmp_path: Path) -> None:
    """GetPasswordData of a Linux instance is empty: ssmux says there is none, in one line."""
    result = run_ssmux(
        "rdp", WEB1, "--aws-profile", "dev", "--client", "true", "--password", "--key", str(KEY_FILE)
    )
    assert result.returncode == 1
    assert result.stderr.decode().startswith(f"ssmux: error: EC2 has no password for {WEB1}: ")


def test_platform_clients() -> None:
    """mstsc, open -W rdp://, xfreerdp and remmina as each platform finds them; none found says what to do."""
    found = {"mstsc": "C:/Windows/System32/mstsc.exe", "open": "/usr/bin/open", "remmina": "/usr/bin/remmina"}
    which = found.get
    assert client_argv(5000, platform="win32", which=which) == [found["mstsc"], "/v:127.0.0.1:5000"]
    assert client_argv(5000, platform="darwin", which=which, user="Administrator") == [
        "/usr/bin/open", "-W", "rdp://full%20address=s:127.0.0.1:5000&username=s:Administrator"
    ]  # fmt: skip
    assert client_argv(5000, platform="linux", which=which) == [
        "/usr/bin/remmina",
        "-c",
        "rdp://127.0.0.1:5000",
    ]
    freerdp = {"xfreerdp": "/usr/bin/xfreerdp", **found}.get
    assert client_argv(5000, platform="linux", which=freerdp, user="Admin") == [
        "/usr/bin/xfreerdp", "/v:127.0.0.1:5000", "/u:Admin"
    ]  # fmt: skip
    from ssmux.errors import InvalidValue

    with pytest.raises(InvalidValue, match="no RDP client found"):
        client_argv(5000, platform="linux", which=lambda name: None)
