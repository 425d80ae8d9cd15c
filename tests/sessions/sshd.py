"""A small sshd for the ssh tests: asyncssh on 127.0.0.1 port 0, in a thread of its own, running commands.

It stands for the target's sshd. Users log in with a public key that is either in its fixed authorized list or
handed out by ``authorized_keys(user)`` (what an ``AuthorizedKeysCommand`` prints: the EC2 Instance Connect
tests answer it from the emulator's instance metadata). A command runs as ``sh -c`` with its stdout, stderr
and exit status passed back; a login without one gets none (the tests always send a command).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

#: Seconds a test command may run on the server.
COMMAND_TIMEOUT = 20.0


@dataclass
class Sshd:
    """A running server: its port, its host key's public line, and who logged in (for the assertions)."""

    port: int
    host_key: str
    logins: list[str] = field(default_factory=list)


def make_key(path: Path) -> str:
    """An Ed25519 key pair at ``path`` and ``path.pub`` (mode 0600, as ssh wants); its public line."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(str(path))
    path.chmod(0o600)
    public = key.export_public_key().decode().strip()
    path.with_name(path.name + ".pub").write_text(public + "\n")
    return public


@contextmanager
def run_sshd(
    authorized: tuple[str, ...] = (),
    authorized_keys: Callable[[str], list[str]] | None = None,
) -> Iterator[Sshd]:
    """Serve until the block ends; ``authorized``: public key lines that may log in as anyone."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    logins: list[str] = []

    def keys_for(user: str) -> list[Any]:
        lines = list(authorized) + (authorized_keys(user) if authorized_keys else [])
        return [asyncssh.import_public_key(line) for line in lines]

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            self.username = username
            return True

        def auth_completed(self) -> None:
            logins.append(self.username)

        def public_key_auth_supported(self) -> bool:
            return True

        def validate_public_key(self, username: str, key: Any) -> bool:
            return any(key == known for known in keys_for(username))

    async def handle(process: Any) -> None:
        try:
            child = await asyncio.create_subprocess_shell(
                process.command or "true",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(child.communicate(), COMMAND_TIMEOUT)
            process.stdout.write(out)
            process.stderr.write(err)
            process.exit(child.returncode or 0)
        except Exception:  # a failed command must not leave the client waiting
            process.exit(255)

    async def start() -> Any:
        return await asyncssh.create_server(
            Server, "127.0.0.1", 0, server_host_keys=[host_key], process_factory=handle, encoding=None
        )

    server = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    port = server.sockets[0].getsockname()[1]
    public = host_key.export_public_key().decode().strip()
    try:
        yield Sshd(port, public, logins)
    finally:

        async def stop() -> None:
            server.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
