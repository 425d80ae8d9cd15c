"""The Administrator password of a Windows instance: EC2 ``GetPasswordData``, decrypted with the user's key.

EC2 keeps the password the instance generated at first boot encrypted under the public key of the key pair
it was launched with: base64 of RSA with PKCS#1 v1.5 padding (the aws CLI's ``ec2 get-password-data
--priv-launch-key`` decrypts it the same way). The key file is the ``.pem`` EC2 handed out (PKCS#1 or PKCS#8,
unencrypted). The password is returned, never logged.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import TYPE_CHECKING

from ssmux.errors import InvalidValue, SessionError

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients

_MAX_KEY_FILE = 64 * 1024


def fetch_password_data(
    instance_id: str, *, aws_profile: str | None, region: str | None, clients: AwsClients | None = None
) -> str:
    """``GetPasswordData``'s ``PasswordData`` for the instance (base64; empty when there is none).

    Raises:
        AwsError: the call failed.
    """
    from ssmux.core.aws import AwsClients, translate

    clients = clients or AwsClients()
    ec2 = clients.client("ec2", aws_profile, region)
    try:
        answer = ec2.get_password_data(InstanceId=instance_id)
    except Exception as error:
        raise translate(
            error, aws_profile=aws_profile, region=region, action="ec2:GetPasswordData"
        ) from error
    return str(answer.get("PasswordData") or "").strip()


def decrypt_password(password_data: str, key_file: Path) -> str:
    """The password in ``password_data`` (base64), decrypted with the private key in ``key_file``.

    Raises:
        InvalidValue: the key file cannot be read or used, or is not the key the password was encrypted for.
    """
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        with key_file.open("rb") as file:
            pem = file.read(_MAX_KEY_FILE + 1)
    except OSError as error:
        raise InvalidValue(f"cannot read key file {key_file}: {error.strerror}") from None
    try:
        key = load_pem_private_key(pem, password=None)
    except TypeError:
        raise InvalidValue(
            f"{key_file} is encrypted with a passphrase: decrypt a copy (openssl rsa -in KEY -out PLAIN.pem)"
        ) from None
    except ValueError:
        raise InvalidValue(
            f"{key_file} is not a PEM private key: give the .pem of the instance's key pair"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidValue(f"{key_file} is not an RSA key: Windows passwords are encrypted for RSA key pairs")
    try:
        data = base64.b64decode(password_data, validate=True)
        return key.decrypt(data, padding.PKCS1v15()).decode("utf-8")
    except (binascii.Error, ValueError):
        raise InvalidValue(
            f"{key_file} does not decrypt this password: give the key pair the instance was launched with"
        ) from None


def administrator_password(
    instance_id: str,
    key_file: Path,
    *,
    aws_profile: str | None,
    region: str | None,
    clients: AwsClients | None = None,
) -> str:
    """The instance's Administrator password.

    Raises:
        SessionError: EC2 has none for it (not Windows, or not generated yet).
        InvalidValue: the key does not decrypt it.
        AwsError: the call failed.
    """
    data = fetch_password_data(instance_id, aws_profile=aws_profile, region=region, clients=clients)
    if not data:
        raise SessionError(
            f"EC2 has no password for {instance_id}: it is not a Windows instance launched with a key pair, "
            "or its password is not ready yet (wait a few minutes after launch)"
        )
    return decrypt_password(data, key_file)
