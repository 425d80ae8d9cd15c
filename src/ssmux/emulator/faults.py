"""Fault options of the emulator: latency and throttling of API calls; loss, duplicates, reordering of frames.

One :class:`Faults` value holds the options of the command line (``--latency-ms``, ``--throttle``, ...). A
scenario profile may override some of them (``"faults": {"throttle": 1.0}``), so one (account, region) pair
can be slow or throttled while the others are not; :meth:`Faults.merged` builds that profile's value.

Every random decision is drawn from a :class:`Dice` seeded from ``seed`` plus a name for the stream of
decisions (``"api"``, a session id, ...), so a run can be repeated and two streams do not disturb each other.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ssmux.errors import InvalidValue

PROBABILITIES = ("throttle", "loss", "duplicate", "reorder")


@dataclass(frozen=True)
class Faults:
    """Faults to inject. All zero (the default) means a well-behaved AWS.

    Attributes:
        latency_ms: Milliseconds added to every API call before it is answered.
        throttle: Probability (0..1) that an API call is refused with a throttling error.
        drop_after: Close a data-channel websocket after this many data frames (the client must resume);
            ``None`` never drops.
        loss: Probability that the data channel silently drops an outgoing data frame.
        duplicate: Probability that it sends an outgoing data frame twice.
        reorder: Probability that it holds an outgoing data frame back behind the next one.
        seed: Seed of every random decision, so a run can be repeated.
    """

    latency_ms: int = 0
    throttle: float = 0.0
    drop_after: int | None = None
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        _check_int("latency_ms", self.latency_ms, minimum=0)
        if self.drop_after is not None:
            _check_int("drop_after", self.drop_after, minimum=1)
        _check_int("seed", self.seed, minimum=None)
        for name in PROBABILITIES:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise InvalidValue(f"fault '{name}' must be a probability between 0 and 1, not {value!r}")

    @property
    def any_data_faults(self) -> bool:
        """Whether the data channel has anything to inject."""
        return bool(self.drop_after is not None or self.loss or self.duplicate or self.reorder)

    def merged(self, overrides: Mapping[str, Any] | None) -> Faults:
        """This value with some fields replaced (a scenario profile's ``faults``); validated like the rest."""
        if not overrides:
            return self
        unknown = sorted(set(overrides) - set(FIELD_NAMES))
        if unknown:
            raise InvalidValue(
                f"unknown fault option {', '.join(map(repr, unknown))}: use {', '.join(FIELD_NAMES)}"
            )
        return dataclasses.replace(self, **dict(overrides))

    def dice(self, stream: str) -> Dice:
        """A seeded, thread-safe source of random decisions for one stream (``"api"``, a session id...)."""
        return Dice(self.seed, stream)


FIELD_NAMES: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(Faults))


class Dice:
    """Seeded random decisions, safe to call from several threads.

    Args:
        seed: The run's seed (``--seed``).
        stream: A name mixed into the seed so separate streams draw independent, repeatable sequences.
    """

    def __init__(self, seed: int, stream: str) -> None:
        # crc32, not hash(): str hashes are salted per process, which would make runs unrepeatable.
        # Not for secrets: a repeatable sequence is the point (S311).
        self._random = random.Random(seed * 1_000_003 + zlib.crc32(stream.encode()))  # noqa: S311
        self._lock = threading.Lock()

    def chance(self, probability: float) -> bool:
        """True with the given probability; never draws when the probability is 0 or 1."""
        if probability <= 0.0:
            return False
        if probability >= 1.0:
            return True
        with self._lock:
            return self._random.random() < probability


def _check_int(name: str, value: object, *, minimum: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise InvalidValue(f"fault '{name}' must be an integer{bound}, not {value!r}")
