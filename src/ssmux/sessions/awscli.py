"""The aws-cli backend: ``aws ssm start-session`` (``aws ecs execute-command`` for a container) exactly as a
user would type it, as an argv list.

The reference product ran this command in a console. It stays available for people who want the AWS CLI's
own behaviour (its credential handling, its plugin discovery). Every value is one argv element, never part
of a shell string, so profile names, reasons and parameters with shell metacharacters reach the aws CLI
verbatim.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ssmux.sessions.backends import Launch, SessionRequest, run_in_terminal


def awscli_argv(aws: str, request: SessionRequest) -> list[str]:
    """``aws ssm start-session --target ID [--profile P] [--region R] [--document-name D]
    [--parameters JSON] [--reason R]`` for ``request``, with ``aws`` as the executable.

    A container's session (``request.container``) is ``aws ecs execute-command --cluster C --task T
    --container N --interactive --command CMD [--profile P] [--region R]`` (ExecuteCommand takes no reason).
    """
    container = request.container
    if container is not None:
        argv = [aws, "ecs", "execute-command", "--cluster", container.cluster, "--task", container.task]
        argv += ["--container", container.container, "--interactive", "--command", container.command]
        return argv + _where(request)
    argv = [aws, "ssm", "start-session", "--target", request.target]
    argv += _where(request)
    if request.document_name:
        argv += ["--document-name", request.document_name]
    if request.parameters:
        # JSON, not the CLI's shorthand syntax: shorthand gives meaning to commas and brackets in values.
        parameters = {key: list(values) for key, values in request.parameters.items()}
        argv += ["--parameters", json.dumps(parameters)]
    if request.reason:
        argv += ["--reason", request.reason]
    return argv


def _where(request: SessionRequest) -> list[str]:
    argv = []
    if request.aws_profile:
        argv += ["--profile", request.aws_profile]
    if request.region:
        argv += ["--region", request.region]
    return argv


def awscli_launch(aws: str, request: SessionRequest, plugin: str | None = None) -> Launch:
    """The aws CLI run for ``request``; ``plugin`` (when known) is put first on PATH, where the CLI looks."""
    env: dict[str, str] = {}
    if plugin:
        env["PATH"] = str(Path(plugin).parent) + os.pathsep + os.environ.get("PATH", "")
    return Launch(awscli_argv(aws, request), env)


def run_awscli(aws: str, request: SessionRequest, plugin: str | None = None) -> int:
    """Run ``aws ssm start-session`` for ``request`` in this terminal; returns the aws CLI's exit status."""
    return run_in_terminal(awscli_launch(aws, request, plugin))
