"""Session documents: what StartSession reads, and the parameter rules it applies.

A Session document is JSON content (``schemaVersion`` 1.0) with a ``sessionType``, ``parameters``,
``properties`` (what the agent runs or dials) and, for ``Standard_Stream``, ``inputs`` (the session
preferences). AWS's own documents ship with the package (:mod:`ssmux.emulator.session_documents`, which
says where each came from); a customer's are moto's, created with ``CreateDocument``, and are used the same
way, so everything here reads the content and nothing is special-cased by name:

* **Parameters** (AWS "Data elements and parameters" page, ``documents-syntax-data-elements-parameters``):
  a name the document does not define, a missing parameter without ``default``, a value outside
  ``allowedValues``, not matching ``allowedPattern`` (a search, as the agent's Go ``regexp.MatchString``;
  the service's Java check reads ``^...$`` the same way) or outside ``minChars``/``maxChars`` (or for a
  ``StringList`` ``minItems``/``maxItems``) is ``InvalidParameters``. A ``String`` takes exactly one value.
* **Substitution**: ``{{ name }}`` in ``properties`` and ``inputs`` is replaced by the parameter's value;
  other references (``{{ ssm:... }}``) stay as they are.
* **Preferences**: a ``Standard_Stream`` document's own ``inputs``; for the other types the account's
  ``SSM-SessionManagerRunShell`` (its customer copy in moto, else the console's defaults with the
  scenario's KMS key).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from ssmux.emulator.fleet import Node
from ssmux.emulator.wire import ApiError
from ssmux.protocol.handshake import SessionType

#: The document StartSession uses without ``DocumentName``: the account's Session Manager preferences.
DEFAULT_DOCUMENT = "SSM-SessionManagerRunShell"
#: Owner of AWS's documents, as DescribeDocument names it.
AWS_OWNER = "Amazon"
#: AWS's Session documents shipped with the emulator (``session_documents/<name>.json``).
AWS_DOCUMENTS = (
    "AWS-StartInteractiveCommand",
    "AWS-StartNonInteractiveCommand",
    "AWS-StartPortForwardingSession",
    "AWS-StartPortForwardingSessionToRemoteHost",
    "AWS-StartSSHSession",
)
#: When AWS created a document, where a public source gives it (DescribeDocument's CreatedDate).
_CREATED = {"AWS-StartSSHSession": datetime(2019, 6, 12, 21, 33, 3, 766000, tzinfo=UTC)}
_REFERENCE = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")
_SESSION_TYPES = {kind.value: kind for kind in SessionType}


@dataclass(frozen=True)
class SessionDocument:
    """A Session document's content and where it lives.

    Attributes:
        name: Document name.
        content: Parsed JSON content.
        owner: ``Amazon`` for AWS's documents, else the account id.
        version: Document version (AWS's shipped documents are version 1).
        created: Creation date when known.
    """

    name: str
    content: Mapping[str, Any]
    owner: str = AWS_OWNER
    version: str = "1"
    created: datetime | None = field(default=None, compare=False)

    @property
    def session_type(self) -> SessionType:
        """The ``sessionType``; InvalidDocument when it is not one of the four."""
        kind = _SESSION_TYPES.get(str(self.content.get("sessionType", "")))
        if kind is None:
            raise ApiError(
                "InvalidDocument",
                f"Document {self.name} has an invalid sessionType {self.content.get('sessionType')!r}.",
            )
        return kind

    @property
    def parameters(self) -> Mapping[str, Mapping[str, Any]]:
        """The ``parameters`` block: name -> definition."""
        parameters = self.content.get("parameters") or {}
        return parameters if isinstance(parameters, Mapping) else {}

    def text(self) -> str:
        """The content as GetDocument returns it (JSON)."""
        return json.dumps(self.content, indent=2)


@dataclass(frozen=True)
class ResolvedSession:
    """What a started session gets from its document once the parameters are in.

    Attributes:
        session_type: The document's ``sessionType``.
        properties: ``properties`` with the values substituted (Port: the handshake's block; commands: one
            ``ShellConfig`` per OS, ``linux``/``windows``/``macos``).
        preferences: The session preferences (``inputs``) that apply.
    """

    session_type: SessionType
    properties: dict[str, Any]
    preferences: dict[str, Any]


@cache
def aws_document(name: str) -> SessionDocument | None:
    """AWS's document of that name shipped with the emulator, or None."""
    if name not in (*AWS_DOCUMENTS, DEFAULT_DOCUMENT):
        return None
    text = resources.files("ssmux.emulator.session_documents").joinpath(f"{name}.json").read_text("utf-8")
    return SessionDocument(name, json.loads(text), created=_CREATED.get(name))


def default_preferences(account_id: str, kms_key_arn: str | None) -> SessionDocument:
    """The account's ``SSM-SessionManagerRunShell`` before it saved any: the console's defaults.

    The scenario profile's ``kms_key`` stands for the ``kmsKeyId`` preference the account would have set.
    """
    base = aws_document(DEFAULT_DOCUMENT)
    assert base is not None
    content = json.loads(json.dumps(base.content))
    if kms_key_arn:
        content["inputs"]["kmsKeyId"] = kms_key_arn
    return SessionDocument(DEFAULT_DOCUMENT, content, owner=account_id)


def customer_document(account_id: str, region: str, name: str) -> SessionDocument | None:
    """The account's own document of that name (created through moto's ``CreateDocument``), or None.

    Raises:
        ApiError: InvalidDocument when it exists but is not a Session document.
    """
    from moto.ssm.models import ssm_backends

    try:
        found = ssm_backends[account_id][region].get_document(
            name=name, document_version="", version_name="", document_format="JSON"
        )
    except moto_errors() as error:
        if moto_error(error)[0] == "InvalidDocument":
            return None
        raise
    if found.get("DocumentType") != "Session":
        raise ApiError("InvalidDocument", f"Document {name} is not a Session document.")
    try:
        content = json.loads(found["Content"])
    except (KeyError, ValueError):
        raise ApiError("InvalidDocument", f"Document {name} has no valid JSON content.") from None
    return SessionDocument(name, content, owner=account_id, version=str(found.get("DocumentVersion", "1")))


def moto_errors() -> tuple[type[Exception], ...]:
    """The exception classes moto's backends raise for AWS errors (moto 5.0 and 5.2 differ)."""
    from moto.core import exceptions

    names = ("ServiceException", "JsonRESTError")
    return tuple(getattr(exceptions, name) for name in names if hasattr(exceptions, name))


def moto_error(error: Exception) -> tuple[str, str]:
    """``(code, message)`` of one of :func:`moto_errors`."""
    code = getattr(error, "error_type", None) or getattr(error, "code", "")
    return str(code).split("#")[-1], str(getattr(error, "message", error))


def find_document(name: str, account_id: str, region: str, kms_key_arn: str | None) -> SessionDocument:
    """The document StartSession uses for ``name`` (a name or a document ARN).

    AWS's own documents first (an account cannot create ``AWS-`` names), then the account's, then, for
    ``SSM-SessionManagerRunShell``, the default preferences.

    Raises:
        ApiError: InvalidDocument when there is no such Session document.
    """
    name = name.rsplit(":document/", 1)[-1] if name.startswith("arn:") else name
    found = aws_document(name) if name != DEFAULT_DOCUMENT else None
    if found is None:
        found = customer_document(account_id, region, name)
    if found is None and name == DEFAULT_DOCUMENT:
        found = default_preferences(account_id, kms_key_arn)
    if found is None:
        raise ApiError("InvalidDocument", f"Document with name {name} does not exist.")
    return found


def resolve_session(
    document: SessionDocument, raw: Any, preferences: Mapping[str, Any] | None = None
) -> ResolvedSession:
    """Check StartSession's ``Parameters`` against ``document`` and substitute them.

    Args:
        document: The session's document.
        raw: StartSession's ``Parameters`` (name -> list of strings), or None.
        preferences: The account's preferences (``inputs`` of its ``SSM-SessionManagerRunShell``), used
            when the document is not a ``Standard_Stream`` one.

    Raises:
        ApiError: InvalidParameters (or ValidationException for a malformed map), InvalidDocument.
    """
    kind = document.session_type
    values = parameter_values(document, raw)
    properties = substitute(document.content.get("properties") or {}, values)
    if kind is SessionType.STANDARD_STREAM:
        inputs = substitute(document.content.get("inputs") or {}, values)
    else:
        inputs = dict(preferences or {})
    return ResolvedSession(kind, dict(properties), dict(inputs))


def parameter_values(document: SessionDocument, raw: Any) -> dict[str, list[str]]:
    """Every parameter of ``document`` with its value (given, else its ``default``), checked.

    Raises:
        ApiError: InvalidParameters for a value the document refuses; ValidationException for a
            ``Parameters`` that is not a map of names to lists of strings.
    """
    if raw is None:
        raw = {}
    shape = ApiError(
        "ValidationException",
        "1 validation error detected: Parameters must be a map of names to lists of strings",
    )
    if not isinstance(raw, dict):
        raise shape
    definitions = document.parameters
    for name in raw:
        if name not in definitions:
            raise ApiError(
                "InvalidParameters", f"Parameter {name!r} is not defined in document {document.name}."
            )
    if not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in raw.values()):
        raise shape
    values: dict[str, list[str]] = {}
    for name, definition in definitions.items():
        if name in raw:
            given = list(raw[name])
        elif "default" in definition:
            default = definition["default"]
            given = [str(v) for v in default] if isinstance(default, list) else [_text(default)]
        else:
            raise ApiError("InvalidParameters", f"Document {document.name} requires parameter {name!r}.")
        _check(document.name, name, definition, given, defaulted=name not in raw)
        values[name] = given
    return values


def substitute(value: Any, values: Mapping[str, list[str]]) -> Any:
    """``value`` with every ``{{ name }}`` of a known parameter replaced by its value.

    A string that is only one reference to a ``StringList`` parameter becomes the list; elsewhere a list is
    joined with newlines.
    """
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value.strip())
        if whole and whole.group(1) in values and len(values[whole.group(1)]) != 1:
            return list(values[whole.group(1)])

        def replace(match: re.Match[str]) -> str:
            found = values.get(match.group(1))
            return match.group(0) if found is None else "\n".join(found)

        return _REFERENCE.sub(replace, value)
    if isinstance(value, Mapping):
        return {key: substitute(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, values) for item in value]
    return value


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


def _check(
    document: str, name: str, definition: Mapping[str, Any], given: list[str], *, defaulted: bool
) -> None:
    kind = str(definition.get("type", "String"))
    if kind != "StringList" and len(given) != 1:
        raise ApiError("InvalidParameters", f"Parameter {name!r} of {document} takes exactly one value.")
    if kind == "StringList":
        low, high = definition.get("minItems"), definition.get("maxItems")
        if (low is not None and len(given) < int(low)) or (high is not None and len(given) > int(high)):
            raise ApiError("InvalidParameters", f"Parameter {name!r} of {document} has {len(given)} items.")
    if defaulted:
        return  # a document's own default is not checked against its own rules
    allowed = definition.get("allowedValues")
    pattern = definition.get("allowedPattern")
    low, high = definition.get("minChars"), definition.get("maxChars")
    for value in given:
        if allowed is not None and value not in [_text(v) for v in allowed]:
            raise ApiError(
                "InvalidParameters",
                f"Parameter {name!r} value {value!r} is not one of {', '.join(map(_text, allowed))}.",
            )
        if pattern is not None and not _matches(str(pattern), value):
            raise ApiError(
                "InvalidParameters", f"Parameter {name!r} value {value!r} does not match {pattern!r}."
            )
        if (low is not None and len(value) < int(low)) or (high is not None and len(value) > int(high)):
            raise ApiError("InvalidParameters", f"Parameter {name!r} value {value!r} has the wrong length.")


def _matches(pattern: str, value: str) -> bool:
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return False


def _text(value: Any) -> str:
    # JSON true/false defaults become the strings the agent parses ("true"/"false").
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
