"""The service + agent end of a data channel session, as a sans-I/O state machine (for the emulator).

The emulator plays MGS and the agent together (``docs/ssm-protocol.md`` §1, §10). This class is the
agent's protocol half: handshake, encryption, in-order input, output chunks, and the few frames MGS makes
itself (``channel_closed``, ``pause_publication``/``start_publication``). The emulator feeds it the
client's binary frames (:meth:`AgentSession.receive`), writes :meth:`AgentSession.data_to_send` to the
websocket, calls :meth:`AgentSession.tick` about every 100 ms, and reacts to events.

Session start (§6.1, §6.2; the states and what moves them are the table
:data:`~ssmux.protocol.states.AGENT_TABLE`, what each state reads :data:`~ssmux.protocol.states.AGENT_READS`):

* **Legacy** (``handshake=False``; the default for a shell without KMS): established at once; output can
  be sent right away and fixes the session type on the client.
* **Handshake** (the default for NonInteractiveCommands and Port, and whenever KMS is on): a
  HandshakeRequest (sequence 0, SYN) goes out on construction. The HandshakeResponse must report every
  action as Success, else :class:`HandshakeFailed`. With KMS, the client's CiphertextBlob is decrypted by
  the ``kms`` object with the encryption context ``{"aws:ssm:SessionId", "aws:ssm:TargetId"}`` plus
  ``"aws:ssm:RandomChallenge"`` when the client acknowledged the challenge; then a 64-byte encryption
  challenge must come back re-encrypted with the other key half. HandshakeComplete follows and
  :class:`HandshakeDone` is emitted. Each wait is bounded (15 s, as the agent).
* During the handshake, client stream data other than the handshake answers is acked and thrown away.
* Port sessions are never encrypted, whatever ``kms`` says (the agent's ``isEncryptionEnabled``).

"Handler not ready" (§5.2): while :attr:`AgentSession.ready` is False (for example before the pty
exists) in-order client data after the handshake is neither acked nor delivered, so the client resends.

Output given before the session is established is held and sent, in order, right after HandshakeComplete.
Shell output keeps UTF-8 sequences whole across calls (a partial trailing character waits for the next
call; :meth:`AgentSession.flush_output` sends it at the end); port output is cut at 1024 bytes as is.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Callable
from typing import Any, Protocol, cast

from ssmux.protocol.channel import Channel, epoch_ms
from ssmux.protocol.chunking import Utf8Chunker, chunk_payload
from ssmux.protocol.crypto import PayloadCipher
from ssmux.protocol.errors import LocalProtocolError, ProtocolError
from ssmux.protocol.events import (
    AgentEvent,
    ChannelClosed,
    FlagReceived,
    HandshakeDone,
    HandshakeFailed,
    Input,
    PublicationPaused,
    PublicationStarted,
    ResendLimitReached,
    Resize,
)
from ssmux.protocol.handshake import LOCAL_PORT_FORWARDING, kms_encryption_context
from ssmux.protocol.messages import ACK_FLAGS, ClientMessage, MessageType, PayloadType, PortFlag
from ssmux.protocol.payloads import (
    ActionStatus,
    ActionType,
    ChannelClosedContent,
    EncryptionChallenge,
    HandshakeComplete,
    HandshakeRequest,
    HandshakeResponse,
    KmsEncryptionRequest,
    SessionType,
    SizeData,
    decode_flag,
    encode_exit_code,
    encode_flag,
    format_created_date,
)
from ssmux.protocol.states import AGENT_READS, AGENT_TABLE, AgentState, AgentTrigger
from ssmux.protocol.versions import (
    SMUX_KEEPALIVE_OFF_AFTER_CLIENT,
    client_greater_than,
    uses_mux_port_forwarding,
)

__all__ = [
    "KMS_CUSTOMER_MESSAGE",
    "AgentEvent",
    "AgentSession",
    "ChannelClosed",
    "FlagReceived",
    "HandshakeDone",
    "HandshakeFailed",
    "Input",
    "KmsDecrypter",
    "PublicationPaused",
    "PublicationStarted",
    "ResendLimitReached",
    "Resize",
]

#: CustomerMessage of HandshakeComplete in an encrypted session.
KMS_CUSTOMER_MESSAGE = "This session is encrypted using AWS KMS."
#: How long the agent waits for the HandshakeResponse and for the challenge response.
HANDSHAKE_TIMEOUT = 15.0
_CHALLENGE_SIZE = 64
_KMS_CHALLENGE_SIZE = 16
_REQUIRES_HANDSHAKE = frozenset({SessionType.NON_INTERACTIVE_COMMANDS, SessionType.PORT})


class KmsDecrypter(Protocol):
    """What the agent needs from KMS: the key id to announce and ``Decrypt`` with an encryption context."""

    @property
    def key_id(self) -> str:
        """The KMS key id or ARN put in the KMSEncryption action."""
        ...

    def decrypt(self, ciphertext_blob: bytes, encryption_context: dict[str, str]) -> bytes:
        """Return the 64-byte plaintext data key; raise anything on failure (it fails the handshake)."""
        ...


class AgentSession:
    """The agent's side of one SSM session; survives client reconnects (keep the object)."""

    def __init__(
        self,
        session_id: str,
        target: str,
        session_type: str,
        properties: dict[str, Any] | None,
        agent_version: str,
        kms: KmsDecrypter | None = None,
        handshake: bool | None = None,
        now: float = 0.0,
        new_id: Callable[[], uuid.UUID] = uuid.uuid4,
        *,
        client_version: str = "",
        wall_ms: Callable[[], int] = epoch_ms,
        token_bytes: Callable[[int], bytes] = os.urandom,
        require_challenge_response: bool = False,
        handshake_timeout: float = HANDSHAKE_TIMEOUT,
        max_resends: int | None = None,
    ) -> None:
        """Create the session; with a handshake, the HandshakeRequest is queued at once.

        Args:
            session_id: the SessionId (KMS encryption context, channel_closed).
            target: the instance id the agent runs on (KMS ``aws:ssm:TargetId``, channel_closed).
            session_type: ``Standard_Stream``, ``InteractiveCommands``, ``NonInteractiveCommands``, ``Port``.
            properties: the document's properties (Port: portNumber, type, host ...), or None.
            agent_version: AgentVersion to announce, e.g. ``"3.3.987.0"`` (steers the client, §10.5).
            kms: encrypt the session with this key (ignored for Port); None for no encryption.
            handshake: run the handshake; None applies the agent's rule (required for
                NonInteractiveCommands and Port, or with KMS).
            now: the current time in seconds (monotonic).
            new_id: makes MessageIds.
            client_version: the client's ClientVersion if known before the handshake (from the token
                message); the HandshakeResponse's value replaces it.
            wall_ms: Unix epoch milliseconds for CreatedDate.
            token_bytes: random bytes for the KMS and encryption challenges.
            require_challenge_response: refuse a client that does not acknowledge the KMS challenge
                (the agent's ``Kms.RequireKMSChallengeResponse``, default off).
            handshake_timeout: seconds to wait for each handshake answer.
            max_resends: resends of one message before :class:`ResendLimitReached`; None for no limit
                (the agent has none).
        """
        self.session_id = session_id
        self.target = target
        self.session_type = session_type
        self.properties: dict[str, Any] = dict(properties or {})
        self.agent_version = agent_version
        self.client_version = client_version
        self._new_id = new_id
        self._wall_ms = wall_ms
        self._token_bytes = token_bytes
        self._require_challenge = require_challenge_response
        self._timeout = handshake_timeout
        self._kms = kms if session_type != SessionType.PORT else None
        if handshake is None:
            handshake = session_type in _REQUIRES_HANDSHAKE or self._kms is not None
        elif self._kms is not None and not handshake:
            raise LocalProtocolError("a KMS-encrypted session needs the handshake")
        self._channel = Channel(
            send_type=MessageType.OUTPUT_STREAM_DATA,
            receive_type=MessageType.INPUT_STREAM_DATA,
            now=now,
            new_id=new_id,
            ready=self._is_ready,
            deliver=self._deliver,
            wall_ms=wall_ms,
            check_digest=False,  # the agent does not check digests (§4)
            syn_on_first=True,
            reorder_capacity=100_000,
            outgoing_capacity=100_000,
            drop_oldest_when_full=False,
            max_resends=max_resends,
        )
        self._now = now
        self._ready = True
        self._cipher: PayloadCipher | None = None
        self._kms_challenge: str | None = None
        self._challenge_plain = b""
        self._started = now
        self._deadline: float | None = None
        self._held: list[tuple[int, bytes]] = []
        self._stdout = Utf8Chunker()
        self._stderr = Utf8Chunker()
        self._state = AGENT_TABLE.initial
        if handshake:
            self._start_handshake(now)
        else:
            self._advance(AgentTrigger.START_LEGACY)

    # ------------------------------------------------------------------------------- state

    @property
    def ready(self) -> bool:
        """Whether client data can be taken (False: not acked, the client resends; §5.2)."""
        return self._ready

    @ready.setter
    def ready(self, value: bool) -> None:
        self._ready = value
        if value:
            self._channel.redeliver()

    @property
    def state(self) -> AgentState:
        """Where the session is in starting (see :data:`~ssmux.protocol.states.AGENT_TABLE`)."""
        return self._state

    @property
    def established(self) -> bool:
        """True once output flows: at once for a legacy session, after HandshakeComplete otherwise."""
        return self._state is AgentState.ESTABLISHED

    @property
    def failed(self) -> bool:
        """True after :class:`HandshakeFailed`."""
        return self._state is AgentState.FAILED

    @property
    def encrypted(self) -> bool:
        """True once KMS encryption is set up."""
        return self._cipher is not None

    @property
    def uses_smux(self) -> bool:
        """Whether this Port session must use smux (§8.1).

        LocalPortForwarding, a ClientVersion >= 1.1.70 (the agent's rule) and an agent newer than
        3.0.196.0: an agent that old has no smux, and the client decides by that version too.
        """
        return (
            self.session_type == SessionType.PORT
            and self.properties.get("type") == LOCAL_PORT_FORWARDING
            and uses_mux_port_forwarding(self.agent_version, self.client_version)
        )

    @property
    def smux_keepalive(self) -> bool:
        """Whether the agent's smux must send keepalives (client not newer than 1.2.331.0, §8.4)."""
        return not client_greater_than(self.client_version, SMUX_KEEPALIVE_OFF_AFTER_CLIENT)

    @property
    def paused(self) -> bool:
        """True while the client is away: new output is buffered, not sent; stop reading the pty."""
        return self._channel.paused

    @property
    def channel(self) -> Channel:
        """The reliability engine (unacked count, all_acked, RTO) for inspection."""
        return self._channel

    # --------------------------------------------------------------------------- transport

    def receive(self, frame: bytes, now: float) -> None:
        """Take one binary frame from the client.

        Raises:
            ProtocolError: the frame is malformed (dropped, nothing changed) or its payload is invalid
                or fails to decrypt after the handshake (the state stays consistent).
        """
        self._now = now
        self._channel.receive(frame, now)

    def tick(self, now: float) -> None:
        """Run the resend timer and the handshake timeout; call about every 100 ms."""
        self._now = now
        if self._deadline is not None and now > self._deadline:
            waiting = (
                "HandshakeResponse"
                if self._state is AgentState.AWAITING_RESPONSE
                else "encryption challenge response"
            )
            self._fail(f"Handshake timed out waiting for the {waiting} after {self._timeout:g} s")
        self._channel.tick(now)

    def reconnected(self, now: float) -> None:
        """The client is back on a new websocket: resend every unacked message now."""
        self._now = now
        self._channel.reconnected(now)

    def pause(self) -> None:
        """The client went away (MGS pauses the agent): buffer output, stop resending."""
        self._channel.pause()

    def resume(self, now: float) -> None:
        """The client is back: send buffered output."""
        self._now = now
        self._channel.resume(now)

    def data_to_send(self) -> list[bytes]:
        """Binary frames to write to the client, in order."""
        return self._channel.data_to_send()

    def next_event(self) -> AgentEvent | None:
        """The next event, or None."""
        return cast("AgentEvent | None", self._channel.next_event())

    # ------------------------------------------------------------------------------ sending

    def send_output(self, data: bytes, now: float) -> None:
        """Send stdout/pty/port bytes as Output (PayloadType 1) chunks of at most 1024 bytes."""
        self._send(PayloadType.OUTPUT, bytes(data), now)

    def send_stderr(self, data: bytes, now: float) -> None:
        """Send stderr bytes as StdErr (PayloadType 11) chunks (NonInteractiveCommands, error text)."""
        self._send(PayloadType.STDERR, bytes(data), now)

    def send_exit_code(self, code: int, now: float) -> None:
        """Send ``EXIT_CODE: n`` (PayloadType 12) after any held-back output."""
        self.flush_output(now)
        self._send(PayloadType.EXIT_CODE, encode_exit_code(code), now)

    def send_flag(self, flag: PortFlag, now: float) -> None:
        """Send a Flag (PayloadType 10), e.g. ConnectToPortError in mux port forwarding."""
        self._send(PayloadType.FLAG, encode_flag(flag), now)

    def flush_output(self, now: float) -> None:
        """Send a partial UTF-8 sequence still held back (call when the output source ends)."""
        self._now = now
        for payload_type, chunker in ((PayloadType.OUTPUT, self._stdout), (PayloadType.STDERR, self._stderr)):
            for chunk in chunker.flush():
                self._send_chunk(payload_type, chunk, now)

    def close_message(self, output: str = "") -> bytes:
        """The ``channel_closed`` frame MGS sends when the session ends (§7.4, §10.6).

        SequenceNumber 0, Flags 3, PayloadType 0; ``output`` is the reason text (empty for a normal end).
        """
        message_id = self._new_id()
        content = ChannelClosedContent(
            message_id=str(message_id),
            created_date=format_created_date(self._wall_ms()),
            destination_id=self.target,
            session_id=self.session_id,
            output=output,
        )
        return ClientMessage(
            message_type=MessageType.CHANNEL_CLOSED,
            payload=content.to_json(),
            message_id=message_id,
            created_date=self._wall_ms(),
            payload_type=PayloadType.UNDEFINED,
            sequence_number=0,
            flags=ACK_FLAGS,
        ).serialize()

    def pause_message(self) -> bytes:
        """A ``pause_publication`` frame for the client (MGS: the agent side is away)."""
        return self._publication(MessageType.PAUSE_PUBLICATION)

    def start_message(self) -> bytes:
        """A ``start_publication`` frame for the client (MGS: the agent side is back)."""
        return self._publication(MessageType.START_PUBLICATION)

    def _publication(self, message_type: MessageType) -> bytes:
        # Nobody inspects this payload and its real content is not known; it only must not be empty.
        body = json.dumps(
            {"SchemaVersion": 1, "SessionId": self.session_id, "MessageType": str(message_type)},
            separators=(",", ":"),
        )
        return self._channel.build(message_type, body.encode("utf-8"), PayloadType.UNDEFINED, 0)

    # ---------------------------------------------------------------------------- internals

    def _send(self, payload_type: int, data: bytes, now: float) -> None:
        if not data:
            return
        self._now = now
        if not self.established:
            if not self.failed:
                self._held.append((payload_type, data))
            return
        if self.session_type == SessionType.PORT or payload_type not in (
            PayloadType.OUTPUT,
            PayloadType.STDERR,
        ):
            chunks = chunk_payload(data)
        else:
            chunker = self._stdout if payload_type == PayloadType.OUTPUT else self._stderr
            chunks = chunker.feed(data)
        for chunk in chunks:
            self._send_chunk(payload_type, chunk, now)

    def _send_chunk(self, payload_type: int, chunk: bytes, now: float) -> None:
        if self._cipher is not None and payload_type in (
            PayloadType.OUTPUT,
            PayloadType.STDERR,
            PayloadType.EXIT_CODE,
        ):
            chunk = self._cipher.encrypt(chunk)
        self._channel.send_stream(payload_type, chunk, now)

    def _start_handshake(self, now: float) -> None:
        kms_request = None
        if self._kms is not None:
            self._kms_challenge = base64.b64encode(self._token_bytes(_KMS_CHALLENGE_SIZE)).decode("ascii")
            kms_request = KmsEncryptionRequest(self._kms.key_id, self._kms_challenge)
        properties = self.properties if self.session_type == SessionType.PORT else None
        request = HandshakeRequest.build(self.agent_version, self.session_type, properties, kms_request)
        self._advance(AgentTrigger.START_HANDSHAKE)
        self._deadline = now + self._timeout
        self._channel.send_stream(PayloadType.HANDSHAKE_REQUEST, request.to_json(), now)

    def _is_ready(self, message: ClientMessage) -> bool:
        # During the handshake everything is taken (answers processed, other data acked and dropped).
        return not self.established or self._ready

    def _advance(self, trigger: AgentTrigger) -> None:
        self._state = AGENT_TABLE.next_state(self._state, trigger)

    def _deliver(self, message: ClientMessage) -> None:
        kind = message.payload_type
        if kind not in AGENT_READS[self._state]:
            return  # acked and thrown away: data during the handshake, late answers, unknown types
        if kind == PayloadType.HANDSHAKE_RESPONSE:
            self._on_handshake_response(message.payload)
        elif kind == PayloadType.ENC_CHALLENGE_RESPONSE:
            self._on_challenge_response(message.payload)
        elif kind == PayloadType.OUTPUT:
            data = self._cipher.decrypt(message.payload) if self._cipher is not None else message.payload
            if data:
                self._channel.emit(Input(data))
        elif kind == PayloadType.SIZE:
            size = SizeData.from_json(message.payload)
            self._channel.emit(Resize(size.cols, size.rows))
        elif kind == PayloadType.FLAG:
            self._channel.emit(FlagReceived(decode_flag(message.payload)))

    def _on_handshake_response(self, payload: bytes) -> None:
        try:
            response = HandshakeResponse.from_json(payload)
        except ProtocolError as error:
            self._fail(f"invalid HandshakeResponse: {error}")
            return
        self.client_version = response.client_version
        for action in response.processed_actions:
            if action.action_status != ActionStatus.SUCCESS:
                detail = f": {action.error}" if action.error else ""
                self._fail(
                    f"client failed action {action.action_type} (status {action.action_status}){detail}"
                )
                return
        if self._kms is None:
            self._complete(AgentTrigger.RESPONSE_OK)
            return
        kms_results = [a for a in response.processed_actions if a.action_type == ActionType.KMS_ENCRYPTION]
        if not kms_results:
            self._fail("client did not answer the KMSEncryption action")
            return
        try:
            blob, acknowledged = kms_results[0].kms_ciphertext()
        except ProtocolError as error:
            self._fail(str(error))
            return
        if self._require_challenge and not acknowledged:
            self._fail("client did not acknowledge the KMS challenge")
            return
        context = kms_encryption_context(
            self.session_id, self.target, self._kms_challenge if acknowledged else None
        )
        try:
            plaintext = self._kms.decrypt(blob, context)
        except Exception as error:  # any KMS failure fails the handshake, never the emulator
            self._fail(f"KMS Decrypt of the client's data key failed: {error}")
            return
        try:
            cipher = PayloadCipher.for_agent(plaintext, self._token_bytes(12))
        except ProtocolError as error:
            self._fail(str(error))
            return
        self._cipher = cipher
        self._challenge_plain = self._token_bytes(_CHALLENGE_SIZE)
        challenge = EncryptionChallenge(cipher.encrypt(self._challenge_plain))
        self._advance(AgentTrigger.RESPONSE_OK_KMS)
        self._deadline = self._now + self._timeout
        self._channel.send_stream(PayloadType.ENC_CHALLENGE_REQUEST, challenge.to_json(), self._now)

    def _on_challenge_response(self, payload: bytes) -> None:
        assert self._cipher is not None  # set before entering the challenge state
        try:
            answer = self._cipher.decrypt(EncryptionChallenge.from_json(payload).challenge)
        except ProtocolError as error:
            self._fail(f"encryption challenge response is invalid: {error}")
            return
        if answer != self._challenge_plain:
            self._fail("encryption challenge response does not match the challenge")
            return
        self._complete(AgentTrigger.CHALLENGE_OK)

    def _complete(self, trigger: AgentTrigger) -> None:
        elapsed_ns = max(0, int((self._now - self._started) * 1e9))
        message = KMS_CUSTOMER_MESSAGE if self._cipher is not None else ""
        self._channel.send_stream(
            PayloadType.HANDSHAKE_COMPLETE, HandshakeComplete(elapsed_ns, message).to_json(), self._now
        )
        self._advance(trigger)
        self._deadline = None
        self._channel.emit(HandshakeDone(self.client_version, self._cipher is not None))
        held, self._held = self._held, []
        for payload_type, data in held:
            self._send(payload_type, data, self._now)

    def _fail(self, reason: str) -> None:
        self._advance(AgentTrigger.FAILURE)
        self._deadline = None
        self._held = []
        self._channel.emit(HandshakeFailed(reason))
