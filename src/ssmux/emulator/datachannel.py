"""The emulator's data channel: a websocket server playing MGS and the SSM agent (spec §3, §10.2).

One :class:`DataChannelServer` runs in its own thread and event loop (the API side starts it). Every
connection at the StreamUrl (any path is accepted) goes through the same steps:

1. The upgrade request is checked by the :class:`~ssmux.emulator.gateway.Gateway` before the websocket
   exists: a known session, its current ``cell-number``, a SigV4 signature (or the gateway's own presigned
   URL). A refusal is an HTTP 403 with one line that says why.
2. Pings are answered by the websocket layer from the first byte on, so a client may ping before it sends
   its token (the plugin does, §3).
3. The first *text* frame must be the OpenDataChannelInput JSON with a TokenValue the registry knows
   (StartSession's, or the newest ResumeSession's). Anything else closes the connection (policy
   violation); ``ClientId``/``ClientVersion`` may be missing.
4. The connection is attached to the session's :class:`~ssmux.emulator.datachannel_session.SessionLink`,
   made when StartSession created the session (a registry listener, called on the API thread, hops into
   this loop): the agent's side starts before any client connects, as AWS's agent does. The link is kept
   across reconnects: sequence numbers, buffers, the agent and its pty survive a dropped websocket, and
   the agent stays paused until the client resumes.

``TerminateSession`` (a registry listener, called on the API thread) hops into this loop, sends
``channel_closed`` and ends the agent. :meth:`DataChannelServer.stop` ends every session and reaps every
process. One session's failure never touches the others: each link catches its own errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING

from ssmux.emulator.agents.base import REALISTIC, Pacing
from ssmux.emulator.faults import Faults
from ssmux.emulator.sessions import EmulatedSession, SessionRegistry, SessionStatus

if TYPE_CHECKING:
    from websockets.asyncio.server import Server, ServerConnection
    from websockets.http11 import Request, Response

    from ssmux.emulator.datachannel_session import SessionLink
    from ssmux.emulator.gateway import Gateway

log = logging.getLogger(__name__)

#: Seconds a new connection has to send its token message.
TOKEN_TIMEOUT = 30.0
#: Websocket close code for a refused token (RFC 6455 "policy violation").
CLOSE_POLICY_VIOLATION = 1008
#: Largest websocket message accepted; ClientMessages are ~1.2 KB, the token message a few hundred bytes.
MAX_MESSAGE = 1024 * 1024
#: Seconds a data channel (one websocket) lives before the service drops it and the client resumes: AWS
#: closes data channels about every 60 minutes (spec corrections 6).
CHANNEL_LIFETIME = 3600.0
#: Seconds without input from the client before a session is terminated: AWS's default idle session
#: timeout, 20 minutes (Session Manager preferences, "Specify an idle session timeout value").
IDLE_TIMEOUT = 20 * 60.0

FaultsSource = Faults | Callable[[EmulatedSession], Faults] | None


class DataChannelServer:
    """The websocket endpoint of every session's StreamUrl.

    Args:
        registry: the sessions StartSession created (shared with the API thread).
        faults: data-channel faults for every session; by default each session's own ``faults`` (the
            command line merged with its profile's). A callable picks them per session.
        host: address to listen on (loopback unless the caller explicitly allowed otherwise).
        port: port to listen on (0: the OS picks one).
        pacing: how agents read the output they relay: :data:`~ssmux.emulator.agents.base.REALISTIC` (the
            agent's 1 s first-output delay, 1 KiB reads, 1 ms between reads) or ``FAST``.
        channel_lifetime: seconds each websocket lives before the service drops it (the client resumes).
        idle_timeout: seconds without input from a client before its session is terminated.
        gateway: checks every upgrade and makes the StreamUrls; ``None`` accepts unsigned dials (only for
            in-process tests of the agents, never the emulator process).
    """

    def __init__(
        self,
        registry: SessionRegistry,
        faults: FaultsSource = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        pacing: Pacing = REALISTIC,
        channel_lifetime: float = CHANNEL_LIFETIME,
        idle_timeout: float = IDLE_TIMEOUT,
        gateway: Gateway | None = None,
    ) -> None:
        self.registry = registry
        self.gateway = gateway
        self.host = host
        self._requested_port = port
        self._faults = faults
        self.pacing = pacing
        self.channel_lifetime = channel_lifetime
        self.idle_timeout = idle_timeout
        self._server: Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._links: dict[str, SessionLink] = {}
        self._sequence = 0  # sessions seen so far, names each session's fault dice repeatably
        self._stopping = False

    # ------------------------------------------------------------------------------ lifetime

    async def start(self) -> None:
        """Listen on ``host`` (port 0 unless given) and subscribe to StartSession and TerminateSession."""
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
            process_request=self._check_upgrade,
        )
        self.registry.add_terminate_listener(self._on_terminated)
        self.registry.add_create_listener(self._on_created)

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._server is None:
            raise RuntimeError("the data channel server is not started")
        sockets = list(self._server.sockets)
        return int(sockets[0].getsockname()[1])

    def stream_url(self, session: EmulatedSession) -> str:
        """The StreamUrl StartSession (and ResumeSession) hands out for ``session``."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host  # noqa: S104 - a comparison
        if ":" in host:
            host = f"[{host}]"
        base = f"ws://{host}:{self.port}"
        if self.gateway is not None:
            return self.gateway.stream_url(base, session)
        from ssmux.emulator.gateway import plain_stream_url

        return plain_stream_url(base, session)

    async def stop(self) -> None:
        """Stop listening, end every session (channel_closed to connected clients), reap every process."""
        self._stopping = True
        if self._server is not None:
            self._server.close(close_connections=False)
        links = list(self._links.values())
        await asyncio.gather(*(link.terminate("") for link in links), return_exceptions=True)
        for link in links:
            link.part()  # sessions that ended before any client came: nobody will come now
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

    def _on_created(self, session: EmulatedSession) -> None:
        """StartSession made a session (API thread): start its agent side in this loop."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: the server is stopping
            loop.call_soon_threadsafe(self._link_for, session)

    def _link_for(self, session: EmulatedSession) -> SessionLink | None:
        """The session's link, made and opened (agent started) on first call; None once it has ended."""
        from ssmux.emulator.datachannel_session import SessionLink

        link = self._links.get(session.session_id)
        if link is not None or self._stopping or not session.active:
            return link
        self._sequence += 1
        link = SessionLink(
            session,
            self,
            faults=self.faults_for(session),
            dice_name=f"datachannel-{self._sequence}",
            pacing=self.pacing,
            channel_lifetime=self.channel_lifetime,
            idle_timeout=self.idle_timeout,
        )
        self._links[session.session_id] = link
        try:
            link.open()
        except Exception:  # one broken session must not take the server down
            log.exception("session %s: the agent side did not start", session.session_id)
            link.spawn_terminate("internal error of the emulator", SessionStatus.FAILED)
        return link

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

    def _check_upgrade(self, ws: ServerConnection, request: Request) -> Response | None:
        """Refuse an upgrade the gateway would refuse: HTTP 403 with the reason, before any websocket."""
        if self.gateway is None:
            return None
        from ssmux.emulator.gateway import Refused

        try:
            self.gateway.check_upgrade(request.path, dict(request.headers.raw_items()))
        except Refused as refusal:
            log.info("upgrade refused: %s", refusal)
            return ws.respond(HTTPStatus.FORBIDDEN, f"{refusal}\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
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
        link = self._link_for(session)  # made at StartSession already; here only if this hello won the race
        if link is None:
            await ws.close(CLOSE_POLICY_VIOLATION, "unknown or expired token")
            return
        try:
            await link.attach(ws, hello)
        except Exception:  # one broken session must not take the server down
            log.exception("session %s: data channel failed", session.session_id)
            await link.terminate("internal error of the emulator")
