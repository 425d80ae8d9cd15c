"""A lean reader of EC2 ``DescribeInstances`` responses, for the sync's own client.

Why: botocore parses every field of every instance against the service model (block devices, network
interfaces, metadata options...), about 0.5 ms per instance, under the GIL. A 20,000-instance fleet then
spends ~10 s of CPU in parsing alone, and 20 pairs syncing at once queue behind each other on it. The sync
needs a dozen fields, so :func:`install` hooks the client's ``before-parse`` event: the XML is read once with
the C ElementTree parser, the fields the sync uses (the columns of :mod:`ssmux.sync.instance` that say where
EC2 has them) are handed back in botocore's own shape (so the paginator and :func:`ssmux.sync.pair.join` see
what they always see), and botocore is given an empty document to parse.

Anything unexpected (an error response, XML that does not parse) is left to botocore as it is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.etree import ElementTree

from ssmux.sync.instance import EC2_TEXT_COLUMNS

HOOK_ID = "ssmux-lean-describe-instances"
_EMPTY = b'<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"></DescribeInstancesResponse>'


def parse_describe_instances(body: bytes) -> dict[str, Any]:
    """The ``Reservations`` (with the fields the sync uses) and ``NextToken`` of a DescribeInstances body.

    Raises:
        xml.etree.ElementTree.ParseError: ``body`` is not XML.
    """
    root = ElementTree.fromstring(body)  # noqa: S314  # from the AWS endpoint the user configured
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""

    def text(element: ElementTree.Element, path: str) -> str | None:
        found = element.find(path)
        return found.text if found is not None and found.text else None

    # (path under an instance item, key path in botocore's output) of every text column EC2 gives.
    fields = [
        ("/".join(ns + part for part in column.ec2_xml.split("/")), column.ec2) for column in EC2_TEXT_COLUMNS
    ]
    reservations: list[dict[str, Any]] = []
    for reservation in root.iterfind(f"{ns}reservationSet/{ns}item"):
        instances: list[dict[str, Any]] = []
        # Only direct children are read: network interfaces nest fields of the same names.
        for item in reservation.iterfind(f"{ns}instancesSet/{ns}item"):
            instance: dict[str, Any] = {}
            for path, keys in fields:
                value = text(item, path)
                if value is not None:
                    _put(instance, keys, value)
            launched = text(item, f"{ns}launchTime")
            if launched is not None:
                instance["LaunchTime"] = _timestamp(launched)
            tags = [
                {"Key": text(tag, ns + "key") or "", "Value": text(tag, ns + "value") or ""}
                for tag in item.iterfind(f"{ns}tagSet/{ns}item")
            ]
            if tags:
                instance["Tags"] = tags
            instances.append(instance)
        reservations.append({"Instances": instances})
    parsed: dict[str, Any] = {"Reservations": reservations}
    token = text(root, ns + "nextToken")
    if token:
        parsed["NextToken"] = token
    return parsed


def _put(target: dict[str, Any], keys: tuple[str, ...], value: str) -> None:
    """Set ``value`` at the key path ``keys`` of ``target`` (``("State", "Name")``: ``["State"]["Name"]``)."""
    for key in keys[:-1]:
        target = target.setdefault(key, {})
    target[keys[-1]] = value


def _timestamp(value: str) -> datetime | str:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return value


def install(client: Any) -> None:
    """Make ``client`` (an EC2 client) read DescribeInstances responses leanly; idempotent.

    Only the fields :func:`parse_describe_instances` keeps come back: give the hooked client to nobody else.
    """

    def before_parse(
        response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
    ) -> None:
        if response_dict.get("status_code") != 200 or not isinstance(response_dict.get("body"), bytes):
            return
        try:
            parsed = parse_describe_instances(response_dict["body"])
        except ElementTree.ParseError:
            return  # botocore parses it and reports the problem its usual way
        customized_response_dict.update(parsed)
        response_dict["body"] = _EMPTY

    client.meta.events.register("before-parse.ec2.DescribeInstances", before_parse, unique_id=HOOK_ID)
