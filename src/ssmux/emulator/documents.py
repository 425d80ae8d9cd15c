"""The AWS-owned Session Manager documents the emulator knows, and how a session's command is chosen.

Each document fixes the session type (spec section 6.1), its parameters (defaults, patterns) and, for port
documents, the ``properties`` block the agent sends in the handshake (spec section 8.1).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ssmux.emulator.fleet import Node
from ssmux.emulator.sessions import SessionType
from ssmux.emulator.wire import ApiError

DEFAULT_DOCUMENT = "SSM-SessionManagerRunShell"
_PORT = re.compile(r"^([1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])$")
_LOCAL_PORT = re.compile(r"^(0|([1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5]))$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.:-]{0,251}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Parameter:
    """A document parameter: its default (None = required) and the pattern its value must match."""

    default: str | None
    pattern: re.Pattern[str] | None = None


@dataclass(frozen=True)
class SessionDocument:
    """An AWS-owned Session Manager document, as far as the emulator needs it."""

    name: str
    session_type: SessionType
    parameters: Mapping[str, Parameter]
    # Parameters copied into the handshake's Properties, and the fixed "type" (port documents only).
    properties: tuple[str, ...] = ()
    port_type: str | None = None


_FORWARD = {"portNumber": Parameter("80", _PORT), "localPortNumber": Parameter("0", _LOCAL_PORT)}
DOCUMENTS: dict[str, SessionDocument] = {
    doc.name: doc
    for doc in (
        SessionDocument(DEFAULT_DOCUMENT, SessionType.STANDARD_STREAM, {}),
        SessionDocument(
            "AWS-StartInteractiveCommand", SessionType.INTERACTIVE_COMMANDS, {"command": Parameter(None)}
        ),
        SessionDocument(
            "AWS-StartNonInteractiveCommand",
            SessionType.NON_INTERACTIVE_COMMANDS,
            {"command": Parameter(None)},
        ),
        SessionDocument(
            "AWS-StartPortForwardingSession",
            SessionType.PORT,
            _FORWARD,
            ("portNumber", "localPortNumber"),
            "LocalPortForwarding",
        ),
        SessionDocument(
            "AWS-StartPortForwardingSessionToRemoteHost",
            SessionType.PORT,
            {**_FORWARD, "host": Parameter(None, _HOST)},
            ("portNumber", "localPortNumber", "host"),
            "LocalPortForwarding",
        ),
        SessionDocument(
            "AWS-StartSSHSession", SessionType.PORT, {"portNumber": Parameter("22", _PORT)}, ("portNumber",)
        ),
    )
}


def shell_command(node: Node) -> list[str]:
    """What a shell session runs: the instance's command, else ``$SHELL``, else ``/bin/sh``.

    A command whose program is missing here (bash on a minimal system) falls back rather than failing, so a
    scenario written on one machine works on another.
    """
    command = node.spec.command
    if command and shutil.which(command[0]):
        return list(command)
    shell = os.environ.get("SHELL", "")
    if shell and shutil.which(shell):
        return [shell]
    return ["/bin/sh"]


def document_values(document: SessionDocument, raw: Any) -> dict[str, str]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ApiError(
            "ValidationException",
            "1 validation error detected: Parameters must be a map of names to lists of strings",
        )
    values: dict[str, str] = {}
    for name, value in raw.items():
        spec = document.parameters.get(name)
        if spec is None:
            raise ApiError(
                "InvalidParameters", f"Parameter {name!r} is not defined in document {document.name}."
            )
        if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], str):
            raise ApiError(
                "InvalidParameters", f"Parameter {name!r} of {document.name} takes exactly one string."
            )
        if spec.pattern is not None and not spec.pattern.match(value[0]):
            raise ApiError("InvalidParameters", f"Parameter {name!r} value {value[0]!r} is not valid.")
        values[name] = value[0]
    for name, spec in document.parameters.items():
        if name not in values:
            if spec.default is None:
                raise ApiError("InvalidParameters", f"Document {document.name} requires parameter {name!r}.")
            values[name] = spec.default
    return values
