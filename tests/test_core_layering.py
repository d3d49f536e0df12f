"""Layering: the core (``bench/``) imports no outer room. Systems, test sets and metrics reach it
through the registries (entry points declared in pyproject.toml); reports are rendered by the
application layer, the CLI entry module, which alone may import them."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[1]
OUTER = {"systems", "testsets", "reports"}
APPLICATION = {"bench/cli.py"}
"""The CLI entry module: the application layer above ``bench`` and ``reports``."""


def imported_packages(path: Path) -> Iterator[tuple[str, int]]:
    """(top-level package, line) of every import in a module, at any depth (a function's lazy import
    counts), including ``importlib.import_module("...")`` with a literal name."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from ((alias.name.split(".")[0], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno
        elif (isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name))
              and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            yield node.args[0].value.split(".")[0], node.lineno


def test_core_imports_no_outer_room() -> None:
    offenders = []
    for path in sorted((REPO / "bench").rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        if relative not in APPLICATION:
            offenders += [f"{relative}:{line} imports {package}" for package, line in imported_packages(path)
                          if package in OUTER]
    assert offenders == []


def test_the_check_sees_every_kind_of_import(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text("import reports.tables\n"
                      "def build():\n"
                      "    from systems.sanity import Oracle\n"
                      "    return importlib.import_module('testsets.dns')\n"
                      "from . import sibling\n")
    assert sorted(package for package, _ in imported_packages(module)) == ["reports", "systems", "testsets"]
