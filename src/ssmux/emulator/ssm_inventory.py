"""SSM's views of the managed nodes: ``DescribeInstanceInformation`` and ``DescribeInstanceProperties``.

Both list the SSM-managed nodes (EC2 instances with an agent and ``mi-`` nodes; unmanaged and terminated
instances are invisible) of the caller's account and region, filtered and paged like AWS pages them:
``DescribeInstanceInformation`` takes ``MaxResults`` 5..50, ``DescribeInstanceProperties`` 5..1000 (the
botocore service model's bounds), and both hand back an opaque ``NextToken`` only when more remain.

Why the token holds a scan position, not a count of results: the next page resumes scanning the node list
where the last one stopped, so a page costs O(page size) however large the fleet is. Counting results would
mean re-filtering the whole fleet up to the offset on every page, O(fleet) per page and O(fleet^2 / page) for
a full listing: 20,000 nodes in pages of 50 took seconds of emulator CPU that way.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from ssmux.emulator.fleet import Node
from ssmux.emulator.wire import ApiError

NodeCheck = Callable[[Node], bool]

#: Filter keys of DescribeInstanceInformation and the InstanceInformation field each one reads.
INFO_FILTER_FIELDS = {
    "InstanceIds": "InstanceId",
    "AgentVersion": "AgentVersion",
    "PingStatus": "PingStatus",
    "PlatformTypes": "PlatformType",
    "ActivationIds": "ActivationId",
    "IamRole": "IamRole",
    "ResourceType": "ResourceType",
    "AssociationStatus": "AssociationStatus",
}
#: DescribeInstanceProperties adds DocumentName (nodes with an association of that document: the emulator
#: has no associations, so it matches nothing, as it would in an account without any).
PROPERTY_FILTER_FIELDS = {**INFO_FILTER_FIELDS, "DocumentName": ""}
OPERATORS = ("Equal", "NotEqual", "BeginWith", "LessThan", "GreaterThan")


# The operations ---------------------------------------------------------------------------------------------
def describe_instance_information(nodes: Sequence[Node], body: dict[str, Any]) -> dict[str, Any]:
    """DescribeInstanceInformation over one account and region's ``nodes`` (scenario order)."""
    checks = [_info_filter(item, legacy=True) for item in _list(body, "InstanceInformationFilterList")]
    checks += [_info_filter(item, legacy=False) for item in _list(body, "Filters")]
    page, token = scan_page(nodes, checks, body, default=50, low=5, high=50)
    result: dict[str, Any] = {"InstanceInformationList": [node.information() for node in page]}
    if token:
        result["NextToken"] = token
    return result


def describe_instance_properties(nodes: Sequence[Node], body: dict[str, Any]) -> dict[str, Any]:
    """DescribeInstanceProperties over one account and region's ``nodes`` (scenario order)."""
    checks = [_property_filter(item) for item in _list(body, "InstancePropertyFilterList", limit=40)]
    checks += [_operator_filter(item) for item in _list(body, "FiltersWithOperator", limit=40)]
    page, token = scan_page(nodes, checks, body, default=50, low=5, high=1000)
    result: dict[str, Any] = {"InstanceProperties": [instance_property(node) for node in page]}
    if token:
        result["NextToken"] = token
    return result


def instance_property(node: Node) -> dict[str, Any]:
    """``node`` as an InstanceProperty: InstanceInformation's fields plus EC2's name, type, state, zone..."""
    info = node.information()
    info.pop("IsLatestVersion", None)  # not part of InstanceProperty
    name = _tags(node).get("Name")
    if name:
        info["Name"] = name
    ec2 = node.ec2
    if ec2 is not None:
        info["InstanceType"] = str(ec2.instance_type)
        info["InstanceState"] = str(ec2.state)
        info["Architecture"] = str(ec2.architecture)
        info["AvailabilityZone"] = str(ec2.placement.zone)
        if ec2.key_name:
            info["KeyName"] = str(ec2.key_name)
        launched = ec2.launch_time
        if isinstance(launched, datetime):
            # moto keeps naive UTC datetimes; JSON 1.1 carries epoch seconds.
            info["LaunchTime"] = launched.replace(tzinfo=launched.tzinfo or UTC).timestamp()
    return info


# Paging -----------------------------------------------------------------------------------------------------
def scan_page(
    nodes: Sequence[Node], checks: list[NodeCheck], body: dict[str, Any], *, default: int, low: int, high: int
) -> tuple[list[Node], str]:
    """Up to ``MaxResults`` managed nodes passing ``checks``, from the token's scan position on.

    Returns:
        The page and the token of the next one ("" when nothing more matches).

    Raises:
        ApiError: ``MaxResults`` out of ``low..high`` (ValidationException) or a token not ours.
    """
    size = body.get("MaxResults", default)
    if isinstance(size, bool) or not isinstance(size, int) or not low <= size <= high:
        raise ApiError(
            "ValidationException",
            f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy constraint: "
            f"Member must have value between {low} and {high}",
        )
    token = body.get("NextToken")
    position = decode_token(token) if token else 0
    page: list[Node] = []
    for index in range(position, len(nodes)):
        node = nodes[index]
        if not (node.managed and all(check(node) for check in checks)):
            continue
        if len(page) == size:
            return page, encode_token(index)  # a further match exists: the next page starts there
        page.append(node)
    return page, ""


def encode_token(position: int) -> str:
    """The opaque NextToken of a scan position."""
    return base64.urlsafe_b64encode(f"ssmux:{position}".encode()).decode()


def decode_token(token: Any) -> int:
    """The scan position of a NextToken; InvalidNextToken for anything we did not hand out."""
    try:
        prefix, _, number = base64.urlsafe_b64decode(str(token).encode()).decode().partition(":")
        position = int(number)
    except ValueError:
        position = -1
    if position < 0 or prefix != "ssmux":
        raise ApiError("InvalidNextToken", "The specified token is not valid.")
    return position


# Filters ----------------------------------------------------------------------------------------------------
def _info_filter(item: Any, *, legacy: bool) -> NodeCheck:
    key_name, values_name = ("key", "valueSet") if legacy else ("Key", "Values")
    if not isinstance(item, dict):
        raise _validation("each filter must be an object")
    key, values = item.get(key_name), item.get(values_name)
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise ApiError(
            "InvalidInstanceInformationFilterValue", f"Filter {key} needs a list of string values."
        )
    wanted = set(values)
    if isinstance(key, str) and not legacy and key.startswith("tag:"):
        tag = key[4:]
        return lambda node: _tags(node).get(tag) in wanted
    if key == "tag-key" and not legacy:
        return lambda node: bool(wanted & set(_tags(node)))
    if key not in INFO_FILTER_FIELDS:
        raise ApiError("InvalidFilterKey", f"The filter key {key!r} is not valid.")
    field = INFO_FILTER_FIELDS[key]
    return lambda node: node.information().get(field) in wanted


def _property_filter(item: Any) -> NodeCheck:
    """An InstancePropertyFilter (``key`` / ``valueSet``): the value is one of the set."""
    if not isinstance(item, dict):
        raise _validation("each filter must be an object")
    key, values = item.get("key"), _values(item.get("valueSet"), item.get("key"))
    if key not in PROPERTY_FILTER_FIELDS:
        raise ApiError("InvalidFilterKey", f"The filter key {key!r} is not valid.")
    return _comparison(key, "Equal", values)


def _operator_filter(item: Any) -> NodeCheck:
    """An InstancePropertyStringFilter (``Key`` / ``Values`` / ``Operator``, Equal by default)."""
    if not isinstance(item, dict):
        raise _validation("each filter must be an object")
    key, values = item.get("Key"), _values(item.get("Values"), item.get("Key"))
    operator = item.get("Operator", "Equal")
    if operator not in OPERATORS:
        raise _validation(
            f"Value '{operator}' at 'filtersWithOperator.operator' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(OPERATORS)}]"
        )
    if not isinstance(key, str) or not (key in PROPERTY_FILTER_FIELDS or key.startswith("tag:")):
        raise ApiError("InvalidFilterKey", f"The filter key {key!r} is not valid.")
    return _comparison(key, operator, values)


def _comparison(key: str, operator: str, values: list[str]) -> NodeCheck:
    if key == "DocumentName":
        return lambda node: False
    if key.startswith("tag:"):
        tag = key[4:]

        def read(node: Node) -> str | None:
            return _tags(node).get(tag)
    else:
        field = PROPERTY_FILTER_FIELDS[key]

        def read(node: Node) -> str | None:
            value = node.information().get(field)
            return None if value is None else str(value)

    def check(node: Node) -> bool:
        value = read(node)
        if value is None:
            return operator == "NotEqual"
        if operator == "Equal":
            return value in values
        if operator == "NotEqual":
            return value not in values
        if operator == "BeginWith":
            return any(value.startswith(prefix) for prefix in values)
        if operator == "LessThan":
            return any(_order(value) < _order(bound) for bound in values)
        return any(_order(value) > _order(bound) for bound in values)

    return check


def _order(value: str) -> tuple[Any, ...]:
    """Versions (``3.3.40.0``) compare part by part as numbers; anything else as text."""
    parts = value.split(".")
    if all(part.isdigit() for part in parts):
        return (0, *map(int, parts))
    return (1, value)


def _values(values: Any, key: Any) -> list[str]:
    if (
        not isinstance(values, list)
        or not 1 <= len(values) <= 40
        or not all(isinstance(v, str) and v for v in values)
    ):
        raise ApiError(
            "InvalidInstancePropertyFilterValue", f"Filter {key} needs 1 to 40 non-empty string values."
        )
    return values


def _tags(node: Node) -> dict[str, str]:
    tags = dict(node.spec.tags)
    if node.spec.name is not None:
        tags["Name"] = node.spec.name
    return tags


def _list(body: dict[str, Any], key: str, *, limit: int | None = None) -> list[Any]:
    value = body.get(key) or []
    if not isinstance(value, list):
        raise _validation(f"{key} must be a list")
    if limit is not None and len(value) > limit:
        raise _validation(f"{key} must have at most {limit} members")
    return value


def _validation(message: str) -> ApiError:
    return ApiError("ValidationException", f"1 validation error detected: {message}")
