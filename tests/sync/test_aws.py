"""The AWS edge: a session per AWS CLI profile, resolved as the aws CLI does; one-line errors with a fix."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, NoRegionError

from ssmux.core import aws
from ssmux.errors import AwsError
from ssmux.sync.pair import fetch_pair


def write_config(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "aws" / "config"
    config.parent.mkdir(exist_ok=True)
    config.write_text(text)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    # SSO token caches live under ~/.aws: never read the real user's.
    monkeypatch.setenv("HOME", str(tmp_path))


def client_error(code: str, message: str = "", operation: str = "DescribeInstances") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def test_unknown_profile(aws_clients: aws.AwsClients) -> None:
    """A profile missing from the AWS config fails at once with a pointer to `ssmux aws-profiles`."""
    with pytest.raises(AwsError) as caught:
        aws_clients.client("ec2", "ghost", "eu-west-1")
    assert caught.value.code == "ProfileNotFound"
    assert str(caught.value) == "unknown AWS CLI profile 'ghost': see ssmux aws-profiles"


def test_expired_sso_login_says_run_aws_sso_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws_clients: aws.AwsClients
) -> None:
    """An SSO profile without a valid token fails its pair with 'run aws sso login --profile NAME'."""
    write_config(
        tmp_path,
        "[profile corp]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = Admin\n"
        "region = eu-west-1\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
        "sso_region = eu-west-1\n",
        monkeypatch,
    )
    outcome = fetch_pair("corp", "eu-west-1", clients=aws_clients)
    assert (outcome.status, outcome.error_code) == ("error", "SSOTokenExpired")
    assert (
        outcome.error_message == "AWS profile 'corp': SSO token expired or missing: run ssmux sso login "
        "(or aws sso login --profile corp)"
    )


def test_failing_credential_process_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws_clients: aws.AwsClients
) -> None:
    """A credential_process that fails gives one line naming the provider and how to check the profile."""
    script = tmp_path / "creds.py"
    script.write_text("import sys\nsys.stderr.write('token vault is locked')\nsys.exit(3)\n")
    write_config(
        tmp_path,
        f"[profile vault]\ncredential_process = {sys.executable} {script}\nregion = eu-west-1\n",
        monkeypatch,
    )
    outcome = fetch_pair("vault", "eu-west-1", clients=aws_clients)
    assert outcome.error_code == "CredentialRetrieval"
    assert outcome.error_message is not None
    assert "could not get credentials from custom-process" in outcome.error_message
    assert "aws sts get-caller-identity --profile vault" in outcome.error_message
    assert "\n" not in outcome.error_message


def test_profile_without_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws_clients: aws.AwsClients
) -> None:
    """A profile with only a region names the profile and says to configure it."""
    write_config(tmp_path, "[profile bare]\nregion = eu-west-1\n", monkeypatch)
    outcome = fetch_pair("bare", "eu-west-1", clients=aws_clients)
    assert outcome.error_code == "NoCredentials"
    assert outcome.error_message == (
        "AWS profile 'bare': no credentials found: run aws configure --profile bare "
        "(or aws sso login --profile bare)"
    )


@pytest.mark.parametrize(
    ("error", "code", "says"),
    [
        (
            client_error("UnauthorizedOperation", "You are not authorized to perform this operation."),
            "UnauthorizedOperation",
            "AWS profile 'prod' in us-east-1: access denied to ec2:DescribeInstances: grant it to the role",
        ),
        (client_error("ThrottlingException", "Rate exceeded"), "ThrottlingException", "throttled by AWS on"),
        (
            client_error("ExpiredToken"),
            "ExpiredToken",
            "credentials expired: refresh them (aws sso login --profile",
        ),
        (client_error("AuthFailure"), "AuthFailure", "credentials rejected by AWS (AuthFailure)"),
        (
            client_error("InternalError", "oops\nsecond line"),
            "InternalError",
            "failed: InternalError: oops second",
        ),
        (NoRegionError(), "NoRegion", "no region set: pass --region"),
        (
            ConnectTimeoutError(endpoint_url="https://ec2.us-east-1.amazonaws.com"),
            "Timeout",
            "endpoint timed out",
        ),
    ],
)
def test_error_translation(error: Exception, code: str, says: str) -> None:
    """Each AWS failure becomes one line with the AWS code, the profile, region and action, and what to do."""
    translated = aws.translate(error, aws_profile="prod", region="us-east-1", action="ec2:DescribeInstances")
    assert translated.code == code
    assert says in str(translated)
    assert "\n" not in str(translated)


def test_default_chain_is_named_as_such() -> None:
    """With no profile (the SDK default chain) the message says so instead of naming a profile."""
    translated = aws.translate(
        client_error("AccessDenied"), aws_profile=None, region="eu-west-1", action="x:Y"
    )
    assert str(translated).startswith("default AWS credentials in eu-west-1: access denied to x:Y")


def test_clients_are_cached_per_profile_region_and_tag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws_clients: aws.AwsClients
) -> None:
    """The same request gives the same client; another region or tag a new one; endpoint_url is honoured."""
    write_config(
        tmp_path,
        "[profile dev]\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:9\n"
        "aws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = secret\n",
        monkeypatch,
    )
    clients = aws_clients
    first = clients.client("ssm", "dev", None)
    assert clients.client("ssm", "dev", None) is first
    assert clients.client("ssm", "dev", "us-east-1") is not first
    assert clients.client("ssm", "dev", None, tag="sync") is not first
    assert first.meta.region_name == "eu-west-1" and clients.region_of("dev") == "eu-west-1"
    assert clients.endpoint_url("ssm", "dev", None) == "http://127.0.0.1:9"
    assert clients.credentials("dev").access_key == "AKIAEXAMPLE"
    renewed = clients.renewed()
    assert renewed.client("ssm", "dev", None) is not first and renewed.models is clients.models
