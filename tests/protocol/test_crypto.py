"""AES-256-GCM with the KMS data-key halves (§9)."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ssmux.protocol.crypto import PayloadCipher, decrypt, encrypt, split_data_key
from ssmux.protocol.errors import CryptoError

KEY = bytes(range(64))


def test_split_gives_the_client_decrypt_then_encrypt_halves() -> None:
    """The client decrypts with K[0:32] and encrypts with K[32:64]."""
    decrypt_key, encrypt_key = split_data_key(KEY)
    assert decrypt_key == KEY[:32]
    assert encrypt_key == KEY[32:]


def test_split_refuses_a_key_that_is_not_64_bytes() -> None:
    """A data key of the wrong size is a CryptoError, not an IndexError later."""
    with pytest.raises(CryptoError, match="64"):
        split_data_key(KEY[:32])


def test_wire_format_is_nonce_ciphertext_tag_without_aad() -> None:
    """encrypt() output is nonce(12) || ciphertext || tag(16), readable by plain AESGCM with no AAD."""
    nonce = b"\x01" * 12
    data = encrypt(KEY[:32], b"hello", nonce)
    assert data[:12] == nonce
    assert len(data) == 12 + 5 + 16
    assert AESGCM(KEY[:32]).decrypt(nonce, data[12:], None) == b"hello"
    assert decrypt(KEY[:32], data) == b"hello"


def test_client_and_agent_ciphers_interoperate() -> None:
    """What the agent encrypts the client decrypts, and the other way round; each direction has its key."""
    client = PayloadCipher.for_client(KEY)
    agent = PayloadCipher.for_agent(KEY)
    assert client.decrypt(agent.encrypt(b"from agent")) == b"from agent"
    assert agent.decrypt(client.encrypt(b"from client")) == b"from client"
    with pytest.raises(CryptoError):
        client.decrypt(client.encrypt(b"own direction"))


def test_agent_nonce_is_a_little_endian_counter() -> None:
    """The agent's nonces count up from their start, carrying across the 32-bit words."""
    agent = PayloadCipher.for_agent(KEY, counter_start=b"\xff\xff\xff\xff" + b"\x00" * 8)
    first, second = agent.encrypt(b"a")[:12], agent.encrypt(b"b")[:12]
    assert first == b"\xff\xff\xff\xff" + b"\x00" * 8
    assert second == b"\x00\x00\x00\x00\x01\x00\x00\x00" + b"\x00" * 4


def test_tampered_or_short_data_raises_crypto_error() -> None:
    """A flipped bit or a payload shorter than nonce+tag raises CryptoError."""
    data = bytearray(encrypt(KEY[:32], os.urandom(100)))
    data[20] ^= 1
    with pytest.raises(CryptoError, match="does not verify"):
        decrypt(KEY[:32], bytes(data))
    with pytest.raises(CryptoError, match="shorter"):
        decrypt(KEY[:32], b"\x00" * 27)
