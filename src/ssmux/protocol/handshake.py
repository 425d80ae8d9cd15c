"""Handshake payloads (``docs/ssm-protocol.md`` §6, §9): request, response, complete, encryption challenge.

The agent drives the handshake: a HandshakeRequest (PayloadType 5) lists the actions the client must
perform (``SessionType`` always, ``KMSEncryption`` when the session is encrypted); the client answers with
a HandshakeResponse (6) reporting each action; with KMS an encryption challenge (8, 9) follows; a
HandshakeComplete (7) ends it. Field names and encodings are those of the Go structs
(``handshakemessage.go``); see :mod:`ssmux.protocol.payloads` for the JSON conventions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

from ssmux.protocol._json import (
    b64decode_field,
    b64encode,
    dumps,
    get_field,
    int_field,
    loads_object,
    str_field,
)
from ssmux.protocol.errors import MalformedPayload

__all__ = [
    "KMS_CONTEXT_CHALLENGE",
    "KMS_CONTEXT_SESSION_ID",
    "KMS_CONTEXT_TARGET_ID",
    "LOCAL_PORT_FORWARDING",
    "ActionStatus",
    "ActionType",
    "EncryptionChallenge",
    "HandshakeComplete",
    "HandshakeRequest",
    "HandshakeResponse",
    "KmsEncryptionRequest",
    "ProcessedClientAction",
    "RequestedClientAction",
    "SessionType",
    "SessionTypeRequest",
    "kms_encryption_context",
]


class SessionType(StrEnum):
    """The SessionType of the handshake's SessionType action (§6)."""

    STANDARD_STREAM = "Standard_Stream"
    INTERACTIVE_COMMANDS = "InteractiveCommands"
    NON_INTERACTIVE_COMMANDS = "NonInteractiveCommands"
    PORT = "Port"


#: The ``type`` property of a Port session that forwards a local port (§8.1): the one port session
#: type that may run smux; any other value is a plain stream.
LOCAL_PORT_FORWARDING = "LocalPortForwarding"

#: Keys of the KMS encryption context both ends give GenerateDataKey/Decrypt (§9).
KMS_CONTEXT_SESSION_ID = "aws:ssm:SessionId"
KMS_CONTEXT_TARGET_ID = "aws:ssm:TargetId"
#: Added only when the client acknowledges the agent's KMS challenge.
KMS_CONTEXT_CHALLENGE = "aws:ssm:RandomChallenge"


def kms_encryption_context(session_id: str, target: str, challenge: str | None = None) -> dict[str, str]:
    """The KMS encryption context of a session (§9); ``challenge`` only when it was acknowledged."""
    context = {KMS_CONTEXT_SESSION_ID: session_id, KMS_CONTEXT_TARGET_ID: target}
    if challenge:
        context[KMS_CONTEXT_CHALLENGE] = challenge
    return context


class ActionType(StrEnum):
    """ActionType of a RequestedClientAction (§6.2)."""

    SESSION_TYPE = "SessionType"
    KMS_ENCRYPTION = "KMSEncryption"


class ActionStatus(IntEnum):
    """ActionStatus of a ProcessedClientAction; the agent treats anything but SUCCESS as fatal."""

    SUCCESS = 1
    FAILED = 2
    UNSUPPORTED = 3


@dataclass(frozen=True, slots=True)
class RequestedClientAction:
    """One action the agent asks the client to perform; ``parameters`` is the raw JSON value."""

    action_type: str
    parameters: Any = None


@dataclass(frozen=True, slots=True)
class SessionTypeRequest:
    """ActionParameters of a ``SessionType`` action: the session type and its properties (or None)."""

    session_type: str
    properties: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class KmsEncryptionRequest:
    """ActionParameters of a ``KMSEncryption`` action; ``challenge`` (base64 text) only on newer agents."""

    kms_key_id: str
    challenge: str | None = None


@dataclass(frozen=True, slots=True)
class HandshakeRequest:
    """Payload of PayloadType 5, agent → client (§6.2 step 2)."""

    agent_version: str
    actions: tuple[RequestedClientAction, ...] = ()

    @classmethod
    def build(
        cls,
        agent_version: str,
        session_type: str,
        properties: dict[str, Any] | None = None,
        kms: KmsEncryptionRequest | None = None,
    ) -> HandshakeRequest:
        """Build the request the agent sends: SessionType, then KMSEncryption when ``kms`` is given."""
        actions = [
            RequestedClientAction(
                ActionType.SESSION_TYPE, {"SessionType": str(session_type), "Properties": properties}
            )
        ]
        if kms is not None:
            params: dict[str, Any] = {"KMSKeyId": kms.kms_key_id}
            if kms.challenge is not None:
                params["Challenge"] = kms.challenge
            actions.append(RequestedClientAction(ActionType.KMS_ENCRYPTION, params))
        return cls(agent_version, tuple(actions))

    def to_json(self) -> bytes:
        """Return the request JSON."""
        return dumps(
            {
                "AgentVersion": self.agent_version,
                "RequestedClientActions": [
                    {"ActionType": str(a.action_type), "ActionParameters": a.parameters} for a in self.actions
                ],
            }
        )

    @classmethod
    def from_json(cls, data: bytes) -> HandshakeRequest:
        """Parse a HandshakeRequest.

        Raises:
            MalformedPayload: not JSON, or actions that are not objects with a string ActionType.
        """
        what = "HandshakeRequest"
        obj = loads_object(data, what)
        raw_actions = get_field(obj, "RequestedClientActions") or []
        if not isinstance(raw_actions, list):
            raise MalformedPayload(f"{what} field RequestedClientActions is not a list")
        actions = []
        for raw in raw_actions:
            if not isinstance(raw, dict):
                raise MalformedPayload(f"{what} has an action that is not a JSON object")
            actions.append(
                RequestedClientAction(
                    str_field(raw, "ActionType", what, required=True), get_field(raw, "ActionParameters")
                )
            )
        return cls(str_field(obj, "AgentVersion", what), tuple(actions))

    def session_type(self) -> SessionTypeRequest | None:
        """The SessionType action's parameters, or None when the request has none.

        Raises:
            MalformedPayload: the action's parameters are not an object with a string SessionType.
        """
        for action in self.actions:
            if action.action_type == ActionType.SESSION_TYPE:
                what = "SessionType action"
                params = action.parameters
                if not isinstance(params, dict):
                    raise MalformedPayload(f"{what} has no parameters object")
                properties = get_field(params, "Properties")
                if properties is not None and not isinstance(properties, dict):
                    raise MalformedPayload(f"{what} field Properties is not an object")
                return SessionTypeRequest(str_field(params, "SessionType", what, required=True), properties)
        return None

    def kms_encryption(self) -> KmsEncryptionRequest | None:
        """The KMSEncryption action's parameters, or None when encryption was not asked for.

        Raises:
            MalformedPayload: the action's parameters are not an object with a string KMSKeyId.
        """
        for action in self.actions:
            if action.action_type == ActionType.KMS_ENCRYPTION:
                what = "KMSEncryption action"
                params = action.parameters
                if not isinstance(params, dict):
                    raise MalformedPayload(f"{what} has no parameters object")
                challenge = get_field(params, "Challenge")
                if challenge is not None and not isinstance(challenge, str):
                    raise MalformedPayload(f"{what} field Challenge is not a string")
                return KmsEncryptionRequest(str_field(params, "KMSKeyId", what, required=True), challenge)
        return None


@dataclass(frozen=True, slots=True)
class ProcessedClientAction:
    """The client's result for one requested action (§6.2 step 4)."""

    action_type: str
    action_status: int
    action_result: Any = None
    error: str = ""

    @classmethod
    def kms_result(
        cls, ciphertext_blob: bytes, *, challenge_acknowledged: bool | None = None
    ) -> ProcessedClientAction:
        """A successful KMSEncryption result carrying the data key's CiphertextBlob (§9)."""
        result: dict[str, Any] = {
            "KMSCipherTextKey": b64encode(ciphertext_blob),
            "KMSCipherTextHash": None,
        }
        if challenge_acknowledged is not None:
            result["ChallengeAcknowledgement"] = challenge_acknowledged
        return cls(ActionType.KMS_ENCRYPTION, ActionStatus.SUCCESS, result, "")

    def kms_ciphertext(self) -> tuple[bytes, bool]:
        """Return (CiphertextBlob, ChallengeAcknowledgement) of a KMSEncryption result.

        Raises:
            MalformedPayload: the result has no base64 KMSCipherTextKey.
        """
        what = "KMSEncryption result"
        if not isinstance(self.action_result, dict):
            raise MalformedPayload(f"{what} is not an object")
        blob = b64decode_field(get_field(self.action_result, "KMSCipherTextKey"), "KMSCipherTextKey", what)
        if not blob:
            raise MalformedPayload(f"{what} has no KMSCipherTextKey")
        return blob, get_field(self.action_result, "ChallengeAcknowledgement") is True


@dataclass(frozen=True, slots=True)
class HandshakeResponse:
    """Payload of PayloadType 6, client → agent (§6.2 step 4)."""

    client_version: str
    processed_actions: tuple[ProcessedClientAction, ...] = ()
    errors: tuple[str, ...] | None = None

    def to_json(self) -> bytes:
        """Return the response JSON."""
        return dumps(
            {
                "ClientVersion": self.client_version,
                "ProcessedClientActions": [
                    {
                        "ActionType": str(a.action_type),
                        "ActionStatus": int(a.action_status),
                        "ActionResult": a.action_result,
                        "Error": a.error,
                    }
                    for a in self.processed_actions
                ],
                "Errors": None if self.errors is None else list(self.errors),
            }
        )

    @classmethod
    def from_json(cls, data: bytes) -> HandshakeResponse:
        """Parse a HandshakeResponse.

        Raises:
            MalformedPayload: not JSON, or actions without a string ActionType / integer ActionStatus.
        """
        what = "HandshakeResponse"
        obj = loads_object(data, what)
        raw_actions = get_field(obj, "ProcessedClientActions") or []
        if not isinstance(raw_actions, list):
            raise MalformedPayload(f"{what} field ProcessedClientActions is not a list")
        actions = []
        for raw in raw_actions:
            if not isinstance(raw, dict):
                raise MalformedPayload(f"{what} has an action that is not a JSON object")
            actions.append(
                ProcessedClientAction(
                    str_field(raw, "ActionType", what, required=True),
                    int_field(raw, "ActionStatus", what, low=-(2**31), high=2**31 - 1, required=False),
                    get_field(raw, "ActionResult"),
                    str_field(raw, "Error", what),
                )
            )
        raw_errors = get_field(obj, "Errors")
        errors: tuple[str, ...] | None = None
        if raw_errors is not None:
            if not isinstance(raw_errors, list) or not all(isinstance(e, str) for e in raw_errors):
                raise MalformedPayload(f"{what} field Errors is not a list of strings")
            errors = tuple(raw_errors)
        return cls(str_field(obj, "ClientVersion", what), tuple(actions), errors)


@dataclass(frozen=True, slots=True)
class HandshakeComplete:
    """Payload of PayloadType 7, agent → client (§6.2 step 6)."""

    time_to_complete_ns: int = 0
    customer_message: str = ""

    def to_json(self) -> bytes:
        """Return the JSON (HandshakeTimeToComplete is integer nanoseconds, Go's time.Duration)."""
        return dumps(
            {"HandshakeTimeToComplete": self.time_to_complete_ns, "CustomerMessage": self.customer_message}
        )

    @classmethod
    def from_json(cls, data: bytes) -> HandshakeComplete:
        """Parse a HandshakeComplete.

        Raises:
            MalformedPayload: not JSON, or fields of the wrong type.
        """
        what = "HandshakeComplete"
        obj = loads_object(data, what)
        return cls(
            int_field(obj, "HandshakeTimeToComplete", what, low=-(2**63), high=2**63 - 1, required=False),
            str_field(obj, "CustomerMessage", what),
        )


@dataclass(frozen=True, slots=True)
class EncryptionChallenge:
    """Payload of PayloadTypes 8 (request) and 9 (response): ``{"Challenge": base64(AES-GCM bytes)}``."""

    challenge: bytes

    def to_json(self) -> bytes:
        """Return the JSON."""
        return dumps({"Challenge": b64encode(self.challenge)})

    @classmethod
    def from_json(cls, data: bytes) -> EncryptionChallenge:
        """Parse a challenge request or response.

        Raises:
            MalformedPayload: not JSON, or no base64 Challenge.
        """
        what = "encryption challenge"
        obj = loads_object(data, what)
        challenge = b64decode_field(get_field(obj, "Challenge"), "Challenge", what)
        if not challenge:
            raise MalformedPayload(f"{what} has no Challenge")
        return cls(challenge)
