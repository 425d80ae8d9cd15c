"""Client and agent state machines linked in memory, over a link that drops, delays, duplicates, reorders."""

from __future__ import annotations

import random

import pytest

from ssmux.protocol.agent import KMS_CUSTOMER_MESSAGE
from ssmux.protocol.client import HandshakeRequested, KmsKeyRequested, Output
from ssmux.protocol.errors import CryptoError, HandshakeError
from ssmux.protocol.messages import ClientMessage, MessageType, PayloadType, PortFlag
from ssmux.protocol.smux import SmuxSession, StreamClosed, StreamData
from tests.protocol.pair import (
    SESSION_ID,
    TARGET,
    ChannelClosed,
    ExitCode,
    FlagReceived,
    HandshakeCompleted,
    HandshakeDone,
    HandshakeFailed,
    LinkFaults,
    Pair,
    Resize,
    SessionTypeKnown,
    make_pair,
)

HOSTILE = LinkFaults(loss=0.15, duplicate=0.15, reorder=0.3, jitter=0.3)


def text_blob(rng: random.Random, size: int) -> bytes:
    """Terminal-ish output with multi-byte characters, about ``size`` bytes."""
    pieces = ["abc ", "é", "€", "😀", "\r\n", "\x1b[31m", "ß"]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(pieces).encode()
    return bytes(out)


def send_in_pieces(rng: random.Random, data: bytes, send: object, pair: Pair) -> None:
    """Hand ``data`` to ``send(piece, now)`` in random-size pieces, stepping the clock between them."""
    position = 0
    while position < len(data):
        size = rng.randint(1, 3000)
        send(data[position : position + size], pair.now)  # type: ignore[operator]
        position += size
        pair.step()


def resize_when_known(pair: Pair, event: object) -> None:
    if isinstance(event, SessionTypeKnown):
        pair.client.resize(132, 43, pair.now)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_legacy_shell_delivers_every_byte_once_in_order(seed: int) -> None:
    """Legacy shell over a hostile link: output and input arrive complete, once, in order."""
    rng = random.Random(seed)
    pair = make_pair(seed=seed, faults=HOSTILE)
    pair.on_client_event = resize_when_known
    assert pair.agent.established
    output = text_blob(rng, 60_000)
    typed = text_blob(rng, 8_000)
    pair.agent.send_output(b"$ ", pair.now)
    pair.run_until(lambda: pair.client.established)
    send_in_pieces(rng, output, pair.agent.send_output, pair)
    send_in_pieces(rng, typed, pair.client.send_input, pair)
    pair.settle()
    assert bytes(pair.output) == b"$ " + output
    assert bytes(pair.received_input) == typed
    assert pair.events_of("client", SessionTypeKnown) == [SessionTypeKnown("Standard_Stream", {})]
    assert pair.events_of("agent", Resize) == [Resize(132, 43)]
    assert pair.to_client.dropped > 0 and pair.to_agent.dropped > 0  # the faults really happened


def test_legacy_first_client_message_is_the_size_at_sequence_0() -> None:
    """Without a handshake the client's first message is Size with sequence 0 (observed, §6.1)."""
    pair = make_pair()
    pair.on_client_event = resize_when_known
    seen: list[ClientMessage] = []
    original = pair.agent.receive

    def spy(frame: bytes, now: float) -> None:
        seen.append(ClientMessage.parse(frame))
        original(frame, now)

    pair.agent.receive = spy  # type: ignore[method-assign]
    pair.client.send_input(b"typed early", pair.now)
    pair.agent.send_output(b"$ ", pair.now)
    pair.settle()
    stream = [m for m in seen if m.message_type == MessageType.INPUT_STREAM_DATA]
    assert (stream[0].payload_type, stream[0].sequence_number) == (PayloadType.SIZE, 0)
    assert pair.events_of("agent", Resize) == [Resize(132, 43)]
    assert bytes(pair.received_input) == b"typed early"


def test_handshake_without_kms_numbers_messages_like_the_plugin() -> None:
    """Handshake without KMS: client Size is seq 1 and the first agent Output is seq 2 (observed, §6.2)."""
    pair = make_pair("InteractiveCommands", handshake=True)
    seen: list[ClientMessage] = []
    original = pair.client.receive

    def spy(frame: bytes, now: float) -> None:
        seen.append(ClientMessage.parse(frame))
        original(frame, now)

    pair.client.receive = spy  # type: ignore[method-assign]
    pair.on_client_event = resize_when_known
    pair.run_until(lambda: pair.client.established)
    pair.agent.send_output(b"hello", pair.now)
    pair.settle()
    outputs = [m for m in seen if m.payload_type == PayloadType.OUTPUT]
    assert outputs[0].sequence_number == 2
    assert pair.agent.channel.expected_sequence_number == 2  # HandshakeResponse 0, Size 1
    assert pair.events_of("client", HandshakeCompleted) == [HandshakeCompleted("")]
    assert pair.events_of("agent", HandshakeDone) == [HandshakeDone("1.2.0.0", False)]
    assert bytes(pair.output) == b"hello"


@pytest.mark.parametrize("seed", [4, 5])
def test_non_interactive_stdout_stderr_and_exit_code(seed: int) -> None:
    """NonInteractiveCommands: stdout (1), stderr (11) and EXIT_CODE (12) arrive intact, exit code last."""
    rng = random.Random(seed)
    pair = make_pair("NonInteractiveCommands", seed=seed, faults=HOSTILE)
    stdout = text_blob(rng, 20_000)
    stderr = text_blob(rng, 5_000)
    # The command runs at once; output produced before the handshake ends is held, then sent in order.
    pair.agent.send_output(stdout[:100], pair.now)
    pair.run_until(lambda: pair.agent.established)
    send_in_pieces(rng, stdout[100:], pair.agent.send_output, pair)
    send_in_pieces(rng, stderr, pair.agent.send_stderr, pair)
    pair.agent.send_exit_code(3, pair.now)
    pair.settle()
    assert bytes(pair.output) == stdout
    assert bytes(pair.stderr) == stderr
    assert pair.client_events[-1] == ExitCode(3)
    assert pair.client.session_type == "NonInteractiveCommands"


@pytest.mark.parametrize("seed", [6, 7])
def test_kms_session_with_challenge_is_encrypted_and_intact(seed: int) -> None:
    """KMS + challenge over a hostile link: handshake completes, bytes are encrypted on the wire, intact."""
    rng = random.Random(seed)
    pair = make_pair(seed=seed, faults=HOSTILE, kms=True)
    wire: list[bytes] = []
    original = pair.to_client.put

    def record(frame: bytes, now: float) -> None:
        wire.append(frame)
        original(frame, now)

    pair.to_client.put = record  # type: ignore[method-assign]
    pair.run_until(lambda: pair.client.established)
    secret = b"top secret output " * 500
    pair.agent.send_output(secret, pair.now)
    typed = text_blob(rng, 3000)
    send_in_pieces(rng, typed, pair.client.send_input, pair)
    pair.settle()
    assert bytes(pair.output) == secret
    assert bytes(pair.received_input) == typed
    assert pair.client.encrypted and pair.agent.encrypted
    assert pair.events_of("client", HandshakeCompleted) == [HandshakeCompleted(KMS_CUSTOMER_MESSAGE)]
    assert pair.events_of("agent", HandshakeDone) == [HandshakeDone("1.2.0.0", True)]
    assert not any(b"top secret" in frame for frame in wire)
    (requested,) = pair.events_of("client", KmsKeyRequested)
    assert requested.key_id == "alias/ssm"
    assert requested.encryption_context["aws:ssm:SessionId"] == SESSION_ID
    assert requested.encryption_context["aws:ssm:TargetId"] == TARGET
    assert "aws:ssm:RandomChallenge" in requested.encryption_context
    assert pair.kms is not None and pair.kms.decrypt_calls == [requested.encryption_context]


def test_kms_without_challenge_acknowledgement_like_the_plugin() -> None:
    """A client that ignores the challenge (like the plugin) still succeeds; the context has no challenge."""
    pair = make_pair(kms=True, acknowledge_kms_challenge=False)
    pair.run_until(lambda: pair.client.established)
    (requested,) = pair.events_of("client", KmsKeyRequested)
    assert set(requested.encryption_context) == {"aws:ssm:SessionId", "aws:ssm:TargetId"}
    assert pair.agent.encrypted


def test_agent_requiring_challenge_refuses_a_client_that_ignores_it() -> None:
    """With RequireKMSChallengeResponse the agent fails a client that does not acknowledge the challenge."""
    pair = make_pair(kms=True, acknowledge_kms_challenge=False, require_challenge_response=True)
    pair.run_until(lambda: pair.agent.failed)
    (failed,) = pair.events_of("agent", HandshakeFailed)
    assert "challenge" in failed.reason
    assert not pair.client.established


def test_kms_failure_on_the_client_fails_the_handshake() -> None:
    """When GenerateDataKey fails the client answers Failed and the agent ends the handshake."""
    pair = make_pair(kms=True)
    pair.kms = None  # the pair no longer answers KmsKeyRequested
    pair.run_until(lambda: bool(pair.events_of("client", KmsKeyRequested)))
    pair.client.kms_failed("AccessDeniedException: not allowed to use alias/ssm", pair.now)
    pair.run_until(lambda: pair.agent.failed)
    (failed,) = pair.events_of("agent", HandshakeFailed)
    assert "AccessDeniedException" in failed.reason


def test_mismatched_data_key_breaks_the_challenge() -> None:
    """If the agent's KMS returns another key, the client cannot decrypt the challenge and nothing flows."""
    pair = make_pair(kms=True)
    assert pair.kms is not None
    real_decrypt = pair.kms.decrypt

    def wrong_key(blob: bytes, context: dict[str, str]) -> bytes:
        real_decrypt(blob, context)  # the context still has to match
        return bytes(64)

    pair.kms.decrypt = wrong_key  # type: ignore[method-assign]
    with pytest.raises(CryptoError):
        pair.run_until(lambda: pair.client.established, limit=5)
    pair.run_until(lambda: pair.agent.failed, limit=30)
    assert "timed out" in pair.events_of("agent", HandshakeFailed)[0].reason


def test_handshake_times_out_after_15_seconds() -> None:
    """An agent waiting for a HandshakeResponse gives up after 15 s (§6.2 step 4)."""
    pair = make_pair("Port", properties={"portNumber": "80"})
    pair.connected = False
    pair.run_until(lambda: pair.agent.failed, limit=20)
    assert pair.now > 15
    assert "HandshakeResponse" in pair.events_of("agent", HandshakeFailed)[0].reason


def test_unknown_session_type_fails_on_both_sides() -> None:
    """An unknown session type: the client answers Failed and raises; the agent fails the handshake."""
    pair = make_pair("Telepathy", handshake=True)
    with pytest.raises(HandshakeError, match="Unknown session type Telepathy"):
        pair.run_until(lambda: pair.client.established, limit=5)
    pair.run_until(lambda: pair.agent.failed, limit=5)
    assert "Unknown session type" in pair.events_of("agent", HandshakeFailed)[0].reason


def test_port_flags_arrive_in_order_with_data() -> None:
    """Port data and DisconnectToPort/TerminateSession flags arrive in order; ConnectToPortError back."""
    pair = make_pair(
        "Port",
        seed=8,
        faults=HOSTILE,
        kms=True,
        properties={"portNumber": "80", "type": "LocalPortForwarding"},
    )
    pair.run_until(lambda: pair.client.established)
    assert not pair.client.encrypted  # Port sessions are never encrypted (§6.1)
    pair.client.send_input(b"GET / HTTP/1.0\r\n\r\n", pair.now)
    pair.client.send_flag(PortFlag.DISCONNECT_TO_PORT, pair.now)
    pair.client.send_input(b"second connection", pair.now)
    pair.client.send_flag(PortFlag.TERMINATE_SESSION, pair.now)
    pair.agent.send_flag(PortFlag.CONNECT_TO_PORT_ERROR, pair.now)
    pair.settle()
    sequence = [e for e in pair.agent_events if not isinstance(e, HandshakeDone)]
    assert [type(e).__name__ for e in sequence] == ["Input", "FlagReceived", "Input", "FlagReceived"]
    assert sequence[1] == FlagReceived(PortFlag.DISCONNECT_TO_PORT)
    assert sequence[3] == FlagReceived(PortFlag.TERMINATE_SESSION)
    assert pair.events_of("client", FlagReceived) == [FlagReceived(PortFlag.CONNECT_TO_PORT_ERROR)]
    assert pair.events_of("client", SessionTypeKnown)[0].properties["portNumber"] == "80"


@pytest.mark.parametrize(
    ("client_version", "agent_version", "mode"),
    [
        ("1.2.0.0", "3.3.987.0", "mux"),
        ("1.1.70", "3.0.197.0", "mux"),
        ("0.0.1", "3.3.987.0", "basic"),  # client below 1.1.70: the agent's rule says basic
        ("1.2.0.0", "3.0.196.0", "basic"),  # an agent that old has no smux, whatever the client reports
        ("1.2.0.0", "2.3.0.0", "basic"),
        ("1.2.0.0", "3.3.987", "basic"),  # 3 components: the plugin counts it as "not supported"
    ],
)
def test_port_mode_follows_both_version_rules(client_version: str, agent_version: str, mode: str) -> None:
    """Client and agent agree on mux only for an agent newer than 3.0.196.0 and a client >= 1.1.70 (§8.1)."""
    pair = make_pair(
        "Port",
        properties={"portNumber": "22", "type": "LocalPortForwarding"},
        client_version=client_version,
        agent_version=agent_version,
    )
    pair.run_until(lambda: pair.client.established and pair.agent.established)
    assert pair.client.port_mode == mode
    assert pair.agent.uses_smux is (mode == "mux")


def test_ssh_style_port_session_is_stream_mode() -> None:
    """A Port session without type LocalPortForwarding (AWS-StartSSHSession) is standard-stream forwarding."""
    pair = make_pair("Port", properties={"portNumber": "22"})
    pair.run_until(lambda: pair.client.established)
    assert pair.client.port_mode == "stream"
    assert not pair.agent.uses_smux


def test_smux_streams_through_a_hostile_session() -> None:
    """20 smux streams over one port session on a hostile link each get their own bytes back (echo)."""
    rng = random.Random(9)
    pair = make_pair(
        "Port", seed=9, faults=HOSTILE, properties={"portNumber": "7", "type": "LocalPortForwarding"}
    )
    pair.run_until(lambda: pair.client.established)
    assert pair.client.port_mode == "mux" and pair.agent.uses_smux
    client_mux, server_mux = SmuxSession(client=True), SmuxSession(client=False)
    echoed: dict[int, bytearray] = {}
    server_closed: set[int] = set()

    def agent_side(p: Pair, event: object) -> None:
        if type(event).__name__ == "Input":
            server_mux.receive(event.data)  # type: ignore[attr-defined]
            for smux_event in server_mux.events():
                if isinstance(smux_event, StreamData):
                    server_mux.send(smux_event.stream_id, smux_event.data)
                elif isinstance(smux_event, StreamClosed):
                    server_closed.add(smux_event.stream_id)
                    server_mux.close_stream(smux_event.stream_id)
            out = server_mux.data_to_send()
            if out:
                p.agent.send_output(out, p.now)

    def client_side(p: Pair, event: object) -> None:
        if isinstance(event, Output):
            client_mux.receive(event.data)
            for smux_event in client_mux.events():
                if isinstance(smux_event, StreamData):
                    echoed.setdefault(smux_event.stream_id, bytearray()).extend(smux_event.data)

    pair.on_agent_event = agent_side
    pair.on_client_event = client_side
    sent: dict[int, bytes] = {}
    for _ in range(20):
        stream_id = client_mux.open_stream()
        sent[stream_id] = rng.randbytes(rng.randint(1, 6000))
        client_mux.send(stream_id, sent[stream_id])
    pair.client.send_input(client_mux.data_to_send(), pair.now)
    pair.run_until(lambda: {k: bytes(v) for k, v in echoed.items()} == sent)
    assert sorted(sent) == list(range(3, 43, 2))  # client stream ids are odd from 3 (§8.4)
    for stream_id in sent:
        client_mux.close_stream(stream_id)
    pair.client.send_input(client_mux.data_to_send(), pair.now)
    pair.settle()
    assert server_closed == set(sent)
    assert server_mux.streams == [] and client_mux.streams == []


def test_reconnect_mid_transfer_loses_and_repeats_nothing() -> None:
    """A dropped websocket mid-transfer: after reconnect() every byte arrives once, in order."""
    rng = random.Random(10)
    pair = make_pair(seed=10, faults=LinkFaults(loss=0.05, reorder=0.2))
    pair.agent.send_output(b"$ ", pair.now)
    pair.run_until(lambda: pair.client.established)
    output = text_blob(rng, 50_000)
    typed = text_blob(rng, 4_000)
    pair.agent.send_output(output[:20_000], pair.now)
    pair.client.send_input(typed[:2_000], pair.now)
    for _ in range(5):
        pair.step()
    pair.disconnect()
    pair.agent.pause()  # MGS pauses the agent while the client is away
    pair.agent.send_output(output[20_000:], pair.now)
    pair.client.send_input(typed[2_000:], pair.now)
    for _ in range(300):
        pair.step()
    token_text = pair.client.open_message("token-2")
    assert '"TokenValue":"token-2"' in token_text
    pair.reconnect()
    pair.settle()
    assert bytes(pair.output) == b"$ " + output
    assert bytes(pair.received_input) == typed


def test_agent_not_ready_means_client_resends_until_ready() -> None:
    """Input sent before the agent's handler is ready is resent by the client and delivered once."""
    pair = make_pair()
    pair.agent.ready = False
    pair.agent.send_output(b"$ ", pair.now)
    pair.run_until(lambda: pair.client.established)
    pair.client.send_input(b"ls\r", pair.now)
    for _ in range(100):
        pair.step()
    assert pair.received_input == b""
    assert pair.client.channel.unacked_count == 1
    pair.agent.ready = True
    pair.settle()
    assert bytes(pair.received_input) == b"ls\r"


def test_client_not_ready_means_agent_resends_until_ready() -> None:
    """Output the client cannot take yet (ready=False) stays unacked and is delivered once later."""
    pair = make_pair(
        "Port", properties={"portNumber": "80", "type": "LocalPortForwarding"}, client_version="0.0.1"
    )
    pair.run_until(lambda: pair.client.established)
    pair.client.ready = False
    pair.agent.send_output(b"banner", pair.now)
    for _ in range(100):
        pair.step()
    assert pair.output == b""
    pair.client.ready = True
    pair.settle()
    assert bytes(pair.output) == b"banner"


def test_input_given_before_the_handshake_is_held_then_sent_in_order() -> None:
    """Keystrokes and a resize given before HandshakeComplete are sent after it, in order."""
    pair = make_pair("InteractiveCommands", handshake=True)
    pair.client.send_input(b"early", pair.now)
    pair.client.resize(100, 30, pair.now)
    pair.client.send_input(b" keys", pair.now)
    pair.settle()
    assert bytes(pair.received_input) == b"early keys"
    kinds = [type(e).__name__ for e in pair.agent_events]
    assert kinds == ["HandshakeDone", "Input", "Resize", "Input"]


def test_pause_publication_stops_client_input_until_start() -> None:
    """MGS's pause_publication makes the client hold input; start_publication releases it."""
    pair = make_pair()
    pair.agent.send_output(b"$ ", pair.now)
    pair.run_until(lambda: pair.client.established)
    pair.to_client.put(pair.agent.pause_message(), pair.now)
    pair.step()
    pair.step()
    assert pair.client.channel.paused
    pair.client.send_input(b"held", pair.now)
    for _ in range(50):
        pair.step()
    assert pair.received_input == b""
    pair.to_client.put(pair.agent.start_message(), pair.now)
    pair.settle()
    assert bytes(pair.received_input) == b"held"


def test_channel_closed_reaches_the_client() -> None:
    """The agent's close_message() is a channel_closed the client reports with its Output text."""
    pair = make_pair()
    pair.agent.send_output(b"bye\r\n", pair.now)
    pair.settle()
    frame = pair.agent.close_message("Session idle timeout")
    message = ClientMessage.parse(frame)
    assert (message.message_type, message.sequence_number, message.flags) == (
        MessageType.CHANNEL_CLOSED,
        0,
        3,
    )
    pair.client.receive(frame, pair.now)
    assert pair.client.next_event() == ChannelClosed("Session idle timeout", SESSION_ID)


def test_handshake_requested_names_type_and_key() -> None:
    """HandshakeRequested tells the transport the agent version, session type and KMS key."""
    pair = make_pair(kms=True)
    pair.run_until(lambda: pair.client.established)
    assert pair.events_of("client", HandshakeRequested) == [
        HandshakeRequested("3.3.987.0", "Standard_Stream", "alias/ssm")
    ]


def test_garbage_frames_between_real_ones_change_nothing() -> None:
    """Junk frames mixed into both directions are rejected one by one; the session's bytes stay intact."""
    rng = random.Random(11)
    pair = make_pair(seed=11, faults=LinkFaults(loss=0.05, reorder=0.2), kms=True)
    pair.tolerate_errors = True
    original_step = pair.step

    def noisy_step() -> None:
        if rng.random() < 0.2:
            junk = rng.randbytes(rng.randint(0, 300))
            if rng.random() < 0.5:
                junk = b"\x00\x00\x00\x74" + junk
            pair.to_client.put(junk, pair.now)
            pair.to_agent.put(junk, pair.now)
        original_step()

    pair.step = noisy_step  # type: ignore[method-assign]
    pair.run_until(lambda: pair.client.established)
    output = text_blob(rng, 30_000)
    typed = text_blob(rng, 3_000)
    send_in_pieces(rng, output, pair.agent.send_output, pair)
    send_in_pieces(rng, typed, pair.client.send_input, pair)
    pair.settle()
    assert bytes(pair.output) == output
    assert bytes(pair.received_input) == typed
    assert len(pair.errors) > 20  # the junk really arrived and was refused


def test_handshake_runs_while_the_agent_handler_is_not_ready() -> None:
    """An agent marked not ready (no pty yet) still completes the handshake; input waits until ready."""
    pair = make_pair("NonInteractiveCommands")
    pair.agent.ready = False
    pair.client.send_input(b"\x03", pair.now)
    pair.run_until(lambda: pair.agent.established and pair.client.established)
    for _ in range(50):
        pair.step()
    assert pair.received_input == b""
    pair.agent.ready = True
    pair.settle()
    assert bytes(pair.received_input) == b"\x03"
