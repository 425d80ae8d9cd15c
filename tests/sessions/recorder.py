"""A stand-in executable that records how it was called: the contract under test for the plugin and aws CLI.

``make_recorder(folder, name)`` writes an executable ``name`` into ``folder`` that appends one JSON line
``{"argv": [...], "env": {...}}`` to ``folder/<name>.calls.jsonl`` each time it runs, answers ``--version``
with the ``RECORDER_VERSION`` environment variable (default ``1.2.650.0``), and exits with
``RECORDER_STATUS`` (default 0).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

_SCRIPT = """#!{python}
import json, os, sys
from pathlib import Path
here = Path(__file__).resolve().parent
name = Path(__file__).name
if sys.argv[1:] == ["--version"]:
    print(os.environ.get("RECORDER_VERSION", "1.2.650.0"))
    sys.exit(0)
with open(here / (name + ".calls.jsonl"), "a", encoding="utf-8") as calls:
    calls.write(json.dumps({{"argv": sys.argv, "env": dict(os.environ)}}) + "\\n")
sys.exit(int(os.environ.get("RECORDER_STATUS", "0")))
"""


def make_recorder(folder: Path, name: str) -> Path:
    """Write the recording executable ``folder/name`` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(_SCRIPT.format(python=sys.executable))
    path.chmod(0o755)
    return path


def calls(path: Path) -> list[dict[str, Any]]:
    """The recorded calls of the executable at ``path``, oldest first."""
    log = path.parent / (path.name + ".calls.jsonl")
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]
