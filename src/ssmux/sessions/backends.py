"""Session backends and how one is chosen.

Three ways to open a session, one request shape:

``native``
    ssmux's own data-channel client (:mod:`ssmux.sessions.native`): nothing to install.
``plugin``
    ``StartSession`` through boto3, then AWS's ``session-manager-plugin`` with its argv contract
    (:mod:`ssmux.sessions.plugin`).
``aws-cli``
    ``aws ssm start-session ...`` (``aws ecs execute-command ...`` for a container) exactly as a user would
    type it (:mod:`ssmux.sessions.awscli`); the aws CLI in turn runs ``session-manager-plugin`` from PATH.

``auto`` (the default setting) is the plugin when ``session-manager-plugin`` is found (the ``plugin_path``
setting, else PATH), else native; but always native when the AWS endpoints are overridden (an
``endpoint_url`` in the AWS config, ``AWS_ENDPOINT_URL``...: the emulator of ``ssmux demo``, LocalStack). The
plugin ignores endpoint overrides for its KMS calls, so with it a KMS-encrypted session against a local AWS
would send that AWS's fake keys to the real KMS. ``--backend`` on the command line overrides the setting, and
an explicit choice is taken as asked. A backend whose executable is missing fails with one line that says
what to install or which backend to use instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ssmux.errors import BackendUnavailable, InvalidValue

if TYPE_CHECKING:
    from ssmux.core.models import Settings

PLUGIN_NAME = "session-manager-plugin"
AWS_NAME = "aws"
PLUGIN_INSTALL_HINT = (
    "install the AWS Session Manager plugin (https://docs.aws.amazon.com/systems-manager/latest/userguide/"
    "session-manager-working-with-install-plugin.html), run 'ssmux install-plugin-shim' to use ssmux's own "
    "client in its place"
)


class Backend(StrEnum):
    """The session backends, as named in settings and on the command line."""

    AUTO = "auto"
    NATIVE = "native"
    PLUGIN = "plugin"
    AWS_CLI = "aws-cli"


@dataclass(frozen=True)
class ContainerCommand:
    """What ``ecs:ExecuteCommand`` is asked to run: a command in one container of an ECS task.

    ``command`` is split into words by the container's agent (shell-like quoting, no shell: ``sh -c ...``
    for one), and run in a pty (an InteractiveCommands session).
    """

    cluster: str
    task: str
    container: str
    command: str


@dataclass(frozen=True)
class SessionRequest:
    """What to open: the target and the ``StartSession`` parameters, with the AWS CLI profile and region.

    ``aws_profile`` and ``region`` are ``None`` when the AWS SDK (or the aws CLI) should decide, as ``aws``
    itself would.

    With ``container`` the session is started by ``ecs:ExecuteCommand`` (:mod:`ssmux.sessions.ecs_api`)
    instead of ``StartSession``; ``target`` is then the container's SSM target
    ``ecs:<cluster>_<task-id>_<runtime-id>``, which the plugin and the KMS handshake are given, as the aws CLI
    gives them. A port session to a container is a plain ``StartSession`` to that target (no ``container``).
    """

    target: str
    aws_profile: str | None = None
    region: str | None = None
    document_name: str | None = None
    parameters: Mapping[str, Sequence[str]] = field(default_factory=dict)
    reason: str | None = None
    container: ContainerCommand | None = None

    def start_session_params(self) -> dict[str, Any]:
        """Keyword arguments of ``ssm.start_session`` (also the plugin's argv[5], JSON-encoded)."""
        params: dict[str, Any] = {"Target": self.target}
        if self.document_name:
            params["DocumentName"] = self.document_name
        if self.parameters:
            params["Parameters"] = {key: list(values) for key, values in self.parameters.items()}
        if self.reason:
            params["Reason"] = self.reason
        return params


@dataclass(frozen=True)
class Launch:
    """A child process to run for a session: an argv list (never a shell string) and extra environment."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)

    def full_env(self) -> dict[str, str]:
        """This process's environment with :attr:`env` on top."""
        return {**os.environ, **self.env}


@dataclass(frozen=True)
class Choice:
    """The backend chosen for a session, and the executable it runs (``None`` for native)."""

    backend: Backend
    executable: str | None = None
    plugin: str | None = None  # for aws-cli: the plugin the aws CLI will find, when known


def parse_backend(value: str) -> Backend:
    """The :class:`Backend` named by ``value``; :class:`InvalidValue` with the choices otherwise."""
    try:
        return Backend(value.strip().lower())
    except ValueError:
        names = ", ".join(backend.value for backend in Backend)
        raise InvalidValue(f"unknown backend {value!r}: choose one of {names}") from None


def find_executable(name: str, configured: str = "", setting: str = "") -> str | None:
    """The path of ``name``: the configured path when set (it must exist), else the first one on PATH.

    Raises:
        BackendUnavailable: a path is configured (in setting ``setting``) but is not an executable file.
    """
    if configured.strip():
        path = Path(configured.strip()).expanduser()
        try:
            if path.is_file() and os.access(path, os.X_OK):
                return str(path)
        except (OSError, ValueError):  # a name too long for the file system, a NUL byte: not a file either
            pass
        raise BackendUnavailable(
            f"setting {setting or name} is {configured!r}, which is not an executable file: fix it with "
            f"'ssmux settings set {setting} PATH' (or '' to search PATH)"
        )
    return shutil.which(name)


def choose(requested: str | None, settings: Settings, request: SessionRequest | None = None) -> Choice:
    """Pick the backend: ``requested`` (``--backend``) if given, else the ``backend`` setting.

    Args:
        requested: the backend named on the command line, or ``None``.
        settings: the loaded settings (``backend``, ``plugin_path`` and ``aws_path`` are read).
        request: the session to open, when known: ``auto`` then looks at its AWS profile's endpoints only;
            without it, an endpoint override in any profile (or the environment) makes ``auto`` native.

    Raises:
        InvalidValue: an unknown backend name.
        BackendUnavailable: the chosen backend's executable is missing (one line saying what to do).
    """
    from ssmux.sso.credentials import RoleSource

    backend = parse_backend(requested or settings.backend or "auto")
    plugin_path = settings.plugin_path or ""
    aws_path = settings.aws_path or ""
    role = RoleSource.parse(request.aws_profile) if request is not None else None
    if backend is Backend.NATIVE:
        return Choice(Backend.NATIVE)
    if backend is Backend.AUTO:
        plugin = find_executable(PLUGIN_NAME, plugin_path, "plugin_path")
        # A discovered role (sso:...) is no AWS CLI profile: only ssmux's own client can sign as it.
        if plugin is None or role is not None or kms_endpoint_overridden(request):
            return Choice(Backend.NATIVE)
        return Choice(Backend.PLUGIN, plugin)
    if role is not None:
        raise BackendUnavailable(
            f"{role.name} is a role ssmux signs as itself, which the aws CLI and the plugin cannot: use "
            "--backend native, or write it as an AWS CLI profile with 'ssmux sso discover --write-aws-config'"
        )
    if backend is Backend.PLUGIN:
        plugin = find_executable(PLUGIN_NAME, plugin_path, "plugin_path")
        if plugin is None:
            raise BackendUnavailable(
                f"{PLUGIN_NAME} not found on PATH: {PLUGIN_INSTALL_HINT}, or use --backend native"
            )
        return Choice(Backend.PLUGIN, plugin)
    aws = find_executable(AWS_NAME, aws_path, "aws_path")
    if aws is None:
        raise BackendUnavailable(
            "aws (the AWS CLI) not found on PATH: install it, set its path with "
            "'ssmux settings set aws_path PATH', or use --backend native"
        )
    plugin = find_executable(PLUGIN_NAME, plugin_path, "plugin_path")
    if plugin is None:
        raise BackendUnavailable(
            f"the aws-cli backend needs {PLUGIN_NAME}, which is not on PATH: {PLUGIN_INSTALL_HINT}, "
            "or use --backend native"
        )
    return Choice(Backend.AWS_CLI, aws, plugin)


def kms_endpoint_overridden(request: SessionRequest | None = None) -> bool:
    """Whether KMS calls would go to a configured endpoint instead of AWS's (botocore's lookup, 1.31+).

    For ``request``'s AWS profile (None: the SDK's default one) when given; for any profile of the AWS config
    file otherwise, since the profile is not known yet. An unreadable AWS config counts as no override: the
    session fails on it later, with the SDK's own message.
    """
    if _true(os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")):
        return False
    if os.environ.get("AWS_ENDPOINT_URL_KMS") or os.environ.get("AWS_ENDPOINT_URL"):
        return True
    import botocore.exceptions
    import botocore.session

    try:
        session = botocore.session.Session()
        full = session.full_config
        if request is not None:
            profile = request.aws_profile or session.get_config_variable("profile") or "default"
            return _profile_overrides_kms(full, profile)
        return any(_profile_overrides_kms(full, profile) for profile in full.get("profiles", {}))
    except botocore.exceptions.BotoCoreError:
        return False


def _profile_overrides_kms(full_config: dict[str, Any], profile: str) -> bool:
    scoped = full_config.get("profiles", {}).get(profile, {})
    if _true(scoped.get("ignore_configured_endpoint_urls")):
        return False
    services = full_config.get("services", {}).get(scoped.get("services", ""), {})
    return bool(scoped.get("endpoint_url") or services.get("kms", {}).get("endpoint_url"))


def _true(value: object) -> bool:
    return str(value or "").strip().lower() == "true"


def run_in_terminal(launch: Launch) -> int:
    """Run ``launch`` in this terminal and return its exit status.

    While it runs, the signals a user types (Ctrl-C, Ctrl-\\, Ctrl-Z) are ignored here so they reach only
    the child, as the aws CLI does for the plugin.
    """
    from ssmux.sessions import platform

    with platform.current().user_signals():
        try:
            completed = subprocess.run(launch.argv, env=launch.full_env(), check=False)
        except FileNotFoundError:
            raise BackendUnavailable(
                f"{launch.argv[0]} not found: check the path, or use --backend native"
            ) from None
    return completed.returncode
