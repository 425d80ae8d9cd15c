"""A small test driver: the protocol core's ClientSession over a real websocket to the emulator.

It does what a client does and nothing more: ``ssm:StartSession`` through boto3 (against the emulator's
endpoint), open the StreamUrl with a SigV4-signed upgrade (the credentials and region of the boto3 client),
send the token TEXT frame, then pump binary frames both ways, tick the resend timer every 100 ms, answer
``KmsKeyRequested`` with ``kms:GenerateDataKey``, and on an unexpected websocket drop call
``ssm:ResumeSession`` and reconnect with the new token to the StreamUrl it returns. Every event is recorded
for the test to look at; output is collected in order.

Usage (inside an ``async`` test)::

    async with open_session(ssm, target="i-...", kms=kms) as s:
        await s.wait_for(b"$ ")
        await s.send_input(b"echo hi\\r")
        await s.wait_for(b"hi")
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from ssmux.protocol.client import (
    ChannelClosed,
    ClientSession,
    ExitCode,
    KmsKeyRequested,
    Output,
    SessionTypeKnown,
    StdErr,
)
from ssmux.protocol.errors import ProtocolError
from ssmux.protocol.messages import ClientMessage, MessageType, PortFlag
from ssmux.sessions.signing import upgrade_headers

#: A ClientVersion that makes the agent choose smux for LocalPortForwarding (>= 1.1.70) and no smux keepalive.
PLUGIN_VERSION = "1.2.0.0"
#: A ClientVersion below 1.1.70: the agent uses basic port forwarding.
BASIC_CLIENT_VERSION = "1.0.0.0"

DEFAULT_TIMEOUT = 15.0
TICK = 0.1


@dataclass
class SessionDriver:
    """One client session against the emulator: state, recorded events, and the tasks that pump it."""

    ssm: Any
    session_id: str
    stream_url: str
    target: str
    client: ClientSession
    kms: Any = None
    events: list[object] = field(default_factory=list)
    output: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    exit_code: int | None = None
    closed: ChannelClosed | None = None
    errors: list[BaseException] = field(default_factory=list)
    reconnects: int = 0
    #: Stream-data frames received: all of them, those seen before (duplicates), those that came after a
    #: higher sequence number (out of order). Shows that injected faults really happened.
    data_frames: int = 0
    duplicate_frames: int = 0
    out_of_order_frames: int = 0
    _seen: set[int] = field(default_factory=set)
    on_output: Callable[[bytes], None] | None = None
    _ws: ClientConnection | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: Cleared, it holds the resume after a drop until set again (to look at the session while away).
    resume_gate: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.resume_gate.set()

    # ---------------------------------------------------------------------------- actions

    async def send_input(self, data: bytes) -> None:
        """Type ``data`` (sent as Output messages)."""
        self.client.send_input(data, time.monotonic())
        await self._flush()

    async def resize(self, cols: int, rows: int) -> None:
        """Send a Size message."""
        self.client.resize(cols, rows, time.monotonic())
        await self._flush()

    async def send_flag(self, flag: PortFlag) -> None:
        """Send a Flag message (port sessions)."""
        self.client.send_flag(flag, time.monotonic())
        await self._flush()

    async def wait_until(
        self, predicate: Callable[[], bool], timeout: float = DEFAULT_TIMEOUT, what: str = ""
    ) -> None:
        """Wait until ``predicate()`` holds; fail the test with what was seen if it does not in time."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.errors:
                raise AssertionError(
                    f"session failed while waiting for {what}: {self.errors[0]!r}"
                ) from self.errors[0]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {timeout:.0f} s waiting for {what or predicate}; "
                    f"output so far: {bytes(self.output[-600:])!r}; closed={self.closed}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))

    async def wait_for(self, needle: bytes, timeout: float = DEFAULT_TIMEOUT, start: int = 0) -> int:
        """Wait until ``needle`` appears in the output at or after ``start``; returns the index after it."""
        await self.wait_until(lambda: self.output.find(needle, start) >= 0, timeout, what=repr(needle))
        return self.output.find(needle, start) + len(needle)

    async def wait_closed(self, timeout: float = DEFAULT_TIMEOUT) -> ChannelClosed:
        """Wait for channel_closed."""
        await self.wait_until(lambda: self.closed is not None, timeout, what="channel_closed")
        assert self.closed is not None
        return self.closed

    def session_type(self) -> str | None:
        """The session type the client learned (SessionTypeKnown), if any."""
        return next((e.session_type for e in self.events if isinstance(e, SessionTypeKnown)), None)

    # -------------------------------------------------------------------------- plumbing

    def upgrade_headers(self) -> dict[str, str]:
        """The signed headers of the upgrade, with the boto3 client's credentials (none for a stand-in)."""
        signer = getattr(self.ssm, "_request_signer", None)
        if signer is None:
            return {}
        return upgrade_headers(self.stream_url, signer._credentials, self.ssm.meta.region_name)

    async def connect(self, token: str | None = None) -> None:
        """Open the StreamUrl and send the token message (a new token after a resume)."""
        self._ws = await connect(
            self.stream_url,
            additional_headers=self.upgrade_headers(),
            compression=None,
            ping_interval=None,
            max_size=None,
            open_timeout=10,
        )
        await self._ws.send(self.client.open_message(token))

    async def run(self) -> None:
        """Pump frames until channel_closed; resume the session whenever the websocket drops."""
        while self.closed is None:
            ws = self._ws
            assert ws is not None
            try:
                async for frame in ws:
                    if isinstance(frame, str):
                        continue
                    self._count(frame)
                    try:
                        self.client.receive(frame, time.monotonic())
                    except ProtocolError as error:
                        self.errors.append(error)
                    await self._handle_events()
                    await self._flush()
                    if self.closed is not None:
                        return
            except ConnectionClosed:
                pass
            if self.closed is not None:
                return
            await self._resume()

    def drop(self) -> None:
        """Cut the websocket as a network failure would (no close frame); the driver then resumes."""
        if self._ws is not None:
            self._ws.transport.abort()

    def _count(self, frame: bytes) -> None:
        try:
            message = ClientMessage.parse(frame)
        except ProtocolError:
            return
        if message.message_type != MessageType.OUTPUT_STREAM_DATA:
            return
        sequence = message.sequence_number
        self.data_frames += 1
        if sequence in self._seen:
            self.duplicate_frames += 1
        elif self._seen and sequence < max(self._seen):
            self.out_of_order_frames += 1
        self._seen.add(sequence)

    async def _resume(self) -> None:
        await self.resume_gate.wait()
        response = await asyncio.to_thread(self.ssm.resume_session, SessionId=self.session_id)
        token = response.get("TokenValue")
        if not token:
            raise AssertionError(f"ResumeSession gave no token for {self.session_id}")
        self.stream_url = response.get("StreamUrl") or self.stream_url
        self.reconnects += 1
        await self.connect(token)
        self.client.reconnected(time.monotonic())
        await self._flush()

    async def ticker(self) -> None:
        """Call the client's resend timer every 100 ms."""
        while self.closed is None:
            await asyncio.sleep(TICK)
            self.client.tick(time.monotonic())
            await self._flush()

    async def _handle_events(self) -> None:
        while (event := self.client.next_event()) is not None:
            self.events.append(event)
            if isinstance(event, Output):
                self.output += event.data
                if self.on_output is not None:
                    self.on_output(event.data)
            elif isinstance(event, StdErr):
                self.stderr += event.data
            elif isinstance(event, ExitCode):
                self.exit_code = event.code
            elif isinstance(event, ChannelClosed):
                self.closed = event
            elif isinstance(event, KmsKeyRequested):
                await self._provide_key(event)
            self._changed.set()

    async def _provide_key(self, event: KmsKeyRequested) -> None:
        assert self.kms is not None, "KMS session but the driver has no kms client"
        key = await asyncio.to_thread(
            self.kms.generate_data_key,
            KeyId=event.key_id,
            NumberOfBytes=64,
            EncryptionContext=event.encryption_context,
        )
        self.client.provide_data_key(key["CiphertextBlob"], key["Plaintext"], time.monotonic())

    async def _flush(self) -> None:
        # One flush at a time, so frames leave in the order the session produced them.
        async with self._send_lock:
            frames = self.client.data_to_send()
            ws = self._ws
            if ws is None:
                return
            for frame in frames:
                try:
                    await ws.send(frame)
                except ConnectionClosed:
                    return  # the unacked ones are resent after the resume

    async def aclose(self) -> None:
        """Stop the tasks and close the websocket."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._ws is not None:
            await self._ws.close()


async def start_session(ssm: Any, **request: Any) -> dict[str, Any]:
    """``ssm:StartSession`` in a worker thread (boto3 blocks)."""
    return await asyncio.to_thread(lambda: ssm.start_session(**request))


@asynccontextmanager
async def open_session(
    ssm: Any,
    *,
    target: str,
    document_name: str | None = None,
    parameters: dict[str, list[str]] | None = None,
    kms: Any = None,
    client_version: str = PLUGIN_VERSION,
) -> AsyncIterator[SessionDriver]:
    """StartSession through the emulator's API, connect to its data channel, pump it until the block ends."""
    request: dict[str, Any] = {"Target": target}
    if document_name is not None:
        request["DocumentName"] = document_name
    if parameters is not None:
        request["Parameters"] = parameters
    response = await start_session(ssm, **request)
    async with connect_session(
        ssm, response, target=target, kms=kms, client_version=client_version
    ) as driver:
        yield driver


@asynccontextmanager
async def connect_session(
    ssm: Any,
    response: dict[str, Any],
    *,
    target: str,
    kms: Any = None,
    client_version: str = PLUGIN_VERSION,
) -> AsyncIterator[SessionDriver]:
    """Connect to a started session (StartSession's ``response``) and pump it until the block ends.

    ``ssm`` only needs ``resume_session(SessionId=...)``, called when the websocket drops.
    """
    client = ClientSession(
        session_id=response["SessionId"],
        target=target,
        token=response["TokenValue"],
        client_id=str(uuid.uuid4()),
        client_version=client_version,
        now=time.monotonic(),
    )
    driver = SessionDriver(
        ssm=ssm, session_id=response["SessionId"], stream_url=response["StreamUrl"], target=target,
        client=client, kms=kms,
    )  # fmt: skip
    await driver.connect()
    loop = asyncio.get_running_loop()
    driver._tasks += [
        loop.create_task(_guard(driver, driver.run())),
        loop.create_task(_guard(driver, driver.ticker())),
    ]
    try:
        yield driver
    finally:
        await driver.aclose()


async def _guard(driver: SessionDriver, coro: Any) -> None:
    try:
        await coro
    except asyncio.CancelledError:
        raise
    except BaseException as error:  # recorded so waiting tests fail with the cause
        driver.errors.append(error)
        driver._changed.set()


# ---------------------------------------------------------------------------------------- helpers


async def numbers(driver: SessionDriver, command: bytes, pattern: bytes) -> list[int]:
    """Type ``command`` + Enter and return the integers that ``pattern``'s groups match in what follows."""
    start = len(driver.output)
    await driver.send_input(command + b"\r")
    regex = re.compile(pattern)
    await driver.wait_until(lambda: regex.search(driver.output, start) is not None, what=repr(pattern))
    match = regex.search(driver.output, start)
    assert match is not None
    return [int(group) for group in match.groups()]


def first_instance(emulator: Any, profile: str = "dev", name: str | None = None) -> str:
    """Id of the first instance of ``profile`` (named ``name`` if given) in a running emulator."""
    filters = [{"Name": "tag:Name", "Values": [name]}] if name else []
    reservations = emulator.client("ec2", profile).describe_instances(Filters=filters)["Reservations"]
    return str(reservations[0]["Instances"][0]["InstanceId"])


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (a zombie counts as gone: it is dead, only unreaped)."""
    proc = Path("/proc")
    if proc.is_dir():
        try:
            stat = (proc / str(pid) / "stat").read_text()
        except OSError:
            return False
        return stat[stat.rfind(")") + 2] not in "ZX"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def wait_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    """Wait until none of ``pids`` runs; returns those still running after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (left := [pid for pid in pids if alive(pid)]) and loop.time() < deadline:
        await asyncio.sleep(0.05)
    return left
