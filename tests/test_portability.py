"""ssmux imports on every platform: no module but the platform ones needs a POSIX- or Windows-only import.

Each check imports every ``ssmux`` module in a fresh interpreter where the other platform's modules are
missing (as they are there), and lists the modules that fail. Only the modules made for one platform, and
imported lazily on it, may fail.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_SCRIPT = """
import importlib, json, pkgutil, sys

missing = set(sys.argv[1].split(","))


class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in missing:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


sys.meta_path.insert(0, Missing())
import ssmux

failed = {}
for info in pkgutil.walk_packages(ssmux.__path__, "ssmux."):
    try:
        importlib.import_module(info.name)
    except Exception as error:
        failed[info.name] = repr(error)
print(json.dumps(failed))
"""

POSIX_ONLY = ("termios", "fcntl", "pty", "tty", "resource", "grp", "pwd")
WINDOWS_ONLY = ("msvcrt", "winreg", "_winapi", "_overlapped", "winpty")


def failing_imports(missing: tuple[str, ...]) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, ",".join(missing)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.skipif(sys.platform == "win32", reason="the POSIX modules are missing there for real")
def test_everything_but_the_posix_modules_imports_without_posix_modules() -> None:
    assert set(failing_imports(POSIX_ONLY)) == {"ssmux.sessions.platform._posix", "ssmux.sessions.ptyproc"}


def test_everything_imports_without_windows_modules() -> None:
    assert failing_imports(WINDOWS_ONLY) == {}
