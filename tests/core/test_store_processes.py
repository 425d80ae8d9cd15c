"""The store across processes: concurrent writers lose nothing; a writer killed mid-write corrupts nothing."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ssmux.core import store

ADDER = """
import sys, time
from pathlib import Path
from ssmux.core import store
from ssmux.core.models import Profile
prefix, count, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
deadline = time.monotonic() + 30
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.01)
for n in range(count):
    store.update_profiles(lambda b, n=n: b.with_profile(Profile(f"{prefix}{n:03d}", "i-%08x" % n)))
    time.sleep(0.002)  # outside the lock: gives the other writer a chance, so the writes interleave
"""

WRITER = """
import sys
from ssmux.core import store
from ssmux.core.models import Profile
n = int(sys.argv[1])
while True:
    store.update_profiles(
        lambda b, n=n: b.with_profile(
            Profile(f"p{n:05d}", "i-%08x" % n, tags=frozenset({"t"}), description="d" * 200)
        )
    )
    print(n, flush=True)
    n += 1
"""


def spawn(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


@pytest.mark.timeout(180)
def test_two_processes_adding_200_each_end_with_all_400(tmp_path: Path) -> None:
    """Two processes adding 200 profiles each at the same time: every one of the 400 is in the file."""
    go = tmp_path / "go"
    procs = [spawn(ADDER, prefix, "200", str(go)) for prefix in ("a", "b")]
    try:
        time.sleep(0.5)  # let both import and wait at the start line
        go.touch()
        for proc in procs:
            _, err = proc.communicate(timeout=150)
            assert proc.returncode == 0, err
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    names = [p.name for p in store.load_profiles().profiles]
    assert len(names) == 400
    assert set(names) == {f"{prefix}{n:03d}" for prefix in "ab" for n in range(200)}


@pytest.mark.timeout(120)
def test_writer_killed_at_random_moments_leaves_old_or_new_state(isolated_home: Path) -> None:
    """SIGKILL at random moments of a write loop: the file always parses and holds the last or next state."""
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    next_n = 0
    path = isolated_home / "profiles.toml"
    for _round in range(12):
        proc = spawn(WRITER, str(next_n))
        try:
            first = proc.stdout.readline() if proc.stdout else ""
            assert first, f"writer did not start: {proc.stderr.read() if proc.stderr else ''}"
            time.sleep(rng.uniform(0, 0.15))
        finally:
            proc.kill()
            out, _ = proc.communicate(timeout=30)
        acknowledged = int((first + out).split()[-1])
        names = [p.name for p in store.load_profiles().profiles]  # raises StoreError if it were corrupt
        expected_old = [f"p{n:05d}" for n in range(acknowledged + 1)]
        expected_new = [*expected_old, f"p{acknowledged + 1:05d}"]
        assert names in (expected_old, expected_new), (
            f"seed {seed}: {len(names)} profiles after ack {acknowledged}"
        )
        next_n = len(names)
    leftovers = [p.name for p in isolated_home.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) <= 1  # at most the temp file of the last killed writer; the next writer removes it
    assert path.stat().st_size > 0
