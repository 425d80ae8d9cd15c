"""``ssmux cp`` against the realistic emulator: striped downloads for N = 1, 2, 4, 8, and an upload.

Run: ``python -m bench cp``. Prints figures; asserts nothing.

* **download** of a 100 MB file with ``--parallel N``: MB/s (of the copy itself, and of the whole command
  with start-up, listing and both sha256 checks), the ratio to N times the one-session figure (the issue
  asks for at least 0.8), and for N = 1 the ratio to the agent's pacing bound (1 KiB, then 1 ms: ~1 MB/s).
* **upload** of the same file through one pty session: MB/s (the issue asks for at least 10).
* For each: wall time, and the CPU seconds of the ssmux process and of the emulator meanwhile (the side
  whose CPU is near the wall time is what bounds it).
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZE_MB = 100
PARALLEL = (1, 2, 4, 8)
#: The realistic agent's bound for paced sessions: 1 KiB read, then 1 ms of sleep (bytes per second).
AGENT_BOUND = 1024 / 0.001
SUMMARY = re.compile(r": ([\d.]+) MB in ([\d.]+) s")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(args: list[str], env: dict[str, str], emulator_pid: int) -> dict[str, float]:
    """One run with the summary line, for the copy's own seconds (without Python's start-up)."""
    emulator_before, client_before = _cpu_seconds(emulator_pid), _children_cpu()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ssmux", "cp", *args], env=env, capture_output=True,
                          check=False, timeout=900)  # fmt: skip
    wall = time.perf_counter() - started
    match = SUMMARY.search(done.stdout.decode())
    if done.returncode != 0 or match is None:
        raise SystemExit(f"bench cp: ssmux cp failed: {done.stderr.decode().strip()}")
    return {
        "wall": wall,
        "copy": float(match.group(2)),
        "client_cpu": _children_cpu() - client_before,
        "emulator_cpu": _cpu_seconds(emulator_pid) - emulator_before,
    }


def main() -> None:
    from tests.support.emulator import start_emulator

    from ssmux.emulator.scenario import load_scenario

    web1 = next(item.instance_id for item in load_scenario("demo").instances if item.name == "web-1")
    with tempfile.TemporaryDirectory(prefix="bench-cp-") as temporary:
        folder = Path(temporary)
        data = folder / "data.bin"
        data.write_bytes(os.urandom(SIZE_MB * 1_000_000))
        size = data.stat().st_size
        with start_emulator("demo", tmp_dir=folder / "emulator") as emulator:
            env = {**os.environ, **emulator.env(), "SSMUX_HOME": str(folder / "home")}
            pid = emulator.process.pid
            print(f"realistic emulator ({emulator.endpoint}), a {size / 1e6:.0f} MB file of random bytes")
            _timed(["--aws-profile", "dev", f"{web1}:/etc/hostname", str(folder / "warm")], env, pid)
            one: float | None = None
            for count in PARALLEL:
                out = folder / f"down-{count}.bin"
                args = ["--aws-profile", "dev", "--parallel", str(count), f"{web1}:{data}", str(out)]
                result = _timed(args, env, pid)
                out.unlink()
                rate = size / result["copy"]
                one = one or rate
                ratio = rate / (count * one)
                extra = f", {rate / AGENT_BOUND:.2f} x the ~1 MB/s paced bound" if count == 1 else ""
                print(
                    f"download --parallel {count}: {rate / 1e6:6.2f} MB/s (whole command "
                    f"{size / result['wall'] / 1e6:.2f} MB/s), {ratio:.2f} x {count} x one session{extra}; "
                    f"wall {result['wall']:.1f} s, CPU ssmux {result['client_cpu']:.1f} s, "
                    f"emulator {result['emulator_cpu']:.1f} s"
                )
            remote = folder / "remote"
            remote.mkdir()
            result = _timed(["--aws-profile", "dev", str(data), f"{web1}:{remote}/"], env, pid)
            rate = size / result["copy"]
            print(
                f"upload: {rate / 1e6:6.2f} MB/s (whole command {size / result['wall'] / 1e6:.2f} MB/s; "
                f"target >= 10); wall {result['wall']:.1f} s, CPU ssmux {result['client_cpu']:.1f} s, "
                f"emulator {result['emulator_cpu']:.1f} s"
            )
