"""The SSM Session Manager data channel protocol, sans-I/O (``docs/ssm-protocol.md``).

Modules:

* :mod:`~ssmux.protocol.messages` - the binary ClientMessage codec and its enums.
* :mod:`~ssmux.protocol.payloads` - JSON payloads (token, ack, size, channel_closed, flags, exit code).
* :mod:`~ssmux.protocol.handshake` - handshake payloads (request, response, complete, KMS challenge),
  the session types and the KMS encryption context; also re-exported from ``payloads``.
* :mod:`~ssmux.protocol.states` - how each end starts a session, as state/trigger tables.
* :mod:`~ssmux.protocol.channel` - reliability shared by both ends (sequence numbers, acks, resend).
* :mod:`~ssmux.protocol.chunking` - cutting data into <= 1024-byte payloads, UTF-8 kept whole.
* :mod:`~ssmux.protocol.events` - every event dataclass (also importable from ``client``/``agent``).
* :mod:`~ssmux.protocol.client` - :class:`ClientSession`, the client's state machine.
* :mod:`~ssmux.protocol.agent` - :class:`AgentSession`, the service + agent state machine (emulator).
* :mod:`~ssmux.protocol.crypto` - AES-256-GCM with the KMS data-key halves.
* :mod:`~ssmux.protocol.smux` - smux v1 frames and sessions for mux port forwarding.
* :mod:`~ssmux.protocol.versions` - version rules that pick port-forwarding modes and keepalives, and
  the versions ssmux reports and assumes.
* :mod:`~ssmux.protocol.errors` - :class:`ProtocolError` and its subclasses.

No module here does I/O, reads a clock or imports asyncio: callers pass ``now`` and id factories in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ssmux.protocol.agent import AgentSession, HandshakeDone, HandshakeFailed, Input, KmsDecrypter, Resize
    from ssmux.protocol.channel import (
        Channel,
        ChannelClosed,
        FlagReceived,
        PublicationPaused,
        PublicationStarted,
        ResendLimitReached,
    )
    from ssmux.protocol.client import (
        ClientSession,
        ExitCode,
        HandshakeCompleted,
        HandshakeRequested,
        KmsKeyRequested,
        Output,
        SessionTypeKnown,
        StdErr,
    )
    from ssmux.protocol.errors import (
        CryptoError,
        HandshakeError,
        LocalProtocolError,
        MalformedMessage,
        MalformedPayload,
        ProtocolError,
        SmuxError,
    )
    from ssmux.protocol.messages import ClientMessage, MessageFramer, MessageType, PayloadType, PortFlag
    from ssmux.protocol.payloads import OpenDataChannelInput, SessionType
    from ssmux.protocol.smux import SmuxSession, StreamClosed, StreamData, StreamOpened

# Names resolved on first use (PEP 562): ``import ssmux.protocol.client`` must not pay for the agent,
# smux and the crypto bindings, which ``ssmux connect`` does not need before its first prompt.
_WHERE = {
    "AgentSession": "agent",
    "HandshakeDone": "agent",
    "HandshakeFailed": "agent",
    "Input": "agent",
    "KmsDecrypter": "agent",
    "Resize": "agent",
    "Channel": "channel",
    "ChannelClosed": "channel",
    "FlagReceived": "channel",
    "PublicationPaused": "channel",
    "PublicationStarted": "channel",
    "ResendLimitReached": "channel",
    "ClientSession": "client",
    "ExitCode": "client",
    "HandshakeCompleted": "client",
    "HandshakeRequested": "client",
    "KmsKeyRequested": "client",
    "Output": "client",
    "SessionTypeKnown": "client",
    "StdErr": "client",
    "CryptoError": "errors",
    "HandshakeError": "errors",
    "LocalProtocolError": "errors",
    "MalformedMessage": "errors",
    "MalformedPayload": "errors",
    "ProtocolError": "errors",
    "SmuxError": "errors",
    "ClientMessage": "messages",
    "MessageFramer": "messages",
    "MessageType": "messages",
    "PayloadType": "messages",
    "PortFlag": "messages",
    "OpenDataChannelInput": "payloads",
    "SessionType": "payloads",
    "SmuxSession": "smux",
    "StreamClosed": "smux",
    "StreamData": "smux",
    "StreamOpened": "smux",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "AgentSession",
    "Channel",
    "ChannelClosed",
    "ClientMessage",
    "ClientSession",
    "CryptoError",
    "ExitCode",
    "FlagReceived",
    "HandshakeCompleted",
    "HandshakeDone",
    "HandshakeError",
    "HandshakeFailed",
    "HandshakeRequested",
    "Input",
    "KmsDecrypter",
    "KmsKeyRequested",
    "LocalProtocolError",
    "MalformedMessage",
    "MalformedPayload",
    "MessageFramer",
    "MessageType",
    "OpenDataChannelInput",
    "Output",
    "PayloadType",
    "PortFlag",
    "ProtocolError",
    "PublicationPaused",
    "PublicationStarted",
    "ResendLimitReached",
    "Resize",
    "SessionType",
    "SessionTypeKnown",
    "SmuxError",
    "SmuxSession",
    "StdErr",
    "StreamClosed",
    "StreamData",
    "StreamOpened",
]
