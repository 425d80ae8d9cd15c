"""The AWS calls a session makes, through one AWS CLI profile and region.

``StartSession``, ``ResumeSession``, ``TerminateSession`` (SSM) and ``GenerateDataKey`` (KMS) go through the
botocore sessions of :mod:`ssmux.core.aws`, so credentials resolve exactly as in the aws CLI (SSO,
assume-role, credential_process) and the profile's ``endpoint_url`` is honoured. Failures become one-line
:class:`~ssmux.errors.AwsError` messages; the ones only sessions meet (``TargetNotConnected``,
``InvalidInstanceId``, ``InvalidDocument``) say what they mean for a session.

These calls block; the native transport runs them in a worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ssmux.errors import AwsError

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients


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
        endpoint_url: an SSM endpoint to use instead of the configured one (the plugin's argv[6]).
        clients: the caller's AWS sessions and clients (the app's, a test's); ``None``: the session makes its
            own, as a CLI command that runs one session does.
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
        self._ssm: Any = None
        self._kms: Any = None
        self._lock = threading.Lock()

    @property
    def ssm(self) -> Any:
        """The SSM client (created on first use)."""
        with self._lock:
            if self._ssm is None:
                self._ssm = self._make("ssm", self._endpoint_url)
            return self._ssm

    @property
    def kms(self) -> Any:
        """The KMS client: the same profile and region, the profile's configured endpoint."""
        with self._lock:
            if self._kms is None:
                self._kms = self._make("kms", None)
            return self._kms

    @property
    def region_name(self) -> str:
        """The region the SSM client uses."""
        return str(self.ssm.meta.region_name)

    @property
    def endpoint_url(self) -> str:
        """The SSM endpoint URL the client uses."""
        return str(self.ssm.meta.endpoint_url)

    def _make(self, service: str, endpoint_url: str | None) -> Any:
        from ssmux.core import aws

        if endpoint_url is None:
            return self.clients.client(service, self.aws_profile, self.region)
        session = self.clients.botocore_session(self.aws_profile)
        try:
            return session.create_client(service, region_name=self.region, endpoint_url=endpoint_url)
        except Exception as error:
            raise aws.translate(error, aws_profile=self.aws_profile, region=self.region) from error

    def start_session(self, params: Mapping[str, Any]) -> StartedSession:
        """``ssm:StartSession`` with ``params`` (Target, DocumentName, Parameters, Reason)."""
        target = str(params.get("Target", ""))
        try:
            response = self.ssm.start_session(**params)
        except Exception as error:
            raise self._translate(error, "ssm:StartSession", target) from error
        return StartedSession(response["SessionId"], response["TokenValue"], response["StreamUrl"])

    def resume_session(self, session_id: str) -> Resumed | None:
        """``ssm:ResumeSession``: a fresh token and maybe a new StreamUrl; ``None`` once the session has
        timed out or ended."""
        try:
            response = self.ssm.resume_session(SessionId=session_id)
        except Exception as error:
            raise self._translate(error, "ssm:ResumeSession", "") from error
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
            self.ssm.terminate_session(SessionId=session_id)
        except Exception as error:
            if not quiet:
                raise self._translate(error, "ssm:TerminateSession", "") from error

    def generate_data_key(self, key_id: str, context: Mapping[str, str]) -> tuple[bytes, bytes]:
        """``kms:GenerateDataKey`` of 64 bytes with the session's encryption context.

        Returns:
            ``(ciphertext_blob, plaintext)``.
        """
        try:
            response = self.kms.generate_data_key(
                KeyId=key_id, NumberOfBytes=64, EncryptionContext=dict(context)
            )
        except Exception as error:
            raise self._translate(error, "kms:GenerateDataKey", "") from error
        return bytes(response["CiphertextBlob"]), bytes(response["Plaintext"])

    def _translate(self, error: Exception, action: str, target: str) -> AwsError:
        from ssmux.core import aws

        code = _error_code(error)
        # Name the region the call went to, also when the profile chose it.
        region = self.region or (str(self._ssm.meta.region_name) if self._ssm is not None else None)
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
