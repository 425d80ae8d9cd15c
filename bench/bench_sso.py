"""IAM Identity Center discovery: every account and role of a 300-account organization, 3 roles each.

The emulator's portal (``ssmux.emulator.sso.IdentityCenter``) runs behind a threaded HTTP server on 127.0.0.1
with 100 ms added to every call, about what the portal takes from a laptop. ``ssmux.sso.discover`` lists the
accounts (20 a page, one page after another) and then the roles of every account at once (16 threads): its
floor is the account pages in sequence plus the role calls spread over the threads. The peer is the loop a
user would write with the aws CLI (``aws sso list-account-roles`` per account), run for 10 accounts and
scaled to 300. Figures only, never assertions.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

ACCOUNTS = 300
ROLES = ("AdministratorAccess", "ReadOnlyAccess", "Developer")
LATENCY = 0.100
CLI_SAMPLE = 10
START_URL = "https://d-bench000000.awsapps.com/start"
REGION = "us-east-1"


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def portal() -> Iterator[str]:
    from ssmux.emulator.sso import IdentityCenter, RoleGrant, SsoAccount, SsoDirectory

    accounts = tuple(
        SsoAccount(f"{n:012d}", f"team-{n:03d}", f"team-{n}@example.com") for n in range(ACCOUNTS)
    )
    grants = tuple(
        RoleGrant(a.account_id, role, f"ASIA{a.account_id}{i:04d}", "secret")
        for a in accounts
        for i, role in enumerate(ROLES)
    )
    center = IdentityCenter(SsoDirectory(START_URL, REGION, accounts, grants))

    def slow(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        time.sleep(LATENCY)
        return center(environ, start_response)

    server = make_server("127.0.0.1", 0, slow, server_class=_Server, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def client(name: str, url: str) -> Any:
    import botocore.session
    from botocore import UNSIGNED
    from botocore.config import Config

    config = Config(signature_version=UNSIGNED, max_pool_connections=32)
    return botocore.session.Session().create_client(name, region_name=REGION, endpoint_url=url, config=config)


def main() -> None:
    from ssmux.sso.discover import WORKERS, discover
    from ssmux.sso.login import DeviceLogin, SsoTarget
    from ssmux.sso.tokens import TokenCache

    target = SsoTarget(START_URL, REGION)
    with portal() as url, tempfile.TemporaryDirectory() as cache:
        token = DeviceLogin(client("sso-oidc", url), target, TokenCache(Path(cache))).login(lambda a: None)
        sso = client("sso", url)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        found = discover(sso, token, target)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        pages = -(-ACCOUNTS // 20)
        floor = (pages + -(-ACCOUNTS // WORKERS)) * LATENCY
        print(
            f"discovery: {len(found.accounts())} accounts, {len(found.roles)} roles in {wall:.2f} s wall, "
            f"{cpu:.2f} s CPU (floor {floor:.2f} s: {pages} account pages in sequence + {ACCOUNTS} role "
            f"calls over {WORKERS} threads at {LATENCY * 1000:.0f} ms; {wall / floor:.2f}x the floor; "
            "target < 5 s)",
            flush=True,
        )
        print(
            f"  peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )
        env = {**os.environ, "AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
        started = time.perf_counter()
        for account_id, _ in found.accounts()[:CLI_SAMPLE]:
            subprocess.run(
                [sys.executable, "-m", "awscli", "sso", "list-account-roles", "--account-id", account_id,
                 "--access-token", token.access_token, "--region", REGION, "--output", "json"],
                env=env, capture_output=True, check=True,
            )  # fmt: skip
        per_account = (time.perf_counter() - started) / CLI_SAMPLE
        loop = per_account * ACCOUNTS
        print(
            f"aws CLI loop (`aws sso list-account-roles` per account, {CLI_SAMPLE} run, scaled to "
            f"{ACCOUNTS}): "
            f"{per_account:.2f} s per account, {loop:.0f} s in all = {loop / wall:.0f}x ssmux's discovery"
        )
