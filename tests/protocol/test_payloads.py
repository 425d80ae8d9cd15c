"""JSON and binary payloads: the exact bytes peers exchange, tolerant reading, clear errors."""

from __future__ import annotations

import json

import pytest

from ssmux.protocol.errors import MalformedPayload
from ssmux.protocol.messages import PortFlag
from ssmux.protocol.payloads import (
    AcknowledgeContent,
    ActionStatus,
    ChannelClosedContent,
    EncryptionChallenge,
    HandshakeComplete,
    HandshakeRequest,
    HandshakeResponse,
    KmsEncryptionRequest,
    OpenDataChannelInput,
    ProcessedClientAction,
    SizeData,
    decode_exit_code,
    decode_flag,
    encode_exit_code,
    encode_flag,
    format_created_date,
)


def test_token_message_matches_the_observed_plugin_frame() -> None:
    """The token message has the plugin's fields in the plugin's order (§3, observed run)."""
    text = OpenDataChannelInput("tok-123", "58f1199d-aaaa", "65fd6383-bbbb", "1.2.0.0").to_text()
    assert text == (
        '{"MessageSchemaVersion":"1.0","RequestId":"58f1199d-aaaa","TokenValue":"tok-123",'
        '"ClientId":"65fd6383-bbbb","ClientVersion":"1.2.0.0"}'
    )


def test_token_message_without_client_fields_is_read() -> None:
    """Old plugins and the JS client omit ClientId/ClientVersion; the token alone is enough."""
    parsed = OpenDataChannelInput.from_text('{"MessageSchemaVersion":"1.0","RequestId":"r","TokenValue":"t"}')
    assert (parsed.token_value, parsed.client_id, parsed.client_version) == ("t", None, None)


@pytest.mark.parametrize("text", ["", "[]", '{"RequestId":"r"}', '{"TokenValue":5}', "not json"])
def test_bad_token_messages_raise_malformed_payload(text: str) -> None:
    """A token message that is not an object with a string TokenValue raises MalformedPayload."""
    with pytest.raises(MalformedPayload):
        OpenDataChannelInput.from_text(text)


def test_ack_matches_the_observed_payload() -> None:
    """The ack JSON is byte-identical to the one observed from the plugin (§5.1)."""
    ack = AcknowledgeContent("output_stream_data", "1210850f-x", 0)
    assert ack.to_json() == (
        b'{"AcknowledgedMessageType":"output_stream_data","AcknowledgedMessageId":"1210850f-x",'
        b'"AcknowledgedMessageSequenceNumber":0,"IsSequentialMessage":true}'
    )
    assert AcknowledgeContent.from_json(ack.to_json()) == ack


def test_fields_are_matched_case_insensitively_like_go() -> None:
    """Go reads JSON field names case-insensitively; so do we."""
    ack = AcknowledgeContent.from_json(
        b'{"acknowledgedmessagesequencenumber": 12, "ACKNOWLEDGEDMESSAGETYPE": "x"}'
    )
    assert (ack.sequence_number, ack.message_type) == (12, "x")


def test_handshake_response_matches_the_observed_payload() -> None:
    """The HandshakeResponse JSON is byte-identical to the one observed from the plugin (§6.2)."""
    response = HandshakeResponse(
        "1.2.0.0", (ProcessedClientAction("SessionType", ActionStatus.SUCCESS, None, ""),), None
    )
    assert response.to_json() == (
        b'{"ClientVersion":"1.2.0.0","ProcessedClientActions":[{"ActionType":"SessionType",'
        b'"ActionStatus":1,"ActionResult":null,"Error":""}],"Errors":null}'
    )
    assert HandshakeResponse.from_json(response.to_json()) == response


def test_handshake_request_round_trip_with_port_properties_and_kms() -> None:
    """A request carries SessionType (with properties) then KMSEncryption with its challenge."""
    request = HandshakeRequest.build(
        "3.3.987.0",
        "Port",
        {"portNumber": "80", "type": "LocalPortForwarding"},
        KmsEncryptionRequest("alias/ssm", "Y2hhbGxlbmdl"),
    )
    parsed = HandshakeRequest.from_json(request.to_json())
    assert parsed == request
    session = parsed.session_type()
    kms = parsed.kms_encryption()
    assert session is not None and session.properties == {"portNumber": "80", "type": "LocalPortForwarding"}
    assert kms == KmsEncryptionRequest("alias/ssm", "Y2hhbGxlbmdl")
    body = json.loads(request.to_json())
    assert body["RequestedClientActions"][0]["ActionParameters"]["SessionType"] == "Port"


def test_kms_result_carries_base64_blob_and_null_hash() -> None:
    """The KMS action result is {"KMSCipherTextKey": base64, "KMSCipherTextHash": null} (§9)."""
    result = ProcessedClientAction.kms_result(b"\x01\x02\xff", challenge_acknowledged=True)
    assert result.action_result == {
        "KMSCipherTextKey": "AQL/",
        "KMSCipherTextHash": None,
        "ChallengeAcknowledgement": True,
    }
    assert result.kms_ciphertext() == (b"\x01\x02\xff", True)


def test_handshake_complete_and_challenge_round_trip() -> None:
    """HandshakeComplete keeps nanoseconds as an integer; challenges are standard base64."""
    complete = HandshakeComplete(1_500_000_000, "This session is encrypted using AWS KMS.")
    assert HandshakeComplete.from_json(complete.to_json()) == complete
    challenge = EncryptionChallenge(bytes(range(64)))
    assert json.loads(challenge.to_json())["Challenge"].endswith("=")  # padded base64
    assert EncryptionChallenge.from_json(challenge.to_json()) == challenge


def test_size_payload_is_the_plugin_json() -> None:
    """Size is {"cols":W,"rows":H}, the only lower-case field names of the protocol."""
    assert SizeData(80, 24).to_json() == b'{"cols":80,"rows":24}'
    assert SizeData.from_json(b'{"rows": 50, "cols": 200}') == SizeData(200, 50)


@pytest.mark.parametrize(
    "payload", [b'{"cols":-1,"rows":2}', b'{"cols":"80","rows":2}', b'{"cols":true,"rows":2}', b"{}", b"[1]"]
)
def test_bad_size_payloads_raise(payload: bytes) -> None:
    """Negative, textual, boolean or missing sizes raise MalformedPayload."""
    with pytest.raises(MalformedPayload):
        SizeData.from_json(payload)


def test_channel_closed_round_trip_and_date_format() -> None:
    """channel_closed carries every field of §7.4; CreatedDate is an ISO-8601 UTC string."""
    content = ChannelClosedContent("m", format_created_date(1_700_000_000_123), "i-1", "s-1", "idle timeout")
    assert content.created_date == "2023-11-14T22:13:20.123Z"
    assert ChannelClosedContent.from_json(content.to_json()) == content
    assert json.loads(content.to_json())["MessageType"] == "channel_closed"


def test_flags_are_four_byte_big_endian() -> None:
    """A Flag payload is a 4-byte big-endian uint32; other sizes are refused."""
    assert encode_flag(PortFlag.TERMINATE_SESSION) == b"\x00\x00\x00\x02"
    assert decode_flag(b"\x00\x00\x00\x03") is PortFlag.CONNECT_TO_PORT_ERROR
    assert decode_flag(b"\x00\x00\x01\x00") == 256
    with pytest.raises(MalformedPayload):
        decode_flag(b"\x00\x01")


def test_exit_code_text() -> None:
    """The exit code travels as 'EXIT_CODE: n' text."""
    assert encode_exit_code(3) == b"EXIT_CODE: 3"
    assert decode_exit_code(b"EXIT_CODE: 137\n") == 137
    with pytest.raises(MalformedPayload):
        decode_exit_code(b"EXIT: 3")
