"""The emulated SSM agent's session plugins, and the choice of one for a session.

=========================  ========================================================================
Session type               Agent
=========================  ========================================================================
Standard_Stream            :class:`~.shell.ShellAgent`: the session's command (a shell) in a pty
InteractiveCommands        :class:`~.shell.ShellAgent`: ``sh -c <command>`` in a pty (an ECS container:
                           the split command, its folder and environment only)
NonInteractiveCommands     :class:`~.command.CommandAgent`: the split command, no shell, no pty
Port                       :class:`~.portmux.MuxPortAgent` (smux) for LocalPortForwarding with a client
                           >= 1.1.70 and an agent > 3.0.196.0, else :class:`~.port.BasicPortAgent` (§8.1)
=========================  ========================================================================

The shell agent imports POSIX-only modules when it starts, never at import time.
"""

from __future__ import annotations

import os

from ssmux.emulator.agents.base import FAST, REALISTIC, Agent, AgentHost, Pacing
from ssmux.emulator.sessions import EmulatedSession
from ssmux.errors import SessionError
from ssmux.protocol.handshake import SessionType

__all__ = ["FAST", "REALISTIC", "Agent", "AgentHost", "Pacing", "create_agent", "default_shell"]


def default_shell() -> list[str]:
    """What a shell session runs when the session names no command: ``$SHELL``, else ``/bin/sh``."""
    shell = os.environ.get("SHELL", "")
    return [shell] if shell else ["/bin/sh"]


def create_agent(
    session: EmulatedSession,
    host: AgentHost,
    *,
    uses_smux: bool,
    smux_keepalive: bool = False,
    pacing: Pacing = REALISTIC,
) -> Agent:
    """Build the agent plugin for ``session`` (not started yet).

    Args:
        session: the session from the registry.
        host: the data channel the agent talks through.
        uses_smux: the protocol's §8.1 decision for a Port session (type, ClientVersion, AgentVersion).
        smux_keepalive: whether mux mode sends keepalive NOPs (ClientVersion not newer than 1.2.331.0).
        pacing: how shell and port agents read the output they relay (default: the agent's timing).

    Raises:
        SessionError: the session's properties do not describe something the agent can run.
    """
    kind = session.session_type
    if kind in (SessionType.STANDARD_STREAM, SessionType.INTERACTIVE_COMMANDS):
        from ssmux.emulator.agents.shell import ShellAgent

        return ShellAgent(host, session.command or default_shell(), env=session.env, cwd=session.cwd,
                          inherit_env=session.inherit_env, pacing=pacing)  # fmt: skip
    if kind == SessionType.NON_INTERACTIVE_COMMANDS:
        from ssmux.emulator.agents.command import CommandAgent

        return CommandAgent(host, session.shell_config or {}, env=session.env, cwd=session.cwd,
                            pacing=pacing, inherit_env=session.inherit_env)  # fmt: skip
    if kind == SessionType.PORT:
        properties = session.properties or {}
        port_text = str(properties.get("portNumber", "")).strip()
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise SessionError(f"Port number is empty or invalid in session properties: {port_text!r}")
        destination, port = session.dial or (str(properties.get("host") or "localhost"), int(port_text))
        if uses_smux:
            from ssmux.emulator.agents.portmux import MuxPortAgent

            return MuxPortAgent(host, destination, port, keepalive=smux_keepalive, pacing=pacing)
        from ssmux.emulator.agents.port import BasicPortAgent

        port_type = str(properties.get("type", ""))
        return BasicPortAgent(host, destination, port, port_type, pacing=pacing)
    raise SessionError(f"session type {kind!r} is not supported by the emulator's agent")
