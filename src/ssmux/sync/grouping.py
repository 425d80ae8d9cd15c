"""Failed pairs grouped by what went wrong, so 212 pairs denied the same way read as one line.

Pairs fail the same way with messages that differ only in what names the pair: an account id, an ARN, a
profile or a region. A group is the error code with the message's shape, those replaced by ``…``; it keeps
one real message as its example and every pair it holds, largest group first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
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

    def line(self, shown: int = 3, titles: Mapping[tuple[str, str], str] | None = None) -> str:
        """One line: the code, how many pairs, the example, and the first ``shown`` pairs (by ``titles``,
        e.g. ``team-001 ReadOnlyAccess eu-west-1``, where given; else ``PROFILE/REGION``)."""
        names = [self.title(pair, titles) for pair in self.pairs[:shown]]
        more = len(self.pairs) - shown
        listed = ", ".join(names) + (f" and {more} more" if more > 0 else "")
        if len(self.pairs) == 1:
            return f"{listed}: {self.code}: {self.example}"
        return f"{self.code} in {len(self.pairs)} pairs ({listed}): {self.example}"

    @staticmethod
    def title(pair: tuple[str, str], titles: Mapping[tuple[str, str], str] | None = None) -> str:
        """How ``pair`` is named: its title when known, else ``PROFILE/REGION``."""
        return (titles or {}).get(pair) or f"{pair[0]}/{pair[1]}"


def shape(message: str) -> str:
    """The message with what names a pair replaced by ``…``."""
    return _PARTICULARS.sub("…", message)


def group_failures(outcomes: Iterable[PairOutcome]) -> list[ErrorGroup]:
    """The failed outcomes grouped by code and message shape, largest group first (ties: first seen)."""
    # A pair whose instances were listed but not its ECS containers fails too (PairOutcome.failures).
    return group_errors(
        ((f.aws_profile, f.region), f.error_code or "Error", f.error_message or "")
        for o in outcomes
        for f in o.failures()
    )


def group_errors(failures: Iterable[tuple[tuple[str, str], str, str]]) -> list[ErrorGroup]:
    """``(pair, code, message)`` of failed pairs grouped by code and message shape, largest group first (ties:
    first seen); the app groups its live progress with it as the CLI groups outcomes."""
    groups: dict[tuple[str, str], list[tuple[tuple[str, str], str, str]]] = {}
    for pair, code, message in failures:
        groups.setdefault((code, shape(message)), []).append((pair, code, message))
    ordered: Sequence[list[tuple[tuple[str, str], str, str]]] = sorted(groups.values(), key=len, reverse=True)
    return [
        ErrorGroup(code=members[0][1], example=members[0][2], pairs=tuple(pair for pair, _, _ in members))
        for members in ordered
    ]
