"""The AWS ``config`` and ``credentials`` files that point boto3, the aws CLI and ssmux at the emulator.

One profile per scenario profile: its keys in ``credentials``; its region, ``endpoint_url`` and JSON output
in ``config``. A scenario with Identity Center adds its ``[sso-session]`` and one SSO profile, ``sso``. The
accounts of a generated organization (``Scenario.hidden``, hundreds of them) get nothing: they are reached by
signing in and discovering them, as in a real organization, and a user's profile list stays short.
botocore (1.31+) and the aws CLI honour ``endpoint_url`` from the config file, so setting
``AWS_CONFIG_FILE`` and ``AWS_SHARED_CREDENTIALS_FILE`` is all a client needs. Both files are written to a
temporary name and renamed, the credentials readable by the owner only.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ssmux.emulator.scenario import Scenario


@dataclass(frozen=True)
class AwsConfigFiles:
    """Paths of the two files written for an emulator run."""

    config_file: Path
    credentials_file: Path


def write_aws_config(directory: Path, scenario: Scenario, endpoint: str) -> AwsConfigFiles:
    """Write ``config`` and ``credentials`` for every written scenario profile into ``directory`` (made if
    needed), and the ``sso-session`` and ``sso`` profile of its Identity Center."""
    directory.mkdir(parents=True, exist_ok=True)
    config_lines = ["# Written by `ssmux emulator`: every profile reaches the local emulator.", ""]
    credential_lines = ["# Written by `ssmux emulator`: dummy keys, one account per profile.", ""]
    for profile in scenario.profiles:
        config_lines += [
            f"[profile {profile.name}]",
            f"region = {profile.region}",
            f"endpoint_url = {endpoint}",
            "output = json",
            "",
        ]
        credential_lines += [
            f"[{profile.name}]",
            f"aws_access_key_id = {profile.access_key_id}",
            f"aws_secret_access_key = {profile.secret_access_key}",
            "",
        ]
    if scenario.sso is not None:
        config_lines += _sso_lines(scenario, endpoint)
    files = AwsConfigFiles(directory / "config", directory / "credentials")
    _write_atomic(files.config_file, "\n".join(config_lines), mode=0o644)
    _write_atomic(files.credentials_file, "\n".join(credential_lines), mode=0o600)
    return files


def _sso_lines(scenario: Scenario, endpoint: str) -> list[str]:
    """The scenario's ``[sso-session]``, and a profile ``sso`` on its first role grant, as ``aws configure
    sso`` writes them; the profile's ``endpoint_url`` also sends sso-oidc and portal calls to the emulator."""
    sso = scenario.sso
    assert sso is not None
    first = sso.grants[0]
    return [
        f"[sso-session {sso.session}]",
        f"sso_start_url = {sso.start_url}",
        f"sso_region = {sso.region}",
        "sso_registration_scopes = sso:account:access",
        "",
        "[profile sso]",
        f"sso_session = {sso.session}",
        f"sso_account_id = {first.account_id}",
        f"sso_role_name = {first.role}",
        f"region = {first.region}",
        f"endpoint_url = {endpoint}",
        "output = json",
        "",
    ]


def _write_atomic(path: Path, text: str, *, mode: int) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(temporary).chmod(mode)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
