"""One command on many targets: ``ssmux exec --group G -- CMD`` over 100 instances vs ``exec`` on one.

Run: ``python -m bench exec_many``. Prints figures; asserts nothing.

The emulator runs in its realistic mode (the default; the agent's pacing, as on AWS) with one pair of 100
online instances. Each figure is the median of :data:`RUNS` runs of the installed command as a user runs it
(a new ``python -m ssmux`` process, output to a pipe), with the wall time, the client's CPU seconds (user +
system, from ``wait4``) and the emulator's CPU seconds meanwhile:

* **one target**: ``ssmux exec node-1 -- true``, the single-target command;
* **100 targets**: ``ssmux exec --group PAIR -- true`` with ``--max-parallel`` 16 (the default), 32 and 64;
  the issue's goal is under 3 s above one target's time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 3
TARGETS = 100
PAIR = "bench/eu-west-1"
GOAL_ABOVE_ONE = 3.0
SCENARIO = {
    "profiles": [{"name": "bench", "account_id": "414141414141", "region": "eu-west-1"}],
    "instances": [{"profile": "bench", "region": "eu-west-1", "name": "node", "count": TARGETS}],
}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(argv: list[str], env: dict[str, str], emulator_pid: int) -> dict[str, float]:
    """One run of ``python -m ssmux ARGV``: wall, client CPU, emulator CPU; it must exit 0."""
    emulator_before = _cpu_seconds(emulator_pid)
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "ssmux", *argv], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)  # fmt: skip
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"ssmux {' '.join(argv)} failed: {errors.decode(errors='replace')[-2000:]}")
    return {
        "wall": wall,
        "client_cpu": usage.ru_utime + usage.ru_stime,
        "emulator_cpu": _cpu_seconds(emulator_pid) - emulator_before,
    }


def median_run(argv: list[str], env: dict[str, str], emulator_pid: int) -> dict[str, float]:
    """The run of median wall time among :data:`RUNS`."""
    runs = sorted((timed(argv, env, emulator_pid) for _ in range(RUNS)), key=lambda run: run["wall"])
    return runs[len(runs) // 2]


def _report(label: str, run: dict[str, float], one: dict[str, float] | None = None) -> None:
    text = (
        f"{label}: wall {run['wall']:.2f} s, client CPU {run['client_cpu']:.2f} s, "
        f"emulator CPU {run['emulator_cpu']:.2f} s"
    )
    if one is not None:
        above = run["wall"] - one["wall"]
        verdict = "within" if above < GOAL_ABOVE_ONE else "over"
        text += (
            f"; {above:.2f} s above one target ({run['wall'] / one['wall']:.1f}x), {verdict} the "
            f"{GOAL_ABOVE_ONE:.0f} s goal"
        )
    print(text, flush=True)


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.support.emulator import start_emulator

    with tempfile.TemporaryDirectory(prefix="ssmux-bench-exec-") as folder_name:
        folder = Path(folder_name)
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env.update(SSMUX_HOME=str(folder / "home"), PYTHONPYCACHEPREFIX=str(folder / "pycache"))
        with start_emulator(SCENARIO, tmp_dir=folder / "emulator") as emulator:
            env.update(emulator.env())
            for args in (["pair", "add", PAIR], ["sync"]):
                subprocess.run([sys.executable, "-m", "ssmux", *args], env=env, check=True,
                               capture_output=True, timeout=120)  # fmt: skip
            pid = emulator.process.pid
            print(f"{sys.platform}, {os.cpu_count()} CPUs; emulator realistic, {TARGETS} instances; "
                  f"median of {RUNS} runs", flush=True)  # fmt: skip
            timed(["exec", "node-1", "--", "true"], env, pid)  # warm the bytecode cache
            one = median_run(["exec", "node-1", "--", "true"], env, pid)
            _report("one target (exec node-1 -- true)", one)
            for parallel in (16, 32, 64):
                argv = ["exec", "--group", PAIR, "--max-parallel", str(parallel), "--", "true"]
                _report(f"{TARGETS} targets, --max-parallel {parallel}", median_run(argv, env, pid), one)
