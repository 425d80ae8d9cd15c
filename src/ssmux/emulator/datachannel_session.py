"""One session's life on the data channel: protocol state, agent, websocket, faults (spec §5, §6, §10).

A :class:`SessionLink` is made when a session's first websocket says hello and lives until the session
ends. It owns the protocol's :class:`~ssmux.protocol.agent.AgentSession` (sequence numbers, acks, outgoing
and reorder buffers, handshake, encryption) and the agent plugin (pty, command, port), so both survive a
dropped websocket: the client resumes with a new token and :meth:`SessionLink.attach` picks up where the
last connection stopped, resending every unacked message.

Three tasks drive a link: the websocket reader (one per connection), a writer that sends whatever the
protocol queued (one per link, so frames leave in order), and a 100 ms ticker (resend timer, handshake
timeout, release of frames held back by the reorder fault).

The link is the agent's :class:`~ssmux.emulator.agents.base.AgentHost`. Flow control: an agent may read
more output only while a client is connected, the channel is not paused and fewer than
:data:`SEND_WINDOW` messages wait for an ack. The real agent has no window (it buffers up to 100 000
messages); the window keeps memory bounded and keeps what is unacked when a shell exits small enough for
the drain (§7.2) to deliver it quickly even over a lossy channel.

Ending: the agent calls :meth:`SessionLink.finish` (drain until acked, giving up after 2 s without an ack,
then ``channel_closed``); TerminateSession, a failed handshake or the server stopping call
:meth:`SessionLink.terminate` (``channel_closed`` at once). Either way the agent is stopped and every
process reaped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from ssmux.emulator.agents import Agent, create_agent
from ssmux.emulator.agents.kms import MotoKms
from ssmux.emulator.datachannel_faults import DropCounter, FrameMangler
from ssmux.emulator.faults import Faults
from ssmux.emulator.sessions import EmulatedSession, SessionStatus, SessionType
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
from ssmux.protocol.messages import PortFlag

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from ssmux.emulator.datachannel import DataChannelServer
    from ssmux.protocol.payloads import OpenDataChannelInput

log = logging.getLogger(__name__)

#: Most output messages in flight (sent, not acked) before agents stop reading their output.
SEND_WINDOW = 256
#: How long a finished agent waits for acks before channel_closed (``PrepareToCloseChannel``: 2 s in all).
#: The emulator counts the 2 s from the last ack rather than from the start, up to DRAIN_LIMIT, so a slow
#: or lossy (fault-injected) client that keeps acking still gets all the output instead of a cut-off tail.
DRAIN_TIMEOUT = 2.0
DRAIN_LIMIT = 30.0
#: A session whose client stays away this long is terminated (the service's idle timeout is 20 min).
ABANDON_TIMEOUT = 20 * 60.0
#: Websocket close code after channel_closed.
CLOSE_NORMAL = 1000
#: Seconds to send what is queued, channel_closed and the close handshake to a client before giving up.
GOODBYE_TIMEOUT = 3.0
#: Seconds an agent gets to stop (kill and reap its processes, close its sockets).
AGENT_STOP_TIMEOUT = 10.0


class SessionLink:
    """Everything of one session on the data-channel side; see the module docstring.

    Args:
        session: the registry's session.
        server: the data channel server (to forget the link when it ends).
        faults: data-channel faults for this session.
        dice_name: names this session's random streams (repeatable runs).
        output_start_delay: seconds a shell waits before reading its output (None: the agent default).
    """

    def __init__(
        self,
        session: EmulatedSession,
        server: DataChannelServer,
        *,
        faults: Faults,
        dice_name: str,
        output_start_delay: float | None = None,
    ) -> None:
        self.session = session
        self.server = server
        self.faults = faults
        self.output_start_delay = output_start_delay
        self.protocol: AgentSession | None = None
        self.agent: Agent | None = None
        self.ws: ServerConnection | None = None
        self.connections = 0
        self._out = FrameMangler(faults, faults.dice(f"{dice_name}:out"))
        self._in = FrameMangler(faults, faults.dice(f"{dice_name}:in"))
        self._drops = DropCounter(faults.drop_after)
        self._wake = asyncio.Event()
        self._send_lock = asyncio.Lock()  # one sender at a time, so frames leave in the order queued
        self._can_write = asyncio.Event()
        self._release_held = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._finishing = False
        self._ended = False
        self._ended_event = asyncio.Event()
        self._abandon: asyncio.TimerHandle | None = None

    @property
    def ended(self) -> bool:
        """True once the session is over (channel_closed sent or due)."""
        return self._ended

    async def wait_ended(self) -> None:
        """Return once the session has ended and its agent is stopped."""
        await self._ended_event.wait()

    # ------------------------------------------------------------------------ connections

    async def attach(self, ws: ServerConnection, hello: OpenDataChannelInput) -> None:
        """Serve ``ws`` for this session until it closes (first connection or a resume)."""
        if self._ended:
            await ws.close(CLOSE_NORMAL, "session ended")
            return
        previous, self.ws = self.ws, ws
        if previous is not None:
            previous.transport.abort()  # replaced by a resume: the old socket is dead to us
        if self._abandon is not None:
            self._abandon.cancel()
            self._abandon = None
        self.connections += 1
        self._drops.reset()
        now = time.monotonic()
        if self.protocol is None:
            self._open(hello, now)
        else:
            self.protocol.reconnected(now)
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
        if self._ended:
            return
        if self.protocol is not None:
            self.protocol.pause()
        self.server.registry.set_status(self.session.session_id, SessionStatus.DISCONNECTED)
        self._update_writable()
        loop = asyncio.get_running_loop()
        self._abandon = loop.call_later(ABANDON_TIMEOUT, lambda: self.spawn_terminate("session timed out"))

    def _open(self, hello: OpenDataChannelInput, now: float) -> None:
        session = self.session
        kms = None
        if session.kms_key_id and session.session_type != SessionType.PORT:
            kms = MotoKms(session.account_id, session.region, session.kms_key_id)
        self.protocol = AgentSession(
            session_id=session.session_id,
            target=session.target,
            session_type=str(session.session_type),
            properties=dict(session.properties) if session.properties is not None else None,
            agent_version=session.agent_version,
            kms=kms,
            now=now,
            client_version=hello.client_version or "",
        )
        # "Handler not ready" until the agent exists: client data is not acked, so it is resent (§5.2).
        self.protocol.ready = False
        self._spawn(self._writer(), "writer")
        self._spawn(self._ticker(), "ticker")
        if self.protocol.established:  # legacy shell: no handshake, the agent starts now (§6.1)
            self._spawn(self._start_agent(), "start-agent")

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
                output_start_delay=self.output_start_delay,
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
        """Wait until output may flow: client connected, not paused, window not full (AgentHost)."""
        while not self._writable_now():
            self._can_write.clear()
            await self._can_write.wait()

    def finish(self, output: str = "") -> None:
        """The agent is done: drain (until acked, or 2 s without an ack), then channel_closed (AgentHost)."""
        if self._finishing or self._ended:
            return
        self._finishing = True
        self._spawn(self._finish(output), "finish")

    # -------------------------------------------------------------------------- endings

    def spawn_terminate(self, output: str = "", status: SessionStatus = SessionStatus.TERMINATED) -> None:
        """Schedule :meth:`terminate` (from a callback that cannot await)."""
        if not self._ended:
            self._spawn(self.terminate(output, status), "terminate")

    async def terminate(self, output: str = "", status: SessionStatus = SessionStatus.TERMINATED) -> None:
        """End the session now: channel_closed to the client, agent stopped, processes reaped. Idempotent."""
        if self._ended:
            await self._ended_event.wait()
            return
        self._ended = True
        self._finishing = True
        self.server.registry.mark_ended(self.session.session_id, status)
        if self._abandon is not None:
            self._abandon.cancel()
        ws, self.ws = self.ws, None
        try:
            if ws is not None and self.protocol is not None:
                # Bounded: a client that stopped reading must not keep the session (or the server) alive.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(
                        self._goodbye(ws, self.protocol.close_message(output)), GOODBYE_TIMEOUT
                    )
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
            self.server.forget(self.session.session_id)
            self._ended_event.set()

    async def _goodbye(self, ws: ServerConnection, close_message: bytes) -> None:
        async with self._send_lock:
            await self._flush_locked(ws)  # what is queued, then channel_closed, then the close handshake
            await ws.send(close_message)
        await ws.close(CLOSE_NORMAL)

    async def _finish(self, output: str) -> None:
        protocol = self.protocol
        assert protocol is not None
        protocol.flush_output(time.monotonic())
        self._wake.set()
        now = time.monotonic()
        limit, quiet_until = now + DRAIN_LIMIT, now + DRAIN_TIMEOUT
        unacked = protocol.channel.unacked_count
        while unacked and now < min(limit, quiet_until):
            await asyncio.sleep(0.02)
            now = time.monotonic()
            if protocol.channel.unacked_count < unacked:
                quiet_until = now + DRAIN_TIMEOUT  # acks still come: the client is alive, keep draining
            unacked = protocol.channel.unacked_count
        await self.terminate(output)

    # -------------------------------------------------------------------------- internals

    def _send(self, action: Any) -> None:
        protocol = self.protocol
        if protocol is None or self._ended:
            return
        action(protocol, time.monotonic())
        self._update_writable()
        self._wake.set()

    def _writable_now(self) -> bool:
        protocol = self.protocol
        return (
            self.ws is not None
            and protocol is not None
            and not protocol.paused
            and protocol.channel.unacked_count < SEND_WINDOW
        ) or self._ended

    def _update_writable(self) -> None:
        if self._writable_now():
            self._can_write.set()
        else:
            self._can_write.clear()

    async def _writer(self) -> None:
        while not self._ended:
            await self._wake.wait()
            self._wake.clear()
            ws = self.ws
            if ws is not None:
                await self._flush(ws)
            elif self.protocol is not None:
                self.protocol.data_to_send()  # acks for a gone client; stream data is resent on resume

    async def _flush(self, ws: ServerConnection) -> None:
        async with self._send_lock:
            await self._flush_locked(ws)

    async def _flush_locked(self, ws: ServerConnection) -> None:
        from websockets.exceptions import ConnectionClosed

        from ssmux.wswrite import send_frames

        protocol = self.protocol
        if protocol is None:
            return
        frames = protocol.data_to_send()
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
        try:
            await send_frames(ws, batch)
        except ConnectionClosed:
            return
        if cut:
            ws.transport.abort()

    async def _ticker(self) -> None:
        while not self._ended:
            await asyncio.sleep(RESEND_INTERVAL)
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
