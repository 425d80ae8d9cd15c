"""The SSM operations moto lacks: sessions and instance information, answered like AWS answers them.

``StartSession`` resolves the document (its ``sessionType``, parameters and, for port documents, the
``properties`` block the agent sends in the handshake, spec section 8.1), checks that the target is a
connected node of the caller's account and region, and registers the session for the data channel. The
others read or change the registry, or read the fleet (:mod:`ssm_inventory` lists the nodes).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ssmux.emulator import ssm_inventory
from ssmux.emulator.agents import goshlex
from ssmux.emulator.documents import (
    DEFAULT_DOCUMENT,
    SessionDocument,
    aws_document,
    customer_document,
    default_preferences,
    find_document,
    moto_error,
    moto_errors,
    resolve_session,
    shell_command,
)
from ssmux.emulator.ecs_fleet import ECS_AGENT_VERSION, EcsFleet, EcsRecord
from ssmux.emulator.faults import Faults
from ssmux.emulator.fleet import Fleet, Node
from ssmux.emulator.scenario import ScenarioProfile
from ssmux.emulator.sessions import EmulatedSession, SessionRegistry
from ssmux.emulator.windows import RDP_PORT
from ssmux.emulator.wire import ApiError
from ssmux.protocol.handshake import SessionType

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
class _Place:
    """Where a session's command runs: an instance (this machine's environment) or an ECS container."""

    shell_command: list[str]
    env: Mapping[str, str]
    agent_version: str
    #: A container's folder; None for an instance (the command inherits the emulator's environment).
    cwd: str | None = None
    #: A Windows instance: its RDP port is the emulator's stand-in (:class:`~.windows.RdpStandIn`).
    windows: bool = False

    def interactive_command(self, commands: str) -> list[str]:
        """InteractiveCommands: ``sh -c`` on an instance; split and run as is in a container (container
        mode, ``StartCommandExecutor`` in ``agent/session/shell/shell_unix.go``)."""
        if self.cwd is None:
            return ["sh", "-c", commands]
        try:
            return goshlex.split(commands) or ["sh"]
        except goshlex.SplitError as error:
            raise ApiError("InvalidParameters", f"Failed to parse commands input: {error}") from None


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
        stream_url: Gives the websocket URL of a session (its current cell; presigned or not).
        ecs: The scenario's ECS, whose exec-ready containers are targets too (``ecs:<cluster>_<task>_<id>``).
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
            # Only AWS's Session documents and the default preferences are answered here; other names
            # are read from moto's backend (see get_document).
            "GetDocument",
            "DescribeDocument",
        }
    )

    def __init__(
        self,
        fleet: Fleet,
        registry: SessionRegistry,
        stream_url: Callable[[EmulatedSession], str],
        ecs: EcsFleet | None = None,
        rdp_port: int | None = None,
    ) -> None:
        self.fleet = fleet
        self.registry = registry
        self.stream_url = stream_url
        self.ecs = ecs
        #: Where the RDP service of every Windows instance listens on this machine (None: not served).
        self.rdp_port = rdp_port

    def handle(self, action: str, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """Run one operation; raises :class:`ApiError` for anything AWS would refuse."""
        handler: Callable[[Caller, dict[str, Any]], dict[str, Any]] = getattr(self, _snake(action))
        return handler(caller, body)

    def start_session(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """StartSession: a session to a connected node, typed and parameterised by its document.

        The document is AWS's or the account's (see :mod:`documents`); its parameters are checked and
        substituted before the target is, as the service does. What the agent runs comes from the resolved
        ``properties``: InteractiveCommands ``sh -c <commands>`` in a pty (agent
        ``agent/session/shell/shell_unix.go``, ``StartCommandExecutor``, outside container mode), and
        NonInteractiveCommands get the ``linux`` ``ShellConfig`` (``agent/session/contracts/model.go``) that
        the command agent splits and runs without a shell. An ``ecs:`` target is an exec-ready container
        (:mod:`ecs_fleet`): its commands run in its folder with its environment, the agent in container mode.
        """
        target = _required(body, "Target")
        document_name = _string(body, "DocumentName") or DEFAULT_DOCUMENT
        reason = _string(body, "Reason")
        kms_arn = self.fleet.kms_key_arn(caller.account_id, caller.region)
        document = find_document(document_name, caller.account_id, caller.region, kms_arn)
        preferences: dict[str, Any] = {}
        if document.session_type is not SessionType.STANDARD_STREAM:
            account = find_document(DEFAULT_DOCUMENT, caller.account_id, caller.region, kms_arn)
            preferences = dict(account.content.get("inputs") or {})
        resolved = resolve_session(document, body.get("Parameters"), preferences)
        place = self._connected_place(caller, target)
        command: list[str] = []
        env: dict[str, str] = {}
        shell_config: dict[str, Any] | None = None
        properties: dict[str, Any] | None = None
        dial: tuple[str, int] | None = None
        if resolved.session_type is SessionType.STANDARD_STREAM:
            command, env = place.shell_command, dict(place.env)
        elif resolved.session_type is SessionType.PORT:
            properties = {key: str(value) for key, value in resolved.properties.items()}
            dial = self._windows_service(place, properties)
        else:
            linux = resolved.properties.get("linux")
            shell_config = dict(linux) if isinstance(linux, dict) else {}
            if resolved.session_type is SessionType.INTERACTIVE_COMMANDS:
                command = place.interactive_command(str(shell_config.get("commands", "")))
            env = dict(place.env) if place.cwd is not None else {}  # a container's whole environment
        kms_key = str(resolved.preferences.get("kmsKeyId") or "")
        encrypted = bool(kms_key) and resolved.session_type is not SessionType.PORT
        session = self.registry.create(
            user=caller.profile.user,
            target=target,
            account_id=caller.account_id,
            region=caller.region,
            profile=caller.profile.name,
            document_name=document.name,
            session_type=resolved.session_type,
            parameters=body.get("Parameters") or {},
            properties=properties,
            reason=reason,
            kms_key_id=kms_key if encrypted else None,
            command=command,
            env=env,
            agent_version=place.agent_version,
            faults=caller.faults,
            owner=caller.profile.owner_arn,
            shell_config=shell_config,
            preferences=resolved.preferences,
            cwd=place.cwd,
            inherit_env=place.cwd is None,
            dial=dial,
        )
        return self._stream(session)

    def _windows_service(self, place: _Place, properties: Mapping[str, str]) -> tuple[str, int] | None:
        """Where a port session to a Windows instance's own RDP port (3389, no remote host) is dialled: the
        emulator's stand-in, since no Windows runs here; every other port is this machine's, as for Linux."""
        on_instance = properties.get("host") in (None, "", "localhost", "127.0.0.1")
        if self.rdp_port is None or not place.windows or not on_instance:
            return None
        return ("127.0.0.1", self.rdp_port) if properties.get("portNumber") == str(RDP_PORT) else None

    def get_document(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """GetDocument: AWS's Session documents and the default preferences here, the rest from moto."""
        name = _required(body, "Name")
        document = self._served_document(caller, name)
        if document is None:
            return _moto_ssm(caller, "get_document", name=name, document_version=body.get("DocumentVersion"),
                             version_name=body.get("VersionName"),
                             document_format=body.get("DocumentFormat") or "JSON")  # fmt: skip
        _check_version(document, body)
        document_format = body.get("DocumentFormat") or "JSON"
        if document_format == "JSON":
            content = document.text()
        elif document_format == "YAML":
            import yaml

            content = yaml.safe_dump(json.loads(document.text()), sort_keys=False)
        else:
            raise _validation(f"Value '{document_format}' at 'documentFormat' failed to satisfy constraint: "
                              "Member must satisfy enum value set: [YAML, JSON, TEXT]")  # fmt: skip
        return {
            "Name": document.name,
            "DocumentVersion": document.version,
            "Status": "Active",
            "Content": content,
            "DocumentType": "Session",
            "DocumentFormat": document_format,
        }

    def describe_document(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """DescribeDocument: the same split as GetDocument."""
        name = _required(body, "Name")
        document = self._served_document(caller, name)
        if document is None:
            return {"Document": _moto_ssm(caller, "describe_document", name=name,
                                          document_version=body.get("DocumentVersion"),
                                          version_name=body.get("VersionName"))}  # fmt: skip
        _check_version(document, body)
        return {"Document": _describe(document)}

    def _served_document(self, caller: Caller, name: str) -> SessionDocument | None:
        """AWS's document, or the default preferences when the account has saved none; None: moto's."""
        if name == DEFAULT_DOCUMENT:
            if customer_document(caller.account_id, caller.region, name) is not None:
                return None
            kms_arn = self.fleet.kms_key_arn(caller.account_id, caller.region)
            return default_preferences(caller.account_id, kms_arn)
        return aws_document(name)

    def resume_session(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """ResumeSession: a new token and a new StreamUrl for an active session; no token once it has ended.

        AWS may answer with a StreamUrl of another cell (session-manager-plugin ``sessionhandler.go``
        adopts it since 1.2.835.0); the emulator always does, and refuses the old URL from then on.
        """
        session = self._own_session(caller, _required(body, "SessionId"))
        token = self.registry.resume(session.session_id)
        if token is None:
            return {"SessionId": session.session_id}
        return {
            "SessionId": session.session_id,
            "TokenValue": token,
            "StreamUrl": self.stream_url(session),
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
        if target.startswith("ecs:"):
            found = self._container(caller, target)
            connected = found is not None and found[0].exec_refusal() is None
        else:
            node = self.fleet.node(caller.account_id, caller.region, target)
            connected = node is not None and node.connected
        return {"Target": target, "Status": "connected" if connected else "notconnected"}

    def describe_instance_information(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """DescribeInstanceInformation: managed nodes of the caller's account and region, paginated."""
        return ssm_inventory.describe_instance_information(self._nodes(caller), body)

    def describe_instance_properties(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """DescribeInstanceProperties: the same nodes with EC2's fields too, up to 1000 a page."""
        return ssm_inventory.describe_instance_properties(self._nodes(caller), body)

    def _nodes(self, caller: Caller) -> list[Node]:
        return self.fleet.nodes(caller.account_id, caller.region)

    def _connected_place(self, caller: Caller, target: str) -> _Place:
        """Where a session to ``target`` runs: an instance, or an ECS container (``ecs:`` targets)."""
        if not target.startswith("ecs:"):
            node = self._connected_node(caller, target)
            windows = node.spec.platform == "windows"
            return _Place(shell_command(node), node.spec.env, node.spec.agent_version, windows=windows)
        found = self._container(caller, target)
        # SSM knows an ECS task's agent only once it has connected: anything else is not connected.
        if found is None or found[0].exec_refusal() is not None:
            raise ApiError("TargetNotConnected", f"{target} is not connected.")
        assert self.ecs is not None
        shell = self.ecs.shell(*found)
        # The agent in a container with no shell profile runs plain ``sh`` (shell_unix.go).
        return _Place(["sh"], shell.env, ECS_AGENT_VERSION, cwd=shell.cwd)

    def _container(self, caller: Caller, target: str) -> tuple[EcsRecord, int] | None:
        if self.ecs is None:
            return None
        return self.ecs.resolve_target(caller.account_id, caller.region, target)

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
            "StreamUrl": self.stream_url(session),
        }


def _moto_ssm(caller: Caller, method: str, **kwargs: Any) -> dict[str, Any]:
    """Call moto's SSM backend of the caller's account and region; its errors become :class:`ApiError`."""
    from moto.ssm.models import ssm_backends

    try:
        result: dict[str, Any] = getattr(ssm_backends[caller.account_id][caller.region], method)(**kwargs)
    except moto_errors() as error:
        raise ApiError(*moto_error(error)) from None
    return result


def _check_version(document: SessionDocument, body: dict[str, Any]) -> None:
    version = body.get("DocumentVersion")
    if version not in (None, "", "$DEFAULT", "$LATEST", document.version):
        raise ApiError("InvalidDocumentVersion", f"Document version {version} is not valid.")
    if body.get("VersionName"):
        raise ApiError("InvalidDocument", f"Document {document.name} has no version {body['VersionName']}.")


def _describe(document: SessionDocument) -> dict[str, Any]:
    """DescribeDocument's ``Document`` for a document served here (AWS's shape)."""
    text = document.text()
    data: dict[str, Any] = {
        "Hash": hashlib.sha256(text.encode()).hexdigest(),
        "HashType": "Sha256",
        "Name": document.name,
        "Owner": document.owner,
        "Status": "Active",
        "DocumentVersion": document.version,
        "Parameters": [
            {
                "Name": name,
                "Type": str(spec.get("type", "String")),
                "Description": str(spec.get("description", "")),
                **({"DefaultValue": _default_text(spec["default"])} if "default" in spec else {}),
            }
            for name, spec in document.parameters.items()
        ],
        "PlatformTypes": ["Windows", "Linux", "MacOS"],
        "DocumentType": "Session",
        "SchemaVersion": str(document.content.get("schemaVersion", "1.0")),
        "LatestVersion": document.version,
        "DefaultVersion": document.version,
        "DocumentFormat": "JSON",
        "Tags": [],
    }
    if document.content.get("description"):
        data["Description"] = str(document.content["description"])
    if document.created is not None:
        data["CreatedDate"] = document.created
    return data


def _default_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, list | dict) else str(value)


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
