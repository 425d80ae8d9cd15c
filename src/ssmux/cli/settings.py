"""``ssmux settings``: show the settings, or change one with ``set KEY VALUE`` (keys as in ``--json``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from ssmux.cli.output import HelpGroup, print_json, print_lines, setting_text
from ssmux.core.models import BACKENDS, Settings
from ssmux.core.store import load_settings, update_settings
from ssmux.core.validation import validate_aws_profile_name, validate_backend, validate_region
from ssmux.errors import InvalidValue

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")

#: key -> one-line help, for the keys `settings set` accepts.
SETTABLE: dict[str, str] = {
    "sync_enabled": "true/false: sync instances from the enabled pairs",
    "sync_only_running": "true/false: list only running instances",
    "default_aws_profile": 'AWS CLI profile when profile and group set none ("" = AWS SDK default)',
    "default_region": 'region when profile and group set none ("" = AWS SDK default)',
    "backend": f"session backend: {', '.join(BACKENDS)}",
    "aws_path": 'path of the aws executable ("" = find on PATH)',
    "plugin_path": 'path of session-manager-plugin ("" = find on PATH)',
}


@click.group(cls=HelpGroup, invoke_without_command=True)
@click.pass_context
def settings(ctx: click.Context) -> None:
    """Show or change settings; without a subcommand, show them."""
    if ctx.invoked_subcommand is None:
        print_lines(_show_lines(load_settings()))


@settings.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON with stable field names.")
def show_command(as_json: bool) -> None:
    """Show every setting."""
    current = load_settings()
    if as_json:
        print_json(current.to_dict())
        return
    print_lines(_show_lines(current))


@settings.command("set")
@click.argument("key", metavar="KEY")
@click.argument("value", metavar="VALUE")
def set_command(key: str, value: str) -> None:
    """Set setting KEY to VALUE. Keys: sync_enabled, sync_only_running, default_aws_profile, default_region,
    backend, aws_path, plugin_path. Sync pairs: see 'ssmux pair'.
    """
    if key == "sync_pairs":
        raise InvalidValue("sync pairs are changed with 'ssmux pair add|rm|enable|disable'")
    if key.startswith("recent_") and key in Settings().to_dict():
        raise InvalidValue(f"{key} is kept by ssmux as you connect; it cannot be set")
    if key not in SETTABLE:
        raise click.BadParameter(
            f"unknown setting {key!r}; choose one of {', '.join(SETTABLE)}", param_hint="KEY"
        )
    parsed = _parse(key, value)
    update_settings(lambda current: replace(current, **{key: parsed}))
    shown = "(AWS SDK default)" if parsed is None else (setting_text(parsed) or "(find on PATH)")
    lines = [f"{key} = {shown}"]
    if key in ("aws_path", "plugin_path") and parsed and not _is_file(str(parsed)):
        lines.append(f"note: {parsed} is not a file yet; sessions needing it will say so")
    print_lines(lines)


def _is_file(path: str) -> bool:
    try:
        return Path(path).is_file()
    except OSError:  # a name the system refuses (too long): not a file either
        return False


def _parse(key: str, value: str) -> Any:
    text = value.strip()
    if key in ("sync_enabled", "sync_only_running"):
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise InvalidValue(f"{key} must be true or false, not {value!r}")
    if key == "default_aws_profile":
        return validate_aws_profile_name(text) if text else None
    if key == "default_region":
        return validate_region(text) if text else None
    if key == "backend":
        return validate_backend(text)
    return text  # aws_path, plugin_path: validated by the store (no control characters)


def _show_lines(current: Settings) -> list[str]:
    def text(value: Any) -> str:
        if value is None:
            return "(AWS SDK default)"
        if isinstance(value, tuple):
            return ", ".join(value) or "-"
        return setting_text(value) or "(find on PATH)"

    lines = []
    for key in current.to_dict():
        if key == "sync_pairs":
            pairs = [
                f"{p.aws_profile}/{p.region}{'' if p.enabled else ' (disabled)'}" for p in current.sync_pairs
            ]
            lines.append(f"{key + ':':22}{', '.join(pairs) or '-'}")
        else:
            lines.append(f"{key + ':':22}{text(getattr(current, key))}")
    return lines
