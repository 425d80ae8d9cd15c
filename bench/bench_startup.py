"""Start-up time of quick commands: `ssmux --help` and `ssmux profile ls` as a user runs them.

Each command runs as a fresh subprocess of the installed `ssmux` (10 runs after one warm-up, so the OS file
cache is warm as it is for a user), with SSMUX_HOME in a temporary folder holding 50 saved profiles. Prints
the median wall time and spread, the median CPU time (steadier when other work shares the machine), the
same for a bare `python -c pass` as the floor, and the modules each command imports that are known to be
heavy (they should be none).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 10
HEAVY = ("boto3", "botocore", "rich", "nicegui", "moto", "websockets", "tomlkit", "filelock", "cryptography")


def _ssmux() -> str:
    return str(Path(sys.executable).with_name("ssmux.exe" if sys.platform == "win32" else "ssmux"))


def _children_cpu() -> float:
    # CPU seconds used by finished children: steadier than wall time on a busy machine. POSIX only.
    try:
        import resource
    except ImportError:
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _times(argv: list[str], env: dict[str, str]) -> tuple[list[float], list[float]]:
    subprocess.run(argv, env=env, capture_output=True, check=True)  # warm-up
    walls, cpus = [], []
    for _ in range(RUNS):
        cpu = _children_cpu()
        started = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=True)
        walls.append(time.perf_counter() - started)
        cpus.append(_children_cpu() - cpu)
    return walls, cpus


def _heavy_imports(args: list[str], env: dict[str, str]) -> list[str]:
    # Run the CLI in-process under -X importtime and keep the top-level heavy packages it imported.
    code = f"import sys; sys.argv = ['ssmux', *{args!r}]; from ssmux.cli.main import main; main()"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], env=env, capture_output=True, text=True
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    return sorted(name for name in HEAVY if name in imported)


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "SSMUX_HOME": home}
        for n in range(50):
            subprocess.run(
                [_ssmux(), "profile", "add", f"web-{n}", "--instance-id", f"i-{n:08x}", "--tag", "bench"],
                env=env,
                capture_output=True,
                check=True,
            )
        floor_walls, floor_cpus = _times([sys.executable, "-c", "pass"], env)
        floor = statistics.median(floor_walls)
        print(
            f"python -c pass          wall median {floor * 1000:6.1f} ms  "
            f"cpu median {statistics.median(floor_cpus) * 1000:6.1f} ms (floor)"
        )
        for args in (["--help"], ["profile", "ls"]):
            times, cpus = _times([_ssmux(), *args], env)
            median = statistics.median(times)
            heavy = ", ".join(_heavy_imports(args, env)) or "none"
            print(
                f"ssmux {' '.join(args):17} wall median {median * 1000:6.1f} ms  "
                f"(min {min(times) * 1000:6.1f}, max {max(times) * 1000:6.1f}, "
                f"{median / floor:.1f}x bare python)  "
                f"cpu median {statistics.median(cpus) * 1000:6.1f} ms  heavy imports: {heavy}"
            )
