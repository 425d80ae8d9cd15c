"""Port agent, mux mode: many TCP connections through one session with smux v1 (spec §8.4, ``port_mux.go``).

The Output payloads of both directions form one smux byte stream; the client opens a stream per local
connection, this agent is the smux server (:class:`ssmux.protocol.smux.SmuxSession`):

* a new stream dials the destination (``host`` or ``localhost``, ``portNumber``); bytes that arrive on the
  stream before the dial finishes wait for it. If the dial fails, the agent sends Flag
  ConnectToPortError (3) and closes the stream (FIN).
* stream data is written to that stream's connection; the connection's bytes go back as PSH frames.
* either side ending ends both: a FIN from the client closes the connection, EOF from the destination
  sends FIN (the agent copies with ``io.Copy`` both ways and closes both ends when one stops).
* Flag TerminateSession: acked, then the agent closes its data channel without Terminating
  (:meth:`~.base.AgentHost.hang_up`, as ``port.go`` ends the plugin).
* smux keepalive: NOP every 10 s when the client is not newer than 1.2.331.0 (the agent's rule).
* A broken smux stream (bad frame) ends the session with a reason, as the agent's smux server would.
* Pacing (``transferDataToMgs``): the agent reads the smux server's byte stream from a Unix socket in
  packets of at most 1024 bytes and sleeps 1 ms after each, only while the channel is active; the stream
  goroutines block when that socket is full. Here the smux bytes wait in a buffer of
  :data:`SMUX_SOCKET_BUFFER` bytes that a pacer empties the same way, and the destination connections are
  not read while it is full.
"""

from __future__ import annotations

import asyncio
import logging

from ssmux.emulator.agents.base import REALISTIC, SINK_LIMIT, Agent, AgentHost, Pacing
from ssmux.emulator.agents.port import dial
from ssmux.protocol.errors import ProtocolError
from ssmux.protocol.messages import PortFlag
from ssmux.protocol.smux import KEEPALIVE_INTERVAL, SmuxSession, StreamClosed, StreamData, StreamOpened

log = logging.getLogger(__name__)

#: smux bytes waiting for the pacer before the streams stop reading their destinations: the agent's
#: Unix socket between the smux server and ``transferDataToMgs`` (Linux's default socket buffer, 208 KiB).
SMUX_SOCKET_BUFFER = 208 * 1024
#: Bytes a stream reads from its destination at once (``io.Copy``'s buffer in ``handleDataTransfer``).
COPY_SIZE = 32 * 1024


class _Stream:
    """One smux stream and its destination connection."""

    def __init__(self) -> None:
        self.writer: asyncio.StreamWriter | None = None
        self.pending: list[bytes] = []  # data that came before the dial finished
        self.closed = False


class MuxPortAgent(Agent):
    """A smux server relaying each stream to its own TCP connection to ``destination:port``.

    Args:
        host: the data channel.
        destination: host name or address to dial.
        port: TCP port to dial.
        keepalive: send a smux NOP every 10 s.
        pacing: how the smux byte stream is read for the data channel (default: the agent's).
    """

    def __init__(
        self,
        host: AgentHost,
        destination: str,
        port: int,
        *,
        keepalive: bool = False,
        pacing: Pacing = REALISTIC,
    ) -> None:
        super().__init__(host)
        self.destination = destination
        self.port = port
        self.keepalive = keepalive
        self.pacing = pacing
        self.smux = SmuxSession(client=False)
        self._streams: dict[int, _Stream] = {}
        self._outgoing = bytearray()  # smux bytes for the client, waiting for the pacer
        self._has_outgoing = asyncio.Event()
        self._has_room = asyncio.Event()
        self._has_room.set()
        self._started = False
        self._stopped = False

    @property
    def ready(self) -> bool:
        """Ready once the smux server runs (``IsConnectionAvailable``) and no destination lags far behind.

        One slow destination holds back every stream, as the agent's blocking write on its smux
        connection does.
        """
        if not self._started or self._stopped:
            return False
        return all(
            (
                stream.writer.transport.get_write_buffer_size()
                if stream.writer
                else sum(map(len, stream.pending))
            )
            < SINK_LIMIT
            for stream in self._streams.values()
        )

    @property
    def open_streams(self) -> int:
        """Number of streams with a live (or dialling) destination connection."""
        return len(self._streams)

    async def start(self) -> None:
        """Start the smux server (nothing is dialled until the client opens a stream)."""
        self._started = True
        self.spawn(self._transfer(), name=f"smux-transfer-{self.port}")
        if self.keepalive:
            self.spawn(self._keepalive(), name=f"smux-keepalive-{self.port}")

    def on_input(self, data: bytes) -> None:
        """Feed smux bytes from the client and act on the frames they complete."""
        if self._stopped:
            return
        try:
            self.smux.receive(data)
        except ProtocolError as error:
            log.info("port session: smux stream broken: %s", error)
            self.host.finish(f"smux protocol error: {error}")
            return
        while (event := self.smux.next_event()) is not None:
            if isinstance(event, StreamOpened):
                stream = _Stream()
                self._streams[event.stream_id] = stream
                self.spawn(self._connect(event.stream_id, stream), name=f"smux-stream-{event.stream_id}")
            elif isinstance(event, StreamData):
                stream_or_none = self._streams.get(event.stream_id)
                if stream_or_none is None:
                    continue
                if stream_or_none.writer is None:
                    stream_or_none.pending.append(event.data)
                else:
                    stream_or_none.writer.write(event.data)
            elif isinstance(event, StreamClosed):
                self._close_stream(event.stream_id)
        self._flush()

    def on_flag(self, flag: int) -> None:
        """TerminateSession ends the session: the agent closes its data channel."""
        if flag == PortFlag.TERMINATE_SESSION:
            self.host.hang_up()

    async def stop(self) -> None:
        """Close every destination connection."""
        if self._stopped:
            return
        self._stopped = True
        for stream_id in list(self._streams):
            self._close_stream(stream_id, send_fin=False)
        await self.cancel_tasks()

    # -- internals ---------------------------------------------------------------------------------

    def _flush(self) -> None:
        data = self.smux.data_to_send()
        if data:
            self._outgoing += data
            self._has_outgoing.set()
            if len(self._outgoing) >= SMUX_SOCKET_BUFFER:
                self._has_room.clear()

    async def _transfer(self) -> None:
        """``transferDataToMgs``: hand the smux bytes to the data channel, paced."""
        pacing = self.pacing
        while not self._stopped:
            if not self._outgoing:
                self._has_outgoing.clear()
                await self._has_outgoing.wait()
                continue
            await self.host.writable()
            chunk = bytes(self._outgoing[: pacing.read_size])
            del self._outgoing[: pacing.read_size]
            if len(self._outgoing) < SMUX_SOCKET_BUFFER:
                self._has_room.set()
            self.host.send_output(chunk)  # the protocol layer cuts it into <= 1024-byte messages
            await asyncio.sleep(pacing.read_interval)

    def _close_stream(self, stream_id: int, *, send_fin: bool = True) -> None:
        stream = self._streams.pop(stream_id, None)
        if stream is None:
            return
        stream.closed = True
        if stream.writer is not None:
            stream.writer.close()
        if send_fin:
            self.smux.close_stream(stream_id)
            self._flush()

    async def _connect(self, stream_id: int, stream: _Stream) -> None:
        try:
            reader, writer = await dial(self.destination, self.port)
        except OSError as error:
            log.info("port session: stream %s: dial failed: %s", stream_id, error)
            if not stream.closed and not self._stopped:
                self.host.send_flag(PortFlag.CONNECT_TO_PORT_ERROR)
                self._close_stream(stream_id)
            return
        if stream.closed or self._stopped:
            writer.close()
            return
        stream.writer = writer
        for data in stream.pending:
            writer.write(data)
        stream.pending.clear()
        try:
            while True:
                await self._has_room.wait()  # io.Copy into the smux stream blocks on a full socket
                data = await reader.read(COPY_SIZE)
                if not data or stream.closed:
                    break
                self.smux.send(stream_id, data)
                self._flush()
        except (OSError, ProtocolError) as error:
            log.debug("port session: stream %s: %s", stream_id, error)
        self._close_stream(stream_id)

    async def _keepalive(self) -> None:
        while not self._stopped:
            await asyncio.sleep(KEEPALIVE_INTERVAL)
            await self.host.writable()
            self.smux.send_nop()
            self._flush()
