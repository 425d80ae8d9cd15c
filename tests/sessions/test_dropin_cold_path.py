"""What the drop-in's cold path imports: a real ``session-manager-plugin`` call, as the aws CLI makes it,
runs a shell on the emulator on a pty; by its end the process has imported none of what the session does not
need (no boto3, no botocore client, no click, no crypto for an unencrypted session, no agent)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pexpect

from tests.support.emulator import RunningEmulator

from .conftest import demo_instance

#: Runs the drop-in's entry point on argv, then writes the modules the process imported to the file in
#: SSMUX_TEST_MODULES.
DROPIN = """
import os, sys
from ssmux.cli.dropin import main
status = main(sys.argv[1:])
with open(os.environ["SSMUX_TEST_MODULES"], "w") as out:
    out.write("\\n".join(sorted(sys.modules)))
sys.exit(status)
"""

#: Modules (and their submodules) the drop-in must not import for a plain shell session.
NOT_IMPORTED = (
    "boto3",
    "cryptography",  # KMS encryption only for encrypted sessions
    "ssmux.protocol.crypto",
    "ssmux.protocol.agent",
    "ssmux.protocol.smux",
    "ssmux.sessions.backends",
    "ssmux.sync",
    "ssmux.core.store",
    "ssmux.cli.main",
    "click",
    "aiohttp",
)


def test_dropin_cold_path_imports_only_what_the_session_needs(
    demo_env: RunningEmulator, tmp_path: Path
) -> None:
    """The aws CLI's call of the plugin opens a shell on the emulator; the process never imported a botocore
    session or client, boto3, click, the crypto bindings, the agent side, the sync or the store."""
    target = demo_instance("web-1")
    response = demo_env.client("ssm", "dev").start_session(Target=target)
    response.pop("ResponseMetadata", None)
    listing = tmp_path / "modules.txt"
    env = {
        **os.environ,
        "AWS_SSM_START_SESSION_RESPONSE": json.dumps(response),
        "SSMUX_TEST_MODULES": str(listing),
        "TERM": "xterm",
    }
    endpoint = demo_env.client("ssm", "dev").meta.endpoint_url
    argv = ["-c", DROPIN, "AWS_SSM_START_SESSION_RESPONSE", "eu-central-1", "StartSession", "dev",
            json.dumps({"Target": target}), endpoint]  # fmt: skip
    child = pexpect.spawn(sys.executable, argv, env=env, timeout=60)
    try:
        child.expect(f"Starting session with SessionId: {response['SessionId']}")
        child.expect(r"web-1:~\$ ")
        child.sendline("echo cold-$((6*7))")
        child.expect("cold-42")
        child.sendline("exit")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
    finally:
        child.close(force=True)
    imported = listing.read_text().split()
    found = [
        name for name in imported if any(name == bad or name.startswith(bad + ".") for bad in NOT_IMPORTED)
    ]
    assert found == []
    assert "botocore.credentials" in imported  # the credentials did resolve through botocore
