"""The AWS CLI profiles of this user, read from the AWS config and credentials files through botocore.

botocore does the reading (it honours ``AWS_CONFIG_FILE`` and ``AWS_SHARED_CREDENTIALS_FILE``, ``~``, and
the ``[profile x]`` / ``[x]`` naming of the two files), so ssmux sees exactly the profiles ``aws`` sees. Only
names, regions and the kind of credentials are returned: key material never leaves this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ssmux.errors import StoreError

Kind = Literal["assume-role", "web-identity", "sso", "static", "credential-process", "none"]
Source = Literal["config", "credentials", "both"]


@dataclass(frozen=True)
class AwsProfileInfo:
    """One AWS CLI profile.

    Attributes:
        name: Profile name, as given to ``--profile``.
        region: Its ``region`` setting, or ``None``.
        kind: How it gets credentials, in the order botocore tries them: ``assume-role`` (``role_arn``),
            ``web-identity``, ``sso`` (``sso_session`` or ``sso_start_url``), ``static`` (access keys),
            ``credential-process``, or ``none`` (settings only; credentials come from elsewhere).
        source: Which file names it.
    """

    name: str
    region: str | None
    kind: Kind
    source: Source

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"name": self.name, "region": self.region, "kind": self.kind, "source": self.source}


def list_aws_profiles() -> list[AwsProfileInfo]:
    """Every profile in the AWS config and credentials files, sorted by name.

    Raises:
        StoreError: One of the files cannot be parsed.
    """
    import botocore.configloader
    import botocore.exceptions
    import botocore.session

    session = botocore.session.Session()
    config_file = session.get_config_variable("config_file")
    credentials_file = session.get_config_variable("credentials_file")
    try:
        merged: dict[str, dict[str, Any]] = session.full_config.get("profiles", {})
        in_credentials = set(_raw_sections(credentials_file))
        in_config = set(_config_profiles(config_file))
    except botocore.exceptions.ConfigParseError as error:
        raise StoreError(f"cannot parse the AWS config: {error}; fix the file") from None
    profiles = []
    for name in sorted(merged):
        values = merged[name]
        if not isinstance(values, dict):
            continue
        source: Source = (
            "both"
            if name in in_config and name in in_credentials
            else ("credentials" if name in in_credentials else "config")
        )
        region = values.get("region") or None
        profiles.append(
            AwsProfileInfo(name, region if isinstance(region, str) else None, kind_of(values), source)
        )
    return profiles


def aws_profile_names() -> list[str]:
    """Names of the AWS CLI profiles, sorted (for pickers); empty when the files cannot be read."""
    try:
        return [profile.name for profile in list_aws_profiles()]
    except StoreError:
        return []


def kind_of(values: dict[str, Any]) -> Kind:
    """The kind of credentials a profile's settings give, in the order botocore's resolver tries them."""
    if values.get("role_arn"):
        return "web-identity" if values.get("web_identity_token_file") else "assume-role"
    if values.get("sso_session") or values.get("sso_start_url"):
        return "sso"
    if values.get("aws_access_key_id"):
        return "static"
    if values.get("credential_process"):
        return "credential-process"
    return "none"


def _raw_sections(path: str) -> dict[str, Any]:
    import botocore.configloader
    import botocore.exceptions

    try:
        sections: dict[str, Any] = botocore.configloader.raw_config_parse(path)
    except botocore.exceptions.ConfigNotFound:
        return {}
    return sections


def _config_profiles(path: str) -> dict[str, Any]:
    import botocore.configloader
    import botocore.exceptions

    try:
        profiles: dict[str, Any] = botocore.configloader.load_config(path).get("profiles", {})
    except botocore.exceptions.ConfigNotFound:
        return {}
    return profiles
