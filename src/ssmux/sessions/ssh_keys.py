"""``--push-key``: the user's public key sent with EC2 Instance Connect before ssh connects.

``SendSSHPublicKey`` (service ``ec2-instance-connect``) puts the key in the instance metadata for 60 seconds;
the instance's sshd asks for it with its ``AuthorizedKeysCommand`` (``eic_run_authorized_keys``), so the key
works for connections made within that minute, and the session keeps running after it. The call names the
instance, the OS user the key is for, and the key itself in OpenSSH format.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ssmux.errors import InvalidValue

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients

#: Public keys tried in this order when none is given: ssh's own default identities, newest kind first.
DEFAULT_KEYS = ("id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub")
#: Types SendSSHPublicKey accepts (AWS: "RSA and ED25519 keys"; ECDSA keys are accepted too since 2023).
KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521")
#: How long AWS keeps a pushed key valid (``SendSSHPublicKey``: "available for 60 seconds").
KEY_VALIDITY = 60
_MAX_KEY_FILE = 16 * 1024


@dataclass(frozen=True)
class PublicKey:
    """A public key to push: its file, its OpenSSH line, and the private key beside it (if there is one)."""

    path: Path
    line: str
    private: Path | None


def find_public_key(path: Path | None = None, home: Path | None = None) -> PublicKey:
    """The key at ``path`` (a ``.pub`` file, or a private key with its ``.pub`` beside it), else ssh's own.

    Raises:
        InvalidValue: no such file, or not an OpenSSH public key of a type EC2 Instance Connect takes.
    """
    if path is None:
        ssh_dir = (home or Path.home()) / ".ssh"
        found = next((ssh_dir / name for name in DEFAULT_KEYS if (ssh_dir / name).is_file()), None)
        if found is None:
            raise InvalidValue(
                f"no public key in {ssh_dir} ({', '.join(DEFAULT_KEYS)}): make one with "
                "ssh-keygen -t ed25519, or give it with --public-key"
            )
        path = found
    elif path.suffix != ".pub" and path.with_name(path.name + ".pub").is_file():
        path = path.with_name(path.name + ".pub")
    try:
        with path.open("rb") as file:
            data = file.read(_MAX_KEY_FILE + 1)
    except OSError as error:
        raise InvalidValue(f"cannot read public key {path}: {error.strerror}: give a .pub file") from None
    line = data.decode("utf-8", "replace").strip()
    words = line.split()
    if len(data) > _MAX_KEY_FILE or len(words) < 2 or words[0] not in KEY_TYPES or "\n" in line:
        raise InvalidValue(
            f"{path} is not an OpenSSH public key ({', '.join(KEY_TYPES[:2])}...): give the .pub file "
            "ssh-keygen wrote"
        )
    private = path.with_suffix("") if path.suffix == ".pub" else None
    return PublicKey(path, line, private if private is not None and private.is_file() else None)


def push_key(
    instance_id: str,
    os_user: str,
    key: PublicKey,
    *,
    aws_profile: str | None,
    region: str | None,
    clients: AwsClients | None = None,
) -> None:
    """``SendSSHPublicKey``: ``key`` may log in as ``os_user`` on the instance for the next 60 seconds.

    Raises:
        AwsError: the call failed (one line, saying what to do).
    """
    from ssmux.core.aws import AwsClients, translate
    from ssmux.errors import AwsError

    clients = clients or AwsClients()
    client = clients.client("ec2-instance-connect", aws_profile, region)
    try:
        answer = client.send_ssh_public_key(
            InstanceId=instance_id, InstanceOSUser=os_user, SSHPublicKey=key.line
        )
    except Exception as error:
        raise translate(
            error, aws_profile=aws_profile, region=region, action="ec2-instance-connect:SendSSHPublicKey"
        ) from error
    if not answer.get("Success", False):
        raise AwsError(f"EC2 Instance Connect did not take the key for {os_user}@{instance_id}: try again")
