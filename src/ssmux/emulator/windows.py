"""Windows instances: the Administrator password of ``GetPasswordData``, and a stand-in for their RDP port.

``GetPasswordData`` (EC2 API reference): "Retrieves the encrypted administrator password for a running
Windows instance... The password is encrypted using the key pair that you specified when you launched the
instance." The data is base64 of the password encrypted with RSA PKCS#1 v1.5 under the key pair's public key:
the aws CLI decrypts it so (aws-cli v2 ``awscli/customizations/ec2/decryptpassword.py``: ``base64.b64decode``
then ``private_key.decrypt`` with PKCS#1 v1.5). For an instance that is not Windows the answer carries an
empty ``passwordData`` (as moto's ``get_password_data`` does); an unknown instance is
``InvalidInstanceID.NotFound``. moto answers a random 128-character string that no key decrypts, so the
emulator answers this call itself.

The scenario's key pair is :data:`KEY_FILE` (``demo-windows-key.pem``, made for the emulator and never used
anywhere else): every Windows instance of a scenario was "launched" with it, and its password is
:func:`administrator_password` of its id, the same in every run.

:class:`RdpStandIn` is what listens on such an instance's port 3389 in tests: it answers an RDP client's
first message, the X.224 Connection Request (MS-RDPBCGR 2.2.1.1), with a Connection Confirm carrying an
RDP Negotiation Response (2.2.1.2) and echoes whatever comes after it, so a test sees bytes both ways.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import re
import uuid
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from ssmux.emulator.wire import ApiError

if TYPE_CHECKING:
    from ssmux.emulator.fleet import Fleet

#: The key pair every Windows instance of a scenario was launched with (its private key, as EC2 hands it out).
KEY_FILE = Path(str(resources.files("ssmux.emulator.scenarios").joinpath("demo-windows-key.pem")))
#: The port of a Windows instance's Remote Desktop service (MS-RDPBCGR: TCP 3389).
RDP_PORT = 3389
#: Its name, as DescribeInstances would show it in ``KeyName``.
KEY_NAME = "ssmux-demo-windows"
_PASSWORD_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!$%&*?@()-;="  # noqa: S105 (an alphabet)
_INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8,17}$")
_EC2_NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/"


def administrator_password(instance_id: str) -> str:
    """The Administrator password of a Windows instance: 32 characters, fixed per instance id."""
    digest = hmac.new(b"ssmux-emulator-windows", instance_id.encode(), hashlib.sha512).digest()
    return "".join(_PASSWORD_CHARS[byte % len(_PASSWORD_CHARS)] for byte in digest[:32])


def encrypted_password(instance_id: str) -> str:
    """``passwordData``: base64 of the password encrypted with the key pair's public key (PKCS#1 v1.5)."""
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(KEY_FILE.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    data = key.public_key().encrypt(administrator_password(instance_id).encode(), padding.PKCS1v15())
    return base64.b64encode(data).decode()


def get_password_data(fleet: Fleet, account_id: str, region: str, body: bytes, query: str) -> bytes:
    """The ``GetPasswordData`` answer (EC2 query protocol, XML); raises :class:`ApiError` as EC2 would."""
    fields = parse_qs(query)
    fields.update(parse_qs(body.decode("utf-8", "replace")))
    instance_id = fields.get("InstanceId", [""])[0]
    if not instance_id:
        raise ApiError("MissingParameter", "The request must contain the parameter InstanceId")
    if not _INSTANCE_ID.match(instance_id):
        raise ApiError("InvalidInstanceID.Malformed", f'Invalid id: "{instance_id}"')
    node = fleet.node(account_id, region, instance_id)
    if node is None or node.ec2 is None:
        raise ApiError("InvalidInstanceID.NotFound", f"The instance ID '{instance_id}' does not exist")
    data = encrypted_password(instance_id) if node.spec.platform == "windows" else ""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<GetPasswordDataResponse xmlns="{_EC2_NAMESPACE}">'
        f"<requestId>{uuid.uuid4()}</requestId><instanceId>{escape(instance_id)}</instanceId>"
        f"<timestamp>{stamp}</timestamp><passwordData>{data}</passwordData></GetPasswordDataResponse>"
    ).encode()


# --------------------------------------------------------------------------------------- RDP stand-in

#: TPKT (version 3, length 19), X.224 Connection Confirm (LI 14, CC 0xd0, DST-REF 0, SRC-REF 0x1234, class 0),
#: RDP_NEG_RSP (type 2, flags 0, length 8, selectedProtocol PROTOCOL_RDP 0): MS-RDPBCGR 2.2.1.2.
CONNECTION_CONFIRM = bytes.fromhex("030000130ed000001234000200080000000000")
_X224_CONNECTION_REQUEST = 0xE0
#: Bytes a stand-in connection relays at most (a bound on what a test can make it hold).
MAX_BYTES = 64 * 1024 * 1024


class RdpStandIn:
    """An RDP port that answers the first PDU with a Connection Confirm and then echoes.

    Args:
        host: address to listen on.
        port: port to listen on (0: the system picks; see :attr:`port`).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.wanted = port
        self.port = 0
        self.requests = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen."""
        self._server = await asyncio.start_server(self._serve, self.host, self.wanted)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            header = await reader.readexactly(4)
            length = int.from_bytes(header[2:4], "big")
            if header[0] != 3 or not 7 <= length <= 4096:
                return  # not TPKT: an RDP server drops the connection
            pdu = await reader.readexactly(length - 4)
            if pdu[1] & 0xF0 != _X224_CONNECTION_REQUEST:
                return
            self.requests += 1
            writer.write(CONNECTION_CONFIRM)
            await writer.drain()
            relayed = 0
            while relayed < MAX_BYTES and (data := await reader.read(65536)):
                relayed += len(data)
                writer.write(data)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            writer.close()
