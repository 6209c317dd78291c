"""Imports point one way: ``labelops/`` (the library) ← ``spiders/`` ← ``tasks/`` ← ``flows/`` ← ``app/``
(the entry points; ``deployments/`` holds their specs). No module imports a layer above its own, not
even inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
LAYERS = ["labelops", "spiders", "tasks", "flows", "app", "deployments"]  # bottom to top


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in ``tree``, wherever it stands, and of every
    ``importlib.import_module("...")`` / ``__import__("...")`` with a literal name."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("import_module", "__import__"):
                found.append((node.lineno, node.args[0].value))
    return found


LIBRARY_MODULES = sorted(PROJECT.glob("labelops/**/*.py"))
LAYERED_MODULES = sorted(path for layer in LAYERS[:-1] for path in PROJECT.glob(f"{layer}/**/*.py"))


def test_the_walk_sees_the_library_and_finds_imports_inside_functions():
    assert len(LIBRARY_MODULES) > 50
    tree = ast.parse("def f():\n    from flows.train import train\n    import importlib\n"
                     "    importlib.import_module('tasks.ingest')\n")
    assert [module for _, module in imported_modules(tree)] == ["flows.train", "importlib", "tasks.ingest"]


@pytest.mark.parametrize("path", LAYERED_MODULES, ids=lambda path: str(path.relative_to(PROJECT)))
def test_no_module_imports_a_layer_above_its_own(path: Path):
    layer = path.relative_to(PROJECT).parts[0]
    above = set(LAYERS[LAYERS.index(layer) + 1:])
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    upward = [f"line {line}: {module}" for line, module in imported_modules(tree) if module.split(".", 1)[0] in above]
    assert not upward, f"{path.relative_to(PROJECT)} ({layer}) imports a layer above it: {upward}"
