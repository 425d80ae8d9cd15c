"""One session's life on the data channel: protocol state, agent, websocket, faults (spec §5, §6, §10).

A :class:`SessionLink` is made when StartSession creates the session and lives until the session ends. It
plays both the agent's data channel and MGS's side of the client's websocket. It owns the protocol's
:class:`~ssmux.protocol.agent.AgentSession` (sequence numbers, acks, outgoing and reorder buffers,
handshake, encryption) and the agent plugin (pty, command, port), so both survive a dropped websocket.

The agent starts first. As soon as the session exists, :meth:`SessionLink.open` sends the HandshakeRequest
or starts the shell, and the resend timer runs: the agent opens its data channel when the service hands it
the session, before any client (agent ``agent/session/plugins/sessionplugin/sessionplugin.go``
``Execute``; ``datachannel.go`` ``NewDataChannel`` starts ``ResendStreamDataMessageScheduler``). What the
agent sends before the client's first connection is kept by the gateway and delivered when it connects,
resends included, so the client may get several copies of the first messages.

Reliability follows the agent's ``datachannel.go``: every 100 ms (``ResendSleepInterval``) the oldest
unacked message is resent if it was last sent more than the RTO ago (200 ms at first, from the acks'
round-trip times after, at most 1 s); there is no window of unacked messages, only the agent's
100 000-message buffer (``OutgoingMessageBufferCapacity``; when it is full a new message is sent but not
kept, ``AddDataToOutgoingMessageBuffer``). When the client's websocket drops, MGS pauses the agent
(``pause_publication``): its pumps stop reading (``IsActive``) and it stops resending. When the client is
back, the agent just takes up again: what was lost is resent only by the timer, oldest first, one message
per tick (``Reconnect`` and ``handleStartPublicationMessage`` only clear ``Pause``).

Flow: an agent may read more output while the channel is not paused and its last message has been
written to the socket (the agent's websocket write is synchronous: ``SendStreamDataMessage`` blocks in
``SendMessage``). Three tasks drive a link: the websocket reader (one per connection), a writer that sends
whatever the protocol queued (one per link, so frames leave in order), and the 100 ms resend ticker.

Ending (spec corrections 6; agent ``shell.go`` ``executeCommandsWithPty``):

* the agent finishes (shell exited, command done): :meth:`SessionLink.finish` waits up to 2 s for acks
  (``PrepareToCloseChannel``), then sends ``agent_session_state`` Terminating to the gateway, which keeps it
  (the client never sees it), sends ``channel_closed`` and drops the client's socket;
* a port plugin ends on the client's TerminateSession flag: :meth:`SessionLink.hang_up`, the same wait, then
  the agent closes its channel and the gateway drops the client's socket, with no ``channel_closed``;
* TerminateSession, the idle timeout, a failed handshake or the server stopping: :meth:`SessionLink.terminate`
  sends ``channel_closed`` at once, drops the socket and stops the agent (a shell is SIGKILLed).

Nothing is sent after ``channel_closed`` and no websocket close frame is ever sent: the agent's
``websocketutil.go`` ``CloseConnection`` calls gorilla's ``Close``, which closes the network connection
without one.

The service side: a data channel (one websocket) is closed after ``channel_lifetime`` seconds (AWS closes
them about every 60 minutes; the client resumes), and a session with no input from the client for
``idle_timeout`` seconds is terminated (AWS Session Manager preferences, "Specify an idle session timeout
value": 20 minutes by default; keys, resizes and reconnections reset the timer).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import deque
from typing import TYPE_CHECKING, Any

from ssmux.emulator.agents import REALISTIC, Agent, Pacing, create_agent
from ssmux.emulator.agents.kms import MotoKms
from ssmux.emulator.datachannel import CHANNEL_LIFETIME, IDLE_TIMEOUT
from ssmux.emulator.datachannel_faults import DropCounter, FrameMangler
from ssmux.emulator.faults import Faults
from ssmux.emulator.sessions import EmulatedSession, SessionStatus
from ssmux.errors import SessionError
from ssmux.protocol.agent import (
    AgentSession,
    FlagReceived,
    HandshakeDone,
    HandshakeFailed,
    Input,
    Resize,
)
from ssmux.protocol.channel import RESEND_INTERVAL
from ssmux.protocol.errors import ProtocolError
from ssmux.protocol.handshake import SessionType
from ssmux.protocol.messages import (
    ACK_FLAGS,
    MESSAGE_TYPE_LENGTH,
    MESSAGE_TYPE_OFFSET,
    ClientMessage,
    MessageType,
    PayloadType,
    PortFlag,
)
from ssmux.protocol.payloads import AGENT_SESSION_TERMINATING as TERMINATING
from ssmux.protocol.payloads import AgentSessionState

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from ssmux.emulator.datachannel import DataChannelServer
    from ssmux.protocol.payloads import OpenDataChannelInput

log = logging.getLogger(__name__)

#: How long a finished agent waits for its messages to be acked (``PrepareToCloseChannel``: 2 s in all,
#: checking every 10 ms); what is still unacked then is lost, as on AWS.
DRAIN_TIMEOUT = 2.0
DRAIN_POLL = 0.01
#: channel_closed ``Output`` after the idle timeout. AWS's exact wording is not in the sources read; the
#: plugin prints any non-empty Output as ``SessionId: <id> : <Output>``.
IDLE_TIMEOUT_OUTPUT = "Your session timed out due to inactivity and has been terminated."
#: Frames the gateway keeps for a client that has not connected yet (MGS's own bound is unknown; this is
#: the agent's buffer size, so the gateway never holds more than the agent could resend).
EARLY_FRAMES_LIMIT = 100_000
#: Seconds the gateway keeps a session that ended before any client connected (its channel_closed, with
#: the reason, waits for the first connection; MGS's own bound is unknown).
PARTING_TIMEOUT = 60.0
#: Seconds to send what is queued and channel_closed to a client before dropping it anyway.
GOODBYE_TIMEOUT = 3.0
#: Seconds an agent gets to stop (kill and reap its processes, close its sockets).
AGENT_STOP_TIMEOUT = 10.0
#: MessageType field of a client's stream data (bytes 4..36 of a ClientMessage, padded), spec §4.
_TYPE_FIELD = slice(MESSAGE_TYPE_OFFSET, MESSAGE_TYPE_OFFSET + MESSAGE_TYPE_LENGTH)
_INPUT_STREAM_DATA = MessageType.INPUT_STREAM_DATA.value.encode()


def preferred_idle_timeout(session: EmulatedSession) -> float | None:
    """The account's ``idleSessionTimeout`` preference in seconds (it is in minutes, 1 to 60), or None."""
    value = str(session.preferences.get("idleSessionTimeout") or "").strip()
    if not value.isdigit() or not 1 <= int(value) <= 60:
        return None
    return int(value) * 60.0


class SessionLink:
    """Everything of one session on the data-channel side; see the module docstring.

    Args:
        session: the registry's session.
        server: the data channel server (to forget the link when it ends).
        faults: data-channel faults for this session.
        dice_name: names this session's random streams (repeatable runs).
        pacing: how the agent reads the output it relays (default: the real agent's timing).
        channel_lifetime: seconds each websocket lives before the service drops it (the client resumes).
        idle_timeout: seconds without input from the client before the session is terminated, unless the
            account's preferences set ``idleSessionTimeout`` (minutes).
    """

    def __init__(
        self,
        session: EmulatedSession,
        server: DataChannelServer,
        *,
        faults: Faults,
        dice_name: str,
        pacing: Pacing = REALISTIC,
        channel_lifetime: float = CHANNEL_LIFETIME,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        self.session = session
        self.server = server
        self.faults = faults
        self.pacing = pacing
        self.channel_lifetime = channel_lifetime
        self.idle_timeout = preferred_idle_timeout(session) or idle_timeout
        self.protocol: AgentSession | None = None
        self.agent: Agent | None = None
        self.ws: ServerConnection | None = None
        self.connections = 0
        #: ``agent_session_state`` values the agent sent; the gateway keeps them, the client never sees them.
        self.agent_states: list[str] = []
        self._early: deque[bytes] = deque()  # what the agent sent before the client's first connection
        self._out = FrameMangler(faults, faults.dice(f"{dice_name}:out"))
        self._in = FrameMangler(faults, faults.dice(f"{dice_name}:in"))
        self._drops = DropCounter(faults.drop_after)
        self._wake = asyncio.Event()
        self._send_lock = asyncio.Lock()  # one sender at a time, so frames leave in the order queued
        self._can_write = asyncio.Event()
        self._unwritten = False  # agent output queued that the writer has not taken yet
        self._writing = False  # the writer is writing a batch to the socket
        self._release_held = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._finishing = False
        self._ended = False
        self._ended_event = asyncio.Event()
        self._last_input = time.monotonic()
        self._idle: asyncio.TimerHandle | None = None
        self._lifetime: asyncio.TimerHandle | None = None
        self._parting: asyncio.TimerHandle | None = None  # ended, channel_closed kept for a first connection
        self._parting_status = SessionStatus.TERMINATED

    @property
    def ended(self) -> bool:
        """True once the session is over (channel_closed sent or due)."""
        return self._ended

    async def wait_ended(self) -> None:
        """Return once the session has ended and its agent is stopped."""
        await self._ended_event.wait()

    # ------------------------------------------------------------------------ connections

    def open(self) -> None:
        """Start the agent's side now (StartSession): HandshakeRequest or shell, resend timer, idle timer."""
        session = self.session
        now = time.monotonic()
        kms = None
        if session.kms_key_id and session.session_type != SessionType.PORT:
            kms = MotoKms(session.account_id, session.region, session.kms_key_id)
        # No ClientVersion yet: the agent learns it from the HandshakeResponse, never from the client's token.
        self.protocol = AgentSession(
            session_id=session.session_id,
            target=session.target,
            session_type=str(session.session_type),
            properties=dict(session.properties) if session.properties is not None else None,
            agent_version=session.agent_version,
            kms=kms,
            now=now,
        )
        # "Handler not ready" until the agent exists: client data is not acked, so it is resent (§5.2).
        self.protocol.ready = False
        self._last_input = now
        self._spawn(self._writer(), "writer")
        self._spawn(self._ticker(), "ticker")
        self._idle = asyncio.get_running_loop().call_later(self.idle_timeout, self._check_idle)
        if self.protocol.established:  # legacy shell: no handshake, the agent starts now (§6.1)
            self._spawn(self._start_agent(), "start-agent")
        self._update_writable()
        self._wake.set()

    async def attach(self, ws: ServerConnection, hello: OpenDataChannelInput) -> None:
        """Serve ``ws`` for this session until it closes (first connection or a resume)."""
        protocol = self.protocol
        if self._ended or protocol is None:
            if self._parting is not None:
                await self._deliver_parting(ws)
            else:
                ws.transport.abort()
            return
        self.server.registry.set_status(self.session.session_id, SessionStatus.CONNECTED)
        previous, self.ws = self.ws, ws
        if previous is not None:
            previous.transport.abort()  # replaced by a resume: the old socket is dead to us
        self.connections += 1
        log.debug("session %s: connection %d, client %s", self.session.session_id, self.connections,
                  hello.client_id or "(no ClientId)")  # fmt: skip
        self._drops.reset()
        now = time.monotonic()
        self._last_input = now  # a reconnection (ResumeSession) resets the idle timer, AWS's docs say
        if protocol.paused:
            # MGS's start_publication: the agent clears Pause and nothing else; what the client missed is
            # resent only by the timer (datachannel.go handleStartPublicationMessage, Reconnect).
            protocol.resume(now)
        self._cancel_lifetime()
        self._lifetime = asyncio.get_running_loop().call_later(self.channel_lifetime, self._expire, ws)
        self._update_writable()
        self._wake.set()
        try:
            await self._read(ws)
        finally:
            if self.ws is ws:
                self._detached()

    async def _read(self, ws: ServerConnection) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for frame in ws:
                if isinstance(frame, str):
                    continue  # MGS is not known to take text after the token; ignore it
                last = self._drops.passed(frame)
                for piece in self._in.apply(frame):
                    self._receive(piece)
                if last:
                    # --drop-after: the connection dies like a network drop, without a close frame.
                    ws.transport.abort()
                    return
        except ConnectionClosed:
            pass

    def _detached(self) -> None:
        self.ws = None
        self._cancel_lifetime()
        if self._ended:
            return
        if self.protocol is not None:
            self.protocol.pause()  # MGS's pause_publication to the agent (spec §5.5)
        self.server.registry.set_status(self.session.session_id, SessionStatus.DISCONNECTED)
        self._update_writable()

    def _expire(self, ws: ServerConnection) -> None:
        """The data channel reached its lifetime: the service drops it, without a close frame."""
        if self.ws is ws and not self._ended:
            log.info("session %s: data channel lifetime reached, dropping it", self.session.session_id)
            ws.transport.abort()

    def _cancel_lifetime(self) -> None:
        if self._lifetime is not None:
            self._lifetime.cancel()
            self._lifetime = None

    def _check_idle(self) -> None:
        """Terminate the session once the client has sent nothing for ``idle_timeout`` seconds."""
        self._idle = None
        if self._ended:
            return
        left = self._last_input + self.idle_timeout - time.monotonic()
        if left > 0:
            self._idle = asyncio.get_running_loop().call_later(left, self._check_idle)
            return
        log.info("session %s: idle for %g s, terminated", self.session.session_id, self.idle_timeout)
        self.spawn_terminate(IDLE_TIMEOUT_OUTPUT)

    # -------------------------------------------------------------------------- protocol

    def _sync_ready(self) -> None:
        """Mirror the agent's readiness into the protocol (an agent whose sink is full is "not ready")."""
        protocol, agent = self.protocol, self.agent
        if protocol is None or agent is None or self._ended:
            return
        ready = agent.ready
        if ready != protocol.ready:
            protocol.ready = ready  # when it turns True, input held back is delivered now
            self._dispatch()

    def _receive(self, frame: bytes) -> None:
        protocol = self.protocol
        if protocol is None or self._ended:
            return
        if frame[_TYPE_FIELD].rstrip(b" \x00") == _INPUT_STREAM_DATA:
            self._last_input = time.monotonic()  # client input (not its acks) keeps the session alive
        self._sync_ready()
        try:
            protocol.receive(frame, time.monotonic())
        except ProtocolError as error:
            # One bad frame is dropped; the session goes on (the peer resends what matters).
            log.debug("session %s: frame rejected: %s", self.session.session_id, error)
        self._dispatch()
        self._update_writable()
        self._wake.set()

    def _dispatch(self) -> None:
        protocol = self.protocol
        assert protocol is not None
        while (event := protocol.next_event()) is not None:
            agent = self.agent
            if isinstance(event, Input):
                if agent is not None:
                    agent.on_input(event.data)
            elif isinstance(event, Resize):
                if agent is not None:
                    agent.on_resize(event.cols, event.rows)
            elif isinstance(event, FlagReceived):
                if agent is not None:
                    agent.on_flag(event.flag)
            elif isinstance(event, HandshakeDone):
                self._spawn(self._start_agent(), "start-agent")
            elif isinstance(event, HandshakeFailed):
                log.info("session %s: handshake failed: %s", self.session.session_id, event.reason)
                self.spawn_terminate(event.reason, SessionStatus.FAILED)
            # Publication and channel_closed messages come from MGS, never from a client: ignored.

    async def _start_agent(self) -> None:
        protocol = self.protocol
        assert protocol is not None
        try:
            agent = create_agent(
                self.session,
                self,
                uses_smux=protocol.uses_smux,
                smux_keepalive=protocol.smux_keepalive,
                pacing=self.pacing,
            )
            self.agent = agent
            await agent.start()
        except SessionError as error:
            log.info("session %s: agent failed to start: %s", self.session.session_id, error)
            await self.terminate(str(error), SessionStatus.FAILED)
            return
        if self._ended:
            await agent.stop()
            return
        self._sync_ready()
        self._wake.set()

    # ---------------------------------------------------------------------- AgentHost API

    def send_output(self, data: bytes) -> None:
        """Queue Output for the client (AgentHost)."""
        self._send(lambda p, now: p.send_output(data, now))

    def send_stderr(self, data: bytes) -> None:
        """Queue StdErr for the client (AgentHost)."""
        self._send(lambda p, now: p.send_stderr(data, now))

    def send_exit_code(self, code: int) -> None:
        """Queue ``EXIT_CODE: n`` for the client (AgentHost)."""
        self._send(lambda p, now: p.send_exit_code(code, now))

    def send_flag(self, flag: int) -> None:
        """Queue a Flag message for the client (AgentHost)."""
        self._send(lambda p, now: p.send_flag(PortFlag(flag), now))

    async def writable(self) -> None:
        """Wait until output may flow: not paused, and the last output written to the socket (AgentHost)."""
        while not self._writable_now():
            self._can_write.clear()
            await self._can_write.wait()

    def finish(self, output: str = "") -> None:
        """The agent is done: drain (<= 2 s), Terminating to the gateway, channel_closed (AgentHost)."""
        if self._finishing or self._ended:
            return
        self._finishing = True
        self._spawn(self._finish(output, report=True), "finish")

    def hang_up(self) -> None:
        """The agent closes its data channel: drain (<= 2 s), the client's socket dropped (AgentHost)."""
        if self._finishing or self._ended:
            return
        self._finishing = True
        self._spawn(self._finish("", report=False), "hang-up")

    # -------------------------------------------------------------------------- endings

    def spawn_terminate(self, output: str = "", status: SessionStatus = SessionStatus.TERMINATED) -> None:
        """Schedule :meth:`terminate` (from a callback that cannot await)."""
        if not self._ended:
            self._spawn(self.terminate(output, status), "terminate")

    async def terminate(
        self,
        output: str = "",
        status: SessionStatus = SessionStatus.TERMINATED,
        *,
        channel_closed: bool = True,
    ) -> None:
        """End the session now: channel_closed to the client (unless told not to), its socket dropped, the
        agent stopped (a shell SIGKILLed), processes reaped. Idempotent.

        If no client has connected yet and the session ends here (not by TerminateSession), the gateway
        keeps what the agent sent and channel_closed for the first connection, up to
        :data:`PARTING_TIMEOUT`; the session shows as Terminating meanwhile, so its token still opens it.
        """
        if self._ended:
            await self._ended_event.wait()
            return
        self._ended = True
        self._finishing = True
        session_id = self.session.session_id
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        self._cancel_lifetime()
        ws, self.ws = self.ws, None
        parting = (
            channel_closed and not self.connections and self.session.active and self.protocol is not None
        )
        if parting:
            assert self.protocol is not None
            self._keep_early(self.protocol.data_to_send())
            self._early.append(self.protocol.close_message(output))
            self._parting_status = status
            self.server.registry.set_status(session_id, SessionStatus.TERMINATING)
            self._parting = asyncio.get_running_loop().call_later(PARTING_TIMEOUT, self.part)
        else:
            self.server.registry.mark_ended(session_id, status)
        try:
            if ws is not None and self.protocol is not None:
                goodbye = self.protocol.close_message(output) if channel_closed else None
                # Bounded: a client that stopped reading must not keep the session (or the server) alive.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._goodbye(ws, goodbye), GOODBYE_TIMEOUT)
            if self.agent is not None:
                try:
                    async with asyncio.timeout(AGENT_STOP_TIMEOUT):  # a stuck agent must not hang the server
                        await self.agent.stop()
                except Exception:
                    log.exception("session %s: agent did not stop cleanly", self.session.session_id)
        finally:
            if ws is not None:
                ws.transport.abort()
            self._can_write.set()  # release pumps waiting on the window; they are being cancelled
            current = asyncio.current_task()
            tasks = [task for task in self._tasks if task is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if not parting:
                self.server.forget(session_id)
            self._ended_event.set()

    def part(self) -> None:
        """Stop keeping an ended session for a client that never connected: it ends for the registry too."""
        if self._parting is None:
            return
        self._parting.cancel()
        self._parting = None
        self._early.clear()
        self.server.registry.mark_ended(self.session.session_id, self._parting_status)
        self.server.forget(self.session.session_id)

    async def _deliver_parting(self, ws: ServerConnection) -> None:
        """The first connection to a session that ended before it: what waited for it, then dropped."""
        from ssmux.wswrite import send_frames

        frames = list(self._early)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(GOODBYE_TIMEOUT):
                await send_frames(ws, frames)
                ws.transport.close()  # no close frame, as always
                await ws.wait_closed()
        ws.transport.abort()
        self.part()

    async def _goodbye(self, ws: ServerConnection, close_message: bytes | None) -> None:
        async with self._send_lock:
            await self._flush_locked(ws)  # what is queued, then channel_closed, and nothing after it
            if close_message is not None:
                await ws.send(close_message)
        # The connection is closed without a websocket close frame (gorilla's Close, as the agent's
        # websocketutil.go CloseConnection calls it): what is written still goes out, then TCP closes.
        ws.transport.close()
        await ws.wait_closed()

    async def _finish(self, output: str, *, report: bool) -> None:
        protocol = self.protocol
        assert protocol is not None
        protocol.flush_output(time.monotonic())
        self._wake.set()
        # PrepareToCloseChannel (datachannel.go): wait for every message to be acked, 2 s at most.
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while protocol.channel.unacked_count and time.monotonic() < deadline and not self._ended:
            await asyncio.sleep(DRAIN_POLL)
        if not report:
            # The port plugin ends without a session state; the agent closes its channel and the gateway
            # drops the client's.
            await self.terminate(output, channel_closed=False)
            return
        if self._gateway_receives(self._session_state(TERMINATING)) == TERMINATING:
            await self.terminate(output)  # MGS ends the session: channel_closed to the client

    def _session_state(self, state: str) -> bytes:
        """The agent's ``agent_session_state`` message (datachannel.go ``SendAgentSessionStateMessage``)."""
        payload = AgentSessionState(session_id=self.session.session_id, session_state=state).to_json()
        return ClientMessage(
            message_type=MessageType.AGENT_SESSION_STATE,
            payload=payload,
            message_id=uuid.uuid4(),
            created_date=int(time.time() * 1000),
            payload_type=PayloadType.UNDEFINED,
            sequence_number=0,
            flags=ACK_FLAGS,  # sendAgentMessage: SequenceNumber 0, Flags 3
        ).serialize()

    def _gateway_receives(self, frame: bytes) -> str:
        """MGS takes an agent-only message: it keeps the session state and never relays it to the client."""
        message = ClientMessage.parse(frame)
        state = str(json.loads(message.payload)["SessionState"])
        self.agent_states.append(state)
        return state

    # -------------------------------------------------------------------------- internals

    def _send(self, action: Any) -> None:
        protocol = self.protocol
        if protocol is None or self._ended:
            return
        action(protocol, time.monotonic())
        self._unwritten = True
        self._update_writable()
        self._wake.set()

    def _writable_now(self) -> bool:
        protocol = self.protocol
        return self._ended or (
            protocol is not None and not protocol.paused and not self._unwritten and not self._writing
        )

    def _update_writable(self) -> None:
        if self._writable_now():
            self._can_write.set()
        else:
            self._can_write.clear()

    async def _writer(self) -> None:
        while not self._ended:
            await self._wake.wait()
            self._wake.clear()
            if self._ended:
                break  # terminate() sends what is still queued, then channel_closed
            ws = self.ws
            if ws is not None:
                await self._flush(ws)
            elif self.protocol is not None:
                self._unwritten = False
                frames = self.protocol.data_to_send()
                if not self.connections:
                    # No client yet: the gateway keeps what the agent sends (resends too) for its first
                    # connection.
                    self._keep_early(frames)
                # else the client's channel is gone: what the agent sent is lost, its timer resends it later
                self._update_writable()

    def _keep_early(self, frames: list[bytes]) -> None:
        room = EARLY_FRAMES_LIMIT - len(self._early)
        self._early.extend(frames[: max(room, 0)])

    async def _flush(self, ws: ServerConnection) -> None:
        async with self._send_lock:
            await self._flush_locked(ws)

    async def _flush_locked(self, ws: ServerConnection) -> None:
        from websockets.exceptions import ConnectionClosed

        from ssmux.wswrite import send_frames

        protocol = self.protocol
        if protocol is None:
            return
        self._unwritten = False
        frames = protocol.data_to_send()
        if self._early:
            frames = [*self._early, *frames]  # the client's first connection gets what waited for it
            self._early.clear()
        if self._release_held:
            self._release_held = False
            frames += self._out.flush()
        # What the faults let through goes out in one socket write (a write per frame would cost a system
        # call per 1 KB message); --drop-after cuts the connection right after its last counted frame.
        batch: list[bytes] = []
        cut = False
        for frame in frames:
            for piece in self._out.apply(frame):
                batch.append(piece)
                if self._drops.passed(piece):
                    cut = True
                    break
            if cut:
                break
        self._writing = True
        try:
            await send_frames(ws, batch)
        except ConnectionClosed:
            return
        finally:
            self._writing = False
            self._update_writable()
        if cut:
            ws.transport.abort()

    async def _ticker(self) -> None:
        while not self._ended:
            await asyncio.sleep(RESEND_INTERVAL)  # the agent's ResendSleepInterval, 100 ms (config.go)
            protocol = self.protocol
            if protocol is None:
                continue
            now = time.monotonic()
            protocol.tick(now)
            for frame in self._in.flush():
                self._receive(frame)
            self._release_held = True
            self._sync_ready()
            self._dispatch()
            self._update_writable()
            self._wake.set()

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.session.session_id}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # A bug in one session must end that session, visibly, and nothing else.
            log.error("session %s: task %s failed", self.session.session_id, task.get_name(),
                      exc_info=task.exception())  # fmt: skip
            self.spawn_terminate("internal error of the emulator", SessionStatus.FAILED)
