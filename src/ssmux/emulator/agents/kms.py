"""The emulated agent's ``kms:Decrypt``: moto's in-process KMS backend of the session's account and region.

The API side creates each scenario profile's key in moto at start-up; clients call ``GenerateDataKey``
through moto's HTTP API, and the agent (here) decrypts the data key in the same process, as the real agent
calls KMS with its instance role (spec §9).
"""

from __future__ import annotations

__all__ = ["MotoKms"]


class MotoKms:
    """The agent's ``kms:Decrypt``, served by moto's in-process KMS backend of the session's account/region.

    moto binds the encryption context into the ciphertext (as AAD), so a client that used another
    context (wrong session id or target, a claimed but missing RandomChallenge) fails here as on AWS.
    """

    def __init__(self, account_id: str, region: str, key_id: str) -> None:
        self.account_id = account_id
        self.region = region
        self._key_id = key_id

    @property
    def key_id(self) -> str:
        """The key the session is encrypted with (announced in the KMSEncryption action)."""
        return self._key_id

    def decrypt(self, ciphertext_blob: bytes, encryption_context: dict[str, str]) -> bytes:
        """Decrypt the client's data key; raises on a wrong key, context or blob."""
        from moto.kms.models import kms_backends

        backend = kms_backends[self.account_id][self.region]
        plaintext, _ = backend.decrypt(ciphertext_blob, encryption_context, key_id=self._key_id)
        return bytes(plaintext)
