"""Run every benchmark: ``python -m bench [NAME ...]`` (``make bench``).

Each ``bench/bench_<name>.py`` has a ``main() -> None`` that prints its figures and ratios. Benchmarks are
never assertions: they print what they measured so the numbers can be compared across changes.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(path.stem.removeprefix("bench_") for path in here.glob("bench_*.py"))
    chosen = argv or names
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        print(f"bench: no benchmark named {', '.join(unknown)}; have: {', '.join(names)}", file=sys.stderr)
        return 2
    for name in chosen:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        importlib.import_module(f"bench.bench_{name}").main()
        print(f"--- {name}: {time.perf_counter() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
