"""Failed pairs grouped by what went wrong, so 212 pairs denied the same way read as one line.

Pairs fail the same way with messages that differ only in what names the pair: an account id, an ARN, a
profile or a region. A group is the error code with the message's shape, those replaced by ``…``; it keeps
one real message as its example and every pair it holds, largest group first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ssmux.sync.pair import PairOutcome

#: What names a pair inside an AWS message: ARNs, 12-digit accounts, quoted names, regions.
_PARTICULARS = re.compile(
    r"arn:[A-Za-z0-9:/_+=,.@*-]+|\b\d{12}\b|'[^']*'|\"[^\"]*\"|\b[a-z]{2}(?:-[a-z]+)+-\d\b"
)


@dataclass(frozen=True)
class ErrorGroup:
    """Pairs that failed with the same code and the same message but for what names them.

    Attributes:
        code: The AWS error code (or ssmux's) they share.
        example: One of their messages, as it was.
        pairs: ``(aws_profile, region)`` of each, in the order they were given.
    """

    code: str
    example: str
    pairs: tuple[tuple[str, str], ...]

    def line(self, shown: int = 3) -> str:
        """One line: the code, how many pairs, the example, and the first ``shown`` pairs."""
        names = [f"{profile}/{region}" for profile, region in self.pairs[:shown]]
        more = len(self.pairs) - shown
        listed = ", ".join(names) + (f" and {more} more" if more > 0 else "")
        if len(self.pairs) == 1:
            return f"{listed}: {self.code}: {self.example}"
        return f"{self.code} in {len(self.pairs)} pairs ({listed}): {self.example}"


def shape(message: str) -> str:
    """The message with what names a pair replaced by ``…``."""
    return _PARTICULARS.sub("…", message)


def group_failures(outcomes: Iterable[PairOutcome]) -> list[ErrorGroup]:
    """The failed outcomes grouped by code and message shape, largest group first (ties: first seen)."""
    groups: dict[tuple[str, str], list[PairOutcome]] = {}
    for outcome in outcomes:
        if outcome.ok or outcome.cancelled:
            continue
        code, message = outcome.error_code or "Error", outcome.error_message or ""
        groups.setdefault((code, shape(message)), []).append(outcome)
    ordered: Sequence[list[PairOutcome]] = sorted(groups.values(), key=len, reverse=True)
    return [
        ErrorGroup(
            code=members[0].error_code or "Error",
            example=members[0].error_message or "",
            pairs=tuple((o.aws_profile, o.region) for o in members),
        )
        for members in ordered
    ]
