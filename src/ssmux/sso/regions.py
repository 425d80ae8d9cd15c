"""Every region enabled in each account, asked with the account's own role: ``account:ListRegions``, or EC2
``DescribeRegions`` where that is denied.

``ListRegions`` (https://docs.aws.amazon.com/accounts/latest/reference/API_ListRegions.html; botocore's
``account`` model: rest-json ``POST /listRegions``, signed for ``account`` in us-east-1, paged by
``NextToken``) is asked for the statuses ``ENABLED`` and ``ENABLED_BY_DEFAULT`` only. Many roles lack
``account:ListRegions`` (it is not in ReadOnlyAccess everywhere); ``ec2:DescribeRegions``
(https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRegions.html) without ``AllRegions``
lists exactly the regions enabled for the account, so it is asked next, in the partition's first region
(always enabled: only regions launched after March 2019 can be off).

One call per account, from a pool of threads, with no botocore client: the role's credentials come from its
session in :class:`~ssmux.core.aws.AwsClients` (GetRoleCredentials once, cached until they expire), the
endpoint from botocore's resolver (once per distinct profile settings), and the request is signed with
SigV4 and sent with the standard library. botocore's standard retry rules apply (throttling backs off). An
account whose regions cannot be listed is reported with its error and does not hide the others.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from xml.etree import ElementTree

from ssmux.errors import AwsError

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients
    from ssmux.sso.discover import AccountRole

#: Concurrent accounts: as many as discovery's ListAccountRoles calls.
WORKERS = 16
#: Seconds to wait for one answer.
TIMEOUT = 20.0
#: Pages of ListRegions before giving up (there are fewer than 50 regions; a token that never ends is a bug).
MAX_PAGES = 20
ENABLED_STATUSES = ("ENABLED", "ENABLED_BY_DEFAULT")
#: ``account`` is a global service, signed for and served in its partition's first region.
_HOME_REGIONS = {"cn-": "cn-northwest-1", "us-gov-": "us-gov-west-1"}
_DENIED = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})


@dataclass(frozen=True)
class EnabledRegions:
    """The regions each account has enabled.

    Attributes:
        regions: Account id -> its enabled regions, sorted.
        fell_back: Accounts that denied ``account:ListRegions`` and were asked with EC2 DescribeRegions.
        failed: (account id, why) of the accounts whose regions could not be listed either way.
    """

    regions: dict[str, tuple[str, ...]]
    fell_back: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()


def enabled_regions(
    clients: AwsClients,
    session_name: str,
    roles: Sequence[AccountRole],
    *,
    workers: int = WORKERS,
) -> EnabledRegions:
    """Ask every account of ``roles`` (with its first role there) which regions it has enabled."""
    from ssmux.sso.credentials import RoleSource

    first: dict[str, str] = {}
    for role in roles:
        first.setdefault(role.account_id, RoleSource(session_name, role.account_id, role.role_name).name)

    def of(item: tuple[str, str]) -> tuple[str, tuple[str, ...] | str, bool]:
        account_id, aws_profile = item
        caller = _Caller(clients, aws_profile)
        try:
            return account_id, caller.list_regions(), False
        except AwsError as error:
            if error.code not in _DENIED:
                return account_id, str(error), False
        try:
            return account_id, caller.describe_regions(), True
        except AwsError as error:
            return account_id, str(error), True

    found: dict[str, tuple[str, ...]] = {}
    fell_back: list[str] = []
    failed: list[tuple[str, str]] = []
    if not first:
        return EnabledRegions({})
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(first)))) as pool:
        for account_id, result, fallback in pool.map(of, first.items()):
            if fallback:
                fell_back.append(account_id)
            if isinstance(result, str):
                failed.append((account_id, result))
            else:
                found[account_id] = result
    return EnabledRegions(found, tuple(fell_back), tuple(failed))


class _Caller:
    """Signed calls of one role, outside botocore's clients (see the module's note)."""

    def __init__(self, clients: AwsClients, aws_profile: str) -> None:
        self.clients = clients
        self.aws_profile = aws_profile

    def list_regions(self) -> tuple[str, ...]:
        region = self._home()
        url = self.clients.service_endpoint("account", self.aws_profile, region).rstrip("/") + "/listRegions"
        regions: list[str] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            body: dict[str, Any] = {"RegionOptStatusContains": list(ENABLED_STATUSES)}
            if token:
                body["NextToken"] = token
            data = self._call("account", "ListRegions", region, url, json.dumps(body).encode(),
                              "application/x-amz-json-1.1", _json_error)  # fmt: skip
            try:
                page = json.loads(data)
                regions += [str(item["RegionName"]) for item in page.get("Regions", [])
                            if item.get("RegionOptStatus") in ENABLED_STATUSES]  # fmt: skip
            except (ValueError, KeyError, TypeError, AttributeError):
                raise self._failed("ListRegions", "an answer that is not ListRegions'") from None
            token = page.get("NextToken")
            if not token:
                return tuple(sorted(set(regions)))
        raise self._failed("ListRegions", f"more than {MAX_PAGES} pages")

    def describe_regions(self) -> tuple[str, ...]:
        region = self._home()
        url = self.clients.service_endpoint("ec2", self.aws_profile, region)
        body = urlencode({"Action": "DescribeRegions", "Version": "2016-11-15"}).encode()
        data = self._call("ec2", "DescribeRegions", region, url, body,
                          "application/x-www-form-urlencoded; charset=utf-8", _xml_error)  # fmt: skip
        try:
            root = ElementTree.fromstring(data)  # noqa: S314  # an AWS endpoint's answer, bounded in size
        except ElementTree.ParseError:
            raise self._failed("DescribeRegions", "an answer that is not XML") from None
        names = [element.text or "" for element in root.iter() if element.tag.endswith("regionName")]
        return tuple(sorted({name for name in names if name}))

    def _home(self) -> str:
        own = self.clients.region_of(self.aws_profile) or "us-east-1"
        return next((home for prefix, home in _HOME_REGIONS.items() if own.startswith(prefix)), "us-east-1")

    def _call(
        self,
        service: str,
        operation: str,
        region: str,
        url: str,
        body: bytes,
        content_type: str,
        error_of: Callable[[bytes, Any], tuple[str, str]],
    ) -> bytes:
        """POST ``body``, signed, retried as botocore's standard mode would; the answer's body.

        Raises:
            AwsError: the call failed (its AWS error code as ``code``).
        """
        import urllib.error
        import urllib.request

        from ssmux.core import aws

        rules = aws.RetryRules(service, max_attempts=self.clients.max_attempts(self.aws_profile))
        credentials = self.clients.signing_credentials(self.aws_profile)
        context: dict[str, Any] = {}
        attempt = 1
        while True:
            try:
                headers = aws.sign(credentials, service, region, url, body, {"Content-Type": content_type})
            except Exception as error:
                raise aws.translate(error, aws_profile=self.aws_profile, region=region) from error
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
            delay: float | None
            try:
                with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310  # https or endpoint_url
                    data: bytes = answer.read(1024 * 1024)
                rules.succeeded(200, context)
                return data
            except urllib.error.HTTPError as answer:
                code, message = error_of(answer.read(1024 * 1024), answer.headers)
                delay = rules.delay(attempt, context, status=answer.code, headers=dict(answer.headers),
                                    error_code=code)  # fmt: skip
                if delay is None:
                    failure = aws.service_error(
                        code, message, status=answer.code, headers=dict(answer.headers), operation=operation
                    )
                    action = f"{service}:{operation}"
                    raise aws.translate(
                        failure, aws_profile=self.aws_profile, region=region, action=action
                    ) from None
            except (OSError, urllib.error.URLError) as error:
                transport = aws.transport_error(aws.Transport.UNREACHABLE, url)
                delay = rules.delay(attempt, context, exception=transport)
                if delay is None:
                    raise aws.translate(transport, aws_profile=self.aws_profile, region=region) from error
            time.sleep(delay)
            attempt += 1

    def _failed(self, operation: str, what: str) -> AwsError:
        return AwsError(f"{self.aws_profile}: {operation} gave {what}", code="UnparsableAnswer")


def _json_error(body: bytes, headers: Any) -> tuple[str, str]:
    """A rest-json error: the code from ``x-amzn-ErrorType`` (``Code:uri`` at times) or the body."""
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        document = {}
    document = document if isinstance(document, dict) else {}
    code = str(headers.get("x-amzn-ErrorType") or document.get("__type") or document.get("code") or "")
    code = code.split(":", 1)[0].rsplit("#", 1)[-1] or "Error"
    return code, str(document.get("message") or document.get("Message") or "")


def _xml_error(body: bytes, headers: Any) -> tuple[str, str]:
    """An EC2 error: ``<Response><Errors><Error><Code>`` and ``<Message>``."""
    try:
        root = ElementTree.fromstring(body)  # noqa: S314  # an AWS endpoint's answer, bounded in size
    except ElementTree.ParseError:
        return "Error", body[:200].decode("utf-8", "replace")
    code = next((e.text for e in root.iter() if e.tag.endswith("Code") and e.text), "Error")
    message = next((e.text for e in root.iter() if e.tag.endswith("Message") and e.text), "")
    return code or "Error", message or ""
