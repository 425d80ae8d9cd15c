"""Port agent, basic mode: one TCP connection to the destination at a time (spec §8.2, ``port_basic.go``).

* The destination (``host`` property, else ``localhost``; ``portNumber``) is dialled when the session starts;
  if that fails the session fails and channel_closed carries the reason.
* Output from the client is written to the connection; the connection's bytes go back as Output, paced
  like ``WritePump``: reads of at most 1024 bytes (``StreamDataPayloadSize``), a 1 ms sleep after each,
  none while the channel is paused (:class:`~ssmux.emulator.agents.base.Pacing`).
* Flag DisconnectToPort (the client's local connection closed): close the connection; the next Output
  dials a fresh one. A read error or EOF on the connection does the same for ``LocalPortForwarding``;
  for any other type (``AWS-StartSSHSession``) it ends the session.
* Flag TerminateSession: the flag is acked like any message, then the plugin is cancelled and the agent
  closes its data channel (``port.go`` ``execute``; ``sessionplugin.go`` closes the channel after
  ``PrepareToCloseChannel``) with no Terminating state: :meth:`~.base.AgentHost.hang_up`.

The agent dials again *synchronously* inside its message handler; here the dial runs as a task and the
Output that triggered it waits in order behind it, which the client cannot tell apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ssmux.emulator.agents.base import REALISTIC, SINK_LIMIT, Agent, AgentHost, Pacing
from ssmux.errors import SessionError
from ssmux.protocol.handshake import LOCAL_PORT_FORWARDING
from ssmux.protocol.messages import PortFlag

log = logging.getLogger(__name__)

#: Seconds a dial to the destination may take.
DIAL_TIMEOUT = 10.0


async def dial(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a TCP connection to the destination, bounded in time; raises ``OSError`` on failure."""
    try:
        async with asyncio.timeout(DIAL_TIMEOUT):  # not wait_for: it can swallow a cancellation on 3.11
            return await asyncio.open_connection(host, port)
    except TimeoutError as error:
        raise OSError(f"connection to {host}:{port} timed out") from error


class BasicPortAgent(Agent):
    """Relays one TCP connection at a time between the client and ``host:port``.

    Args:
        host: the data channel.
        destination: host name or address to dial.
        port: TCP port to dial.
        port_type: the session's ``type`` property (``LocalPortForwarding`` or empty).
        pacing: how the connection is read (default: the agent's).
    """

    def __init__(
        self,
        host: AgentHost,
        destination: str,
        port: int,
        port_type: str = "",
        *,
        pacing: Pacing = REALISTIC,
    ) -> None:
        super().__init__(host)
        self.destination = destination
        self.port = port
        self.port_type = port_type
        self.pacing = pacing
        self._writer: asyncio.StreamWriter | None = None
        self._connected = False  # the first dial succeeded: input is taken from then on
        self._dialing: asyncio.Task[None] | None = None
        self._queued: list[bytes] = []  # Output that arrived while a re-dial runs
        self._stopped = False

    @property
    def ready(self) -> bool:
        """Input is taken once the first connection exists (``IsConnectionAvailable``) and keeps up."""
        if not self._connected or self._stopped:
            return False
        writer = self._writer
        return writer is None or writer.transport.get_write_buffer_size() < SINK_LIMIT

    async def start(self) -> None:
        """Dial the destination; raises ``SessionError`` when it cannot be reached."""
        try:
            reader, writer = await dial(self.destination, self.port)
        except OSError as error:
            raise SessionError(f"Unable to connect to specified port: {error}") from error
        self._attach(reader, writer)
        self._connected = True

    def on_input(self, data: bytes) -> None:
        """Write to the connection, dialling a new one first if the last one was closed."""
        if self._stopped:
            return
        if self._writer is None or self._dialing is not None:
            self._queued.append(data)
            if self._dialing is None:
                self._dialing = self.spawn(self._redial(), name=f"port-redial-{self.port}")
            return
        self._writer.write(data)

    def on_flag(self, flag: int) -> None:
        """DisconnectToPort closes the connection; TerminateSession ends the session."""
        if flag == PortFlag.DISCONNECT_TO_PORT:
            self._close_connection()
        elif flag == PortFlag.TERMINATE_SESSION:
            self.host.hang_up()

    async def stop(self) -> None:
        """Close the connection and stop relaying."""
        if self._stopped:
            return
        self._stopped = True
        self._close_connection()
        await self.cancel_tasks()

    # -- internals ---------------------------------------------------------------------------------

    def _attach(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self.spawn(self._pump(reader, writer), name=f"port-pump-{self.port}")

    def _close_connection(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()

    async def _redial(self) -> None:
        try:
            reader, writer = await dial(self.destination, self.port)
        except OSError as error:
            log.info("port session: re-dial failed: %s", error)
            self.host.finish(f"Unable to connect to specified port: {error}")
            return
        finally:
            self._dialing = None
        if self._stopped:
            writer.close()
            return
        self._attach(reader, writer)
        queued, self._queued = self._queued, []
        for data in queued:
            writer.write(data)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await self.host.writable()
                data = await reader.read(self.pacing.read_size)  # sent as <= 1024-byte messages
                if not data:
                    break
                self.host.send_output(data)
                await asyncio.sleep(self.pacing.read_interval)  # WritePump: "Wait for TCP to process..."
        except OSError as error:
            log.debug("port session: read failed: %s", error)
        finally:
            if self._writer is writer:
                self._writer = None
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        if self.port_type != LOCAL_PORT_FORWARDING and not self._stopped:
            # SSH-style sessions end with their one connection (handleSSHDPortError).
            self.host.finish()
