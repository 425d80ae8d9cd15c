"""Which regions each account has enabled: ``account:ListRegions`` and EC2 ``DescribeRegions``, which agree.

AWS (https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html): regions launched before
20 March 2019 are enabled by default in every account and cannot be disabled; later ones are opt-in, disabled
until the account enables them, and while disabled no credential of the account works there.

* ``ListRegions`` (https://docs.aws.amazon.com/accounts/latest/reference/API_ListRegions.html, botocore's
  ``account`` model: rest-json ``POST /listRegions``): every region with its ``RegionOptStatus``
  (``ENABLED_BY_DEFAULT``, ``ENABLED``, ``DISABLED``...), filtered by ``RegionOptStatusContains``, paged by
  ``MaxResults`` (1-50) and ``NextToken``; ``AccountId`` other than the caller's own needs the
  organization's management account, which no scenario caller is (``AccessDeniedException``).
* ``DescribeRegions`` (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRegions.html):
  the regions enabled for the account, or with ``AllRegions=true`` all of them, each with ``optInStatus``
  ``opt-in-not-required``, ``opted-in`` or ``not-opted-in``; ``RegionName.N`` and the ``region-name`` and
  ``opt-in-status`` filters narrow it. moto answers it with every region it knows, whatever the account, so
  callers of the scenario get this answer instead.

The emulator's partition is the regions its scenario names (a profile's default region, an instance's):
listing the 30-odd real ones would give every account regions with nothing in them. In it, an opt-in region
is enabled in an account that has something there and disabled in the others (``sso.generate``'s
``disabled_regions`` rules make a generated account lack one, :mod:`ssmux.emulator.organization`). A call
to a region the account has disabled fails as AWS's do: the credentials are not valid there.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from ssmux.emulator.wire import ApiError, AwsRequest, StartResponse, json_response, xml_response

if TYPE_CHECKING:
    from ssmux.emulator.scenario import Scenario, ScenarioProfile

#: Regions launched after 20 March 2019: opt-in (the AWS page above lists them, with the date each launched).
OPT_IN_REGIONS = frozenset({
    "af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2", "eu-south-1",
    "eu-south-2", "il-central-1", "me-central-1", "me-south-1", "me-west-1", "mx-central-1", "sa-west-1",
})  # fmt: skip

ENABLED_BY_DEFAULT, ENABLED, DISABLED = "ENABLED_BY_DEFAULT", "ENABLED", "DISABLED"
#: ListRegions' statuses, botocore's ``RegionOptStatus`` enum (ENABLING and DISABLING never last here).
STATUSES = (ENABLED, "ENABLING", "DISABLING", DISABLED, ENABLED_BY_DEFAULT)
#: ListRegions' page when MaxResults is not given (its documented maximum is 50).
DEFAULT_PAGE = 20
#: Services whose calls still work in a disabled region: global ones, and the one that says what is enabled.
_GLOBAL_SERVICES = frozenset({"account", "sts", "iam", "organizations"})

_EC2_STATUS = {ENABLED_BY_DEFAULT: "opt-in-not-required", ENABLED: "opted-in", DISABLED: "not-opted-in"}


class AccountRegions:
    """The enabled regions of every account of a scenario, and the two operations that tell them."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario

    @staticmethod
    def named(request: AwsRequest, path: str) -> AwsRequest:
        """``request`` with the operation of an ``account`` REST call named from its path (``/listRegions``:
        ``ListRegions``), so denials and logs see it like any other action."""
        if request.service != "account" or request.action or not path.startswith("/"):
            return request
        name = path.strip("/").split("/", 1)[0]
        return replace(request, action=name[:1].upper() + name[1:])

    def answer(
        self, request: AwsRequest, profile: ScenarioProfile, environ: dict[str, Any], start: StartResponse
    ) -> Iterable[bytes] | None:
        """Answer ListRegions or DescribeRegions, refuse a call to a region the account has disabled, or
        ``None``: not ours.

        Raises:
            ApiError: the call cannot be served (disabled region, bad parameters), shaped by the caller.
        """
        statuses = self.statuses(profile.account_id)
        if request.service not in _GLOBAL_SERVICES and statuses.get(request.region) == DISABLED:
            if request.protocol == "ec2":
                raise ApiError(
                    "AuthFailure", "AWS was not able to validate the provided access credentials", 401
                )
            raise ApiError(
                "UnrecognizedClientException", "The security token included in the request is invalid.", 403
            )
        if request.service == "account" and request.action == "ListRegions":
            return json_response(start, self._list_regions(profile, statuses, request.json_body()))
        if request.service == "ec2" and request.action == "DescribeRegions":
            fields = parse_qs(environ.get("QUERY_STRING", "")) | parse_qs(
                request.body.decode("utf-8", "replace")
            )
            return xml_response(start, self._describe_regions(statuses, fields))
        return None

    def statuses(self, account_id: str) -> dict[str, str]:
        """Every region of the emulator's partition, in name order, with its status in ``account_id``."""
        mine = self._places.get(account_id, set())
        return {
            region: (ENABLED if region in mine else DISABLED)
            if region in OPT_IN_REGIONS
            else ENABLED_BY_DEFAULT
            for region in self._partition
        }

    @cached_property
    def _partition(self) -> list[str]:
        regions = {profile.region for profile in self.scenario.all_profiles}
        regions.update(instance.region for instance in self.scenario.instances)
        return sorted(regions)

    @cached_property
    def _places(self) -> dict[str, set[str]]:
        places: dict[str, set[str]] = {}
        for profile in self.scenario.all_profiles:
            places.setdefault(profile.account_id, set()).add(profile.region)
        for instance in self.scenario.instances:
            places.setdefault(instance.account_id, set()).add(instance.region)
        return places

    def _list_regions(
        self, profile: ScenarioProfile, statuses: dict[str, str], body: dict[str, Any]
    ) -> dict[str, Any]:
        account = body.get("AccountId")
        if account is not None and account != profile.account_id:
            raise ApiError(
                "AccessDeniedException",
                f"User: {profile.owner_arn} is not authorized to perform: account:ListRegions on another "
                "account: only the organization's management account or a delegated administrator may",
                403,
            )
        wanted = body.get("RegionOptStatusContains")
        if wanted is not None and (
            not isinstance(wanted, list) or not all(status in STATUSES for status in wanted)
        ):
            raise ApiError(
                "ValidationException", f"RegionOptStatusContains must hold only {', '.join(STATUSES)}"
            )
        size = body.get("MaxResults", DEFAULT_PAGE)
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 50:
            raise ApiError("ValidationException", "MaxResults must be between 1 and 50")
        listed = [(name, status) for name, status in statuses.items() if wanted is None or status in wanted]
        start = _position(body.get("NextToken"))
        page = listed[start : start + size]
        answer: dict[str, Any] = {"Regions": [{"RegionName": n, "RegionOptStatus": s} for n, s in page]}
        if start + size < len(listed):
            answer["NextToken"] = base64.urlsafe_b64encode(f"regions:{start + size}".encode()).decode()
        return answer

    def _describe_regions(self, statuses: dict[str, str], fields: dict[str, list[str]]) -> bytes:
        every = fields.get("AllRegions", ["false"])[0].lower() == "true"
        names = {values[0] for key, values in fields.items() if key.startswith("RegionName.")}
        unknown = sorted(names - statuses.keys())
        if unknown:
            raise ApiError("InvalidParameterValue", f"Invalid region name: {unknown[0]}", 400)
        filters = _filters(fields)
        items = []
        for region, status in statuses.items():
            opt_in = _EC2_STATUS[status]
            if (status == DISABLED and not every and region not in names) or (names and region not in names):
                continue
            if not all(_passes(region, opt_in, name, values) for name, values in filters):
                continue
            items.append(
                f"<item><regionName>{escape(region)}</regionName>"
                f"<regionEndpoint>ec2.{escape(region)}.amazonaws.com</regionEndpoint>"
                f"<optInStatus>{opt_in}</optInStatus></item>"
            )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
            f"<requestId>{uuid.uuid4()}</requestId><regionInfo>{''.join(items)}</regionInfo>"
            "</DescribeRegionsResponse>"
        ).encode()


def _position(token: Any) -> int:
    if token is None:
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(str(token).encode()).decode().partition(":")
        if kind == "regions" and number.isdigit():
            return int(number)
    except (ValueError, UnicodeDecodeError):
        pass
    raise ApiError("ValidationException", "The NextToken is not valid: start again without it")


def _filters(fields: dict[str, list[str]]) -> list[tuple[str, list[str]]]:
    """``Filter.N.Name`` / ``Filter.N.Value.M`` as (name, values)."""
    found: list[tuple[str, list[str]]] = []
    for key, values in fields.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "Filter" and parts[2] == "Name":
            prefix = f"Filter.{parts[1]}.Value."
            found.append((values[0], [v[0] for k, v in fields.items() if k.startswith(prefix)]))
    return found


def _passes(region: str, opt_in: str, name: str, values: list[str]) -> bool:
    if name == "region-name":
        return region in values
    if name == "opt-in-status":
        return opt_in in values
    if name == "endpoint":
        return f"ec2.{region}.amazonaws.com" in values
    raise ApiError("InvalidParameterValue", f"The filter '{name}' is invalid", 400)
