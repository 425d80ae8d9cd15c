"""What an emulated SSM agent plugin is, and what it may ask of the data channel that hosts it.

An agent is the far end of one session: a shell in a pty, a command, or a port forwarder. It never sees
frames, sequence numbers or websockets. The data channel (:mod:`ssmux.emulator.datachannel`) owns those and
gives the agent an :class:`AgentHost` to send payloads through; it calls the agent's ``on_*`` methods with
what the client sent once the protocol layer has acked and ordered it (spec §5.2).

Life of an agent: built by :func:`ssmux.emulator.agents.create_agent`; :meth:`Agent.start` when the
handshake is done (or at once for a legacy shell, spec §6.1); ``on_input``/``on_resize``/``on_flag`` while it
runs; :meth:`AgentHost.finish` when it has nothing more to say (shell exited, command done) or
:meth:`AgentHost.hang_up` (a port session's TerminateSession flag); :meth:`Agent.stop` always, exactly once or
more (idempotent), which reaps every process and closes every socket it opened.

Pacing (:class:`Pacing`): the real agent's output pumps read at most ``StreamDataPayloadSize`` (1024) bytes at
a time and sleep 1 ms after each read (agent ``agent/session/shell/shell.go`` ``writePump``,
``agent/session/plugins/port/port_basic.go`` ``WritePump``, ``port_mux.go`` ``transferDataToMgs``; the size
is ``agent/session/config/config.go`` ``StreamDataPayloadSize``), and the shell waits 1 s after starting the
pty before its first read (``executeCommandsWithPty`` passes ``initialWaitSecond`` 1). One session therefore
carries at most about 1 MB/s from the agent to the client. :data:`REALISTIC` is that; :data:`FAST` drops the
waits and reads more at once, for quick tests.
"""

from __future__ import annotations

import abc
import asyncio
from dataclasses import dataclass
from typing import Protocol

# The largest payload the agent puts in one message (StreamDataPayloadSize, spec §5.5).
from ssmux.protocol.chunking import MAX_PAYLOAD_SIZE as MAX_PAYLOAD

#: Bytes read from a pty, pipe or socket at once: the agent's read buffers are ``StreamDataPayloadSize``
#: bytes (``shell.go`` ``writePump`` and ``setupRoutineToWriteCmdPipelineOutput``, ``port_basic.go``).
READ_SIZE = MAX_PAYLOAD

#: Bytes read at once when pacing is off (:data:`FAST`); the protocol layer cuts them into 1024-byte messages.
FAST_READ_SIZE = 16 * 1024


@dataclass(frozen=True)
class Pacing:
    """How an agent reads the output it relays (see the module docstring).

    Attributes:
        first_output_delay: seconds between starting a shell and the first read of its pty.
        read_size: bytes read at once.
        read_interval: seconds slept after each read.
    """

    first_output_delay: float
    read_size: int
    read_interval: float


#: The agent's pacing: 1 s before a shell's first read, 1024-byte reads, 1 ms after each (about 1 MB/s).
REALISTIC = Pacing(first_output_delay=1.0, read_size=READ_SIZE, read_interval=0.001)
#: No waits and bigger reads (``ssmux emulator --fast``): quick tests, not AWS's timing.
FAST = Pacing(first_output_delay=0.0, read_size=FAST_READ_SIZE, read_interval=0.0)

#: Bytes an agent may hold for a slow pty or socket before it reports "not ready". The real agent blocks
#: on the write instead; "not ready" leaves the client's messages unacked, so the client resends them later
#: and memory stays bounded either way.
SINK_LIMIT = 256 * 1024


class AgentHost(Protocol):
    """The data channel as an agent sees it. Every method is called on the data channel's event loop."""

    def send_output(self, data: bytes) -> None:
        """Queue ``data`` (<= 1024 bytes, not empty) as an Output (type 1) message to the client."""

    def send_stderr(self, data: bytes) -> None:
        """Queue ``data`` as a StdErr (type 11) message."""

    def send_exit_code(self, code: int) -> None:
        """Queue ``EXIT_CODE: <code>`` as an ExitCode (type 12) message."""

    def send_flag(self, flag: int) -> None:
        """Queue a Flag (type 10) message, e.g. ConnectToPortError."""

    async def writable(self) -> None:
        """Return when the agent may produce more output: not paused, and its last message is written.

        Pumps await this before every read, so a paused channel (client gone, spec §5.5) stops reading the
        pty or socket (``IsActive`` in ``datachannel.go``), and a socket that does not take more blocks the
        pump as the agent's synchronous websocket write does. There is no window of unacked messages.
        """

    def finish(self, output: str = "") -> None:
        """The agent is done: drain what is unacked (<= 2 s), report Terminating; the gateway then sends
        channel_closed with ``output`` and drops the client's socket."""

    def hang_up(self) -> None:
        """The agent closes its data channel without Terminating (a port plugin's end, ``port.go``): drain
        what is unacked (<= 2 s), then the gateway drops the client's socket, with no channel_closed."""


class Agent(abc.ABC):
    """One session's plugin (shell, command, port). Subclasses implement the abstract methods."""

    def __init__(self, host: AgentHost) -> None:
        self.host = host
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    @abc.abstractmethod
    def ready(self) -> bool:
        """Whether input can be taken now. When False the message is not acked, so the client resends it."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Start the plugin (spawn the shell, dial the port). Raises ``SessionError`` if it cannot start."""

    def on_input(self, data: bytes) -> None:  # noqa: B027 - optional hook
        """Bytes the client sent as Output (type 1): keys, or TCP/smux bytes."""

    def on_resize(self, cols: int, rows: int) -> None:  # noqa: B027 - optional hook
        """A Size (type 3) message."""

    def on_flag(self, flag: int) -> None:  # noqa: B027 - optional hook
        """A Flag (type 10) message."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """End the plugin now, reap its processes, close its sockets. Idempotent."""

    def spawn(self, coro: object, name: str) -> asyncio.Task[None]:
        """Run ``coro`` as a task owned by this agent (cancelled by :meth:`cancel_tasks`)."""
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro, name=name)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def cancel_tasks(self) -> None:
        """Cancel every task started with :meth:`spawn` (except the caller) and wait for them."""
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


async def wait_readable(fd: int, timeout: float | None = None) -> bool:
    """Wait until ``fd`` is readable; returns False if ``timeout`` seconds pass first."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def _on_ready() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, _on_ready)
    try:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that races with the
        # future completing, and a pump that misses its cancellation runs forever.
        async with asyncio.timeout(timeout):
            await ready
    except TimeoutError:
        return False
    finally:
        loop.remove_reader(fd)
    return True
