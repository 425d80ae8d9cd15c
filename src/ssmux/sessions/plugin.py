"""The plugin backend: ``StartSession`` through boto3, then AWS's ``session-manager-plugin``.

The plugin is run with exactly the argv contract the aws CLI uses (docs/ssm-protocol.md §2)::

    session-manager-plugin RESPONSE REGION StartSession PROFILE REQUEST_JSON SSM_ENDPOINT_URL

* ``RESPONSE`` is the JSON ``{"SessionId", "TokenValue", "StreamUrl"}``, or, when the plugin's
  ``--version`` is greater than 1.2.497.0, the *name* ``AWS_SSM_START_SESSION_RESPONSE`` of an environment
  variable holding it, which keeps the session token out of the process list.
* ``PROFILE`` is the real AWS CLI profile name (``""`` for the SDK's default chain): the plugin uses it for
  ``ResumeSession``, ``TerminateSession`` and the KMS data key, and a wrong one breaks KMS sessions
  ("Handshake timed out", user pains).
* ``REQUEST_JSON`` is the ``StartSession`` request as sent; ``SSM_ENDPOINT_URL`` the SSM client's endpoint.

If the plugin cannot be run after the session started, the session is terminated (as the aws CLI does), so
no half-open session lingers on the agent.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ssmux.errors import BackendUnavailable
from ssmux.protocol.versions import LAST_PLUGIN_WITHOUT_ENV_VAR as LAST_VERSION_WITHOUT_ENV_VAR
from ssmux.protocol.versions import START_SESSION_RESPONSE_ENV_VAR as ENV_VAR
from ssmux.sessions.backends import Launch, SessionRequest, run_in_terminal

if TYPE_CHECKING:
    from ssmux.sessions.api import SessionApi

VERSION_TIMEOUT = 15.0
_VERSION = re.compile(r"^\d+(\.\d+){0,3}$")


def parse_version(text: str) -> tuple[int, ...] | None:
    """The numeric parts of a plugin version (``"1.2.650.0\\n"`` -> ``(1, 2, 650, 0)``), or ``None``."""
    cleaned = re.sub(r"\s+", "", text)
    if not _VERSION.match(cleaned):
        return None
    return tuple(int(part) for part in cleaned.split("."))


def takes_env_var(version_text: str) -> bool:
    """True when a plugin of this ``--version`` reads the response from an environment variable.

    The same rule as the aws CLI: strictly greater than 1.2.497.0, shorter versions padded with zeros; an
    unparseable version gets the JSON in argv, which every plugin accepts.
    """
    version = parse_version(version_text)
    if version is None:
        return False
    floor = tuple(int(part) for part in LAST_VERSION_WITHOUT_ENV_VAR.split("."))
    width = max(len(version), len(floor))
    return version + (0,) * (width - len(version)) > floor + (0,) * (width - len(floor))


def plugin_version(executable: str) -> str:
    """The output of ``session-manager-plugin --version``.

    Raises:
        BackendUnavailable: the plugin cannot be run or does not answer in time.
    """
    try:
        completed = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, timeout=VERSION_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise BackendUnavailable(f"{executable} not found: check the path, or use --backend native") from None
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BackendUnavailable(f"{executable} --version failed ({error}): use --backend native") from None
    return completed.stdout.strip()


def plugin_launch(
    executable: str,
    response: Mapping[str, str],
    *,
    region: str,
    aws_profile: str | None,
    request_params: Mapping[str, Any],
    endpoint_url: str,
    use_env_var: bool,
) -> Launch:
    """The plugin's argv (and environment) for a started session, per the §2 contract.

    Args:
        executable: path of ``session-manager-plugin``.
        response: ``SessionId``, ``TokenValue`` and ``StreamUrl`` from ``StartSession``.
        region: the SSM client's region.
        aws_profile: the AWS CLI profile used, or ``None`` for the default chain (passed as ``""``).
        request_params: the ``StartSession`` request as sent.
        endpoint_url: the SSM client's endpoint URL.
        use_env_var: pass the response through ``AWS_SSM_START_SESSION_RESPONSE`` (see :func:`takes_env_var`).
    """
    payload = json.dumps(
        {
            "SessionId": response["SessionId"],
            "TokenValue": response["TokenValue"],
            "StreamUrl": response["StreamUrl"],
        }
    )
    env: dict[str, str] = {}
    first = payload
    if use_env_var:
        env[ENV_VAR] = payload
        first = ENV_VAR
    argv = [
        executable,
        first,
        region,
        "StartSession",
        aws_profile or "",
        json.dumps(dict(request_params)),
        endpoint_url,
    ]
    return Launch(argv, env)


def run_plugin(executable: str, request: SessionRequest, api: SessionApi) -> int:
    """Start the session through ``api`` (boto3), then run the plugin for it in this terminal.

    Args:
        executable: path of ``session-manager-plugin``.
        request: the session to start.
        api: a :class:`ssmux.sessions.api.SessionApi` for the request's profile and region.

    Returns:
        The plugin's exit status (the plugin itself always exits 0 at the end of a session).
    """
    launch, session_id = start_plugin(executable, request, api)
    return run_joined(launch, session_id, api)


def run_joined(launch: Launch, session_id: str, api: SessionApi) -> int:
    """Run ``launch`` in this terminal for the started session ``session_id``; its exit status.

    If the program cannot be run, the session is terminated through ``api``, as the aws CLI does.
    """
    try:
        return run_in_terminal(launch)
    except BackendUnavailable:
        api.terminate_session(session_id, quiet=True)
        raise


def start_plugin(executable: str, request: SessionRequest, api: SessionApi) -> tuple[Launch, str]:
    """The plugin's ``--version``, ``StartSession`` through ``api``, and the plugin's run (blocking).

    Returns:
        The plugin's :class:`Launch` and the id of the session it will join; whoever runs it (this
        terminal, or a pty in the app) terminates that session if the plugin cannot be started.
    """
    use_env_var = takes_env_var(plugin_version(executable))
    params = request.start_session_params()
    started = api.start_session(params)
    launch = plugin_launch(
        executable,
        {"SessionId": started.session_id, "TokenValue": started.token, "StreamUrl": started.stream_url},
        region=api.region_name,
        aws_profile=request.aws_profile,
        request_params=params,
        endpoint_url=api.endpoint_url,
        use_env_var=use_env_var,
    )
    return launch, started.session_id
