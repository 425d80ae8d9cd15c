"""The SSM operations moto lacks: sessions and instance information, answered like AWS answers them.

``StartSession`` resolves the document (its ``sessionType``, parameters and, for port documents, the
``properties`` block the agent sends in the handshake, spec section 8.1), checks that the target is a
connected node of the caller's account and region, and registers the session for the data channel. The
others read or change the registry, or read the fleet (:mod:`ssm_inventory` lists the nodes).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ssmux.emulator import ssm_inventory
from ssmux.emulator.documents import DEFAULT_DOCUMENT, DOCUMENTS, document_values, shell_command
from ssmux.emulator.faults import Faults
from ssmux.emulator.fleet import Fleet, Node
from ssmux.emulator.scenario import ScenarioProfile
from ssmux.emulator.sessions import EmulatedSession, SessionRegistry, SessionType
from ssmux.emulator.wire import ApiError

_SESSION_FILTER_KEYS = (
    "InvokedAfter",
    "InvokedBefore",
    "Target",
    "Owner",
    "Status",
    "SessionId",
    "AccessType",
)


@dataclass(frozen=True)
class Caller:
    """Who is calling: the scenario profile (account) behind the access key, the region, its faults."""

    profile: ScenarioProfile
    region: str
    faults: Faults

    @property
    def account_id(self) -> str:
        """The caller's account."""
        return self.profile.account_id


class SsmApi:
    """Handlers of the SSM session and instance-information operations.

    Args:
        fleet: The seeded scenario.
        registry: Where sessions live (shared with the data channel).
        stream_url: Gives the websocket URL of a session id.
    """

    OPERATIONS = frozenset(
        {
            "StartSession",
            "ResumeSession",
            "TerminateSession",
            "DescribeSessions",
            "GetConnectionStatus",
            "DescribeInstanceInformation",
            "DescribeInstanceProperties",
        }
    )

    def __init__(self, fleet: Fleet, registry: SessionRegistry, stream_url: Callable[[str], str]) -> None:
        self.fleet = fleet
        self.registry = registry
        self.stream_url = stream_url

    def handle(self, action: str, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """Run one operation; raises :class:`ApiError` for anything AWS would refuse."""
        handler: Callable[[Caller, dict[str, Any]], dict[str, Any]] = getattr(self, _snake(action))
        return handler(caller, body)

    def start_session(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """StartSession: a session to a connected node, typed by its document."""
        target = _required(body, "Target")
        document_name = _string(body, "DocumentName") or DEFAULT_DOCUMENT
        reason = _string(body, "Reason")
        document = DOCUMENTS.get(document_name)
        if document is None:
            raise ApiError("InvalidDocument", f"Document with name {document_name} does not exist.")
        values = document_values(document, body.get("Parameters"))
        node = self._connected_node(caller, target)
        command: list[str] = []
        env: dict[str, str] = {}
        if document.session_type is SessionType.STANDARD_STREAM:
            command, env = shell_command(node), dict(node.spec.env)
        elif document.session_type is not SessionType.PORT:
            command = ["/bin/sh", "-c", values["command"]]  # the agent runs `sh -c <command>`, as AWS's does
        properties = None
        if document.session_type is SessionType.PORT:
            properties = {name: values[name] for name in document.properties}
            if document.port_type:
                properties["type"] = document.port_type
        encrypted = caller.profile.kms_key and document.session_type is not SessionType.PORT
        session = self.registry.create(
            user=caller.profile.user,
            target=target,
            account_id=caller.account_id,
            region=caller.region,
            profile=caller.profile.name,
            document_name=document_name,
            session_type=document.session_type,
            parameters=body.get("Parameters") or {},
            properties=properties,
            reason=reason,
            kms_key_id=self.fleet.kms_key_arn(caller.account_id, caller.region) if encrypted else None,
            command=command,
            env=env,
            agent_version=node.spec.agent_version,
            faults=caller.faults,
            owner=caller.profile.owner_arn,
        )
        return self._stream(session)

    def resume_session(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """ResumeSession: a new token for an active session; no token once it has ended."""
        session = self._own_session(caller, _required(body, "SessionId"))
        token = self.registry.resume(session.session_id)
        if token is None:
            return {"SessionId": session.session_id}
        return {
            "SessionId": session.session_id,
            "TokenValue": token,
            "StreamUrl": self.stream_url(session.session_id),
        }

    def terminate_session(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """TerminateSession: ends the session (the data channel sends channel_closed); idempotent."""
        session_id = _required(body, "SessionId")
        session = self.registry.get(session_id)
        if session is not None and session.account_id == caller.account_id:
            self.registry.terminate(session_id)
        return {"SessionId": session_id}

    def describe_sessions(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """DescribeSessions: the caller's Active or History sessions, newest first, paginated."""
        state = _required(body, "State")
        if state not in ("Active", "History"):
            raise _validation(f"Value '{state}' at 'state' failed to satisfy constraint: Member must satisfy "
                              "enum value set: [Active, History]")  # fmt: skip
        filters: dict[str, str] = {}
        for item in _list(body, "Filters"):
            key, value = (item.get("key"), item.get("value")) if isinstance(item, dict) else (None, None)
            if key not in _SESSION_FILTER_KEYS:
                raise ApiError("InvalidFilterKey", f"The filter key {key!r} is not valid.")
            if not isinstance(value, str) or not value:
                raise _validation(f"filter {key} needs a non-empty string value")
            if key in ("InvokedAfter", "InvokedBefore"):
                _check_date(key, value)
            filters[key] = value
        filters.pop("AccessType", None)  # every emulated session is Standard
        sessions = self.registry.describe(state, filters, account_id=caller.account_id)
        page, next_token = _page(sessions, body, default=20, low=1, high=200)
        result: dict[str, Any] = {"Sessions": [_session_json(s) for s in page]}
        if next_token:
            result["NextToken"] = next_token
        return result

    def get_connection_status(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """GetConnectionStatus: ``connected`` when a session could start now."""
        target = _required(body, "Target")
        node = self.fleet.node(caller.account_id, caller.region, target)
        return {"Target": target, "Status": "connected" if node and node.connected else "notconnected"}

    def describe_instance_information(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """DescribeInstanceInformation: managed nodes of the caller's account and region, paginated."""
        return ssm_inventory.describe_instance_information(self._nodes(caller), body)

    def describe_instance_properties(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """DescribeInstanceProperties: the same nodes with EC2's fields too, up to 1000 a page."""
        return ssm_inventory.describe_instance_properties(self._nodes(caller), body)

    def _nodes(self, caller: Caller) -> list[Node]:
        return self.fleet.nodes(caller.account_id, caller.region)

    def _connected_node(self, caller: Caller, target: str) -> Node:
        node = self.fleet.node(caller.account_id, caller.region, target)
        if node is None and not self.fleet.ec2_instance_exists(caller.account_id, caller.region, target):
            raise ApiError("InvalidInstanceId", f"Instance {target} is not valid in {caller.region}.")
        if node is None or not node.connected:
            raise ApiError("TargetNotConnected", f"{target} is not connected.")
        return node

    def _own_session(self, caller: Caller, session_id: str) -> EmulatedSession:
        session = self.registry.get(session_id)
        if session is None or session.account_id != caller.account_id:
            raise ApiError("DoesNotExistException", f"Session with id {session_id} does not exist.")
        return session

    def _stream(self, session: EmulatedSession) -> dict[str, Any]:
        return {
            "SessionId": session.session_id,
            "TokenValue": session.token,
            "StreamUrl": self.stream_url(session.session_id),
        }


def _page(
    items: list[Any], body: dict[str, Any], *, default: int, low: int, high: int
) -> tuple[list[Any], str]:
    size = body.get("MaxResults", default)
    if isinstance(size, bool) or not isinstance(size, int) or not low <= size <= high:
        raise _validation(
            f"Value '{size}' at 'maxResults' failed to satisfy constraint: "
            f"Member must have value between {low} and {high}"
        )
    start = 0
    token = body.get("NextToken")
    if token:
        start = _decode_token(token)
    page = items[start : start + size]
    more = start + size < len(items)
    return page, _encode_token(start + size) if more else ""


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"ssmux:{offset}".encode()).decode()


def _decode_token(token: Any) -> int:
    try:
        prefix, _, number = base64.urlsafe_b64decode(str(token).encode()).decode().partition(":")
        offset = int(number)
    except ValueError:
        offset = -1
    if offset < 0 or prefix != "ssmux":
        raise ApiError("InvalidNextToken", "The specified token is not valid.")
    return offset


def _session_json(session: EmulatedSession) -> dict[str, Any]:
    data: dict[str, Any] = {
        "SessionId": session.session_id,
        "Target": session.target,
        "Status": str(session.status),
        "StartDate": session.start_date,
        "DocumentName": session.document_name,
        "Owner": session.owner,
        "Details": "",
        "MaxSessionDuration": "",
        "AccessType": "Standard",
    }
    if session.end_date is not None:
        data["EndDate"] = session.end_date
    if session.reason:
        data["Reason"] = session.reason
    return data


def _string(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _validation(f"{key} must be a non-empty string")
    return value


def _required(body: dict[str, Any], key: str) -> str:
    value = _string(body, key)
    if value is None:
        raise _validation(
            f"Value null at '{key[0].lower() + key[1:]}' failed to satisfy constraint: "
            "Member must not be null"
        )
    return value


def _list(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key) or []
    if not isinstance(value, list):
        raise _validation(f"{key} must be a list")
    return value


def _check_date(key: str, value: str) -> None:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _validation(f"filter {key} value {value!r} is not a date like 2024-01-31T12:00:00Z") from None


def _validation(message: str) -> ApiError:
    return ApiError("ValidationException", f"1 validation error detected: {message}")


def _snake(action: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()
