"""EC2 DescribeInstances answered by the emulator, from moto's live instances, paged like AWS.

Why not moto's own: moto pages by reservation, not by instance, and its serializer looks every instance's
tags up with a scan of every tag in the region, so a page of 1,000 out of 20,000 instances takes minutes.
This module reads the same moto objects (so StopInstances, RunInstances and CreateTags through moto show
here at once), filters and pages by instance (MaxResults 5..1000, as AWS), and writes the EC2 XML directly.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterable
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from ssmux.emulator.wire import ApiError

XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/"

InstanceCheck = Callable[[Any, Any, dict[str, str]], bool]


def describe_instances(account_id: str, region: str, body: bytes, query: str = "") -> bytes:
    """The DescribeInstances response (XML) for one account and region.

    Raises:
        ApiError: The request is invalid the way EC2 says (unknown filter, bad MaxResults, unknown id...).
    """
    from moto.ec2.models import ec2_backends

    params = parse_qs(query)
    params.update(parse_qs(body.decode("utf-8", "replace")))
    if params.get("DryRun", ["false"])[0].lower() == "true":
        raise ApiError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412)
    instance_ids = _numbered(params, "InstanceId")
    checks = [_filter(name, values) for name, values in _filters(params).items()]
    max_results = params.get("MaxResults", [""])[0]
    if instance_ids and max_results:
        raise ApiError(
            "InvalidParameterCombination",
            "The parameter instancesSet cannot be used with the parameter maxResults",
        )
    try:
        backend = ec2_backends[account_id][region]
    except KeyError:
        raise ApiError("InvalidParameterValue", f"Invalid region {region}") from None
    rows = [(reservation, instance) for reservation in list(backend.reservations.values())
            for instance in list(reservation.instances)]  # fmt: skip
    if instance_ids:
        present = {instance.id for _, instance in rows}
        missing = [i for i in instance_ids if i not in present]
        if missing:
            raise ApiError(
                "InvalidInstanceID.NotFound", f"The instance IDs '{', '.join(missing)}' do not exist"
            )
        wanted = set(instance_ids)
        rows = [(r, i) for r, i in rows if i.id in wanted]
    tags = backend.tags
    rows = [(r, i) for r, i in rows if all(check(r, i, tags.get(i.id, {})) for check in checks)]
    start = _decode_token(params.get("NextToken", [""])[0])
    if max_results:
        size = _max_results(max_results)
        page, more = rows[start : start + size], start + size < len(rows)
    else:
        page, more = rows[start:], False
    return _render(page, tags, _encode_token(start + len(page)) if more else "")


def _render(rows: list[tuple[Any, Any]], tags: dict[str, dict[str, str]], next_token: str) -> bytes:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<DescribeInstancesResponse xmlns="{XMLNS}"><requestId>{uuid.uuid4()}</requestId><reservationSet>',
    ]
    index = 0
    while index < len(rows):
        reservation = rows[index][0]
        out.append(
            f"<item><reservationId>{reservation.id}</reservationId><ownerId>{reservation.owner_id}</ownerId>"
            "<groupSet/><instancesSet>"
        )
        # Consecutive instances of one reservation (RunInstances with a count) share its item, as in AWS.
        while index < len(rows) and rows[index][0] is reservation:
            out.append(_instance_xml(rows[index][1], tags.get(rows[index][1].id, {})))
            index += 1
        out.append("</instancesSet></item>")
    out.append("</reservationSet>")
    if next_token:
        out.append(f"<nextToken>{next_token}</nextToken>")
    out.append("</DescribeInstancesResponse>")
    return "".join(out).encode()


def _instance_xml(instance: Any, tags: dict[str, str]) -> str:
    state = instance._state
    parts = [
        f"<item><instanceId>{instance.id}</instanceId>",
        _element("imageId", instance.image_id),
        f"<instanceState><code>{state.code}</code><name>{state.name}</name></instanceState>",
        _element("privateDnsName", instance.private_dns_name),
        _element("dnsName", instance.public_dns_name or ""),
        _element("reason", instance._reason or ""),
        _element("keyName", instance.key_name),
        f"<amiLaunchIndex>{instance.ami_launch_index}</amiLaunchIndex>",
        _element("instanceType", instance.instance_type),
        _element("launchTime", instance.launch_time.strftime("%Y-%m-%dT%H:%M:%S.000Z")),
        "<placement>",
        _element("availabilityZone", instance.placement.zone),
        "<groupName/><tenancy>default</tenancy></placement>",
        _element("platform", instance.platform),
        _element("platformDetails", getattr(instance, "platform_details", None) or "Linux/UNIX"),
        f"<monitoring><state>{instance.monitoring_state}</state></monitoring>",
        _element("subnetId", instance.subnet_id),
        _element("vpcId", instance.vpc_id),
        _element("privateIpAddress", instance.private_ip),
        _element("ipAddress", instance.public_ip),
        f"<sourceDestCheck>{str(instance.source_dest_check).lower()}</sourceDestCheck>",
        "<groupSet>",
        *(
            f"<item>{_element('groupId', group.id)}{_element('groupName', group.name)}</item>"
            for group in instance.security_groups
        ),
        "</groupSet>",
    ]
    reason = instance.state_reason
    if getattr(reason, "code", ""):
        parts.append(
            f"<stateReason>{_element('code', reason.code)}{_element('message', reason.message)}</stateReason>"
        )
    parts += [
        _element("architecture", instance.architecture),
        _element("rootDeviceType", instance.root_device_type),
        _element("rootDeviceName", instance.root_device_name),
        "<blockDeviceMapping/>",
        _element("virtualizationType", instance.virtualization_type),
        "<tagSet>",
        *(f"<item>{_element('key', key)}{_element('value', value)}</item>" for key, value in tags.items()),
        "</tagSet>",
        _element("hypervisor", instance.hypervisor),
        f"<ebsOptimized>{str(bool(instance.ebs_optimized)).lower()}</ebsOptimized>",
        "</item>",
    ]
    return "".join(parts)


def _element(name: str, value: object) -> str:
    if value is None:
        return ""
    return f"<{name}>{escape(str(value))}</{name}>"


def _numbered(params: dict[str, list[str]], prefix: str) -> list[str]:
    """``InstanceId.1``, ``InstanceId.2``... in order."""
    found = [(int(key.rsplit(".", 1)[1]), values[0]) for key, values in params.items()
             if key.startswith(prefix + ".") and key.rsplit(".", 1)[1].isdigit()]  # fmt: skip
    return [value for _, value in sorted(found)]


def _filters(params: dict[str, list[str]]) -> dict[str, list[str]]:
    """``Filter.N.Name`` / ``Filter.N.Value.M`` into ``{name: [values]}``."""
    filters: dict[str, list[str]] = {}
    numbers = sorted(
        {key.split(".")[1] for key in params if key.startswith("Filter.") and key.endswith(".Name")}
    )
    for number in numbers:
        name = params[f"Filter.{number}.Name"][0]
        filters.setdefault(name, []).extend(_numbered(params, f"Filter.{number}.Value"))
    return filters


def _matches(value: object, patterns: Iterable[str]) -> bool:
    text = "" if value is None else str(value)
    return any(fnmatchcase(text, pattern) for pattern in patterns)  # EC2 filters take * and ? wildcards


_ATTRIBUTES: dict[str, Callable[[Any, Any], object]] = {
    "instance-id": lambda r, i: i.id,
    "instance-state-name": lambda r, i: i._state.name,
    "instance-state-code": lambda r, i: i._state.code,
    "instance-type": lambda r, i: i.instance_type,
    "availability-zone": lambda r, i: i.placement.zone,
    "image-id": lambda r, i: i.image_id,
    "private-ip-address": lambda r, i: i.private_ip,
    "private-dns-name": lambda r, i: i.private_dns_name,
    "ip-address": lambda r, i: i.public_ip,
    "platform": lambda r, i: i.platform,
    "platform-details": lambda r, i: getattr(i, "platform_details", None),
    "vpc-id": lambda r, i: i.vpc_id,
    "subnet-id": lambda r, i: i.subnet_id,
    "reservation-id": lambda r, i: r.id,
    "owner-id": lambda r, i: r.owner_id,
    "architecture": lambda r, i: i.architecture,
}


def _filter(name: str, values: list[str]) -> InstanceCheck:
    if not values:
        raise ApiError("InvalidParameterValue", f"The filter '{name}' needs at least one value")
    if name.startswith("tag:"):
        key = name[4:]
        return lambda r, i, tags: key in tags and _matches(tags[key], values)
    if name == "tag-key":
        return lambda r, i, tags: any(_matches(key, values) for key in tags)
    if name == "tag-value":
        return lambda r, i, tags: any(_matches(value, values) for value in tags.values())
    attribute = _ATTRIBUTES.get(name)
    if attribute is None:
        raise ApiError("InvalidParameterValue", f"The filter '{name}' is invalid")
    return lambda r, i, tags: _matches(attribute(r, i), values)


def _max_results(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 5 <= value <= 1000:
        raise ApiError(
            "InvalidParameterValue",
            f"Value ( {text} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.",
        )
    return value


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"ssmux-ec2:{offset}".encode()).decode()


def _decode_token(token: str) -> int:
    if not token:
        return 0
    try:
        prefix, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        offset = int(number)
    except ValueError:
        offset = -1
    if prefix != "ssmux-ec2" or offset < 0:
        raise ApiError("InvalidParameterValue", f"Invalid value '{token}' for nextToken")
    return offset
