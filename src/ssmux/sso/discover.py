"""Every account and role the signed-in user can reach, from the IAM Identity Center portal.

ListAccounts pages through the accounts; ListAccountRoles is then asked for every account at once, from a
pool of threads (botocore clients are thread-safe), each paging on its own. The portal throttles with
``TooManyRequestsException``, which botocore's standard retry mode backs off from; an account whose roles
cannot be listed is reported with its error and does not hide the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from ssmux.errors import AwsError
from ssmux.sso.login import SsoTarget
from ssmux.sso.tokens import SsoToken

#: Concurrent ListAccountRoles calls: enough to list 300 accounts in a few seconds at ~100 ms per call.
WORKERS = 16


@dataclass(frozen=True)
class AccountRole:
    """A role the user may take in an account."""

    account_id: str
    account_name: str
    role_name: str


@dataclass(frozen=True)
class Discovery:
    """What the portal listed: the roles, and the accounts whose roles could not be listed (with why)."""

    roles: tuple[AccountRole, ...]
    failed: tuple[tuple[str, str], ...] = ()

    def accounts(self) -> list[tuple[str, str]]:
        """(id, name) of every account with a listed role, in listing order."""
        return list(dict.fromkeys((role.account_id, role.account_name) for role in self.roles))

    def select(self, *, roles: Sequence[str] = (), accounts: Sequence[str] = ()) -> list[AccountRole]:
        """The roles whose name matches one of ``roles`` and whose account's name or id matches one of
        ``accounts`` (shell-style patterns, case-insensitive; an empty list matches everything)."""

        def matches(value: str, patterns: Sequence[str]) -> bool:
            return not patterns or any(fnmatchcase(value.lower(), p.lower()) for p in patterns)

        return [
            role
            for role in self.roles
            if matches(role.role_name, roles)
            and (matches(role.account_name, accounts) or matches(role.account_id, accounts))
        ]


def discover(portal: Any, token: SsoToken, target: SsoTarget, *, workers: int = WORKERS) -> Discovery:
    """List the accounts, then the roles of each, with ``portal`` (an ``sso`` client) and ``token``.

    Raises:
        AwsError: the accounts cannot be listed: the sign-in is not valid (the message names the command
            that signs in again), or the network failed.
    """
    access_token = token.access_token
    try:
        accounts = _paged(portal, "list_accounts", "accountList", accessToken=access_token)
    except AwsError as error:
        if error.code == "UnauthorizedException":
            raise AwsError(
                f"the IAM Identity Center sign-in for {target.start_url} is no longer valid: run "
                f"'{target.login_command}'",
                code="ExpiredToken",
            ) from None
        raise

    def roles_of(account: dict[str, Any]) -> list[AccountRole] | str:
        try:
            listed = _paged(portal, "list_account_roles", "roleList", accessToken=access_token,
                            accountId=account["accountId"])  # fmt: skip
        except Exception as error:  # one account's failure is shown with it, the others go on
            return _describe(error)
        return [
            AccountRole(account["accountId"], account.get("accountName", ""), r["roleName"]) for r in listed
        ]

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(accounts)))) as pool:
        results = list(pool.map(roles_of, accounts))
    found: list[AccountRole] = []
    failed: list[tuple[str, str]] = []
    for account, result in zip(accounts, results, strict=True):
        if isinstance(result, str):
            failed.append((account["accountId"], result))
        else:
            found.extend(sorted(result, key=lambda role: role.role_name))
    return Discovery(tuple(found), tuple(failed))


def _paged(portal: Any, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
    from ssmux.core import aws

    items: list[dict[str, Any]] = []
    call: Callable[..., dict[str, Any]] = getattr(portal, operation)
    token: str | None = None
    try:
        while True:
            page = call(**params, **({"nextToken": token} if token else {}))
            items.extend(page.get(key, []))
            token = page.get("nextToken")
            if not token:
                return items
    except Exception as error:
        raise aws.translate(error, aws_profile=None, action=operation) from error


def _describe(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        details = response.get("Error", {})
        return f"{details.get('Code', type(error).__name__)}: {details.get('Message', '')}".rstrip(": ")
    return f"{type(error).__name__}: {error}"
