"""AWS CLI profiles read through botocore: names, regions, kinds, files; never the secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ssmux.core.awsconfig import aws_profile_names, list_aws_profiles
from ssmux.errors import StoreError

CONFIG = """
[default]
region = eu-central-1

[profile sso-dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Dev
region = us-east-1

[profile legacy-sso]
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1
sso_account_id = 111111111111
sso_role_name = Dev

[profile admin]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = default
region = eu-west-1

[profile vault]
credential_process = /usr/local/bin/vault-creds --account prod

[profile plain]
output = json

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
"""

CREDENTIALS = """
[default]
aws_access_key_id = AKIAEXAMPLEKEYID0000
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY

[keys-only]
aws_access_key_id = AKIAEXAMPLEKEYID0001
aws_secret_access_key = another/secret/value/that/must/not/leak
"""


def write_aws_files(config: str = CONFIG, credentials: str = CREDENTIALS) -> None:
    Path(os.environ["AWS_CONFIG_FILE"]).write_text(config, encoding="utf-8")
    Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"]).write_text(credentials, encoding="utf-8")


def test_profiles_have_kind_region_and_file() -> None:
    """Each kind of profile is recognised, with its region and the file(s) naming it, sorted by name."""
    write_aws_files()
    found = {p.name: (p.kind, p.region, p.source) for p in list_aws_profiles()}
    assert found == {
        "admin": ("assume-role", "eu-west-1", "config"),
        "default": ("static", "eu-central-1", "both"),
        "keys-only": ("static", None, "credentials"),
        "legacy-sso": ("sso", None, "config"),
        "plain": ("none", None, "config"),
        "sso-dev": ("sso", "us-east-1", "config"),
        "vault": ("credential-process", None, "config"),
    }
    assert aws_profile_names() == sorted(found)


def test_no_secret_reaches_the_result() -> None:
    """Neither key ids nor secrets appear in what is returned."""
    write_aws_files()
    dump = repr([p.to_dict() for p in list_aws_profiles()])
    assert "AKIA" not in dump and "secret" not in dump and "wJalr" not in dump


def test_missing_files_mean_no_profiles() -> None:
    """Without AWS config files the list is empty (no error)."""
    assert list_aws_profiles() == []


def test_env_vars_choose_the_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE are honoured."""
    other = tmp_path / "elsewhere.ini"
    other.write_text("[profile only-here]\nregion = ap-south-1\n", encoding="utf-8")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(other))
    assert [(p.name, p.region) for p in list_aws_profiles()] == [("only-here", "ap-south-1")]


def test_unparsable_config_is_one_clear_error() -> None:
    """A config file botocore cannot parse gives a StoreError saying to fix it."""
    write_aws_files(config="[profile broken\nregion = x\n", credentials="")
    with pytest.raises(StoreError, match="cannot parse the AWS config"):
        list_aws_profiles()
    assert aws_profile_names() == []
