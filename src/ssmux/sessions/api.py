"""The AWS calls a session makes, through one AWS CLI profile and region.

``StartSession``, ``ResumeSession``, ``TerminateSession`` (SSM) and ``GenerateDataKey`` (KMS) go through the
lean signed-HTTP layer the sync uses too (:mod:`ssmux.core.calls`): credentials from the profile's botocore
session of :mod:`ssmux.core.aws`, so they resolve exactly as in the aws CLI (SSO, assume-role,
credential_process), the endpoint a client would call (the profile's ``endpoint_url`` honoured), SigV4 and
botocore's standard retries, but no botocore client: making one loads the service model first, which a
cold ``ssmux connect`` and the drop-in would wait for. Failures become one-line
:class:`~ssmux.errors.AwsError` messages; the ones only sessions meet (``TargetNotConnected``,
``InvalidInstanceId``, ``InvalidDocument``) say what they mean for a session.

These calls block; the native transport runs them in a worker thread.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ssmux.errors import AwsError

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients
    from ssmux.core.calls import JsonCalls


@dataclass(frozen=True)
class StartedSession:
    """What ``StartSession`` returned: the session id, the (short-lived) token and the websocket URL."""

    session_id: str
    token: str
    stream_url: str


@dataclass(frozen=True)
class Resumed:
    """What ``ResumeSession`` returned for a live session: a new token, and the StreamUrl to dial now.

    ``stream_url`` is ``None`` when the service kept the old one.
    """

    token: str
    stream_url: str | None


class SessionApi:
    """SSM and KMS calls of one session, with one profile and region.

    Args:
        aws_profile: AWS CLI profile, or ``None`` for the SDK default chain.
        region: region, or ``None`` for the profile's own.
        endpoint_url: the endpoint to send the SSM calls to instead of the configured one (the plugin's
            argv[6]: the SSM endpoint, or the ECS one when ``aws ecs execute-command`` runs the plugin,
            which sends ResumeSession and TerminateSession there too).
        clients: the caller's AWS sessions (the app's, a test's); ``None``: the session makes its own, as a
            CLI command that runs one session does.
    """

    def __init__(
        self,
        aws_profile: str | None,
        region: str | None,
        endpoint_url: str | None = None,
        *,
        clients: AwsClients | None = None,
    ) -> None:
        if clients is None:
            from ssmux.core.aws import AwsClients

            clients = AwsClients()
        self.clients = clients
        self.aws_profile = aws_profile
        self.region = region
        self._endpoint_url = endpoint_url
        self._calls: JsonCalls | None = None
        self._lock = threading.Lock()

    @property
    def calls(self) -> JsonCalls:
        """The signed calls of this profile and region (made on first use: resolves the region).

        Raises:
            AwsError: unknown profile, or no region set anywhere.
        """
        with self._lock:
            if self._calls is None:
                from ssmux.core import aws
                from ssmux.core.calls import JsonCalls

                try:
                    region = self.clients.region_of(self.aws_profile, self.region)
                    if not region:
                        import botocore.exceptions

                        raise botocore.exceptions.NoRegionError()
                    from botocore.utils import validate_region_name

                    validate_region_name(region)  # as a client does, also with the plugin's endpoint
                except Exception as error:
                    raise aws.translate(error, aws_profile=self.aws_profile, region=self.region) from error
                endpoints = {"ssm": self._endpoint_url} if self._endpoint_url else None
                self._calls = JsonCalls(self.clients, self.aws_profile, region, endpoints=endpoints)
            return self._calls

    @property
    def region_name(self) -> str:
        """The region the calls go to: the given one, else the profile's."""
        return self.calls.region

    @property
    def endpoint_url(self) -> str:
        """The SSM endpoint URL the calls go to."""
        return self.calls.endpoint("ssm")

    def _call(self, service: str, action: str, params: Mapping[str, Any], target: str = "") -> dict[str, Any]:
        try:
            return self.calls.call(service, action, params)
        except AwsError:
            raise
        except Exception as error:
            raise self._translate(error, f"{service}:{action}", target) from error

    def start_session(self, params: Mapping[str, Any]) -> StartedSession:
        """``ssm:StartSession`` with ``params`` (Target, DocumentName, Parameters, Reason)."""
        response = self._call("ssm", "StartSession", params, str(params.get("Target", "")))
        try:
            return StartedSession(
                str(response["SessionId"]), str(response["TokenValue"]), str(response["StreamUrl"])
            )
        except KeyError as missing:
            raise self._unparsable("ssm:StartSession", f"no {missing} in the answer") from None

    def resume_session(self, session_id: str) -> Resumed | None:
        """``ssm:ResumeSession``: a fresh token and maybe a new StreamUrl; ``None`` once the session has
        timed out or ended."""
        response = self._call("ssm", "ResumeSession", {"SessionId": session_id})
        token = response.get("TokenValue")
        if not token:
            return None
        return Resumed(str(token), str(response["StreamUrl"]) if response.get("StreamUrl") else None)

    def upgrade_headers(self, stream_url: str) -> dict[str, str]:
        """The SigV4 headers of the websocket upgrade to ``stream_url`` (none when it is presigned).

        The credentials are looked up at each call, as the plugin does before every dial and resume, so a
        refreshed SSO or assume-role credential signs the next dial.

        Raises:
            AwsError: there are no credentials to sign with.
        """
        from ssmux.core import aws
        from ssmux.sessions.signing import is_presigned, upgrade_headers

        if is_presigned(stream_url):
            return {}
        try:
            credentials = self.clients.botocore_session(self.aws_profile).get_credentials()
        except Exception as error:
            raise aws.translate(error, aws_profile=self.aws_profile, region=self.region) from error
        if credentials is None:
            raise AwsError(
                f"no AWS credentials for {_where(self.aws_profile, self.region)} to sign the data channel "
                "dial: configure the profile or sign in (aws sso login)",
                "NoCredentials",
            )
        return upgrade_headers(stream_url, credentials, self.region_name)

    def terminate_session(self, session_id: str, *, quiet: bool = False) -> None:
        """``ssm:TerminateSession``; with ``quiet`` a failure is ignored (cleanup after another error)."""
        try:
            self._call("ssm", "TerminateSession", {"SessionId": session_id})
        except AwsError:
            if not quiet:
                raise

    def generate_data_key(self, key_id: str, context: Mapping[str, str]) -> tuple[bytes, bytes]:
        """``kms:GenerateDataKey`` of 64 bytes with the session's encryption context.

        Returns:
            ``(ciphertext_blob, plaintext)``.
        """
        params = {"KeyId": key_id, "NumberOfBytes": 64, "EncryptionContext": dict(context)}
        response = self._call("kms", "GenerateDataKey", params)
        try:  # blobs travel base64-encoded in the JSON protocol
            return base64.b64decode(response["CiphertextBlob"]), base64.b64decode(response["Plaintext"])
        except (KeyError, TypeError, ValueError):
            raise self._unparsable("kms:GenerateDataKey", "no data key in the answer") from None

    def _translate(self, error: Exception, action: str, target: str) -> AwsError:
        from ssmux.core import aws

        code = _error_code(error)
        # Name the region the call went to, also when the profile chose it.
        region = self._calls.region if self._calls is not None else self.region
        where = _where(self.aws_profile, region)
        if code == "TargetNotConnected":
            return AwsError(
                f"{target or 'the target'} is not connected to Session Manager ({where}): its SSM agent is "
                "offline, the instance is stopped, or it is not managed by SSM; check 'ssmux ls' and the "
                "instance's SSM agent",
                code,
            )
        if code == "InvalidInstanceId":
            return AwsError(
                f"{target or 'the target'} is not an instance SSM knows ({where}): check the id, the AWS "
                "profile and the region",
                code,
            )
        if code == "InvalidDocument":
            return AwsError(
                f"{where}: {_message(error)}: check --document (see 'aws ssm list-documents')", code
            )
        return aws.translate(error, aws_profile=self.aws_profile, region=region, action=action)

    def _unparsable(self, action: str, detail: str) -> AwsError:
        from ssmux.core import aws

        error = aws.unparsable_answer(detail)
        return self._translate(error, action, "")


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _message(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return " ".join(str(response.get("Error", {}).get("Message", "")).split())
    return str(error)


def _where(aws_profile: str | None, region: str | None) -> str:
    who = f"AWS profile '{aws_profile}'" if aws_profile else "default AWS credentials"
    return f"{who} in {region}" if region else who
