"""The native transport: a session over a websocket, run by :class:`~ssmux.protocol.client.ClientSession`.

This is the only module with asyncio and websockets for the data channel. It does the I/O the sans-I/O
client cannot do, and nothing else:

* **Open** (docs/ssm-protocol.md §3 and correction 1): dial ``StreamUrl`` with a SigV4-signed upgrade
  (:mod:`ssmux.sessions.signing`; a presigned URL is dialled as given), no compression, an HTTP(S) proxy
  from the environment as the plugin does; send the token message as the first TEXT frame, then binary
  frames only. A first open that fails is retried with the same token; a refused upgrade (HTTP 4xx) is not.
* **Pump**: every binary frame goes to ``ClientSession.receive``; after each, whatever the session has to
  send is written out, and its events go to the frontend's handler, in order. A malformed frame is dropped
  (the agent resends what mattered); a failed handshake or decryption ends the session with an error.
* **Timers** (§5.4): ``tick`` every 100 ms drives retransmission; a message resent 3000 times ends the
  session with ``TerminateSession``, as the plugin does.
* **KMS** (§9): ``KmsKeyRequested`` becomes ``kms:GenerateDataKey`` (64 bytes, the session's encryption
  context) through the same profile and region, in a worker thread; its failure is reported to the agent
  and to the user.
* **Resume** (§3.1, correction 2): when the websocket drops, ``ResumeSession`` gives a new token and
  maybe a new ``StreamUrl`` (another cell), which replaces the old one; the dial is signed afresh with
  current credentials. The ClientSession keeps sequence numbers and buffers, and resends what was not
  acked, so output is neither lost nor repeated. No token means the session timed out. A session opened
  with a presigned URL is not resumed (the plugin does not either).
* **Bounded retries**: reconnects back off exponentially (0.1 s doubling to 5 s) for as long as no data
  gets through, and give up with one line after :data:`RECONNECT_DEADLINE`, so a link that drops at
  once is not redialled hundreds of times a second. A silent socket is noticed by websocket pings
  (:data:`PING_INTERVAL`, :data:`PING_TIMEOUT`), a channel paused longer than :data:`PAUSE_TIMEOUT` is
  redialled; both then end the same way if nothing comes back.
* **Pause/start publication** (§5.5): honoured by the ClientSession (it stops sending new stream data);
  :attr:`NativeSession.paused` lets frontends stop reading local input meanwhile.
* **End**: ``channel_closed`` ends the session; :meth:`NativeSession.terminate` calls ``TerminateSession``
  when the user ends it.

Frontends (:mod:`ssmux.sessions.shell`, :mod:`ssmux.sessions.forward`, :mod:`ssmux.sessions.launch`)
set :attr:`NativeSession.handler` to take the events and call :meth:`~NativeSession.send_input`,
:meth:`~NativeSession.resize` and :meth:`~NativeSession.send_flag`; :meth:`NativeSession.wait_closed` says
how the session ended. Acks are written from the reading task itself, so they leave as frames arrive even when
the peer keeps many messages in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from ssmux.errors import AwsError, SessionError, SsmuxError
from ssmux.sessions import PLUGIN_VERSION
from ssmux.sessions.api import SessionApi, StartedSession
from ssmux.sessions.ending import EndReason, SessionEnd

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

    from ssmux.protocol.events import ClientEvent, KmsKeyRequested
    from ssmux.protocol.messages import PortFlag
    from ssmux.sessions.backends import SessionRequest

#: What takes a session's events (a frontend's ``handle``), on the event loop.
EventHandler = Callable[["ClientEvent"], None]

OPEN_TIMEOUT = 30.0
CLOSE_TIMEOUT = 2.0
TICK_INTERVAL = 0.1
#: Websocket pings keep idle proxies and NATs from dropping the connection (user pains 3); a pong shows the
#: link works, and a socket whose peer stops answering them is dropped, then resumed.
PING_INTERVAL = 30.0
PING_TIMEOUT = 30.0
MAX_FRAME = 1 << 20
#: Attempts at the first dial of a session (the plugin's DataChannelNumMaxRetries is 5 retries).
RECONNECT_ATTEMPTS = 6
RECONNECT_FIRST_DELAY = 0.1
RECONNECT_MAX_DELAY = 5.0
#: Seconds a lost connection is retried while no data gets through before the session is given up.
RECONNECT_DEADLINE = 60.0
#: Seconds the service may keep publication paused (the instance's agent away) before the socket is
#: redialled; a second such pause with no data in between ends the session.
PAUSE_TIMEOUT = 120.0
PAUSE_STRIKES = 2
#: Frames read before the reader writes the acks itself instead of leaving them to the writer task.
ACK_BATCH = 32

_client_id: str | None = None


def client_id() -> str:
    """The ClientId of this process: one random UUID, kept across reconnects and sessions (§3)."""
    global _client_id
    if _client_id is None:
        _client_id = str(uuid.uuid4())
    return _client_id


class NativeSession:
    """A live SSM session over the data channel.

    Args:
        api: the AWS calls (ResumeSession, TerminateSession, GenerateDataKey) for the session's profile.
        started: what StartSession returned.
        target: the Target of StartSession (part of the KMS encryption context).
        kms_allowed: False refuses a KMS handshake (the plugin does so when called by an aws CLI too old
            to pass the profile).
        client_version: the ClientVersion to report (see :data:`ssmux.sessions.PLUGIN_VERSION`).
    """

    def __init__(
        self,
        api: SessionApi,
        started: StartedSession,
        target: str,
        *,
        kms_allowed: bool = True,
        client_version: str = PLUGIN_VERSION,
    ) -> None:
        from ssmux.protocol.client import ClientSession

        self.api = api
        self.started = started
        self.session_id = started.session_id
        self.target = target
        self._kms_allowed = kms_allowed
        self._loop = asyncio.get_running_loop()
        self.client = ClientSession(
            started.session_id,
            target,
            started.token,
            client_id(),
            client_version,
            self._loop.time(),
        )
        self.handler: EventHandler = _ignore
        self._ws: ClientConnection | None = None
        self._wake = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._ended: asyncio.Future[SessionEnd] = self._loop.create_future()
        self._tasks: list[asyncio.Task[Any]] = []
        self.reconnects = 0
        #: The StreamUrl to dial: StartSession's, replaced by the one a ResumeSession returns.
        self.stream_url = started.stream_url
        self._backoff = Backoff(RECONNECT_FIRST_DELAY, RECONNECT_MAX_DELAY, RECONNECT_DEADLINE)
        self._progress = 0  # grows whenever the agent's data or acks get through (see _made_progress)
        self._paused_since: float | None = None
        self._pause_strikes = 0
        self._hanging_up = False  # the TerminateSession flag went out: a dropped socket ends the session

    # ------------------------------------------------------------------------------- lifecycle

    @classmethod
    async def start(
        cls,
        request: SessionRequest,
        api: SessionApi | None = None,
        *,
        on_started: Callable[[NativeSession], None] | None = None,
        open_channel: bool = True,
        **options: Any,
    ) -> NativeSession:
        """``StartSession`` for ``request``, then open its data channel.

        Args:
            request: what to open.
            api: the AWS calls to use (default: one for the request's profile and region).
            on_started: called once the session exists, before the websocket is dialled (to print the
                "Starting session" line, record recent lists).
            open_channel: False leaves :meth:`open` to the caller (who may shield StartSession from
                cancellation but not the dial).
            **options: passed to the constructor (``kms_allowed``, ``client_version``).

        Raises:
            AwsError: StartSession failed (TargetNotConnected, AccessDenied, ...).
            SessionError: the data channel could not be opened (the session is terminated).
        """
        api = api or SessionApi(request.aws_profile, request.region)
        # run_in_executor hands the call to the worker thread now (a to_thread coroutine would only start
        # at the next await, after the imports below), so StartSession's network wait overlaps them.
        starting = asyncio.get_running_loop().run_in_executor(
            None, api.start_session, request.start_session_params()
        )
        _preload()
        started = await starting
        session = cls(api, started, request.target, **options)
        if on_started is not None:
            on_started(session)
        if open_channel:
            await session.open()
        return session

    async def open(self) -> None:
        """Dial the websocket and start pumping; a failed first open is retried with the same token.

        Raises:
            SessionError: no connection after the retries (the session is terminated on the service).
        """
        error: BaseException | None = None
        delay = RECONNECT_FIRST_DELAY * (1 + random.random())  # noqa: S311 (jitter, not crypto)
        for attempt in range(RECONNECT_ATTEMPTS):
            try:
                await self._connect(None)
                break
            except Refused as refused:
                await asyncio.to_thread(self.api.terminate_session, self.session_id, quiet=True)
                raise SessionError(
                    f"cannot open the data channel of session {self.session_id}: {refused}"
                ) from None
            except SsmuxError:
                await asyncio.to_thread(self.api.terminate_session, self.session_id, quiet=True)
                raise
            except (OSError, TimeoutError, _websocket_errors()) as failure:
                error = failure
            if attempt + 1 < RECONNECT_ATTEMPTS:
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_DELAY)
        else:
            await asyncio.to_thread(self.api.terminate_session, self.session_id, quiet=True)
            raise SessionError(
                f"cannot open the data channel of session {self.session_id} ({_describe(error)}): check "
                "your network or proxy (HTTPS_PROXY) and access to ssmmessages"
            )
        self._tasks = []
        self._spawn(self._reader(), "reader")
        self._spawn(self._writer(), "writer")
        self._spawn(self._ticker(), "ticker")
        self._spawn(self._keepalive(), "keepalive")

    async def wait_closed(self) -> SessionEnd:
        """Wait until the session ends; how it ended."""
        return await asyncio.shield(self._ended)

    @property
    def closed(self) -> bool:
        """True once the session has ended."""
        return self._ended.done()

    @property
    def paused(self) -> bool:
        """True while the service paused publication (the other end is away)."""
        return self.client.channel.paused

    async def terminate(self) -> None:
        """End the session: ``TerminateSession`` on the service, then close here."""
        if not self.closed:
            self._finish(SessionEnd(EndReason.TERMINATED))
            await asyncio.to_thread(self.api.terminate_session, self.session_id, quiet=True)
        await self.close()

    async def close(self) -> None:
        """Stop pumping and close the websocket (the session itself is left to the service)."""
        if not self.closed:
            self._finish(SessionEnd(EndReason.TERMINATED))
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks = []
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), CLOSE_TIMEOUT)

    # ----------------------------------------------------------------------------- user actions

    def send_input(self, data: bytes) -> None:
        """Send keystrokes or port bytes (held until the session type is known)."""
        if data and not self.closed:
            self.client.send_input(data, self._loop.time())
            self._wake.set()

    def resize(self, cols: int, rows: int) -> None:
        """Send the terminal size."""
        if not self.closed:
            self.client.resize(cols, rows, self._loop.time())
            self._wake.set()

    def send_flag(self, flag: PortFlag) -> None:
        """Send a port-session Flag (DisconnectToPort, TerminateSession).

        After TerminateSession the agent acks the flag and drops its socket without channel_closed (agent
        ``port.go``): that drop is the end of the session, not a network failure to resume from.
        """
        from ssmux.protocol.messages import PortFlag

        if not self.closed:
            if flag == PortFlag.TERMINATE_SESSION:
                self._hanging_up = True
            self.client.send_flag(flag, self._loop.time())
            self._wake.set()

    def set_ready(self, ready: bool) -> None:
        """Whether output can be taken now; while False, output is left unacked and the agent resends it."""
        self.client.ready = ready
        if ready:
            self._dispatch()
            self._wake.set()

    # ---------------------------------------------------------------------------------- pumping

    async def _connect(self, token: str | None) -> None:
        """Dial :attr:`stream_url` with a freshly signed upgrade, and send the token message.

        Raises:
            Refused: the service answered the upgrade with an HTTP error (not worth retrying as is).
            AwsError: no credentials to sign with.
        """
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus

        url = self.stream_url
        headers = await asyncio.to_thread(self.api.upgrade_headers, url)
        try:
            ws = await connect(
                url,
                additional_headers=headers,
                compression=None,
                open_timeout=OPEN_TIMEOUT,
                close_timeout=CLOSE_TIMEOUT,
                ping_interval=None,  # our own keepalive task pings: a pong counts as a working link
                max_size=MAX_FRAME,
                user_agent_header=f"ssmux/{PLUGIN_VERSION}",
            )
        except InvalidStatus as error:
            response = error.response
            if response.status_code >= 500:
                raise  # the service's trouble: worth another try
            reason = " ".join(bytes(response.body or b"").decode("utf-8", "replace").split())[:300]
            raise Refused(
                f"the service refused the connection (HTTP {response.status_code}"
                f"{': ' + reason if reason else ''}); check the AWS credentials and region of the session"
            ) from None
        try:
            await ws.send(self.client.open_message(token))
        except BaseException:
            await ws.close()
            raise
        self._ws = ws

    async def _reader(self) -> None:
        from websockets.exceptions import ConnectionClosed

        from ssmux.protocol.errors import CryptoError, HandshakeError, MalformedMessage, ProtocolError

        while not self.closed:
            ws = self._ws
            if ws is None:
                return  # only after the session ended: a failed resume ends it
            pending = 0
            try:
                async for frame in ws:
                    data = frame.encode() if isinstance(frame, str) else frame
                    try:
                        self.client.receive(data, self._loop.time())
                    except MalformedMessage:
                        pass  # dropped, as the plugin does; the agent resends what was not acked
                    except (CryptoError, HandshakeError) as error:
                        self._dispatch()
                        self._fail(f"session {self.session_id} cannot continue: {error}")
                        return
                    except ProtocolError:
                        pass  # one bad payload; the session goes on
                    self._dispatch()
                    self._made_progress()
                    # Acks are written by the writer task once the reader runs out of buffered frames, so
                    # a burst of frames is answered with one socket write; past ACK_BATCH frames they go
                    # out from here, so the peer's window never waits on a long burst.
                    pending += 1
                    if pending >= ACK_BATCH:
                        pending = 0
                        await self._flush()
                    else:
                        self._wake.set()
                    if self.closed:
                        return
            except ConnectionClosed:
                pass
            except OSError:
                pass
            if self.closed:
                return
            if self._hanging_up:
                self._finish(SessionEnd(EndReason.TERMINATED))
                return
            await self._resume()

    async def _resume(self) -> None:
        """The websocket dropped: ResumeSession, then dial the URL it gives (§3.1), with bounded backoff."""
        from ssmux.sessions.signing import is_presigned

        old, self._ws = self._ws, None
        if old is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(old.close(), CLOSE_TIMEOUT)
        if is_presigned(self.stream_url):
            self._fail(
                f"connection to session {self.session_id} lost: a session opened with a presigned stream URL "
                "cannot be resumed; start a new session"
            )
            return
        error: BaseException | None = None
        while not self.closed:
            delay = self._backoff.next_delay(self._loop.time())
            if delay is None:
                break
            await asyncio.sleep(delay)
            if self.closed:
                return
            try:
                resumed = await asyncio.to_thread(self.api.resume_session, self.session_id)
                if resumed is None:
                    self._finish(SessionEnd(EndReason.TIMED_OUT, f"Session: {self.session_id} timed out."))
                    return
                if resumed.stream_url:
                    self.stream_url = resumed.stream_url
                await self._connect(resumed.token)
                self.reconnects += 1
                self._paused_since = None
                self.client.reconnected(self._loop.time())
                self._wake.set()
                return
            except AwsError as failure:
                error = failure
                if failure.code in ("AccessDeniedException", "DoesNotExistException", "ProfileNotFound"):
                    break
            except Refused as failure:
                error = failure
            except (OSError, TimeoutError, _websocket_errors()) as failure:
                error = failure
        if self.closed:
            return
        await asyncio.to_thread(self.api.terminate_session, self.session_id, quiet=True)
        self._fail(
            f"connection to session {self.session_id} lost and not resumed within "
            f"{RECONNECT_DEADLINE:.0f} s ({_describe(error)}): check your network; the session was ended"
        )

    def _made_progress(self) -> None:
        """Note data or acks from the agent: the link works, so the next drop starts a fresh backoff."""
        channel = self.client.channel
        progress = channel.expected_sequence_number + channel.next_sequence_number - channel.unacked_count
        if progress != self._progress:
            self._progress = progress
            self._pause_strikes = 0
            self._backoff.reset()

    async def _keepalive(self) -> None:
        """Ping every :data:`PING_INTERVAL`; a pong resets the backoff, no pong in time drops the socket."""
        while not self.closed:
            await asyncio.sleep(PING_INTERVAL)
            ws = self._ws
            if ws is None:
                continue
            try:
                pong = await ws.ping(b"keepalive")  # the plugin's ping payload
                async with asyncio.timeout(PING_TIMEOUT):
                    await pong
            except TimeoutError:
                if self._ws is ws:
                    ws.transport.abort()  # silent peer: the reader sees the socket end and resumes
                continue
            except Exception:  # noqa: S112 - a closed socket: the reader resumes
                continue
            self._backoff.reset()

    def _watch_pause(self, now: float) -> None:
        """A channel paused for :data:`PAUSE_TIMEOUT` is dropped here, so that it is resumed (or ended)."""
        if not self.client.channel.paused or self._ws is None:
            self._paused_since = None
            return
        if self._paused_since is None:
            self._paused_since = now
        elif now - self._paused_since >= PAUSE_TIMEOUT:
            self._paused_since = None
            self._pause_strikes += 1
            if self._pause_strikes >= PAUSE_STRIKES:
                waited = PAUSE_TIMEOUT * PAUSE_STRIKES
                why = f"the instance did not answer for {waited:.0f} s (publication paused)"
                self._spawn(self._give_up(why), "give-up")
                return
            self._ws.transport.abort()  # the reader sees the socket end and resumes

    async def _writer(self) -> None:
        while not self.closed:
            await self._wake.wait()
            self._wake.clear()
            await self._flush()

    async def _flush(self) -> None:
        """Write what the session has to send, in order (one sender at a time keeps the order)."""
        async with self._send_lock:
            frames = self.client.data_to_send()
            ws = self._ws
            if ws is None or not frames:
                return  # reconnecting: the session resends what matters once a socket is up
            try:
                from ssmux.wswrite import send_frames

                await send_frames(ws, frames)
            except Exception:  # a dead socket: the reader sees it and resumes
                return

    async def _ticker(self) -> None:
        while not self.closed:
            await asyncio.sleep(TICK_INTERVAL)
            now = self._loop.time()
            self.client.tick(now)
            self._dispatch()
            self._watch_pause(now)
            self._wake.set()

    def _dispatch(self) -> None:
        from ssmux.protocol.channel import ChannelClosed, ResendLimitReached
        from ssmux.protocol.client import KmsKeyRequested

        while (event := self.client.next_event()) is not None:
            if isinstance(event, KmsKeyRequested):
                self._spawn(self._generate_data_key(event), "kms")
            elif isinstance(event, ResendLimitReached):
                self._spawn(self._give_up(), "give-up")
            try:
                self.handler(event)
            except Exception as error:
                self._fail(f"session {self.session_id}: local side failed: {type(error).__name__}: {error}")
                return
            if isinstance(event, ChannelClosed):
                self._finish(SessionEnd(EndReason.CLOSED, event.output))
                return

    async def _generate_data_key(self, event: KmsKeyRequested) -> None:
        now = self._loop.time
        if not self._kms_allowed:
            self.client.kms_failed("KMS encryption needs a newer AWS CLI that passes the profile", now())
            self._wake.set()
            self._fail(
                "this session is KMS-encrypted, and the aws CLI that started it is too old to pass its "
                "profile: upgrade the AWS CLI"
            )
            return
        try:
            blob, plaintext = await asyncio.to_thread(
                self.api.generate_data_key, event.key_id, event.encryption_context
            )
        except SsmuxError as error:
            self.client.kms_failed(str(error), now())
            self._wake.set()
            self._fail(f"KMS-encrypted session {self.session_id} needs a data key: {error}")
            return
        try:
            self.client.provide_data_key(blob, plaintext, now())
        except Exception as error:
            self.client.kms_failed(str(error), now())
            self._fail(f"KMS data key for session {self.session_id} is unusable: {error}")
        self._dispatch()
        self._wake.set()

    async def _give_up(self, why: str = "the other side stopped acknowledging data") -> None:
        await asyncio.to_thread(self.api.terminate_session, self.session_id, quiet=True)
        self._fail(f"session {self.session_id} ended: {why}; it was terminated")

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        task = self._loop.create_task(coroutine, name=f"ssm-{name}")
        self._tasks.append(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        # A bug in the pump must end the session visibly, not leave it hanging.
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            self._fail(f"session {self.session_id}: {task.get_name()} failed: {_describe(error)}")

    def _fail(self, message: str) -> None:
        self._finish(SessionEnd(EndReason.ERROR, message, SessionError(message)))

    def _finish(self, end: SessionEnd) -> None:
        if not self._ended.done():
            self._ended.set_result(end)
        self._wake.set()


class Refused(Exception):
    """The service answered the websocket upgrade with an HTTP error; the message says what to check."""


class Backoff:
    """Delays between reconnects: exponential with jitter, reset by progress, bounded by a deadline.

    Args:
        first: the first delay (seconds; up to twice that with jitter).
        cap: the longest delay.
        deadline: seconds after the first failure since the last reset after which no more tries are made.
    """

    def __init__(self, first: float, cap: float, deadline: float) -> None:
        self.first = first
        self.cap = cap
        self.deadline = deadline
        self._delay = first
        self._since: float | None = None

    def next_delay(self, now: float) -> float | None:
        """How long to wait before the next try, or None when the deadline has passed."""
        if self._since is None:
            self._since = now
            return 0.0  # the first try at once, as the plugin's retryer does
        if now - self._since >= self.deadline:
            return None
        delay = min(self._delay, self.cap)
        self._delay = min(self._delay * 2, self.cap)
        return delay * (1 + random.random() * 0.5)  # noqa: S311 (jitter, not crypto)

    def reset(self) -> None:
        """The link works again: the next failure starts from the first delay and a new deadline."""
        self._delay = self.first
        self._since = None


def _preload() -> None:
    """Import the modules a session needs (they are imported lazily to keep ``ssmux --help`` fast)."""
    import websockets.asyncio.client  # noqa: F401

    import ssmux.protocol.client  # noqa: F401


def _ignore(event: ClientEvent) -> None:
    """The handler before a frontend takes over: events are dropped."""


def _websocket_errors() -> type[Exception]:
    from websockets.exceptions import WebSocketException

    return WebSocketException


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "unknown error"
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
