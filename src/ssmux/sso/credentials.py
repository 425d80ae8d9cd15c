"""Credentials of a discovered role straight from the portal, with no AWS CLI profile written for it.

A sync pair (or a session) names such a role as ``sso:<sso-session>/<account id>/<role>``, e.g.
``sso:corp/111111111111/ReadOnlyAccess``. Its botocore session is the sign-in's own profile (so settings such
as ``endpoint_url`` apply) with one more credential provider in front of the chain: GetRoleCredentials with
the cached sign-in token, refreshed by botocore before they expire (the token itself is refreshed when it
can be, else the error names ``ssmux sso login``). The credentials live in memory only: nothing of them is
written anywhere.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ssmux.errors import AwsError

if TYPE_CHECKING:
    import botocore.session

    from ssmux.sso.login import SsoTarget

PREFIX = "sso:"
_NAME = re.compile(r"^sso:(?P<session>[A-Za-z0-9_.-]+)/(?P<account>\d{12})/(?P<role>[\w+=,.@-]+)$")


@dataclass(frozen=True)
class RoleSource:
    """A role of an account, reached through an sso-session's sign-in."""

    session: str
    account_id: str
    role: str

    @property
    def name(self) -> str:
        """How pairs and ``--aws-profile`` name it."""
        return f"{PREFIX}{self.session}/{self.account_id}/{self.role}"

    @classmethod
    def parse(cls, name: str | None) -> RoleSource | None:
        """The role a name stands for, or ``None`` for an ordinary AWS CLI profile name."""
        match = _NAME.match(name or "")
        return cls(match["session"], match["account"], match["role"]) if match else None


def role_target(source: RoleSource) -> tuple[SsoTarget, str | None]:
    """The sign-in of ``source``'s sso-session, and the AWS CLI profile that uses it (its settings, such as
    ``endpoint_url``, apply to the role's calls too), if any.

    Raises:
        InvalidValue: the sso-session is not in the AWS config.
    """
    from ssmux.sso.login import resolve_target

    return resolve_target(session_name=source.session)


def role_session(source: RoleSource) -> botocore.session.Session:
    """A plain botocore session that signs as ``source``'s role (``core.aws.AwsClients`` makes its own
    sessions the same way, with :func:`add_role_provider` and its shared unsigned clients).

    Raises:
        InvalidValue: the sso-session is not in the AWS config.
    """
    import botocore.session

    target, profile = role_target(source)
    session = botocore.session.Session(profile=profile)

    @functools.cache
    def unsigned(service: str) -> Any:
        return session.create_client(service, region_name=target.region, config=_unsigned())

    add_role_provider(session, source, target, unsigned)
    return session


def add_role_provider(
    session: botocore.session.Session,
    source: RoleSource,
    target: SsoTarget,
    unsigned: Callable[[str], Any],
) -> None:
    """Put ``source``'s role credentials first in ``session``'s credential chain.

    ``unsigned(service)`` gives the ``sso`` portal and ``sso-oidc`` clients in the sign-in's region; the
    caller shares them between the roles of one sign-in (a client costs milliseconds of CPU to make, and an
    organization has hundreds of roles).
    """
    from botocore.credentials import CredentialProvider, RefreshableCredentials

    def fetch() -> dict[str, Any]:
        from ssmux.sso.login import usable_token

        token = usable_token(target, lambda: unsigned("sso-oidc"))  # oidc only when it must refresh
        try:
            answer = unsigned("sso").get_role_credentials(
                accessToken=token.access_token, accountId=source.account_id, roleName=source.role
            )["roleCredentials"]
        except Exception as error:
            code = getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)
            if code == "UnauthorizedException":
                raise AwsError(
                    f"the IAM Identity Center sign-in for {target.start_url} is no longer valid: run "
                    f"'{target.login_command}'",
                    code="ExpiredToken",
                ) from None
            raise AwsError(f"{source.name}: GetRoleCredentials failed: {code}", code=code) from None
        expiry = datetime.fromtimestamp(int(answer["expiration"]) / 1000, UTC)
        return {
            "access_key": answer["accessKeyId"],
            "secret_key": answer["secretAccessKey"],
            "token": answer["sessionToken"],
            "expiry_time": expiry.isoformat(),
        }

    class RoleProvider(CredentialProvider):  # type: ignore[misc]  # botocore ships no type information
        METHOD = "ssmux-sso"
        CANONICAL_NAME = "ssmux-sso"

        def load(self) -> RefreshableCredentials:
            return RefreshableCredentials.create_from_metadata(fetch(), fetch, self.METHOD)

    # First in the chain, before whatever the sign-in profile itself would use.
    session.get_component("credential_provider").providers.insert(0, RoleProvider())


def _unsigned() -> Any:
    import botocore
    from botocore.config import Config

    return Config(signature_version=botocore.UNSIGNED)
