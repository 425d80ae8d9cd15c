"""The emulator's session registry: what StartSession created, shared by the SSM API and the data channel.

The API thread creates sessions (StartSession), hands out new tokens (ResumeSession) and terminates them
(TerminateSession); the data-channel thread looks sessions up by token when a websocket says hello and marks
them ended when their shell exits. Every method takes one lock, so both threads can call freely.

Create and terminate listeners are called from the thread that created or terminated the session, after the
lock is released; the data channel uses them to start the session's agent side at StartSession, and to send
``channel_closed`` and end the agent (it hops into its own event loop with ``loop.call_soon_threadsafe``).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ssmux.emulator.faults import Faults
from ssmux.protocol.handshake import SessionType as SessionType  # the document's sessionType (§6.1)
from ssmux.protocol.versions import DEFAULT_AGENT_VERSION


class SessionStatus(StrEnum):
    """Session statuses as DescribeSessions reports them."""

    CONNECTED = "Connected"
    CONNECTING = "Connecting"
    DISCONNECTED = "Disconnected"
    TERMINATED = "Terminated"
    TERMINATING = "Terminating"
    FAILED = "Failed"


ACTIVE_STATUSES = frozenset(
    {SessionStatus.CONNECTED, SessionStatus.CONNECTING, SessionStatus.DISCONNECTED, SessionStatus.TERMINATING}
)


@dataclass
class EmulatedSession:
    """One session, from StartSession until it is terminated or its agent ends.

    Attributes:
        session_id: ``<user>-<17 hex>``, as AWS makes them.
        target: Instance or node id (``i-...``/``mi-...``).
        account_id: Account of the caller (and of the target).
        region: Region the session was started in.
        profile: Scenario profile (AWS CLI profile) that started it.
        document_name: Document asked for; ``SSM-SessionManagerRunShell`` when none was given.
        session_type: Type of that document (decides the handshake and the agent).
        parameters: StartSession ``Parameters`` as sent (name -> list of strings).
        properties: The document's resolved ``properties`` block sent in the handshake for Port sessions
            (``portNumber``, ``localPortNumber``, ``type``, ``host``); None for shell and command sessions.
        reason: StartSession ``Reason``, or None.
        token: The current TokenValue (ResumeSession replaces it).
        cell: The ``cell-number`` of the current StreamUrl (ResumeSession gives a new one).
        kms_key_id: ARN of the KMS key shell sessions are encrypted with, or None for no encryption.
        command: Argv the agent runs in a pty (the shell, or ``sh -c <commands>`` for InteractiveCommands);
            empty for Port and NonInteractiveCommands sessions.
        env: Extra environment for that command (``PS1`` of the instance...).
        agent_version: SSM agent version the agent announces in the handshake.
        faults: Fault options for this session's data channel (command line merged with its profile's).
        owner: ARN of the IAM user that started it.
        status: Current status.
        start_date: When it was started (UTC).
        end_date: When it ended, or None while active.
        shell_config: For InteractiveCommands/NonInteractiveCommands, the document's resolved ``linux``
            ``ShellConfig`` the agent reads (``commands``, ``runAsElevated``, ``separateOutputStream``,
            ``stdOutSeparatorPrefix``, ``stdErrSeparatorPrefix``); None otherwise.
        preferences: The session preferences that apply (``inputs``: ``idleSessionTimeout``,
            ``maxSessionDuration``, ``kmsKeyId``, ``runAsEnabled``, ``shellProfile``, logging fields...).
        cwd: Working directory of the command (an ECS container's folder), or None for the default.
        inherit_env: Whether the command gets the emulator's environment under ``env`` (instances), or
            ``env`` alone (an ECS container has its own environment).
        dial: For a Port session, the address its agent dials instead of ``host:portNumber`` (a Windows
            instance's RDP port is the emulator's stand-in); None: as the properties say.
    """

    session_id: str
    target: str
    account_id: str
    region: str
    profile: str
    document_name: str
    session_type: SessionType
    parameters: dict[str, list[str]]
    properties: dict[str, str] | None
    reason: str | None
    token: str
    kms_key_id: str | None
    command: list[str]
    env: dict[str, str]
    agent_version: str
    faults: Faults
    owner: str
    status: SessionStatus = SessionStatus.CONNECTED
    cell: str = field(default_factory=lambda: _new_cell())
    start_date: datetime = field(default_factory=lambda: datetime.now(UTC))
    end_date: datetime | None = None
    shell_config: dict[str, Any] | None = None
    preferences: dict[str, Any] = field(default_factory=dict)
    cwd: str | None = None
    inherit_env: bool = True
    dial: tuple[str, int] | None = None

    @property
    def active(self) -> bool:
        """Whether the session has not ended."""
        return self.status in ACTIVE_STATUSES


TerminateListener = Callable[[EmulatedSession], None]


class SessionRegistry:
    """Thread-safe store of every session of this emulator run, active and ended."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, EmulatedSession] = {}
        self._tokens: dict[str, str] = {}
        self._listeners: list[TerminateListener] = []
        self._create_listeners: list[TerminateListener] = []

    def create(
        self,
        *,
        user: str,
        target: str,
        account_id: str,
        region: str,
        profile: str,
        document_name: str,
        session_type: SessionType,
        parameters: Mapping[str, list[str]] | None = None,
        properties: Mapping[str, str] | None = None,
        reason: str | None = None,
        kms_key_id: str | None = None,
        command: Iterable[str] = (),
        env: Mapping[str, str] | None = None,
        agent_version: str = DEFAULT_AGENT_VERSION,
        faults: Faults | None = None,
        owner: str = "",
        shell_config: Mapping[str, Any] | None = None,
        preferences: Mapping[str, Any] | None = None,
        cwd: str | None = None,
        inherit_env: bool = True,
        dial: tuple[str, int] | None = None,
    ) -> EmulatedSession:
        """Register a new session with a fresh id and token, and return it."""
        session = EmulatedSession(
            session_id=f"{user}-{secrets.token_hex(9)[:17]}",
            target=target,
            account_id=account_id,
            region=region,
            profile=profile,
            document_name=document_name,
            session_type=session_type,
            parameters={k: list(v) for k, v in (parameters or {}).items()},
            properties=dict(properties) if properties is not None else None,
            reason=reason,
            token=secrets.token_urlsafe(48),
            kms_key_id=kms_key_id,
            command=list(command),
            env=dict(env or {}),
            agent_version=agent_version,
            faults=faults or Faults(),
            owner=owner,
            shell_config=dict(shell_config) if shell_config is not None else None,
            preferences=dict(preferences or {}),
            cwd=cwd,
            inherit_env=inherit_env,
            dial=dial,
        )
        with self._lock:
            self._sessions[session.session_id] = session
            self._tokens[session.token] = session.session_id
            listeners = list(self._create_listeners)
        for listener in listeners:
            listener(session)
        return session

    def get(self, session_id: str) -> EmulatedSession | None:
        """The session with this id, active or ended."""
        with self._lock:
            return self._sessions.get(session_id)

    def by_token(self, token: str) -> EmulatedSession | None:
        """The active session whose current token is ``token`` (a token replaced by a resume is dead)."""
        with self._lock:
            session = self._sessions.get(self._tokens.get(token, ""))
            return session if session is not None and session.active else None

    def resume(self, session_id: str) -> str | None:
        """Give an active session a new token (the old one stops working); None once it has ended."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or not session.active:
                return None
            self._tokens.pop(session.token, None)
            session.token = secrets.token_urlsafe(48)
            session.cell = _new_cell()
            self._tokens[session.token] = session_id
            return session.token

    def terminate(self, session_id: str) -> EmulatedSession | None:
        """End a session on request (TerminateSession) and tell the listeners; None if unknown.

        Terminating an ended session changes nothing and calls no listener, like AWS it is not an error.
        """
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            was_active = session.active
            if was_active:
                self._end(session)
            listeners = list(self._listeners) if was_active else []
        for listener in listeners:
            listener(session)
        return session

    def mark_ended(self, session_id: str, status: SessionStatus = SessionStatus.TERMINATED) -> None:
        """Record that a session's agent ended by itself (shell exit, failed handshake); no listener runs."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.active:
                self._end(session, status)

    def set_status(self, session_id: str, status: SessionStatus) -> None:
        """Change an active session's status (Connected/Disconnected as its websocket comes and goes)."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.active and status in ACTIVE_STATUSES:
                session.status = status

    def describe(
        self,
        state: str,
        filters: Mapping[str, str] | None = None,
        *,
        account_id: str | None = None,
    ) -> list[EmulatedSession]:
        """Sessions in ``state`` (``Active`` or ``History``), newest first, matching every filter.

        Args:
            state: ``Active`` for sessions not ended, ``History`` for ended ones.
            filters: DescribeSessions filter keys: ``Target``, ``Owner``, ``Status``, ``SessionId``,
                ``InvokedAfter``/``InvokedBefore`` (ISO 8601 dates).
            account_id: Only sessions of this account (a caller never sees another account's sessions).
        """
        filters = dict(filters or {})
        with self._lock:
            sessions = list(self._sessions.values())
        wanted = [
            s
            for s in sessions
            if s.active == (state == "Active")
            and (account_id is None or s.account_id == account_id)
            and _matches(s, filters)
        ]
        return sorted(wanted, key=lambda s: s.start_date, reverse=True)

    def active(self) -> list[EmulatedSession]:
        """Every session that has not ended."""
        with self._lock:
            return [s for s in self._sessions.values() if s.active]

    def add_terminate_listener(self, callback: TerminateListener) -> None:
        """Call ``callback(session)`` whenever a session is terminated through :meth:`terminate`."""
        with self._lock:
            self._listeners.append(callback)

    def add_create_listener(self, callback: TerminateListener) -> None:
        """Call ``callback(session)`` whenever :meth:`create` registers a session (StartSession)."""
        with self._lock:
            self._create_listeners.append(callback)

    def _end(self, session: EmulatedSession, status: SessionStatus = SessionStatus.TERMINATED) -> None:
        session.status = status
        session.end_date = datetime.now(UTC)
        self._tokens.pop(session.token, None)


def _new_cell() -> str:
    """A ``cell-number`` value: opaque and URL-safe, as AWS's are."""
    return secrets.token_urlsafe(24)


def _matches(session: EmulatedSession, filters: Mapping[str, str]) -> bool:
    for key, value in filters.items():
        if key == "Target" and session.target != value:
            return False
        if key == "Owner" and value not in (session.owner, "Self"):
            return False
        if key == "Status" and session.status != value:
            return False
        if key == "SessionId" and session.session_id != value:
            return False
        if key == "InvokedAfter" and session.start_date < _parse_date(value):
            return False
        if key == "InvokedBefore" and session.start_date > _parse_date(value):
            return False
    return True


def _parse_date(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
