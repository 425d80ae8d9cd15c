"""`ssmux ssh --push-key`: EC2 Instance Connect makes the key good for 60 seconds, and only then (issue 14).

The target's sshd (asyncssh) asks the emulator's instance metadata for the pushed keys, as
``eic_run_authorized_keys`` asks IMDS, and keeps the unexpired ones by its own clock, which the test moves.
"""

from __future__ import annotations

import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ssmux.emulator.instance_connect import KEY_LIFETIME, parse_active_keys
from tests.sessions.conftest import demo_instance, run_ssmux
from tests.sessions.sshd import make_key, run_sshd
from tests.sessions.test_ssh_e2e import ssh_options
from tests.support.emulator import RunningEmulator

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("ssh") is None, reason="needs OpenSSH's client (apt install openssh-client)"
    ),
]

WEB1 = demo_instance("web-1")
WORKER = demo_instance("worker-1")  # stopped


def metadata(emulator: RunningEmulator, instance_id: str, user: str) -> str:
    """The instance's active-keys document, as eic_curl_authorized_keys fetches it ("" for a 404)."""
    url = (
        f"{emulator.endpoint}/_instances/{instance_id}/latest/meta-data/managed-ssh-keys/active-keys/{user}/"
    )
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return str(answer.read().decode())
    except urllib.error.HTTPError as error:
        assert error.code == 404
        return ""


def test_pushed_key_logs_in_within_the_window_only(demo_env: RunningEmulator, tmp_path: Path) -> None:
    """Refused before the push; accepted after it; refused once the sshd's clock is past the 60 s."""
    make_key(tmp_path / "id_ed25519")
    skew = [0.0]  # the sshd's clock: real time plus this

    def authorized_keys(user: str) -> list[str]:
        return parse_active_keys(metadata(demo_env, WEB1, user), WEB1, time.time() + skew[0])

    with run_sshd(authorized_keys=authorized_keys) as sshd:
        options = ["-i", str(tmp_path / "id_ed25519"), *ssh_options(tmp_path, sshd.port, sshd.host_key)]
        before = run_ssmux(
            "ssh", "--aws-profile", "dev", f"pushed-{tmp_path.name[-6:]}@{WEB1}", *options, "echo ok"
        )
        assert before.returncode == 255 and b"Permission denied" in before.stderr

        user = "ec2-user"
        pushed_at = time.time()
        pushed = run_ssmux(
            "ssh", "--aws-profile", "dev", "--push-key", "--public-key", str(tmp_path / "id_ed25519.pub"),
            f"{user}@{WEB1}", *options, "echo ok",
        )  # fmt: skip
        assert (pushed.returncode, pushed.stdout) == (0, b"ok\n"), pushed.stderr
        document = metadata(demo_env, WEB1, user)
        expiry = int(document.split("#Timestamp=")[1].split()[0])
        assert pushed_at + KEY_LIFETIME - 1 <= expiry <= time.time() + KEY_LIFETIME
        assert (tmp_path / "id_ed25519.pub").read_text().split()[1] in document

        skew[0] = expiry - time.time() + 1  # the sshd now lives one second after the key's expiry
        late = run_ssmux("ssh", "--aws-profile", "dev", f"{user}@{WEB1}", *options, "echo ok")
        assert late.returncode == 255 and b"Permission denied" in late.stderr
    assert sshd.logins == [user]


def test_push_key_needs_the_os_user(demo_env: RunningEmulator, tmp_path: Path) -> None:
    """--push-key without USER@: one line saying how to give it, exit 1."""
    make_key(tmp_path / "id_ed25519")
    result = run_ssmux(
        "ssh", "--aws-profile", "dev", "--public-key", str(tmp_path / "id_ed25519"), WEB1, "true"
    )
    assert result.returncode == 1
    assert result.stderr.decode() == (
        "ssmux: error: --push-key needs the OS user the key is for: ssmux ssh --push-key ec2-user@TARGET\n"
    )


def test_push_key_to_a_stopped_instance_is_refused(demo_env: RunningEmulator, tmp_path: Path) -> None:
    """EC2 Instance Connect refuses a stopped instance: ssmux says so in one line and runs no ssh."""
    make_key(tmp_path / "id_ed25519")
    result = run_ssmux(
        "ssh", "--aws-profile", "dev", "--push-key", "--public-key", str(tmp_path / "id_ed25519.pub"),
        "--ssh", "/bin/false", f"ec2-user@{WORKER}", "true",
    )  # fmt: skip
    assert result.returncode == 1
    line = result.stderr.decode().splitlines()[-1]
    assert line.startswith("ssmux: error: ") and "not in a valid state" in line, result.stderr
