"""``ssmux rdp``: a Windows instance's RDP port forwarded to a free local port, and the RDP client on it.

The forward is the app's :class:`~ssmux.sessions.launch.PortForward` (the native client, smux when the agent
has it: the RDP client may open several connections); the client is started once the local port listens,
as an argv list, and the forward ends when the client exits (or the user interrupts: the client is then
ended too). Which client, per platform (:func:`client_argv`):

=========  ==========================================================================================
Windows    ``mstsc /v:127.0.0.1:PORT``
macOS      ``open -W rdp://full%20address=s:127.0.0.1:PORT`` (Microsoft Remote Desktop / Windows App;
           ``-W`` waits for the app to quit, or the forward would end at once)
Linux      the first found of ``xfreerdp3``, ``xfreerdp`` (``/v:127.0.0.1:PORT``) and ``remmina``
           (``-c rdp://127.0.0.1:PORT``)
=========  ==========================================================================================

``--client PATH`` picks another: one of those names (any folder) is given its own arguments; any other
program gets ``127.0.0.1:PORT`` as its one argument. No password ever goes on a command line, where other
users of the machine could read it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ssmux.errors import InvalidValue, SessionError

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients
    from ssmux.sessions.backends import SessionRequest

RDP_PORT = 3389
LOCAL_HOST = "127.0.0.1"
LINUX_CLIENTS = ("xfreerdp3", "xfreerdp", "remmina")
#: Seconds the client may take to end after the forward asked it to.
CLIENT_STOP_TIMEOUT = 5.0


def client_argv(
    port: int,
    *,
    override: str | None = None,
    user: str | None = None,
    platform: str = sys.platform,
    which: Callable[[str], str | None] = shutil.which,
) -> list[str]:
    """The RDP client's argv for ``127.0.0.1:port`` (see the module's table).

    Raises:
        InvalidValue: ``override`` is not an executable, or no client of the platform is installed.
    """
    if override is not None:
        found = which(override)
        if found is None:
            raise InvalidValue(
                f"RDP client {override} is not found or not executable: give the path of an RDP client"
            )
        return _arguments(found, Path(override).stem.lower(), port, user)
    if platform == "win32":
        return _arguments(which("mstsc") or "mstsc", "mstsc", port, user)
    if platform == "darwin":
        return _arguments(which("open") or "/usr/bin/open", "open", port, user)
    for name in LINUX_CLIENTS:
        found = which(name)
        if found is not None:
            return _arguments(found, name, port, user)
    raise InvalidValue(
        "no RDP client found (xfreerdp3, xfreerdp, remmina): install one (apt install freerdp2-x11), "
        "or give it with --client"
    )


def _arguments(path: str, kind: str, port: int, user: str | None) -> list[str]:
    address = f"{LOCAL_HOST}:{port}"
    if kind == "mstsc":
        return [path, f"/v:{address}"]  # mstsc takes no user name; it asks
    if kind == "open":
        url = f"rdp://full%20address=s:{address}"
        return [path, "-W", url + (f"&username=s:{user}" if user else "")]
    if kind in ("xfreerdp", "xfreerdp3", "sdl-freerdp", "wlfreerdp"):
        return [path, f"/v:{address}", *([f"/u:{user}"] if user else [])]
    if kind == "remmina":
        return [path, "-c", f"rdp://{user + '@' if user else ''}{address}"]
    return [path, address]


class ForwardLines:
    """The forward's frontend: keeps the plugin-style lines (for an error) and says when anything changed."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.changes = asyncio.Event()

    def write(self, text: str) -> int:
        self.lines.append(text)
        del self.lines[:-20]  # the last few are all an error message needs
        return len(text)

    def flush(self) -> None:
        """Nothing buffered."""

    def changed(self) -> None:
        self.changes.set()


@dataclass(frozen=True)
class RdpResult:
    """How an RDP run ended: the client's exit status, and the local port it was given."""

    exit_code: int
    port: int


async def run_rdp(
    request: SessionRequest,
    argv_for: Callable[[int], Sequence[str]],
    *,
    clients: AwsClients | None = None,
    started: Callable[[int, Sequence[str]], None] | None = None,
) -> RdpResult:
    """Forward ``request``'s port, start the client (``argv_for(local_port)``), and run until it exits.

    ``started(port, argv)`` is told once the client runs. The forward's session is ended on every way out.

    Raises:
        SessionError: the forward failed before the client could start, or the client could not be run.
        SsmuxError: from ``argv_for`` (no client found).
    """
    from ssmux.sessions.launch import ForwardState, PortForward

    lines = ForwardLines()
    forward = PortForward(request, lines, local_port=0, clients=clients)
    running = asyncio.ensure_future(forward.run())
    client: asyncio.subprocess.Process | None = None
    try:
        while forward.state is ForwardState.STARTING and not running.done():
            lines.changes.clear()
            await asyncio.wait([running, asyncio.ensure_future(lines.changes.wait())],
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        port = forward.port
        if forward.state is not ForwardState.LISTENING or port is None:
            raise SessionError(forward.message or "the port session ended before it listened")
        argv = list(argv_for(port))
        try:
            client = await asyncio.create_subprocess_exec(*argv)
        except OSError as error:
            raise SessionError(
                f"cannot run {argv[0]}: {error.strerror}: give an RDP client with --client"
            ) from None
        if started is not None:
            started(port, argv)
        return RdpResult(await client.wait(), port)
    finally:
        if client is not None and client.returncode is None:
            await _end(client)
        await forward.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(running, CLIENT_STOP_TIMEOUT)


async def _end(process: asyncio.subprocess.Process) -> None:
    """End the client (interrupted): asked first, then killed; always reaped."""
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        await asyncio.wait_for(process.wait(), CLIENT_STOP_TIMEOUT)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
