"""The client end of a data channel session, as a sans-I/O state machine (``docs/ssm-protocol.md`` §3-§9).

The transport opens the websocket, sends :meth:`ClientSession.open_message` as a TEXT frame, then feeds
every binary frame to :meth:`ClientSession.receive`, writes :meth:`ClientSession.data_to_send` out as
binary frames, calls :meth:`ClientSession.tick` about every 100 ms, and handles the events from
:meth:`ClientSession.next_event`. No sockets, clock or KMS calls live here.

How a session starts (§6; the states and what moves them are the table
:data:`~ssmux.protocol.states.CLIENT_TABLE`):

* **Legacy (no handshake)**: the first ``output_stream_data`` carrying Output fixes the session type to
  ``Standard_Stream`` (:class:`SessionTypeKnown`, then :class:`Output`).
* **Handshake**: the agent's HandshakeRequest (:class:`HandshakeRequested`) names the session type and,
  with KMS on, a key. KMS is I/O, so the session emits :class:`KmsKeyRequested` and waits for
  :meth:`ClientSession.provide_data_key` (or :meth:`ClientSession.kms_failed`). Then it sends the
  HandshakeResponse, answers the encryption challenge, and on HandshakeComplete emits
  :class:`HandshakeCompleted` and :class:`SessionTypeKnown`.

Input, resizes and flags given before the session type is known are held and sent, in order, once it is
known (the agent acks and throws away client data during the handshake, §6.2 step 7): on the next call
that sends, ticks or hands out frames. A resize given in answer to :class:`SessionTypeKnown` goes ahead of
held keystrokes, so the first client message is Size, as with the plugin.

Choices where the plugin is sloppy (§11): duplicates are acked again; an unknown action gets
ActionStatus 3 (Unsupported) rather than the plugin's 0 with ActionResult 3; with a KMS challenge the
client acknowledges it (``ChallengeAcknowledgement: true`` and ``aws:ssm:RandomChallenge`` in the
encryption context) unless built with ``acknowledge_kms_challenge=False``; no ``\\n`` to ``\\r`` rewrite.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from ssmux.protocol.channel import Channel, epoch_ms
from ssmux.protocol.chunking import chunk_payload
from ssmux.protocol.errors import HandshakeError, LocalProtocolError, MalformedPayload
from ssmux.protocol.events import (
    ChannelClosed,
    ClientEvent,
    ExitCode,
    FlagReceived,
    HandshakeCompleted,
    HandshakeRequested,
    KmsKeyRequested,
    Output,
    PublicationPaused,
    PublicationStarted,
    ResendLimitReached,
    SessionTypeKnown,
    StdErr,
)
from ssmux.protocol.handshake import LOCAL_PORT_FORWARDING, kms_encryption_context
from ssmux.protocol.messages import ClientMessage, MessageType, PayloadType, PortFlag
from ssmux.protocol.payloads import (
    ActionStatus,
    ActionType,
    EncryptionChallenge,
    HandshakeComplete,
    HandshakeRequest,
    HandshakeResponse,
    KmsEncryptionRequest,
    OpenDataChannelInput,
    ProcessedClientAction,
    SessionType,
    SizeData,
    decode_exit_code,
    decode_flag,
    encode_flag,
)
from ssmux.protocol.states import CLIENT_TABLE, ClientState, ClientTrigger
from ssmux.protocol.versions import (
    SMUX_KEEPALIVE_OFF_AFTER_AGENT,
    TERMINATE_FLAG_AGENT_AFTER,
    agent_greater_than,
    uses_mux_port_forwarding,
)

if TYPE_CHECKING:
    from ssmux.protocol.crypto import PayloadCipher

__all__ = [
    "ChannelClosed",
    "ClientEvent",
    "ClientSession",
    "ExitCode",
    "FlagReceived",
    "HandshakeCompleted",
    "HandshakeRequested",
    "KmsKeyRequested",
    "Output",
    "PublicationPaused",
    "PublicationStarted",
    "ResendLimitReached",
    "SessionTypeKnown",
    "StdErr",
]

#: Session types the client can run (the three shell-like ones share one handler, §6.3).
KNOWN_SESSION_TYPES = frozenset(SessionType)


_HANDSHAKE_PAYLOADS = frozenset(
    {PayloadType.HANDSHAKE_REQUEST, PayloadType.HANDSHAKE_COMPLETE, PayloadType.ENC_CHALLENGE_REQUEST}
)
_ENCRYPTED_FROM_AGENT = frozenset({PayloadType.OUTPUT, PayloadType.STDERR, PayloadType.EXIT_CODE})


class ClientSession:
    """The client's side of one SSM session; survives reconnects (keep the object, open a new socket)."""

    def __init__(
        self,
        session_id: str,
        target: str,
        token: str,
        client_id: str,
        client_version: str,
        now: float,
        new_id: Callable[[], uuid.UUID] = uuid.uuid4,
        *,
        wall_ms: Callable[[], int] = epoch_ms,
        acknowledge_kms_challenge: bool = True,
        max_resends: int | None = 3000,
    ) -> None:
        """Create the session state.

        Args:
            session_id: SessionId from StartSession (used in the KMS encryption context).
            target: the Target given to StartSession (the KMS context's ``aws:ssm:TargetId``).
            token: TokenValue from StartSession.
            client_id: a UUID string, made once per client process and kept across reconnects.
            client_version: the ClientVersion to report; it steers the agent (below 1.1.70: basic port
                forwarding; 1.1.70 or above: smux; above 1.2.331.0: no smux keepalive; §11).
            now: the current time in seconds (monotonic).
            new_id: makes MessageIds and RequestIds.
            wall_ms: Unix epoch milliseconds for CreatedDate.
            acknowledge_kms_challenge: answer an agent's KMS ``Challenge`` (see module docstring).
            max_resends: resends of one message before :class:`ResendLimitReached` (plugin: 3000).
        """
        self.session_id = session_id
        self.target = target
        self.client_id = client_id
        self.client_version = client_version
        self._token = token
        self._new_id = new_id
        self._acknowledge_challenge = acknowledge_kms_challenge
        self._channel = Channel(
            send_type=MessageType.INPUT_STREAM_DATA,
            receive_type=MessageType.OUTPUT_STREAM_DATA,
            now=now,
            new_id=new_id,
            ready=self._is_ready,
            deliver=self._deliver,
            wall_ms=wall_ms,
            check_digest=True,
            syn_on_first=False,
            reorder_capacity=10_000,
            outgoing_capacity=10_000,
            drop_oldest_when_full=True,
            max_resends=max_resends,
        )
        self._now = now
        self._ready = True
        self._agent_version: str | None = None
        self._session_type: str | None = None
        self._requested_type: str | None = None
        self._properties: dict[str, Any] = {}
        self._state = CLIENT_TABLE.initial
        self._kms_request: KmsEncryptionRequest | None = None
        self._kms_context: dict[str, str] = {}
        self._pending_results: list[ProcessedClientAction] = []
        self._cipher: PayloadCipher | None = None
        self._held: list[tuple[int, bytes]] = []

    # ------------------------------------------------------------------------------- state

    @property
    def ready(self) -> bool:
        """Whether output can be taken now; False makes output go unacked so the agent resends it.

        Set it False while the local side cannot take data (a port session without a local connection,
        a full output buffer) and back to True when it can; buffered output is then delivered.
        """
        return self._ready

    @ready.setter
    def ready(self, value: bool) -> None:
        self._ready = value
        if value:
            self._channel.redeliver()

    @property
    def session_type(self) -> str | None:
        """The session type once known (:class:`SessionTypeKnown`), else None."""
        return self._session_type

    @property
    def properties(self) -> dict[str, Any]:
        """The SessionType action's properties (port sessions), {} otherwise."""
        return self._properties

    @property
    def agent_version(self) -> str | None:
        """AgentVersion from the HandshakeRequest; None for a legacy session."""
        return self._agent_version

    @property
    def state(self) -> ClientState:
        """Where the session is in starting (see :data:`~ssmux.protocol.states.CLIENT_TABLE`)."""
        return self._state

    @property
    def established(self) -> bool:
        """True once the session type is known and input is sent as it comes."""
        return self._state is ClientState.ESTABLISHED

    @property
    def encrypted(self) -> bool:
        """True once KMS encryption is set up."""
        return self._cipher is not None

    @property
    def port_mode(self) -> str | None:
        """For a Port session: ``"mux"``, ``"basic"`` or ``"stream"`` (§8.1); None otherwise.

        ``mux`` needs both ends to agree: the agent newer than 3.0.196.0 (the plugin's rule) and our
        ClientVersion at least 1.1.70 (the agent's rule).
        """
        if self._session_type != SessionType.PORT:
            return None
        if self._properties.get("type") != LOCAL_PORT_FORWARDING:
            return "stream"
        if uses_mux_port_forwarding(self._agent_version, self.client_version):
            return "mux"
        return "basic"

    @property
    def smux_keepalive(self) -> bool:
        """Whether the client's smux must send keepalives (agent not newer than 3.1.1511.0, §8.4)."""
        return not agent_greater_than(self._agent_version, SMUX_KEEPALIVE_OFF_AFTER_AGENT)

    @property
    def supports_terminate_flag(self) -> bool:
        """Whether Ctrl-C in a port session may send the TerminateSession flag (§8.3)."""
        return self.port_mode == "mux" or agent_greater_than(self._agent_version, TERMINATE_FLAG_AGENT_AFTER)

    @property
    def channel(self) -> Channel:
        """The reliability engine (sequence numbers, unacked count, RTO) for inspection."""
        return self._channel

    # --------------------------------------------------------------------------- transport

    def open_message(self, token: str | None = None) -> str:
        """The OpenDataChannelInput TEXT frame to send first on each (re)connect (§3).

        Args:
            token: a new TokenValue (from ResumeSession) to use from now on; None keeps the current one.
        """
        if token is not None:
            self._token = token
        return OpenDataChannelInput(
            token_value=self._token,
            request_id=str(self._new_id()),
            client_id=self.client_id,
            client_version=self.client_version,
        ).to_text()

    def receive(self, frame: bytes, now: float) -> None:
        """Take one binary frame from the websocket.

        Raises:
            ProtocolError: the frame is malformed (it is dropped, nothing changed), or a delivered
                payload is invalid (``MalformedPayload``), failed to decrypt (``CryptoError``) or ended
                the handshake (``HandshakeError``). The session state stays consistent; a CryptoError or
                HandshakeError means the session cannot go on.
        """
        self._now = now
        self._channel.receive(frame, now)

    def tick(self, now: float) -> None:
        """Run the resend timer; call about every 100 ms."""
        self._now = now
        if self.established:
            self._flush_held(now)
        self._channel.tick(now)

    def reconnected(self, now: float) -> None:
        """A new websocket is up (after :meth:`open_message` was sent on it): resend unacked messages."""
        self._now = now
        self._channel.reconnected(now)

    def data_to_send(self) -> list[bytes]:
        """Binary frames to write, in order."""
        if self.established:
            self._flush_held(self._now)
        return self._channel.data_to_send()

    def next_event(self) -> ClientEvent | None:
        """The next event, or None."""
        return cast("ClientEvent | None", self._channel.next_event())

    # -------------------------------------------------------------------------- user actions

    def send_input(self, data: bytes, now: float) -> None:
        """Send keyboard or port bytes as Output messages (<= 1024 bytes each, encrypted under KMS)."""
        if data:
            self._send(PayloadType.OUTPUT, bytes(data), now)

    def resize(self, cols: int, rows: int, now: float) -> None:
        """Send the terminal size (PayloadType 3).

        Raises:
            LocalProtocolError: cols or rows is not in 0..2**32-1.
        """
        if not (0 <= cols < 2**32 and 0 <= rows < 2**32):
            raise LocalProtocolError(f"terminal size {cols}x{rows} is out of range")
        self._send(PayloadType.SIZE, SizeData(cols, rows).to_json(), now)

    def send_flag(self, flag: PortFlag, now: float) -> None:
        """Send a Flag (PayloadType 10): DisconnectToPort or TerminateSession in port sessions."""
        self._send(PayloadType.FLAG, encode_flag(flag), now)

    def provide_data_key(self, ciphertext_blob: bytes, plaintext: bytes, now: float) -> None:
        """Answer :class:`KmsKeyRequested` with GenerateDataKey's CiphertextBlob and 64-byte Plaintext.

        Raises:
            LocalProtocolError: no KMS key was requested, or it was already answered.
            CryptoError: ``plaintext`` is not 64 bytes (nothing is sent; call :meth:`kms_failed`).
        """
        next_state = self._check(ClientTrigger.DATA_KEY)
        assert self._kms_request is not None  # REQUESTED lasts past a call only while a key is wanted
        # Imported here: the cryptography bindings cost start-up time, and most sessions have no KMS.
        from ssmux.protocol.crypto import PayloadCipher

        cipher = PayloadCipher.for_client(plaintext)
        acknowledged = True if self._acknowledge_challenge and self._kms_request.challenge else None
        self._cipher = cipher
        self._kms_request = None
        self._state = next_state
        self._now = now
        self._pending_results.append(
            ProcessedClientAction.kms_result(ciphertext_blob, challenge_acknowledged=acknowledged)
        )
        self._send_handshake_response(now)

    def kms_failed(self, error: str, now: float) -> None:
        """Answer :class:`KmsKeyRequested` with a failure; the agent will end the session.

        Raises:
            LocalProtocolError: no KMS key was requested, or it was already answered.
        """
        self._state = self._check(ClientTrigger.KMS_FAILED)
        self._kms_request = None
        self._pending_results.append(
            ProcessedClientAction(ActionType.KMS_ENCRYPTION, ActionStatus.FAILED, None, error)
        )
        self._send_handshake_response(now)

    # ------------------------------------------------------------------------------ internals

    def _send(self, payload_type: int, payload: bytes, now: float) -> None:
        if not self.established:
            self._held.append((payload_type, payload))
            return
        if payload_type != PayloadType.SIZE:
            # Keystrokes and flags stay in order behind what was held; a size can go ahead of them.
            self._flush_held(now)
        self._send_now(payload_type, payload, now)

    def _flush_held(self, now: float) -> None:
        held, self._held = self._held, []
        for payload_type, payload in held:
            self._send_now(payload_type, payload, now)

    def _send_now(self, payload_type: int, payload: bytes, now: float) -> None:
        if payload_type == PayloadType.OUTPUT:
            for chunk in chunk_payload(payload):
                body = self._cipher.encrypt(chunk) if self._cipher is not None else chunk
                self._channel.send_stream(PayloadType.OUTPUT, body, now)
        else:
            self._channel.send_stream(payload_type, payload, now)

    def _check(self, trigger: ClientTrigger) -> ClientState:
        """The state ``trigger`` leads to; raises if the table does not allow it here."""
        return CLIENT_TABLE.next_state(self._state, trigger)

    def _advance(self, trigger: ClientTrigger) -> bool:
        """Move by the table; True if the state changed (False: allowed, and nothing to do)."""
        before, self._state = self._state, self._check(trigger)
        return self._state is not before

    def _establish(self, session_type: str) -> None:
        self._session_type = session_type
        # What was held goes out on the next send, tick or data_to_send(): a transport that answers
        # SessionTypeKnown with a resize thus sends Size first, as the plugin does (§6.1).
        self._channel.emit(SessionTypeKnown(session_type, dict(self._properties)))

    def _is_ready(self, message: ClientMessage) -> bool:
        # Handshake payloads are always taken (acked first, then processed, as the plugin does).
        return message.payload_type in _HANDSHAKE_PAYLOADS or self._ready

    def _deliver(self, message: ClientMessage) -> None:
        kind = message.payload_type
        if kind == PayloadType.HANDSHAKE_REQUEST:
            self._on_handshake_request(HandshakeRequest.from_json(message.payload))
        elif kind == PayloadType.ENC_CHALLENGE_REQUEST:
            self._on_challenge(EncryptionChallenge.from_json(message.payload))
        elif kind == PayloadType.HANDSHAKE_COMPLETE:
            self._on_handshake_complete(HandshakeComplete.from_json(message.payload))
        elif kind in _ENCRYPTED_FROM_AGENT:
            data = message.payload
            if self._cipher is not None:
                data = self._cipher.decrypt(data)
            if self._advance(ClientTrigger.STREAM_DATA):
                # Legacy session: the first Output fixes the session type (§6.1).
                self._establish(SessionType.STANDARD_STREAM)
            if kind == PayloadType.OUTPUT:
                self._channel.emit(Output(data))
            elif kind == PayloadType.STDERR:
                self._channel.emit(StdErr(data))
            else:
                self._channel.emit(ExitCode(decode_exit_code(data)))
        elif kind == PayloadType.FLAG:
            self._channel.emit(FlagReceived(decode_flag(message.payload)))
        # Other payload types (Size, Parameter, Error, ...) never come from an agent; ignore them.

    def _on_handshake_request(self, request: HandshakeRequest) -> None:
        if not self._advance(ClientTrigger.HANDSHAKE_REQUEST):
            return  # a second request (e.g. redelivered after a reconnect) changes nothing
        self._agent_version = request.agent_version
        results: list[ProcessedClientAction] = []
        problems: list[str] = []
        session_type: str | None = None
        for action in request.actions:
            if action.action_type == ActionType.SESSION_TYPE:
                try:
                    wanted = request.session_type()
                except MalformedPayload as error:
                    results.append(
                        ProcessedClientAction(action.action_type, ActionStatus.FAILED, None, str(error))
                    )
                    problems.append(str(error))
                    continue
                assert wanted is not None  # the action exists, so session_type() found it
                if wanted.session_type in KNOWN_SESSION_TYPES:
                    session_type = wanted.session_type
                    self._properties = dict(wanted.properties or {})
                    results.append(ProcessedClientAction(action.action_type, ActionStatus.SUCCESS, None, ""))
                else:
                    message = f"Unknown session type {wanted.session_type}"
                    results.append(
                        ProcessedClientAction(action.action_type, ActionStatus.FAILED, None, message)
                    )
                    problems.append(message)
            elif action.action_type == ActionType.KMS_ENCRYPTION:
                try:
                    kms = request.kms_encryption()
                except MalformedPayload as error:
                    results.append(
                        ProcessedClientAction(action.action_type, ActionStatus.FAILED, None, str(error))
                    )
                    problems.append(str(error))
                    continue
                assert kms is not None
                self._kms_request = kms
            else:
                message = f"Unsupported action {action.action_type}"
                results.append(
                    ProcessedClientAction(action.action_type, ActionStatus.UNSUPPORTED, None, message)
                )
        self._requested_type = session_type
        self._pending_results = results
        kms_request = self._kms_request
        self._channel.emit(
            HandshakeRequested(
                request.agent_version, session_type, kms_request.kms_key_id if kms_request else None
            )
        )
        if kms_request is not None and not problems:
            # The response waits in REQUESTED for provide_data_key() or kms_failed().
            challenge = kms_request.challenge if self._acknowledge_challenge else None
            context = kms_encryption_context(self.session_id, self.target, challenge)
            self._kms_context = context
            self._channel.emit(KmsKeyRequested(kms_request.kms_key_id, dict(context)))
            return
        if kms_request is not None:
            self._kms_request = None
            results.append(
                ProcessedClientAction(
                    ActionType.KMS_ENCRYPTION, ActionStatus.FAILED, None, "session type could not be set"
                )
            )
        self._advance(ClientTrigger.REJECTED if problems else ClientTrigger.RESPONSE_SENT)
        self._send_handshake_response(self._now)
        if problems:
            raise HandshakeError("; ".join(problems))

    def _send_handshake_response(self, now: float) -> None:
        response = HandshakeResponse(self.client_version, tuple(self._pending_results), None)
        self._pending_results = []
        # The response is part of the handshake, so it goes out even though input is still held.
        self._channel.send_stream(PayloadType.HANDSHAKE_RESPONSE, response.to_json(), now)

    def _on_challenge(self, challenge: EncryptionChallenge) -> None:
        # Allowed only once a data key was given (KEYED): before it the table raises HandshakeError.
        self._advance(ClientTrigger.ENC_CHALLENGE)
        assert self._cipher is not None  # set on the way into KEYED
        plain = self._cipher.decrypt(challenge.challenge)
        answer = EncryptionChallenge(self._cipher.encrypt(plain))
        self._channel.send_stream(PayloadType.ENC_CHALLENGE_RESPONSE, answer.to_json(), self._now)

    def _on_handshake_complete(self, complete: HandshakeComplete) -> None:
        next_state = self._check(ClientTrigger.HANDSHAKE_COMPLETE)
        if next_state is self._state:
            return  # already established
        self._channel.emit(HandshakeCompleted(complete.customer_message))
        if self._requested_type is None:
            self._advance(ClientTrigger.REJECTED)
            raise HandshakeError("Cannot perform start session: unable to determine SessionType")
        self._state = next_state
        self._establish(self._requested_type)
