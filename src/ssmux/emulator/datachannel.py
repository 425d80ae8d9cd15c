"""The emulator's data channel: a websocket server playing MGS and the SSM agent (spec §3, §10.2).

One :class:`DataChannelServer` runs in its own thread and event loop (the API side starts it). Every
connection at the StreamUrl (any path is accepted) goes through the same steps:

1. Pings are answered by the websocket layer from the first byte on, so a client may ping before it sends
   its token (the plugin does, §3).
2. The first *text* frame must be the OpenDataChannelInput JSON with a TokenValue the registry knows
   (StartSession's, or the newest ResumeSession's). Anything else closes the connection (policy
   violation); ``ClientId``/``ClientVersion`` may be missing.
3. The connection is attached to the session's :class:`~ssmux.emulator.datachannel_session.SessionLink`,
   made on first contact and kept across reconnects: sequence numbers, buffers, the agent and its pty
   survive a dropped websocket, and the agent stays paused until the client resumes.

``TerminateSession`` (a registry listener, called on the API thread) hops into this loop, sends
``channel_closed`` and ends the agent. :meth:`DataChannelServer.stop` ends every session and reaps every
process. One session's failure never touches the others: each link catches its own errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ssmux.emulator.faults import Faults
from ssmux.emulator.sessions import EmulatedSession, SessionRegistry, SessionStatus

if TYPE_CHECKING:
    from websockets.asyncio.server import Server, ServerConnection

    from ssmux.emulator.datachannel_session import SessionLink

log = logging.getLogger(__name__)

#: Seconds a new connection has to send its token message.
TOKEN_TIMEOUT = 30.0
#: Websocket close code for a refused token (RFC 6455 "policy violation").
CLOSE_POLICY_VIOLATION = 1008
#: Largest websocket message accepted; ClientMessages are ~1.2 KB, the token message a few hundred bytes.
MAX_MESSAGE = 1024 * 1024

FaultsSource = Faults | Callable[[EmulatedSession], Faults] | None


class DataChannelServer:
    """The websocket endpoint of every session's StreamUrl.

    Args:
        registry: the sessions StartSession created (shared with the API thread).
        faults: data-channel faults for every session; by default each session's own ``faults`` (the
            command line merged with its profile's). A callable picks them per session.
        host: address to listen on (loopback unless the caller explicitly allowed otherwise).
        port: port to listen on (0: the OS picks one).
        output_start_delay: seconds a shell agent waits before reading its pty (the real agent: 1 s).
    """

    def __init__(
        self,
        registry: SessionRegistry,
        faults: FaultsSource = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        output_start_delay: float | None = None,
    ) -> None:
        self.registry = registry
        self.host = host
        self._requested_port = port
        self._faults = faults
        self.output_start_delay = output_start_delay
        self._server: Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._links: dict[str, SessionLink] = {}
        self._sequence = 0  # sessions seen so far, names each session's fault dice repeatably
        self._stopping = False

    # ------------------------------------------------------------------------------ lifetime

    async def start(self) -> None:
        """Listen on ``host`` (port 0 unless given) and subscribe to TerminateSession."""
        from websockets.asyncio.server import serve

        self._loop = asyncio.get_running_loop()
        self._server = await serve(
            self._handle,
            self.host,
            self._requested_port,
            compression=None,  # the plugin negotiates none; keep frames as MGS sends them
            ping_interval=None,  # MGS does not ping; clients ping us (answered automatically)
            max_size=MAX_MESSAGE,
            server_header=None,
            logger=log,
        )
        self.registry.add_terminate_listener(self._on_terminated)

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._server is None:
            raise RuntimeError("the data channel server is not started")
        sockets = list(self._server.sockets)
        return int(sockets[0].getsockname()[1])

    def stream_url(self, session_id: str) -> str:
        """The StreamUrl StartSession hands out for ``session_id``."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host  # noqa: S104 - a comparison
        if ":" in host:
            host = f"[{host}]"
        return f"ws://{host}:{self.port}/v1/data-channel/{session_id}?role=publish_subscribe"

    async def stop(self) -> None:
        """Stop listening, end every session (channel_closed to connected clients), reap every process."""
        self._stopping = True
        if self._server is not None:
            self._server.close(close_connections=False)
        links = list(self._links.values())
        await asyncio.gather(*(link.terminate("") for link in links), return_exceptions=True)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    def terminate(self, session_id: str) -> None:
        """End a session now (thread-safe): channel_closed to the client, agent ended, pty reaped."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: stop() already ended it
            loop.call_soon_threadsafe(self._terminate_soon, session_id)

    @property
    def links(self) -> dict[str, SessionLink]:
        """Live session links by session id (for tests and the bench)."""
        return self._links

    # ------------------------------------------------------------------------------ internals

    def _on_terminated(self, session: EmulatedSession) -> None:
        self.terminate(session.session_id)

    def _terminate_soon(self, session_id: str) -> None:
        link = self._links.get(session_id)
        if link is not None:
            link.spawn_terminate("")

    def faults_for(self, session: EmulatedSession) -> Faults:
        """The data-channel faults of ``session``."""
        if self._faults is None:
            return session.faults
        if isinstance(self._faults, Faults):
            return self._faults
        return self._faults(session)

    def forget(self, session_id: str) -> None:
        """Called by a link once its session has ended."""
        self._links.pop(session_id, None)

    async def _handle(self, ws: ServerConnection) -> None:
        from ssmux.emulator.datachannel_session import SessionLink
        from ssmux.protocol.errors import ProtocolError
        from ssmux.protocol.payloads import OpenDataChannelInput

        try:
            first = await asyncio.wait_for(ws.recv(), TOKEN_TIMEOUT)
        except TimeoutError:
            await ws.close(CLOSE_POLICY_VIOLATION, "no token message")
            return
        except Exception:  # the client went away before saying hello
            return
        if not isinstance(first, str):
            await ws.close(CLOSE_POLICY_VIOLATION, "the first message must be the token (text)")
            return
        try:
            hello = OpenDataChannelInput.from_text(first)
        except ProtocolError:
            await ws.close(CLOSE_POLICY_VIOLATION, "the first message is not a valid token message")
            return
        session = self.registry.by_token(hello.token_value)
        if session is None or self._stopping:
            await ws.close(CLOSE_POLICY_VIOLATION, "unknown or expired token")
            return
        link = self._links.get(session.session_id)
        if link is None:
            self._sequence += 1
            faults = self.faults_for(session)
            link = SessionLink(
                session,
                self,
                faults=faults,
                dice_name=f"datachannel-{self._sequence}",
                output_start_delay=self.output_start_delay,
            )
            self._links[session.session_id] = link
        self.registry.set_status(session.session_id, SessionStatus.CONNECTED)
        try:
            await link.attach(ws, hello)
        except Exception:  # one broken session must not take the server down
            log.exception("session %s: data channel failed", session.session_id)
            await link.terminate("internal error of the emulator")
