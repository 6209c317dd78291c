"""pyproject.toml declares what the code imports; installs apply constraints.txt; PEP 639 licence."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
LAYERS = ("labelops", "spiders", "tasks", "flows", "app")
PYPROJECT = tomllib.loads((PROJECT / "pyproject.toml").read_text())


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0]).lower()


def third_party_imports() -> dict[str, set[str]]:
    """Top-level module → the files importing it, for every import in the five layers (those inside
    functions too) that is neither the standard library nor labelops' own."""
    found: dict[str, set[str]] = {}
    for layer in LAYERS:
        for path in (PROJECT / layer).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in LAYERS and top not in sys.stdlib_module_names:
                        found.setdefault(top, set()).add(str(path.relative_to(PROJECT)))
    return found


def test_every_imported_distribution_is_declared():
    declared = {_name(requirement) for requirement in PYPROJECT["project"]["dependencies"]}
    distributions = packages_distributions()
    missing = {}
    for module, files in third_party_imports().items():
        names = {_name(d) for d in distributions.get(module, [])}
        if not names & declared:
            missing[module] = (sorted(names), sorted(files)[:3])
    assert not missing, f"imported but not in [project] dependencies: {missing}"


def test_torch_is_a_range_and_installs_apply_the_constraints():
    torch = [r for r in PYPROJECT["project"]["dependencies"] if _name(r) == "torch"]
    assert torch and "==" not in torch[0], torch
    constraints = (PROJECT / "constraints.txt").read_text()
    assert re.search(r"^torch==\d+\.\d+\.\d+\s*$", constraints, re.M)
    install = [line for line in (PROJECT / "Makefile").read_text().splitlines() if "pip install" in line and "-e" in line]
    assert install and all("-c constraints.txt" in line for line in install), install


def test_the_licence_is_an_spdx_expression_with_its_file():
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    assert all((PROJECT / name).is_file() for name in PYPROJECT["project"]["license-files"])
    assert not any(c.startswith("License ::") for c in PYPROJECT["project"].get("classifiers", []))
