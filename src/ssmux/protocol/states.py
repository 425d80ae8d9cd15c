"""How each end starts a session, as state tables (``docs/ssm-protocol.md`` §6; after h11's ``_state.py``).

Theory of operation
-------------------

Each end of a session is in one state (:class:`ClientState`, :class:`AgentState`). A *trigger* moves it:
a payload the peer sent (the client's remote triggers), a call the caller made (``provide_data_key``), or a
step the end itself takes (the agent sends its HandshakeComplete). Triggers are not the events a session
hands out with ``next_event()``; those are outputs, these are inputs.

Every allowed move is one entry of a table, ``{state: {trigger: next_state}}``, and
:meth:`StateTable.next_state` is the only place that reads it. A trigger missing from the current state's
row is not allowed there: a remote one (the peer broke the handshake) raises :class:`HandshakeError`, which
ends the session; a local one (the caller or this package misused the API) raises
:class:`LocalProtocolError`. An entry that maps a state to itself says "allowed, nothing changes": output
during the handshake, a HandshakeRequest redelivered after a reconnect.

The client (:class:`~ssmux.protocol.client.ClientSession`)::

    STARTING --Output/StdErr/ExitCode--------------------------------------> ESTABLISHED   (legacy, §6.1)
    STARTING --HandshakeRequest--> REQUESTED
    REQUESTED --response sent, no KMS--> RESPONDED --HandshakeComplete---> ESTABLISHED
    REQUESTED --provide_data_key--> KEYED --challenge (answered)--> KEYED --HandshakeComplete--> ESTABLISHED
    REQUESTED/RESPONDED/KEYED --rejected, kms_failed, no SessionType--> FAILED

The agent (:class:`~ssmux.protocol.agent.AgentSession`) drives the handshake; its triggers are its own
decisions about what the client sent, and :data:`AGENT_READS` says which client payloads each state reads
(the others are acked and thrown away, §6.2 step 7)::

    NEW --legacy--> ESTABLISHED
    NEW --HandshakeRequest sent--> AWAITING_RESPONSE --response OK, no KMS--> ESTABLISHED
    AWAITING_RESPONSE --response OK, challenge sent--> AWAITING_CHALLENGE --answer OK--> ESTABLISHED
    AWAITING_RESPONSE/AWAITING_CHALLENGE --failure or 15 s timeout--> FAILED
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from ssmux.protocol.errors import HandshakeError, LocalProtocolError
from ssmux.protocol.messages import PayloadType

__all__ = [
    "AGENT_READS",
    "AGENT_TABLE",
    "CLIENT_TABLE",
    "AgentState",
    "AgentTrigger",
    "ClientState",
    "ClientTrigger",
    "StateTable",
]


class ClientState(StrEnum):
    """Where the client is in starting the session."""

    STARTING = "waiting for the agent's first message"
    REQUESTED = "holding the HandshakeRequest, its response not sent (waiting for the KMS data key)"
    RESPONDED = "waiting for HandshakeComplete (no KMS key)"
    KEYED = "waiting for the encryption challenge and HandshakeComplete (KMS key given)"
    ESTABLISHED = "established"
    FAILED = "failed in the handshake"


class ClientTrigger(StrEnum):
    """What moves the client: the agent's payloads, the caller's KMS answer, the client's own verdicts."""

    # From the agent.
    STREAM_DATA = "an Output, StdErr or ExitCode payload"
    HANDSHAKE_REQUEST = "a HandshakeRequest"
    ENC_CHALLENGE = "an encryption challenge"
    HANDSHAKE_COMPLETE = "a HandshakeComplete"
    # From the caller (answers to KmsKeyRequested).
    DATA_KEY = "a KMS data key (provide_data_key)"
    KMS_FAILED = "a KMS failure (kms_failed)"
    # The client's own steps.
    RESPONSE_SENT = "sending the HandshakeResponse without a KMS key"
    REJECTED = "rejecting the handshake"


class AgentState(StrEnum):
    """Where the agent is in starting the session."""

    NEW = "not started"
    AWAITING_RESPONSE = "waiting for the HandshakeResponse"
    AWAITING_CHALLENGE = "waiting for the encryption challenge response"
    ESTABLISHED = "established"
    FAILED = "failed in the handshake"


class AgentTrigger(StrEnum):
    """What moves the agent: each is its own step, taken on what the client sent (or did not send)."""

    START_LEGACY = "starting without a handshake"
    START_HANDSHAKE = "sending the HandshakeRequest"
    RESPONSE_OK = "accepting the HandshakeResponse (no KMS)"
    RESPONSE_OK_KMS = "accepting the HandshakeResponse and sending the encryption challenge"
    CHALLENGE_OK = "accepting the encryption challenge response"
    FAILURE = "failing the handshake (bad answer, KMS failure, timeout)"


S = TypeVar("S", ClientState, AgentState)
T = TypeVar("T", ClientTrigger, AgentTrigger)


@dataclass(frozen=True, slots=True)
class StateTable(Generic[S, T]):
    """One end's transitions: ``transitions[state][trigger]`` is the next state.

    Attributes:
        side: ``"client"`` or ``"agent"``, for messages.
        initial: the state a new session starts in.
        transitions: the table; a missing entry is a trigger not allowed in that state.
        remote: triggers that come from the peer (refused with :class:`HandshakeError`); the others are
            local (refused with :class:`LocalProtocolError`).
    """

    side: str
    initial: S
    transitions: Mapping[S, Mapping[T, S]]
    remote: frozenset[T]

    def next_state(self, state: S, trigger: T) -> S:
        """The state after ``trigger`` in ``state``.

        Raises:
            HandshakeError: a remote trigger the state does not allow (the session cannot go on).
            LocalProtocolError: a local trigger the state does not allow.
        """
        try:
            return self.transitions[state][trigger]
        except KeyError:
            error = HandshakeError if trigger in self.remote else LocalProtocolError
            raise error(f"the {self.side} is {state}: {trigger} is not allowed now") from None


_C = ClientState
_CT = ClientTrigger

CLIENT_TABLE: StateTable[ClientState, ClientTrigger] = StateTable(
    side="client",
    initial=_C.STARTING,
    transitions={
        _C.STARTING: {
            _CT.STREAM_DATA: _C.ESTABLISHED,  # legacy: the first Output fixes Standard_Stream (§6.1)
            _CT.HANDSHAKE_REQUEST: _C.REQUESTED,
        },
        _C.REQUESTED: {
            _CT.STREAM_DATA: _C.REQUESTED,
            _CT.HANDSHAKE_REQUEST: _C.REQUESTED,
            _CT.RESPONSE_SENT: _C.RESPONDED,
            _CT.DATA_KEY: _C.KEYED,
            _CT.KMS_FAILED: _C.FAILED,
            _CT.REJECTED: _C.FAILED,
        },
        _C.RESPONDED: {
            _CT.STREAM_DATA: _C.RESPONDED,
            _CT.HANDSHAKE_REQUEST: _C.RESPONDED,
            _CT.HANDSHAKE_COMPLETE: _C.ESTABLISHED,
            _CT.REJECTED: _C.FAILED,  # HandshakeComplete, but the request named no SessionType
        },
        _C.KEYED: {
            _CT.STREAM_DATA: _C.KEYED,
            _CT.HANDSHAKE_REQUEST: _C.KEYED,
            _CT.ENC_CHALLENGE: _C.KEYED,
            _CT.HANDSHAKE_COMPLETE: _C.ESTABLISHED,
            _CT.REJECTED: _C.FAILED,
        },
        _C.ESTABLISHED: {
            _CT.STREAM_DATA: _C.ESTABLISHED,
            _CT.HANDSHAKE_REQUEST: _C.ESTABLISHED,
            _CT.HANDSHAKE_COMPLETE: _C.ESTABLISHED,
        },
        _C.FAILED: {
            _CT.STREAM_DATA: _C.FAILED,
            _CT.HANDSHAKE_REQUEST: _C.FAILED,
        },
    },
    remote=frozenset({_CT.STREAM_DATA, _CT.HANDSHAKE_REQUEST, _CT.ENC_CHALLENGE, _CT.HANDSHAKE_COMPLETE}),
)

_A = AgentState
_AT = AgentTrigger

AGENT_TABLE: StateTable[AgentState, AgentTrigger] = StateTable(
    side="agent",
    initial=_A.NEW,
    transitions={
        _A.NEW: {
            _AT.START_LEGACY: _A.ESTABLISHED,
            _AT.START_HANDSHAKE: _A.AWAITING_RESPONSE,
        },
        _A.AWAITING_RESPONSE: {
            _AT.RESPONSE_OK: _A.ESTABLISHED,
            _AT.RESPONSE_OK_KMS: _A.AWAITING_CHALLENGE,
            _AT.FAILURE: _A.FAILED,
        },
        _A.AWAITING_CHALLENGE: {
            _AT.CHALLENGE_OK: _A.ESTABLISHED,
            _AT.FAILURE: _A.FAILED,
        },
        _A.ESTABLISHED: {},
        _A.FAILED: {},
    },
    remote=frozenset(),
)

#: The client payloads each agent state reads; the others are acked and thrown away (§6.2 step 7), as are
#: late handshake answers once established and everything after a failure.
AGENT_READS: Mapping[AgentState, frozenset[PayloadType]] = {
    _A.NEW: frozenset(),
    _A.AWAITING_RESPONSE: frozenset({PayloadType.HANDSHAKE_RESPONSE}),
    _A.AWAITING_CHALLENGE: frozenset({PayloadType.ENC_CHALLENGE_RESPONSE}),
    _A.ESTABLISHED: frozenset({PayloadType.OUTPUT, PayloadType.SIZE, PayloadType.FLAG}),
    _A.FAILED: frozenset(),
}
