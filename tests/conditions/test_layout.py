"""The condition package keeps its seams: each module says its job, the stages import only the
stages before them (so none can grow a circle), the caps live in ``limits`` alone, and the public
surface is the sorted ``__all__`` callers import from ``ontraport_mcp.domain.conditions``.

Read statically from the source, like ``tests/test_imports.py``: a function-level import counts.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import ontraport_mcp.domain.conditions as conditions

PACKAGE = Path(conditions.__file__).parent

# The stages in the order they may import each other (a module imports only earlier ones).
ORDER = ("limits", "fields", "lexer", "values", "flatten", "parse", "clauses", "render", "analysis")


def _modules() -> dict[str, ast.Module]:
    return {
        path.stem: ast.parse(path.read_text(), filename=str(path))
        for path in sorted(PACKAGE.glob("*.py"))
        if path.stem != "__init__"
    }


def _siblings(tree: ast.Module) -> set[str]:
    """The package modules a module imports (``from .x import ...``)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def test_the_stages_are_the_documented_ones_and_import_only_earlier_stages():
    modules = _modules()
    assert sorted(modules) == sorted(ORDER)
    for name, tree in modules.items():
        earlier = set(ORDER[: ORDER.index(name)])
        assert _siblings(tree) <= earlier, (name, _siblings(tree) - earlier)


def test_every_module_starts_with_a_docstring_saying_why_it_is_separate():
    for name, tree in _modules().items():
        doc = ast.get_docstring(tree) or ""
        assert "Separate because" in doc, name


def test_the_caps_are_defined_in_limits_only():
    cap = re.compile(r"^MAX_[A-Z_]+$")
    where: dict[str, list[str]] = {}
    for name, tree in _modules().items():
        for node in tree.body:
            targets = (
                [node.target]
                if isinstance(node, ast.AnnAssign)
                else node.targets
                if isinstance(node, ast.Assign)
                else []
            )
            for target in targets:
                if isinstance(target, ast.Name) and cap.match(target.id):
                    where.setdefault(target.id, []).append(name)
    assert where and all(places == ["limits"] for places in where.values()), where
    assert {"MAX_TOKENS", "MAX_JSON_ITEMS", "MAX_JSON_LENGTH", "MAX_CLAUSES"} <= set(where)


def test_the_public_surface_is_sorted_and_importable():
    # constants, then classes, then functions, each group sorted (ruff's isort-style order)
    order = sorted(conditions.__all__, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    assert conditions.__all__ == order
    for name in conditions.__all__:
        assert getattr(conditions, name) is not None, name
    assert conditions.MAX_TOKENS == 1_000
    assert conditions.MAX_JSON_ITEMS == 2_000
    assert conditions.MAX_JSON_LENGTH == 200_000
