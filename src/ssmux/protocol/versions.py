"""Version rules that steer features between client and agent (``docs/ssm-protocol.md`` §8.1, §8.4, §11).

Both ends must agree on port-forwarding mode, and each decides on its own: the plugin from the agent's
version, the agent from the client's version. Two comparison styles exist in the real code:

* the plugin's (``versionvalidator.go``): "strictly greater than", both versions must have the same
  number of numeric components, anything unparsable counts as "not supported";
* the agent's (``versionutil.Compare``): numeric components, missing ones count as 0.

Mux (smux) port forwarding needs both: the plugin asks for an agent newer than 3.0.196.0, a new agent
asks for a client at least 1.1.70, and an agent that old has no smux at all, whatever the client says.
:func:`uses_mux_port_forwarding` holds that one rule, so the client and the emulated agent cannot disagree.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_AGENT_VERSION",
    "LAST_PLUGIN_WITHOUT_ENV_VAR",
    "MUX_AGENT_AFTER",
    "MUX_CLIENT_MIN",
    "PLUGIN_VERSION",
    "SMUX_KEEPALIVE_OFF_AFTER_AGENT",
    "SMUX_KEEPALIVE_OFF_AFTER_CLIENT",
    "START_SESSION_RESPONSE_ENV_VAR",
    "TERMINATE_FLAG_AGENT_AFTER",
    "agent_greater_than",
    "client_at_least",
    "client_greater_than",
    "parse_version",
    "uses_mux_port_forwarding",
]

#: The version ssmux's native client reports: as ``ClientVersion`` to the agent and as
#: ``session-manager-plugin --version`` from the drop-in. Each threshold it passes changes behaviour
#: (§2, §8, §11): >= 1.1.70 the agent speaks smux for port forwarding (we do too); > 1.2.295
#: NonInteractiveCommands keep stdout and stderr apart with no upgrade notice; > 1.2.331.0 the agent turns
#: smux keepalive off; > 1.2.497.0 the aws CLI passes the token in an environment variable. The client
#: behaves like plugin 1.2.835.0: signed dial (1.2.764.0), the new StreamUrl adopted on resume.
PLUGIN_VERSION = "1.2.835.0"
#: The AgentVersion the emulated agent announces unless a scenario says otherwise (smux, no keepalive).
DEFAULT_AGENT_VERSION = "3.3.987.0"

#: The plugin uses smux for LocalPortForwarding only with an agent newer than this.
MUX_AGENT_AFTER = "3.0.196.0"
#: The agent uses smux for LocalPortForwarding only with a client at least this version.
MUX_CLIENT_MIN = "1.1.70"
#: The plugin turns smux keepalive off with an agent newer than this.
SMUX_KEEPALIVE_OFF_AFTER_AGENT = "3.1.1511.0"
#: The agent turns smux keepalive off with a client newer than this.
SMUX_KEEPALIVE_OFF_AFTER_CLIENT = "1.2.331.0"
#: The plugin sends the TerminateSession flag (instead of calling the API) to an agent newer than this.
TERMINATE_FLAG_AGENT_AFTER = "2.3.722.0"
#: The aws CLI hands StartSession's response to a plugin newer than this in an environment variable
#: (named by the argument) instead of on the command line.
LAST_PLUGIN_WITHOUT_ENV_VAR = "1.2.497.0"
#: That environment variable's name; the drop-in reads it (or a name starting with it).
START_SESSION_RESPONSE_ENV_VAR = "AWS_SSM_START_SESSION_RESPONSE"


def parse_version(text: str | None) -> tuple[int, ...] | None:
    """Return the numeric components of ``text`` (``"3.3.987.0"`` -> ``(3, 3, 987, 0)``), or None."""
    if not text:
        return None
    parts = text.strip().split(".")
    if not all(part.isdigit() for part in parts):
        return None
    return tuple(int(part) for part in parts)


def agent_greater_than(agent_version: str | None, threshold: str) -> bool:
    """The plugin's rule: True if ``agent_version`` > ``threshold`` with the same component count."""
    agent, limit = parse_version(agent_version), parse_version(threshold)
    if agent is None or limit is None or len(agent) != len(limit):
        return False
    return agent > limit


def _compare_padded(version: str | None, threshold: str) -> int | None:
    mine, limit = parse_version(version), parse_version(threshold)
    if mine is None or limit is None:
        return None
    width = max(len(mine), len(limit))
    padded_mine = mine + (0,) * (width - len(mine))
    padded_limit = limit + (0,) * (width - len(limit))
    return (padded_mine > padded_limit) - (padded_mine < padded_limit)


def client_at_least(client_version: str | None, threshold: str) -> bool:
    """The agent's rule: True if ``client_version`` >= ``threshold`` (missing components are 0)."""
    result = _compare_padded(client_version, threshold)
    return result is not None and result >= 0


def client_greater_than(client_version: str | None, threshold: str) -> bool:
    """The agent's rule: True if ``client_version`` > ``threshold`` (missing components are 0)."""
    result = _compare_padded(client_version, threshold)
    return result is not None and result > 0


def uses_mux_port_forwarding(agent_version: str | None, client_version: str | None) -> bool:
    """Whether a LocalPortForwarding session runs smux (§8.1); both ends must reach the same answer.

    True only when the agent is newer than :data:`MUX_AGENT_AFTER` (the plugin's rule, which also says
    whether the agent has smux at all) and the client is at least :data:`MUX_CLIENT_MIN` (the agent's
    rule). Otherwise both ends use basic port forwarding.
    """
    return agent_greater_than(agent_version, MUX_AGENT_AFTER) and client_at_least(
        client_version, MUX_CLIENT_MIN
    )
