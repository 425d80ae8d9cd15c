"""EC2 Instance Connect: ``SendSSHPublicKey``, and the keys an instance's sshd asks its metadata for.

What AWS does, followed here:

* ``SendSSHPublicKey`` (botocore's ``ec2-instance-connect`` 2018-04-02 model: ``InstanceId``
  ``^i-[a-f0-9]+$``, ``InstanceOSUser`` as its pattern says, ``SSHPublicKey`` 80 to 4096 characters)
  "pushes an SSH public key to the specified EC2 instance for use by the specified user. The key remains
  for 60 seconds." Answer
  ``{"RequestId", "Success": true}``; an unknown instance is ``EC2InstanceNotFoundException``, one that is not
  running ``EC2InstanceStateInvalidException``, a malformed argument ``InvalidArgsException``. moto answers
  Success and keeps nothing, so the emulator answers it itself.
* The instance's sshd runs ``AuthorizedKeysCommand /opt/aws/bin/eic_run_authorized_keys %u %f``, which
  fetches ``latest/meta-data/managed-ssh-keys/active-keys/<user>/`` from the instance metadata service and
  keeps the keys ``eic_parse_authorized_keys`` accepts (aws/aws-ec2-instance-connect-config,
  ``src/bin/eic_curl_authorized_keys`` and ``src/bin/eic_parse_authorized_keys``): blocks of ``#Timestamp=``
  (the expiry, epoch seconds), ``#Instance=``, ``#Caller=``, ``#Request=`` lines, then the key, then its
  signature, a blank line between blocks; a key is used while ``Timestamp`` is later than the sshd's clock
  and ``Instance`` is the instance's own id.

The metadata service answers one instance, the caller; the emulator serves every instance, so its document is
at ``/_instances/<instance-id>/latest/meta-data/managed-ssh-keys/active-keys/<user>/`` (404 when there is no
active key, as IMDS). AWS signs each block with a certificate of its own that no test could trust; the
emulator sends no signature line, and a test's sshd checks the rest (expiry and instance) as the script does.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ssmux.emulator.wire import ApiError, StartResponse

if TYPE_CHECKING:
    from ssmux.emulator.fleet import Fleet
    from ssmux.emulator.scenario import ScenarioProfile

#: Seconds a pushed key stays (SendSSHPublicKey: "The key remains for 60 seconds").
KEY_LIFETIME = 60
#: Keys kept per (instance, user): a bound on what a loop of pushes can pile up within a minute.
MAX_KEYS = 100

_INSTANCE_ID = re.compile(r"^i-[a-f0-9]+$")
_OS_USER = re.compile(
    r"(^[A-Za-z_][A-Za-z0-9@._-]{0,30}[A-Za-z0-9$_-]?$)|(^(?=.{2,32}$)[0-9]{1,32}[A-Za-z@._-][A-Za-z0-9@._-]*"
    r"[A-Za-z0-9$_-]?$)"
)
_KEY_TYPES = ("ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521")
_METADATA = re.compile(r"^/_instances/(i-[a-f0-9]+)/latest/meta-data/managed-ssh-keys/active-keys/([^/]+)/?$")


@dataclass(frozen=True)
class PushedKey:
    """One SendSSHPublicKey: the key, whom it is for, until when, and who sent it."""

    instance_id: str
    os_user: str
    public_key: str
    expires: int
    caller: str
    request_id: str

    def block(self) -> str:
        """The key as the metadata service lists it (without AWS's signature line)."""
        return (
            f"#Timestamp={self.expires}\n#Instance={self.instance_id}\n#Caller={self.caller}\n"
            f"#Request={self.request_id}\n{self.public_key}\n"
        )


class InstanceConnect:
    """The pushed keys of every instance, and the two ways in: the API call and the metadata document.

    Args:
        fleet: the scenario's nodes (which instance exists, in which account and region, and its state).
        clock: epoch seconds now (injectable for tests).
    """

    def __init__(self, fleet: Fleet, clock: Callable[[], float] = time.time) -> None:
        self.fleet = fleet
        self.clock = clock
        self._lock = threading.Lock()
        self._keys: dict[tuple[str, str], list[PushedKey]] = {}

    def handle(
        self, action: str, profile: ScenarioProfile, region: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Answer one ``ec2-instance-connect`` operation; raises :class:`ApiError` as AWS would."""
        if action != "SendSSHPublicKey":
            raise ApiError("UnknownOperationException", f"{action} is not supported by this emulator")
        return self.send_ssh_public_key(profile, region, body)

    def send_ssh_public_key(
        self, profile: ScenarioProfile, region: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Keep the key for ``InstanceOSUser`` on ``InstanceId`` for :data:`KEY_LIFETIME` seconds."""
        instance_id = _argument(body, "InstanceId", _INSTANCE_ID.match)
        os_user = _argument(body, "InstanceOSUser", _OS_USER.match)
        public_key = _argument(body, "SSHPublicKey", lambda text: 80 <= len(text) <= 4096)
        words = public_key.split()
        if len(words) < 2 or words[0] not in _KEY_TYPES or "\n" in public_key.strip():
            raise ApiError("InvalidArgsException", "Invalid public key provided.")
        node = self.fleet.node(profile.account_id, region, instance_id)
        if node is None or node.ec2 is None or node.ec2_state == "terminated":
            raise ApiError("EC2InstanceNotFoundException", f"Instance not found: {instance_id}")
        if node.ec2_state != "running":
            raise ApiError(
                "EC2InstanceStateInvalidException",
                "Unable to connect because the instance is not in a valid state. Connecting to a stopped or "
                "terminated instance is not supported. If the instance is stopped, start your instance, and "
                "try to connect again.",
            )
        request_id = str(uuid.uuid4())
        pushed = PushedKey(instance_id, os_user, " ".join(words[:3]), int(self.clock()) + KEY_LIFETIME,
                           profile.owner_arn, request_id)  # fmt: skip
        with self._lock:
            keys = [key for key in self._keys.get((instance_id, os_user), []) if key.expires > self.clock()]
            self._keys[(instance_id, os_user)] = [*keys[-(MAX_KEYS - 1) :], pushed]
        return {"RequestId": request_id, "Success": True}

    def active_keys(self, instance_id: str, os_user: str) -> list[PushedKey]:
        """The keys the metadata service lists now for ``os_user`` on ``instance_id`` (unexpired ones)."""
        now = self.clock()
        with self._lock:
            return [key for key in self._keys.get((instance_id, os_user), []) if key.expires > now]

    # ------------------------------------------------------------------------------------ metadata

    @staticmethod
    def handles(path: str) -> bool:
        """Whether ``path`` is an instance's active-keys document."""
        return _METADATA.match(path) is not None

    def metadata(self, environ: Mapping[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """``GET`` of an active-keys document: the blocks, ``text/plain``, or 404 with none (as IMDS)."""
        match = _METADATA.match(str(environ.get("PATH_INFO", "")))
        keys = self.active_keys(match.group(1), match.group(2)) if match else []
        if not keys:
            start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "0")])
            return [b""]
        data = "\n".join(key.block() for key in keys).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))])
        return [data]


def _argument(body: Mapping[str, Any], name: str, valid: Callable[[str], object]) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise ApiError("InvalidArgsException", f"{name} is required.")
    if not valid(value):
        raise ApiError("InvalidArgsException", f"Invalid {name} provided.")
    return value


def parse_active_keys(document: str, instance_id: str, now: float) -> list[str]:
    """The keys ``eic_parse_authorized_keys`` would hand sshd from ``document``: this instance's, unexpired.

    For the sshd of a test, with its own clock (``now``), as the script uses the instance's ``date +%s``.
    """
    keys: list[str] = []
    for block in document.split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        for line in block.splitlines():
            if line.startswith("#"):
                name, _, value = line[1:].partition("=")
                fields[name] = value
            elif line.startswith(("ssh", "ecdsa")) and not key:
                key = line
        stamp = fields.get("Timestamp", "0")
        if key and fields.get("Instance") == instance_id and stamp.isdigit() and int(stamp) > now:
            keys.append(key)
    return keys
