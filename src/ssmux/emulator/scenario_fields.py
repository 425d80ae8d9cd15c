"""Reading a scenario's JSON fields: each wrong value is one line naming where it is and what is wanted.

Shared by the scenario itself (:mod:`ssmux.emulator.scenario`), its generated organizations
(:mod:`ssmux.emulator.organization`) and its ECS block (:mod:`ssmux.emulator.ecs_scenario`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ssmux.errors import InvalidValue


def mapping(value: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    """``value`` as a JSON object whose keys are all in ``allowed``."""
    if not isinstance(value, dict):
        raise InvalidValue(f"{where} must be a JSON object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise InvalidValue(f"{where} has unknown key '{unknown[0]}': use {', '.join(sorted(allowed))}")
    return value


def string(
    data: Mapping[str, Any],
    key: str,
    where: str,
    *,
    pattern: re.Pattern[str] | None = None,
    required: bool = False,
    what: str = "",
    allow_empty: bool = True,
) -> Any:
    """``data[key]`` as a string matching ``pattern``; ``None`` when absent and not ``required``."""
    value = data.get(key)
    if value is None:
        if required:
            raise InvalidValue(f"{where} needs '{key}'")
        return None
    wrong = not isinstance(value, str) or (not value and not allow_empty)
    if wrong or (pattern is not None and not pattern.match(value)):
        raise InvalidValue(f"{where}.{key} {value!r} is not valid{f' ({what})' if what else ''}")
    return value


def choice(data: Mapping[str, Any], key: str, where: str, choices: tuple[str, ...], default: str) -> str:
    """``data[key]`` (``default`` when absent), one of ``choices``."""
    value = data.get(key, default)
    if value not in choices:
        raise InvalidValue(f"{where}.{key} {value!r} must be one of {', '.join(choices)}")
    return str(value)
