"""What ssmux finds on this machine, with a hint per problem: the settings page's "doctor" panel.

Checks: the ``aws`` CLI and ``session-manager-plugin`` (path and version), the backend ``auto`` would use,
ssmux's own files, and the credentials of every AWS CLI profile (``sts:GetCallerIdentity``, run for all
profiles at once, each bounded by the client timeouts). Nothing here is required: the native backend needs
neither the aws CLI nor the plugin, so a missing tool is a note, not an error. Only names, versions, account
ids and ARNs are reported; no key material is read or shown.

Every function here blocks (subprocesses, AWS calls); the page runs them through ``run.io_bound``.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ssmux.errors import SsmuxError

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients
    from ssmux.core.models import Settings

Level = Literal["ok", "note", "problem"]
VERSION_TIMEOUT = 10.0


@dataclass(frozen=True)
class Finding:
    """One line of the doctor panel.

    Attributes:
        name: What was checked (``aws CLI``, ``AWS profile dev``).
        level: ``ok``, ``note`` (missing but optional) or ``problem``.
        detail: What was found (path and version, account and ARN, the error).
        hint: What to do about it (empty when nothing needs doing).
    """

    name: str
    level: Level
    detail: str
    hint: str = ""


def _version(executable: str, *args: str) -> str:
    try:
        completed = subprocess.run(
            [executable, *args], capture_output=True, text=True, timeout=VERSION_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"(cannot run it: {error})"
    text = (completed.stdout or completed.stderr).strip().splitlines()
    return text[0] if text else "(no version printed)"


def check_tools(settings: Settings) -> list[Finding]:
    """The aws CLI, the plugin and the backend ``auto`` picks."""
    from ssmux.sessions.backends import AWS_NAME, PLUGIN_NAME, choose, find_executable

    findings = []
    try:
        aws = find_executable(AWS_NAME, settings.aws_path, "aws_path")
    except SsmuxError as error:
        findings.append(Finding("aws CLI", "problem", str(error), "fix or clear the aws_path setting"))
        aws = None
    else:
        if aws:
            findings.append(Finding("aws CLI", "ok", f"{aws}: {_version(aws, '--version')}"))
        else:
            findings.append(
                Finding(
                    "aws CLI",
                    "note",
                    "not found on PATH",
                    "only the aws-cli backend needs it: install AWS CLI v2 if you want that backend",
                )
            )
    try:
        plugin = find_executable(PLUGIN_NAME, settings.plugin_path, "plugin_path")
    except SsmuxError as error:
        findings.append(Finding("session-manager-plugin", "problem", str(error), "fix or clear plugin_path"))
        plugin = None
    else:
        if plugin:
            findings.append(
                Finding("session-manager-plugin", "ok", f"{plugin}: {_version(plugin, '--version')}")
            )
        else:
            findings.append(
                Finding(
                    "session-manager-plugin",
                    "note",
                    "not found on PATH",
                    "not needed: ssmux's native client opens sessions itself; install the plugin only for "
                    "the plugin and aws-cli backends",
                )
            )
    try:
        auto = choose("auto", settings)
        chosen = choose(None, settings)
    except SsmuxError as error:
        findings.append(Finding("backend", "problem", str(error), "choose another backend in the settings"))
    else:
        detail = f"auto uses {auto.backend.value}; the setting '{settings.backend}' uses "
        findings.append(Finding("backend", "ok", detail + chosen.backend.value))
    return findings


def check_files() -> list[Finding]:
    """ssmux's own files: readable and valid."""
    from ssmux.core import store
    from ssmux.sync.inventory import Inventory

    findings = []
    for name, load, path in (
        ("profiles file", store.load_profiles, store.profiles_path()),
        ("settings file", store.load_settings, store.settings_path()),
        ("inventory cache", lambda: Inventory().pairs(), None),
    ):
        try:
            load()
        except SsmuxError as error:
            findings.append(Finding(name, "problem", str(error), "fix or move the file aside"))
        else:
            findings.append(Finding(name, "ok", str(path) if path is not None else "readable"))
    return findings


def check_credentials(
    clients: AwsClients, aws_profiles: list[str], region_of: dict[str, str | None] | None = None
) -> list[Finding]:
    """``sts:GetCallerIdentity`` for each profile, all at once, via ``clients``; failures say what to do."""
    if not aws_profiles:
        return [
            Finding(
                "AWS profiles",
                "note",
                "no AWS CLI profile found in the AWS config",
                "run 'aws configure --profile NAME' (or 'aws configure sso') to add one",
            )
        ]
    regions = region_of or {}

    def one(name: str) -> Finding:
        from ssmux.core import aws

        try:
            sts = clients.client(
                "sts", name, regions.get(name) or "us-east-1", max_attempts=2, read_timeout=10.0
            )
            identity = sts.get_caller_identity()
        except Exception as error:
            failure = (
                error
                if isinstance(error, SsmuxError)
                else aws.translate(error, aws_profile=name, action="sts:GetCallerIdentity")
            )
            return Finding(f"AWS profile {name}", "problem", str(failure))
        return Finding(
            f"AWS profile {name}", "ok", f"account {identity.get('Account')}: {identity.get('Arn')}"
        )

    with ThreadPoolExecutor(max_workers=min(8, len(aws_profiles))) as pool:
        return list(pool.map(one, aws_profiles))


def run_doctor(clients: AwsClients) -> list[Finding]:
    """Every check, in display order.

    Args:
        clients: AWS sessions made for this run (the app passes ``services.aws.renewed()``), so a check after
            the AWS config files changed reads them again.
    """
    from ssmux.core import store
    from ssmux.core.awsconfig import list_aws_profiles

    findings = check_files()
    from ssmux.core.models import Settings

    try:
        settings = store.load_settings()
    except SsmuxError:
        settings = Settings()  # the file's problem is a finding of check_files; the tools use the defaults
    findings += check_tools(settings)
    try:
        profiles = list_aws_profiles()
    except SsmuxError as error:
        return [*findings, Finding("AWS config", "problem", str(error), "fix the AWS config file")]
    findings += check_credentials(clients, [p.name for p in profiles], {p.name: p.region for p in profiles})
    return findings
