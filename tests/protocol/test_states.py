"""The session-start state tables: every allowed move, the refused ones, and what every state must take."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import ssmux.protocol.agent as agent_module
import ssmux.protocol.client as client_module
from ssmux.protocol.channel import Channel
from ssmux.protocol.client import ClientSession, KmsKeyRequested
from ssmux.protocol.crypto import PayloadCipher
from ssmux.protocol.errors import CryptoError, HandshakeError, LocalProtocolError
from ssmux.protocol.handshake import (
    EncryptionChallenge,
    HandshakeComplete,
    HandshakeRequest,
    RequestedClientAction,
)
from ssmux.protocol.messages import MessageType, PayloadType
from ssmux.protocol.states import (
    AGENT_READS,
    AGENT_TABLE,
    CLIENT_TABLE,
    AgentState,
    AgentTrigger,
    ClientState,
    ClientTrigger,
    StateTable,
)
from tests.protocol.pair import SESSION_ID, TARGET, FakeKms, id_factory, make_pair

Move = tuple[Any, Any, Any]


def entries(table: StateTable[Any, Any]) -> list[Move]:
    """Every (state, trigger, next state) of a table."""
    return [(s, t, n) for s, row in table.transitions.items() for t, n in row.items()]


def reachable(table: StateTable[Any, Any], start: Any) -> set[Any]:
    """The states reachable from ``start``."""
    seen, todo = {start}, [start]
    while todo:
        for following in table.transitions[todo.pop()].values():
            if following not in seen:
                seen.add(following)
                todo.append(following)
    return seen


class Recorder:
    """Stands in for a table in a session module and notes every move the session makes through it."""

    def __init__(self, table: StateTable[Any, Any]) -> None:
        self.table = table
        self.initial = table.initial
        self.moves: list[Move] = []

    def next_state(self, state: Any, trigger: Any) -> Any:
        following = self.table.next_state(state, trigger)
        self.moves.append((state, trigger, following))
        return following


@pytest.fixture
def client_moves(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder(CLIENT_TABLE)
    monkeypatch.setattr(client_module, "CLIENT_TABLE", recorder)
    return recorder


@pytest.fixture
def agent_moves(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder(AGENT_TABLE)
    monkeypatch.setattr(agent_module, "AGENT_TABLE", recorder)
    return recorder


# ------------------------------------------------------------------------------------ the tables alone


@pytest.mark.parametrize("table", [CLIENT_TABLE, AGENT_TABLE], ids=["client", "agent"])
def test_next_state_follows_every_entry(table: StateTable[Any, Any]) -> None:
    """Each entry of a table is what next_state answers for it."""
    for state, trigger, following in entries(table):
        assert table.next_state(state, trigger) is following


@pytest.mark.parametrize(
    ("table", "state", "trigger", "error"),
    [
        (CLIENT_TABLE, ClientState.ESTABLISHED, ClientTrigger.DATA_KEY, LocalProtocolError),
        (CLIENT_TABLE, ClientState.STARTING, ClientTrigger.KMS_FAILED, LocalProtocolError),
        (CLIENT_TABLE, ClientState.STARTING, ClientTrigger.ENC_CHALLENGE, HandshakeError),
        (CLIENT_TABLE, ClientState.RESPONDED, ClientTrigger.ENC_CHALLENGE, HandshakeError),
        (CLIENT_TABLE, ClientState.STARTING, ClientTrigger.HANDSHAKE_COMPLETE, HandshakeError),
        (CLIENT_TABLE, ClientState.FAILED, ClientTrigger.HANDSHAKE_COMPLETE, HandshakeError),
        (AGENT_TABLE, AgentState.ESTABLISHED, AgentTrigger.FAILURE, LocalProtocolError),
        (AGENT_TABLE, AgentState.NEW, AgentTrigger.CHALLENGE_OK, LocalProtocolError),
    ],
)
def test_a_move_missing_from_the_table_raises(
    table: StateTable[Any, Any], state: Any, trigger: Any, error: type[Exception]
) -> None:
    """A trigger not allowed in a state raises: HandshakeError from the peer, LocalProtocolError ours."""
    assert trigger not in table.transitions[state]
    with pytest.raises(error, match=re.escape(f"is {state}: {trigger} is not allowed now")):
        table.next_state(state, trigger)


@pytest.mark.parametrize(
    ("table", "states"),
    [(CLIENT_TABLE, set(ClientState)), (AGENT_TABLE, set(AgentState))],
    ids=["client", "agent"],
)
def test_every_state_has_a_row_and_is_reachable(table: StateTable[Any, Any], states: set[Any]) -> None:
    """Each state has a row, every move lands on a state of the same kind, and all are reachable."""
    assert set(table.transitions) == states
    assert {following for _, _, following in entries(table)} <= states
    assert reachable(table, table.initial) == states


def test_client_takes_peer_data_and_repeated_requests_in_every_state() -> None:
    """Output and a redelivered HandshakeRequest never break the client, whatever its state."""
    for state in ClientState:
        row = CLIENT_TABLE.transitions[state]
        assert ClientTrigger.STREAM_DATA in row
        assert ClientTrigger.HANDSHAKE_REQUEST in row
        if state is not ClientState.STARTING:
            assert row[ClientTrigger.STREAM_DATA] is state
            assert row[ClientTrigger.HANDSHAKE_REQUEST] is state


def test_every_handshake_state_can_end_either_way() -> None:
    """From each state in the middle of a handshake both ESTABLISHED and FAILED are reachable."""
    for table, middle, done, failed in [
        (
            CLIENT_TABLE,
            {ClientState.REQUESTED, ClientState.RESPONDED, ClientState.KEYED},
            ClientState.ESTABLISHED,
            ClientState.FAILED,
        ),
        (
            AGENT_TABLE,
            {AgentState.AWAITING_RESPONSE, AgentState.AWAITING_CHALLENGE},
            AgentState.ESTABLISHED,
            AgentState.FAILED,
        ),
    ]:
        for state in middle:
            assert {done, failed} <= reachable(table, state), state


def test_an_agent_waiting_can_always_fail() -> None:
    """Each state the agent waits in can take FAILURE, so the 15 s handshake timeout can always fire."""
    for state in (AgentState.AWAITING_RESPONSE, AgentState.AWAITING_CHALLENGE):
        assert AGENT_TABLE.transitions[state][AgentTrigger.FAILURE] is AgentState.FAILED


def test_agent_reads_are_total_and_reads_data_only_when_established() -> None:
    """AGENT_READS names every state; client data is read only once established."""
    assert set(AGENT_READS) == set(AgentState)
    for state, kinds in AGENT_READS.items():
        assert (PayloadType.OUTPUT in kinds) is (state is AgentState.ESTABLISHED)
    assert AGENT_READS[AgentState.FAILED] == frozenset()


# ------------------------------------------------------------------------- the client, move by move


class ScriptedAgent:
    """An agent that sends whatever a test asks for, in order, straight into a ClientSession."""

    def __init__(self, client: ClientSession) -> None:
        self.client = client
        self.now = 0.0
        self.channel = Channel(
            send_type=MessageType.OUTPUT_STREAM_DATA,
            receive_type=MessageType.INPUT_STREAM_DATA,
            now=0.0,
            new_id=id_factory(3_000_000),
            ready=lambda message: True,
            deliver=lambda message: None,
            wall_ms=lambda: 1_700_000_000_000,
            syn_on_first=True,
        )
        self.cipher: PayloadCipher | None = None

    def send(self, payload_type: PayloadType, payload: bytes) -> None:
        self.now += 0.01
        self.channel.send_stream(payload_type, payload, self.now)
        for frame in self.channel.data_to_send():
            self.client.receive(frame, self.now)

    def output(self, data: bytes = b"$ ") -> None:
        body = self.cipher.encrypt(data) if self.cipher is not None else data
        self.send(PayloadType.OUTPUT, body)

    def request(self, session_type: str | None = "Standard_Stream", *, kms: bool = False) -> None:
        actions = []
        if session_type is not None:
            actions.append(RequestedClientAction("SessionType", {"SessionType": session_type}))
        if kms:
            actions.append(RequestedClientAction("KMSEncryption", {"KMSKeyId": "alias/ssm"}))
        self.send(PayloadType.HANDSHAKE_REQUEST, HandshakeRequest("3.3.987.0", tuple(actions)).to_json())

    def key(self) -> None:
        """Answer the client's KmsKeyRequested as KMS and the pair's agent would."""
        requested = [e for e in drain(self.client) if isinstance(e, KmsKeyRequested)]
        assert requested
        kms = FakeKms()
        blob, plaintext = kms.generate_data_key(requested[0].encryption_context)
        self.client.provide_data_key(blob, plaintext, self.now)
        self.cipher = PayloadCipher.for_agent(plaintext, bytes(12))

    def challenge(self) -> None:
        assert self.cipher is not None
        self.send(
            PayloadType.ENC_CHALLENGE_REQUEST, EncryptionChallenge(self.cipher.encrypt(bytes(64))).to_json()
        )

    def complete(self) -> None:
        self.send(PayloadType.HANDSHAKE_COMPLETE, HandshakeComplete(1, "").to_json())


def drain(client: ClientSession) -> Iterator[Any]:
    while (event := client.next_event()) is not None:
        yield event


def new_client() -> ClientSession:
    return ClientSession(
        SESSION_ID, TARGET, "token-1", "client-id-1", "1.2.0.0", 0.0, id_factory(1), wall_ms=lambda: 1
    )


def legacy(agent: ScriptedAgent) -> None:
    agent.output()
    agent.output()
    agent.request()  # a late request changes nothing
    agent.complete()


def plain_handshake(agent: ScriptedAgent) -> None:
    agent.request("Port")
    agent.output()
    agent.request("Port")
    agent.complete()
    agent.complete()


def kms_handshake(agent: ScriptedAgent) -> None:
    agent.request(kms=True)
    agent.output()
    agent.request(kms=True)
    agent.key()
    agent.output()
    agent.request(kms=True)
    agent.challenge()
    agent.complete()


def kms_refused(agent: ScriptedAgent) -> None:
    agent.request(kms=True)
    agent.client.kms_failed("AccessDenied", agent.now)
    agent.output()
    agent.request(kms=True)


def unknown_type(agent: ScriptedAgent) -> None:
    with pytest.raises(HandshakeError, match="Unknown session type"):
        agent.request("Telepathy")


def no_session_type(agent: ScriptedAgent) -> None:
    agent.request(None)
    with pytest.raises(HandshakeError, match="unable to determine SessionType"):
        agent.complete()


def kms_without_session_type(agent: ScriptedAgent) -> None:
    agent.request(None, kms=True)
    agent.key()
    with pytest.raises(HandshakeError, match="unable to determine SessionType"):
        agent.complete()


CLIENT_SCRIPTS: list[Callable[[ScriptedAgent], None]] = [
    legacy,
    plain_handshake,
    kms_handshake,
    kms_refused,
    unknown_type,
    no_session_type,
    kms_without_session_type,
]


def test_client_scripts_walk_every_allowed_move(client_moves: Recorder) -> None:
    """Scripted agents drive real client sessions through every entry of CLIENT_TABLE."""
    for script in CLIENT_SCRIPTS:
        script(ScriptedAgent(new_client()))
    assert set(client_moves.moves) == set(entries(CLIENT_TABLE))


@pytest.mark.parametrize(
    ("script", "path", "established"),
    [
        (legacy, [ClientState.STARTING, ClientState.ESTABLISHED], True),
        (
            plain_handshake,
            [ClientState.STARTING, ClientState.REQUESTED, ClientState.RESPONDED, ClientState.ESTABLISHED],
            True,
        ),
        (
            kms_handshake,
            [ClientState.STARTING, ClientState.REQUESTED, ClientState.KEYED, ClientState.ESTABLISHED],
            True,
        ),
        (kms_refused, [ClientState.STARTING, ClientState.REQUESTED, ClientState.FAILED], False),
        (unknown_type, [ClientState.STARTING, ClientState.REQUESTED, ClientState.FAILED], False),
    ],
)
def test_client_paths(
    client_moves: Recorder,
    script: Callable[[ScriptedAgent], None],
    path: list[ClientState],
    established: bool,
) -> None:
    """Each way a session starts takes the client through its states in order; `established` follows."""
    client = new_client()
    script(ScriptedAgent(client))
    visited = [state for state, _ in itertools.groupby(s for move in client_moves.moves for s in move[::2])]
    assert visited == path
    assert client.state is path[-1]
    assert client.established is established


def test_client_refuses_a_data_key_nobody_asked_for() -> None:
    """provide_data_key and kms_failed without a KmsKeyRequested raise LocalProtocolError."""
    client = new_client()
    with pytest.raises(LocalProtocolError, match="is waiting for the agent's first message"):
        client.provide_data_key(b"blob", bytes(64), 0.0)
    with pytest.raises(LocalProtocolError):
        client.kms_failed("no", 0.0)
    assert client.state is ClientState.STARTING


def test_client_fails_on_a_challenge_without_a_key() -> None:
    """An encryption challenge in a handshake without KMS is a HandshakeError (the session ends)."""
    agent = ScriptedAgent(new_client())
    agent.request("Port")
    agent.cipher = PayloadCipher.for_agent(bytes(64), bytes(12))
    with pytest.raises(HandshakeError, match="an encryption challenge is not allowed"):
        agent.challenge()


def test_a_bad_data_key_leaves_the_client_waiting_for_one() -> None:
    """A data key of the wrong size raises CryptoError and changes nothing: kms_failed still works."""
    agent = ScriptedAgent(new_client())
    agent.request(kms=True)
    with pytest.raises(CryptoError):
        agent.client.provide_data_key(b"blob", b"short", agent.now)
    assert agent.client.state is ClientState.REQUESTED
    agent.client.kms_failed("bad key", agent.now)
    assert agent.client.state is ClientState.FAILED


# -------------------------------------------------------------------------- the agent, move by move


def test_agent_sessions_walk_every_allowed_move(agent_moves: Recorder) -> None:
    """Linked pairs drive real agent sessions through every entry of AGENT_TABLE."""
    legacy_pair = make_pair()
    legacy_pair.agent.send_output(b"$ ", legacy_pair.now)
    legacy_pair.run_until(lambda: legacy_pair.client.established)

    port = make_pair("Port", properties={"portNumber": "80"})
    port.run_until(lambda: port.agent.established)

    kms = make_pair(kms=True)
    kms.run_until(lambda: kms.agent.established and kms.client.established)

    silent = make_pair("Port", properties={"portNumber": "80"})
    silent.connected = False
    silent.run_until(lambda: silent.agent.failed, limit=20)

    unanswered = make_pair(kms=True)
    unanswered.run_until(lambda: unanswered.agent.state is AgentState.AWAITING_CHALLENGE)
    unanswered.connected = False
    unanswered.run_until(lambda: unanswered.agent.failed, limit=20)
    assert set(agent_moves.moves) == set(entries(AGENT_TABLE))


def test_agent_ignores_client_data_until_established() -> None:
    """Keystrokes sent during the handshake are acked and dropped; after it they are read."""
    pair = make_pair("Port", properties={"portNumber": "80"})
    assert pair.agent.state is AgentState.AWAITING_RESPONSE
    pair.client.channel.send_stream(PayloadType.OUTPUT, b"early", pair.now)
    pair.flush()
    pair.run_until(lambda: pair.agent.established)
    pair.client.send_input(b"late", pair.now)
    pair.run_until(lambda: bool(pair.received_input))
    assert bytes(pair.received_input) == b"late"
