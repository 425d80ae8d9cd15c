"""KMS encryption checked against AWS's agent, not against our own other end (§9).

Every other crypto test encrypts with our client and decrypts with our agent, so a mistake both share (the
key halves swapped, say) passes them all and fails every session with AWS's agent. These tests take the
other end from AWS's source instead, ``aws/amazon-ssm-agent`` ``agent/session/crypto`` (commit 1c217c89):

* ``blockcipher.go`` ``UpdateEncryptionKey``: ``encryptionKey = plainTextKey[:32]`` (agent -> client) and
  ``decryptionKey = plainTextKey[32:]`` (client -> agent): "First half will be used by agent for encryption
  and second half by clients like cli/console for encryption".
* ``EncryptWithAESGCM`` / ``DecryptWithAESGCM``: AES-256-GCM (``cipher.NewGCM``, 12-byte nonce, 16-byte
  tag), no associated data, sent as ``nonce || Seal(...)``.
* ``nonce.go``: the agent's nonce is three little-endian uint32 words from a random start, incremented
  with carry, that is a 96-bit little-endian counter.

The reference side is always plain ``cryptography`` ``AESGCM``, never :class:`PayloadCipher`.
"""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ssmux.protocol.crypto import PayloadCipher
from ssmux.protocol.messages import ClientMessage, MessageType, PayloadType
from tests.protocol.pair import make_pair

# A 64-byte KMS data key (SHA-512 of b"ssmux test data key"): no halves alike, no pattern.
DATA_KEY = bytes.fromhex(
    "ead38c9a96272dae45e72420025b0d6e26051b5881eeb5033635188defec4fd8"
    "826eacd1896f1025c740c2158997d74f914fd6923e7c1ed7138582ad0dbd61b8"
)
AGENT_ENCRYPTS_WITH = DATA_KEY[:32]  # blockcipher.go: encryptionKey = plainTextKey[:cryptoKeySizeInBytes]
AGENT_DECRYPTS_WITH = DATA_KEY[32:]  # blockcipher.go: decryptionKey = plainTextKey[cryptoKeySizeInBytes:]

# Fixed vectors, made once with AESGCM(key).encrypt(nonce, plaintext, None) the way the agent does:
# (key the sender uses, nonce, plaintext, bytes on the wire = nonce || ciphertext || tag).
AGENT_TO_CLIENT = (
    AGENT_ENCRYPTS_WITH,
    bytes.fromhex("fffffffffeffffff07000000"),  # a counter nonce about to carry out of word 0
    b"\x1b[01;32mec2-user@ip-10-0-0-5\x1b[00m:~$ ",
    bytes.fromhex(
        "fffffffffeffffff07000000917cf5893e9f8853821792d037b5a4499fa2adb8e57527f3fa6e3b8e3858bb6bfffe44a9"
        "39222f31c8dd5f9ee37047b68c6fd661be"
    ),
)
CLIENT_TO_AGENT = (
    AGENT_DECRYPTS_WITH,
    bytes.fromhex("5d1f8a0c33b2e4917a6c0e42"),  # the plugin draws a random nonce per message
    b"ls -la /var/log\r",
    bytes.fromhex("5d1f8a0c33b2e4917a6c0e42f1a90b65e373456bac9b494e1fd4100e80b2c5369f999480402c76694b6b46e0"),
)


def reference_decrypt(key: bytes, wire: bytes) -> bytes:
    """DecryptWithAESGCM: the first 12 bytes are the nonce, the rest ciphertext || tag, no AAD."""
    return AESGCM(key).decrypt(wire[:12], wire[12:], None)


def reference_encrypt(key: bytes, nonce: bytes, plaintext: bytes) -> bytes:
    """EncryptWithAESGCM with a given nonce."""
    return nonce + AESGCM(key).encrypt(nonce, plaintext, None)


def counter_nonce(start: bytes, step: int) -> bytes:
    """nonce.go's three little-endian uint32 words with carry, computed as one 96-bit little-endian number."""
    return ((int.from_bytes(start, "little") + step) % 2**96).to_bytes(12, "little")


@pytest.mark.parametrize(
    "vector", [AGENT_TO_CLIENT, CLIENT_TO_AGENT], ids=["agent-to-client", "client-to-agent"]
)
def test_vectors_are_what_aes_gcm_makes(vector: tuple[bytes, bytes, bytes, bytes]) -> None:
    """The fixed vectors are AESGCM's own output for their key, nonce and plaintext (no typo in the table)."""
    key, nonce, plaintext, wire = vector
    assert reference_encrypt(key, nonce, plaintext) == wire
    assert len(wire) == 12 + len(plaintext) + 16


def test_client_decrypts_the_agent_vector() -> None:
    """The client opens what AWS's agent sends: AES-GCM under K[0:32] with the nonce in front."""
    _, _, plaintext, wire = AGENT_TO_CLIENT
    assert PayloadCipher.for_client(DATA_KEY).decrypt(wire) == plaintext


def test_our_agent_produces_the_agent_vector_then_counts_the_nonce_up() -> None:
    """Our agent, from the same counter start, sends exactly the vector's bytes, then start+1, start+2."""
    key, start, plaintext, wire = AGENT_TO_CLIENT
    agent = PayloadCipher.for_agent(DATA_KEY, counter_start=start)
    assert agent.encrypt(plaintext) == wire
    for step in (1, 2):
        sent = agent.encrypt(b"more output")
        assert sent[:12] == counter_nonce(start, step)
        assert reference_decrypt(key, sent) == b"more output"
    assert counter_nonce(start, 1) == bytes.fromhex("00000000ffffffff07000000")  # the carry, spelled out


def test_agent_decrypts_the_client_vector() -> None:
    """What the plugin sends (AES-GCM under K[32:64], random nonce in front) our agent side opens."""
    _, _, plaintext, wire = CLIENT_TO_AGENT
    assert PayloadCipher.for_agent(DATA_KEY).decrypt(wire) == plaintext


def test_client_encrypts_with_the_half_aws_agent_decrypts_with() -> None:
    """Client output opens under K[32:64] (the agent's decryptionKey) and not under K[0:32]."""
    sent = PayloadCipher.for_client(DATA_KEY).encrypt(b"whoami\r")
    assert len(sent) == 12 + len(b"whoami\r") + 16
    assert reference_decrypt(AGENT_DECRYPTS_WITH, sent) == b"whoami\r"
    with pytest.raises(InvalidTag):
        reference_decrypt(AGENT_ENCRYPTS_WITH, sent)


def test_client_decrypts_only_the_half_aws_agent_encrypts_with() -> None:
    """The client opens AES-GCM under K[0:32] (the agent's encryptionKey) and refuses K[32:64]."""
    from ssmux.protocol.errors import CryptoError

    nonce, plaintext = b"\x01" * 12, b"uid=0(root)\r\n"
    client = PayloadCipher.for_client(DATA_KEY)
    assert client.decrypt(reference_encrypt(AGENT_ENCRYPTS_WITH, nonce, plaintext)) == plaintext
    with pytest.raises(CryptoError):
        client.decrypt(reference_encrypt(AGENT_DECRYPTS_WITH, nonce, plaintext))


def test_agent_side_uses_aws_agent_halves() -> None:
    """Our emulated agent encrypts under K[0:32] and decrypts K[32:64], like blockcipher.go."""
    agent = PayloadCipher.for_agent(DATA_KEY)
    assert reference_decrypt(AGENT_ENCRYPTS_WITH, agent.encrypt(b"$ ")) == b"$ "
    nonce = bytes(12)
    assert agent.decrypt(reference_encrypt(AGENT_DECRYPTS_WITH, nonce, b"exit\r")) == b"exit\r"


def test_kms_session_bytes_on_the_wire_open_with_aws_agent_halves() -> None:
    """In a whole KMS session each encrypted payload on the wire opens with plain AESGCM and the right half.

    Client -> agent (keys, challenge answer) under K[32:64]; agent -> client (output, challenge) K[0:32].
    """
    pair = make_pair(kms=True)
    to_agent: list[bytes] = []
    to_client: list[bytes] = []
    for link, wire in ((pair.to_agent, to_agent), (pair.to_client, to_client)):
        original = link.put

        def record(frame: bytes, now: float, original: object = original, wire: list[bytes] = wire) -> None:
            wire.append(frame)
            original(frame, now)  # type: ignore[operator]

        link.put = record  # type: ignore[method-assign]
    pair.run_until(lambda: pair.client.established)
    pair.agent.send_output(b"secret output", pair.now)
    pair.client.send_input(b"secret input\r", pair.now)
    pair.settle()
    assert pair.kms is not None
    ((data_key, _),) = pair.kms.keys.values()

    def payloads(frames: list[bytes], kind: str, payload_type: int) -> list[bytes]:
        messages = [ClientMessage.parse(frame) for frame in frames]
        return [m.payload for m in messages if m.message_type == kind and m.payload_type == payload_type]

    def challenge(payload: bytes) -> bytes:
        return base64.b64decode(json.loads(payload)["Challenge"])

    sent_keys = payloads(to_agent, MessageType.INPUT_STREAM_DATA, PayloadType.OUTPUT)
    assert [reference_decrypt(data_key[32:], body) for body in sent_keys] == [b"secret input\r"]
    sent_output = payloads(to_client, MessageType.OUTPUT_STREAM_DATA, PayloadType.OUTPUT)
    assert [reference_decrypt(data_key[:32], body) for body in sent_output] == [b"secret output"]
    (asked,) = payloads(to_client, MessageType.OUTPUT_STREAM_DATA, PayloadType.ENC_CHALLENGE_REQUEST)
    (answered,) = payloads(to_agent, MessageType.INPUT_STREAM_DATA, PayloadType.ENC_CHALLENGE_RESPONSE)
    # AWS's agent checks that the answer opens to the challenge it sent (datachannel.go,
    # handleEncryptionChallengeResponse).
    assert reference_decrypt(data_key[32:], challenge(answered)) == reference_decrypt(
        data_key[:32], challenge(asked)
    )
