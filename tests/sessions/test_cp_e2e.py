"""``ssmux cp`` end to end: the installed command against the emulator (realistic pacing), as a user runs it.

The emulator's instances run their commands on this machine, so a "remote" path is a folder of the test's
own; everything still goes through StartSession, the data channel and the agent's pipes and pty.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.emulator import RunningEmulator

from .conftest import demo_instance, run_ssmux

pytestmark = pytest.mark.e2e

WEB1 = demo_instance("web-1")
ODD_NAMES = ["a b.txt", "-dash/--leading", "ünï cödé/☃.bin", "sub dir/.hidden", "sub dir/empty"]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cp(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    return run_ssmux("cp", "--aws-profile", "dev", *args, timeout=timeout)


def make_tree(root: Path) -> None:
    for index, name in enumerate(ODD_NAMES):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        # Bytes no terminal or UTF-8 decoder may touch: NUL, CR, Ctrl-C/D/Z, 0xFF, a U+FFFD.
        body = (
            b""
            if name.endswith("empty")
            else bytes(range(256)) * (index + 1) + "\ufffd".encode() + b"\x03\x04"
        )
        path.write_bytes(body)
        os.utime(path, (1_600_000_000 + index, 1_600_000_000 + index))
    (root / "-dash/--leading").chmod(0o751)


def tree_state(root: Path) -> dict[str, tuple[str, int, int]]:
    return {
        path.relative_to(root).as_posix(): (sha(path), path.stat().st_mode & 0o777, int(path.stat().st_mtime))
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_a_30_mb_file_goes_up_and_comes_down_exact(demo_env: RunningEmulator, tmp_path: Path) -> None:
    """30 MB of random bytes up through the pty and down over 8 sessions: same sha256 every way."""
    local = tmp_path / "big.bin"
    local.write_bytes(os.urandom(30_000_000))
    remote = tmp_path / "remote"
    remote.mkdir()
    up = cp(str(local), f"{WEB1}:{remote}/")
    assert up.returncode == 0, up.stderr.decode()
    assert sha(remote / "big.bin") == sha(local)
    assert "copied 1 file" in up.stdout.decode()
    down = cp("--parallel", "8", f"{WEB1}:{remote}/big.bin", str(tmp_path / "back.bin"))
    assert down.returncode == 0, down.stderr.decode()
    assert "8 sessions" in down.stdout.decode() or "9 sessions" in down.stdout.decode()
    assert sha(tmp_path / "back.bin") == sha(local)
    assert not list(tmp_path.rglob("*.part*")), "nothing of the transfer is left behind"


def test_a_tree_with_odd_names_keeps_bytes_modes_and_times(demo_env: RunningEmulator, tmp_path: Path) -> None:
    """-r -p up and back down: names with spaces, unicode and leading dashes, every byte, mode and mtime."""
    tree = tmp_path / "tree"
    make_tree(tree)
    remote = tmp_path / "remote"
    remote.mkdir()
    up = cp("-r", "-p", str(tree), f"{WEB1}:{remote}")
    assert up.returncode == 0, up.stderr.decode()
    assert tree_state(remote / "tree") == tree_state(tree)
    down = cp("-r", "-p", f"{WEB1}:{remote}/tree", str(tmp_path / "back"))
    assert down.returncode == 0, down.stderr.decode()
    assert tree_state(tmp_path / "back") == tree_state(tree)
    assert "copied 5 files" in down.stdout.decode()


def test_an_interrupted_download_continues_where_it_stopped(
    demo_env: RunningEmulator, tmp_path: Path
) -> None:
    """Killed mid-way, the same command again fetches only what is missing and ends with the same sha256."""
    remote = tmp_path / "remote.bin"
    remote.write_bytes(os.urandom(24 << 20))
    dest = tmp_path / "local.bin"
    record = tmp_path / "local.bin.part.json"
    child = subprocess.Popen(
        [sys.executable, "-m", "ssmux", "cp", "--aws-profile", "dev", "--parallel", "1", f"{WEB1}:{remote}",
         str(dest)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            try:
                if len(json.loads(record.read_text())["done"]) >= 2:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.01)
        assert child.poll() is None, "the copy ended before it could be interrupted"
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(10)
    assert not dest.exists()
    had = len(json.loads(record.read_text())["done"])
    again = cp(f"{WEB1}:{remote}", str(dest))
    assert again.returncode == 0, again.stderr.decode()
    assert sha(dest) == sha(remote)
    moved = float(again.stdout.decode().split(": ", 1)[1].split(" MB")[0])
    assert moved <= (24 - had) * 1.048576 + 0.06  # only the blocks the first run lacked (MB, rounded)
    assert not record.exists()
    assert not (tmp_path / "local.bin.part").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{web1}:{tmp}/nope", "{tmp}/x"], "no such file or directory on the target"),
        (["{tmp}/nope", "{web1}:{tmp}/x"], "no such file or directory: check the path"),
        (["{tmp}/a", "{tmp}/b"], "both sides are local"),
        (["no-such-target-xyz:/etc/hostname", "{tmp}/x"], "no-such-target-xyz"),
        (["{web1}:{tmp}", "{tmp}/x"], "is a directory: use -r"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    demo_env: RunningEmulator, tmp_path: Path, args: list[str], message: str
) -> None:
    """A missing file on either side, two local paths, an unknown target, a directory without -r."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "a").write_text("a")
    before = sorted(work.rglob("*"))
    result = cp(*(arg.format(web1=WEB1, tmp=work) for arg in args))
    lines = result.stderr.decode().splitlines()
    assert result.returncode != 0
    assert len(lines) == 1, lines
    assert lines[0].startswith("ssmux: error: ") and message in lines[0], lines[0]
    assert "Traceback" not in result.stderr.decode()
    assert sorted(work.rglob("*")) == before


def test_an_interrupted_upload_continues_from_the_part_on_the_target(
    demo_env: RunningEmulator, tmp_path: Path
) -> None:
    """What an interrupted upload left (NAME.part, a prefix of the file) is kept; a part that is not a
    prefix of this file is started over. Either way the result is exact."""
    local = tmp_path / "up.bin"
    local.write_bytes(os.urandom(3_000_000))
    remote = tmp_path / "remote"
    remote.mkdir()
    (remote / "up.bin.part").write_bytes(local.read_bytes()[:2_000_000])
    again = cp(str(local), f"{WEB1}:{remote}/up.bin")
    assert again.returncode == 0, again.stderr.decode()
    assert ": 1.0 MB in " in again.stdout.decode()
    assert sha(remote / "up.bin") == sha(local)
    (remote / "up.bin.part").write_bytes(b"not the same file")
    fresh = cp(str(local), f"{WEB1}:{remote}/up.bin")
    assert ": 3.0 MB in " in fresh.stdout.decode()
    assert sha(remote / "up.bin") == sha(local)
    assert sorted(p.name for p in remote.iterdir()) == ["up.bin"]
