"""A write that fails half-way leaves the previous file whole, every time, and no temp file behind.

The store writes a temp file and renames it over the old one. A store that wrote in place would pass every
test where writes succeed, and only a SIGKILL at the right moment would catch it; these tests make the
write fail on purpose instead.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from ssmux.core import store
from ssmux.core.models import Profile
from ssmux.errors import StoreError

# A profile whose description makes the new file about 60 KB, against an old file of a few hundred bytes.
BIG = Profile("big", "i-0123456789abcdef0", description="d" * 60_000)

DISK_FULL_WRITER = """
import resource, signal, sys
from ssmux.core import store
from ssmux.core.models import Profile
from ssmux.errors import StoreError

limit = int(sys.argv[1])
# Past the limit a write fails with EFBIG ("File too large") once the bytes below it are written, like a disk
# that fills up half-way; SIGXFSZ would kill the process instead, so it is ignored.
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
big = Profile("big", "i-0123456789abcdef0", description="d" * 60_000)
try:
    store.update_profiles(lambda book: book.with_profile(big))
except StoreError as error:
    print(f"StoreError: {error}")
    sys.exit(0)
print("written")
sys.exit(3)
"""


def seed_profiles(home: Path) -> bytes:
    """Write a small profiles file through the store; its bytes."""
    store.update_profiles(lambda book: book.with_profile(Profile("web", "i-12345678", description="old")))
    return (home / store.PROFILES_FILE).read_bytes()


def temp_files(home: Path) -> list[str]:
    return sorted(path.name for path in home.iterdir() if path.name.endswith(".tmp"))


def write_big_profile() -> None:
    store.update_profiles(lambda book: book.with_profile(BIG))


def write_settings() -> None:
    store.update_settings(lambda settings: replace(settings, sync_enabled=not settings.sync_enabled))


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE and SIGXFSZ are POSIX")
def test_disk_full_half_way_leaves_the_old_profiles_file(isolated_home: Path) -> None:
    """Writing stops with EFBIG after 20 KB of 60 KB (a file size limit): old file intact, no temp left."""
    before = seed_profiles(isolated_home)
    assert len(before) < 20_000  # the old file fits under the limit; only the new one is cut off
    result = subprocess.run(
        [sys.executable, "-c", DISK_FULL_WRITER, "20000"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("StoreError: cannot write ")
    assert str(isolated_home / store.PROFILES_FILE) in result.stdout and "File too large" in result.stdout
    assert (isolated_home / store.PROFILES_FILE).read_bytes() == before
    assert temp_files(isolated_home) == []
    assert [profile.name for profile in store.load_profiles().profiles] == ["web"]


@pytest.mark.parametrize("write", [write_big_profile, write_settings], ids=["profiles", "settings"])
@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_failure_before_the_rename_leaves_the_old_file(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, write: Callable[[], None], failing: str
) -> None:
    """The disk refuses the data (fsync: ENOSPC) or the rename fails: StoreError, old bytes kept, no temp."""
    seed_profiles(isolated_home)
    store.update_settings(lambda settings: replace(settings, default_region="eu-west-1"))
    files = {name: (isolated_home / name).read_bytes() for name in (store.PROFILES_FILE, store.SETTINGS_FILE)}

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC if failing == "fsync" else errno.EIO, "injected failure")

    with monkeypatch.context() as patch:
        if failing == "fsync":
            patch.setattr(os, "fsync", refuse)
        else:
            patch.setattr(os, "replace", refuse)
            patch.setattr(os, "rename", refuse)
        with pytest.raises(StoreError, match=r"cannot write .*injected failure"):
            write()
    assert {name: (isolated_home / name).read_bytes() for name in files} == files
    assert temp_files(isolated_home) == []
