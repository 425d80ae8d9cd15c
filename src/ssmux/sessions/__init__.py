"""Sessions: the native data-channel client, the plugin and aws-cli backends, terminals, port forwarding.

Nothing here imports asyncio, websockets or boto3 at import time; the modules that need them import them
where they are used, so the CLI starts fast.
"""

# The version ssmux's native client reports (ClientVersion and the drop-in's --version): declared with the
# version thresholds it passes, in ssmux.protocol.versions.
from ssmux.protocol.versions import PLUGIN_VERSION as PLUGIN_VERSION
