"""Sessions: the native data-channel client, the plugin and aws-cli backends, terminals, port forwarding.

Nothing here imports asyncio, websockets or boto3 at import time; the modules that need them import them
where they are used, so the CLI starts fast.
"""

#: The version ssmux's native client reports: as ``ClientVersion`` to the agent and as
#: ``session-manager-plugin --version`` from the drop-in. Each threshold it passes changes behaviour
#: (docs/ssm-protocol.md §2, §8, §11): >= 1.1.70 the agent speaks smux for port forwarding (we do too);
#: > 1.2.295 NonInteractiveCommands keep stdout and stderr apart with no upgrade notice; > 1.2.331.0 the
#: agent turns smux keepalive off; > 1.2.497.0 the aws CLI passes the token in an environment variable.
#: The client behaves like plugin 1.2.835.0: signed dial (1.2.764.0), the new StreamUrl adopted on resume.
PLUGIN_VERSION = "1.2.835.0"
