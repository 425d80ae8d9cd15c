"""A lean reader of SSM's node listings (DescribeInstanceProperties / DescribeInstanceInformation).

Why: botocore walks every field of every node against the service model and turns each timestamp into a
``datetime`` (three per node), under the GIL. With 20 pairs syncing at once that was a fifth of the sync's
CPU, and CPU is what the pairs queue on. The responses are JSON already, so :func:`install` hooks the
client's ``before-parse`` event, hands back ``json.loads`` of the body as it is (timestamps stay epoch
seconds; :func:`ssmux.sync.pair.join` takes both forms) and gives botocore an empty document to parse.

Anything unexpected (an error response, a body that is not a JSON object) is left to botocore as it is.
"""

from __future__ import annotations

import json
from typing import Any

HOOK_ID = "ssmux-lean-ssm-listing"


def parse_listing(body: bytes) -> dict[str, Any]:
    """A node listing page as it is (timestamps stay epoch seconds), with its ``NextToken``.

    Raises:
        ValueError: ``body`` is not a JSON object.
    """
    parsed = json.loads(body)
    if not isinstance(parsed, dict):
        raise ValueError(f"expected a JSON object, got {type(parsed).__name__}")
    return parsed


OPERATIONS = ("DescribeInstanceProperties", "DescribeInstanceInformation")


def install(client: Any) -> None:
    """Make ``client`` (an SSM client) read the node listings leanly; idempotent.

    Timestamps come back as epoch seconds instead of ``datetime``: give the hooked client to nobody else.
    """

    def before_parse(
        response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
    ) -> None:
        body = response_dict.get("body")
        if response_dict.get("status_code") != 200 or not isinstance(body, bytes):
            return
        try:
            parsed = json.loads(body)
        except ValueError:
            return  # botocore parses it and reports the problem its usual way
        if not isinstance(parsed, dict):
            return
        customized_response_dict.update(parsed)
        response_dict["body"] = b"{}"

    for operation in OPERATIONS:
        client.meta.events.register(
            f"before-parse.ssm.{operation}", before_parse, unique_id=f"{HOOK_ID}-{operation}"
        )
