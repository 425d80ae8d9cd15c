"""KMS session encryption: AES-256-GCM with the halves of a 64-byte data key (``docs/ssm-protocol.md`` §9).

The client asks KMS for a 64-byte data key (``GenerateDataKey``, NumberOfBytes 64). Both ends split the
plaintext key the same way:

=============  ===============================  ==========================
Key bytes      client uses it to                agent uses it to
=============  ===============================  ==========================
``[0:32]``     decrypt (agent → client)         encrypt
``[32:64]``    encrypt (client → agent)         decrypt
=============  ===============================  ==========================

An encrypted payload is ``nonce(12) ‖ ciphertext ‖ tag(16)`` with no associated data. The plugin draws a
random nonce per message, the agent a counter nonce; either interoperates. :class:`PayloadCipher` uses
random nonces by default and a counter when built ``for_agent`` (fidelity with the real agent).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ssmux.protocol.errors import CryptoError

__all__ = [
    "DATA_KEY_SIZE",
    "NONCE_SIZE",
    "TAG_SIZE",
    "PayloadCipher",
    "decrypt",
    "encrypt",
    "split_data_key",
]

#: Size of the KMS data key the client asks for (GenerateDataKey NumberOfBytes).
DATA_KEY_SIZE = 64
#: AES-GCM nonce size used by both ends.
NONCE_SIZE = 12
#: AES-GCM tag size.
TAG_SIZE = 16
_KEY_SIZE = 32
_COUNTER = struct.Struct("<III")


def split_data_key(plaintext: bytes) -> tuple[bytes, bytes]:
    """Split a 64-byte data key into ``(decrypt_key, encrypt_key)`` from the client's point of view.

    The agent uses the same pair the other way round: it encrypts with the first, decrypts with the second.

    Raises:
        CryptoError: ``plaintext`` is not 64 bytes.
    """
    if len(plaintext) != DATA_KEY_SIZE:
        raise CryptoError(f"KMS data key is {len(plaintext)} bytes, expected {DATA_KEY_SIZE}")
    return bytes(plaintext[:_KEY_SIZE]), bytes(plaintext[_KEY_SIZE:])


def _aead(key: bytes) -> AESGCM:
    if len(key) != _KEY_SIZE:
        raise CryptoError(f"AES-256 key is {len(key)} bytes, expected {_KEY_SIZE}")
    return AESGCM(key)


def encrypt(key: bytes, plaintext: bytes, nonce: bytes | None = None) -> bytes:
    """Encrypt with AES-256-GCM and return ``nonce ‖ ciphertext ‖ tag``.

    Args:
        key: a 32-byte key.
        plaintext: the bytes to encrypt.
        nonce: 12 bytes; a random one when None. Never reuse a nonce with the same key.

    Raises:
        CryptoError: the key or nonce has the wrong size.
    """
    if nonce is None:
        nonce = os.urandom(NONCE_SIZE)
    elif len(nonce) != NONCE_SIZE:
        raise CryptoError(f"AES-GCM nonce is {len(nonce)} bytes, expected {NONCE_SIZE}")
    return nonce + _aead(key).encrypt(nonce, bytes(plaintext), None)


def decrypt(key: bytes, data: bytes) -> bytes:
    """Decrypt ``nonce ‖ ciphertext ‖ tag`` made by :func:`encrypt` (or either real peer).

    Raises:
        CryptoError: the key has the wrong size, the data is too short, or the tag does not verify
            (wrong key or tampered bytes).
    """
    if len(data) < NONCE_SIZE + TAG_SIZE:
        raise CryptoError(f"encrypted payload is {len(data)} bytes, shorter than nonce and tag")
    aead = _aead(key)
    try:
        return aead.decrypt(bytes(data[:NONCE_SIZE]), bytes(data[NONCE_SIZE:]), None)
    except InvalidTag:
        raise CryptoError("encrypted payload does not verify: wrong data key or corrupted bytes") from None


class PayloadCipher:
    """The pair of keys one end of a session uses, with its nonce policy."""

    def __init__(
        self, encrypt_key: bytes, decrypt_key: bytes, nonce: Callable[[], bytes] | None = None
    ) -> None:
        """Keep the two 32-byte keys; ``nonce`` makes each 12-byte nonce (random when None).

        Raises:
            CryptoError: a key is not 32 bytes.
        """
        self._encrypter = _aead(encrypt_key)
        self._decrypt_key = bytes(decrypt_key)
        _aead(self._decrypt_key)
        self._nonce = nonce or (lambda: os.urandom(NONCE_SIZE))

    @classmethod
    def for_client(cls, data_key: bytes) -> PayloadCipher:
        """The client's cipher: encrypt with ``K[32:64]``, decrypt with ``K[0:32]``, random nonces.

        Raises:
            CryptoError: ``data_key`` is not 64 bytes.
        """
        decrypt_key, encrypt_key = split_data_key(data_key)
        return cls(encrypt_key, decrypt_key)

    @classmethod
    def for_agent(cls, data_key: bytes, counter_start: bytes | None = None) -> PayloadCipher:
        """The agent's cipher: encrypt with ``K[0:32]``, decrypt with ``K[32:64]``, a counter nonce.

        The counter is three little-endian uint32 words from a random start (12 bytes from
        ``counter_start`` when given), incremented per message like the real agent's.

        Raises:
            CryptoError: ``data_key`` is not 64 bytes.
        """
        client_decrypt, client_encrypt = split_data_key(data_key)
        words = list(_COUNTER.unpack(counter_start or os.urandom(NONCE_SIZE)))

        def next_nonce() -> bytes:
            nonce = _COUNTER.pack(*words)
            # Increment the 96-bit little-endian counter word by word, carrying into the next.
            for index in range(3):
                words[index] = (words[index] + 1) & 0xFFFFFFFF
                if words[index]:
                    break
            return nonce

        return cls(client_decrypt, client_encrypt, next_nonce)

    def encrypt(self, plaintext: bytes) -> bytes:
        """Encrypt one payload: ``nonce ‖ ciphertext ‖ tag``."""
        nonce = self._nonce()
        return nonce + self._encrypter.encrypt(nonce, bytes(plaintext), None)

    def decrypt(self, data: bytes) -> bytes:
        """Decrypt one payload from the other end.

        Raises:
            CryptoError: too short or the tag does not verify.
        """
        return decrypt(self._decrypt_key, data)
