"""The package layers of docs/architecture.md hold: no module imports a layer it may not.

Every module under ``src/ssmux`` is parsed with :mod:`ast` (nothing is imported), and every ``import x`` and
``from x import y`` in it is checked, at module level, inside functions and under ``TYPE_CHECKING`` alike.
Each ``ssmux`` module belongs to one layer (:data:`LAYERS`); a layer may import its own modules, the layers
:data:`MAY_IMPORT` lists, and the single modules :data:`MAY_IMPORT_MODULES` lists. Anything else is a
violation, reported as ``file:line -> module``. A module that belongs to no layer fails too: a new package
goes into this table and into the note together.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
NOTE = REPO / "docs" / "architecture.md"

#: Module name (or package prefix) -> layer. ``ssmux`` itself matches only exactly (``__version__``).
LAYERS: dict[str, str] = {
    "ssmux": "base",
    "ssmux.errors": "base",
    "ssmux.paths": "base",
    "ssmux.wswrite": "base",
    "ssmux.protocol": "protocol",
    "ssmux.core": "core",
    "ssmux.sso": "core",  # IAM Identity Center identity: core/aws.py signs with its role credentials
    "ssmux.sync": "sync",
    "ssmux.sessions": "sessions",
    "ssmux.emulator": "emulator",
    "ssmux.gui": "gui",
    "ssmux.cli": "cli",
    "ssmux.__main__": "cli",
}

#: Layer -> the other layers its modules may import (docs/architecture.md, "Layers").
MAY_IMPORT: dict[str, frozenset[str]] = {
    "base": frozenset(),
    "protocol": frozenset(),  # sans-I/O: not even ssmux.errors (it has its own protocol.errors)
    "core": frozenset({"base"}),
    "sync": frozenset({"base", "core"}),
    "sessions": frozenset({"base", "protocol", "core", "sync"}),
    "emulator": frozenset({"base", "protocol", "core"}),
    "gui": frozenset({"base", "protocol", "core", "sync", "sessions"}),
    "cli": frozenset({"base", "protocol", "core", "sync", "sessions", "emulator", "gui"}),
}

#: Layer -> single modules of another layer it may import besides (exceptions named in the note).
MAY_IMPORT_MODULES: dict[str, frozenset[str]] = {
    "emulator": frozenset({"ssmux.sessions.ptyproc"}),  # the emulated agent runs shells in real ptys
}


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    source: str  # the importing module, e.g. "ssmux.core.store"
    target: str  # the imported module, e.g. "ssmux.errors"


def layer_of(module: str) -> str | None:
    """The layer of an ``ssmux`` module, by its longest prefix in :data:`LAYERS`; None if it has none."""
    if module == "ssmux":
        return LAYERS["ssmux"]
    parts = module.split(".")
    for end in range(len(parts), 1, -1):
        layer = LAYERS.get(".".join(parts[:end]))
        if layer is not None:
            return layer
    return None


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(source: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = source.split(".") if is_package else source.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _is_module(name: str, root: Path) -> bool:
    path = root.joinpath(*name.split("."))
    return name in LAYERS or path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports_of(path: Path, root: Path) -> list[Import]:
    """Every ``ssmux`` import in the module at ``path`` (``root`` is the directory holding ``ssmux/``)."""
    source = module_name(path, root)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(source, path.name == "__init__.py", node)
            # ``from ssmux import gui`` imports the package ssmux.gui: judge the full name when it is a
            # module (on disk, or a layer's package), else the module the names come from.
            targets = [
                full if _is_module(full, root) else module
                for full in (f"{module}.{alias.name}" for alias in node.names)
            ]
        else:
            continue
        found.extend(
            Import(path, node.lineno, source, target)
            for target in targets
            if target == "ssmux" or target.startswith("ssmux.")
        )
    return found


def violations(root: Path) -> list[str]:
    """One line per forbidden import (or module without a layer) under ``root/ssmux``, in file order."""
    problems: list[str] = []
    for path in sorted((root / "ssmux").rglob("*.py")):
        shown = path.relative_to(root.parent)
        source = module_name(path, root)
        source_layer = layer_of(source)
        if source_layer is None:
            problems.append(f"{shown}: {source} belongs to no layer (add it to LAYERS and the note)")
            continue
        for item in imports_of(path, root):
            target_layer = layer_of(item.target)
            if target_layer is None:
                problems.append(f"{shown}:{item.line} -> {item.target} (a module of no layer)")
            elif (
                target_layer != source_layer
                and target_layer not in MAY_IMPORT[source_layer]
                and item.target not in MAY_IMPORT_MODULES.get(source_layer, frozenset())
            ):
                problems.append(
                    f"{shown}:{item.line} -> {item.target} ({source_layer} may not import {target_layer})"
                )
    return problems


def test_no_import_crosses_a_forbidden_layer() -> None:
    problems = violations(SRC)
    assert not problems, "imports that cross a layer docs/architecture.md forbids:\n" + "\n".join(problems)


def test_the_scan_sees_the_whole_tree() -> None:
    modules = {module_name(path, SRC) for path in (SRC / "ssmux").rglob("*.py")}
    assert {"ssmux.errors", "ssmux.protocol.messages", "ssmux.sessions.native", "ssmux.cli.main"} <= modules
    # Function-level imports are seen too: the CLI imports the app only when `ssmux ui` runs.
    targets = {item.target for item in imports_of(SRC / "ssmux" / "cli" / "ui.py", SRC)}
    assert any(target.startswith("ssmux.gui") for target in targets)


def test_the_rules_are_not_vacuous(tmp_path: Path) -> None:
    package = tmp_path / "src" / "ssmux"
    for sub in ("core", "protocol", "emulator", "sync", "newthing"):
        (package / sub).mkdir(parents=True)
        (package / sub / "__init__.py").write_text("")
    (package / "__init__.py").write_text("__version__ = '0'\n")
    (package / "sync" / "inventory.py").write_text("")
    (package / "core" / "bad.py").write_text(
        "from ssmux.errors import ConfigError\n"  # allowed
        "from ssmux.sync import inventory\n"  # core must not import sync
        "\n"
        "def later():\n"
        "    import ssmux.gui.app\n"  # function level
        "    from ssmux import cli\n"  # `from ssmux import <package>`
        "    from ..sessions import native\n"  # relative
    )
    (package / "protocol" / "bad.py").write_text("from ssmux.errors import SessionError\n")
    (package / "emulator" / "ok.py").write_text("from ssmux.sessions.ptyproc import PtyProcess\n")
    (package / "emulator" / "bad.py").write_text("from ssmux.sessions.native import NativeSession\n")
    (package / "sync" / "ok.py").write_text(
        "from ssmux.core.store import load_settings\nimport ssmux.paths\n"
    )

    problems = violations(tmp_path / "src")

    assert problems == [
        "src/ssmux/core/bad.py:2 -> ssmux.sync.inventory (core may not import sync)",
        "src/ssmux/core/bad.py:5 -> ssmux.gui.app (core may not import gui)",
        "src/ssmux/core/bad.py:6 -> ssmux.cli (core may not import cli)",
        "src/ssmux/core/bad.py:7 -> ssmux.sessions (core may not import sessions)",
        "src/ssmux/emulator/bad.py:1 -> ssmux.sessions.native (emulator may not import sessions)",
        "src/ssmux/newthing/__init__.py: ssmux.newthing belongs to no layer (add it to LAYERS and the note)",
        "src/ssmux/protocol/bad.py:1 -> ssmux.errors (protocol may not import base)",
    ]


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_every_layer_is_in_the_note(layer: str) -> None:
    assert f"`{layer}`" in NOTE.read_text(encoding="utf-8"), f"docs/architecture.md does not name `{layer}`"
