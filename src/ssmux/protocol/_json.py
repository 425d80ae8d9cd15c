"""JSON reading and writing shared by the payload modules, in the manner of Go's ``encoding/json``.

Writing: compact separators, UTF-8 left as is, ``[]byte`` as standard base64 with padding, nil as ``null``.
Reading: field names match exactly first, then case-insensitively (as Go does); wrong types raise
:class:`~ssmux.protocol.errors.MalformedPayload` naming the payload and the field.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from ssmux.protocol.errors import MalformedPayload

__all__ = ["b64decode_field", "b64encode", "dumps", "get_field", "int_field", "loads_object", "str_field"]


def dumps(value: Any) -> bytes:
    # Go's encoding/json: compact, UTF-8, and (unlike Python's default) non-ASCII left as is.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def loads_object(data: bytes | str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise MalformedPayload(f"{what} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise MalformedPayload(f"{what} is not a JSON object")
    return value


def get_field(obj: dict[str, Any], name: str, default: Any = None) -> Any:
    """Field ``name`` of ``obj``, matched exactly first, then case-insensitively like Go."""
    if name in obj:
        return obj[name]
    lowered = name.lower()
    for key, value in obj.items():
        if key.lower() == lowered:
            return value
    return default


def str_field(obj: dict[str, Any], name: str, what: str, *, required: bool = False) -> str:
    value = get_field(obj, name)
    if value is None:
        if required:
            raise MalformedPayload(f"{what} has no {name}")
        return ""
    if not isinstance(value, str):
        raise MalformedPayload(f"{what} field {name} is not a string")
    return value


def int_field(
    obj: dict[str, Any], name: str, what: str, *, low: int, high: int, required: bool = True
) -> int:
    value = get_field(obj, name)
    if value is None and not required:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedPayload(f"{what} field {name} is not an integer")
    if not low <= value <= high:
        raise MalformedPayload(f"{what} field {name}={value} is out of range")
    return value


def b64decode_field(value: Any, name: str, what: str) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedPayload(f"{what} field {name} is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedPayload(f"{what} field {name} is not valid base64") from None


def b64encode(value: bytes | None) -> str | None:
    return None if value is None else base64.b64encode(value).decode("ascii")
