"""The runtime's import graph: no circles, and the core's imports of ``overrides/`` only shrink.

Read statically (every ``from .x import`` of ``src/ontraport_mcp``, typing-only ones included),
so a circle hidden behind ``TYPE_CHECKING`` or a function-level import counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "src" / "ontraport_mcp"

# Where the core still reaches into overrides/ (issue #15 moves these behind registered hooks);
# the list may only shrink: a new entry fails, and so does one that is no longer there.
CORE_IMPORTS_OF_OVERRIDES = {
    ("facade", "overrides.custom_objects"),
    ("manifest", "overrides.manifest_cap"),
    ("offers", "overrides.cleaner"),
    ("records", "overrides.cleaner"),
    ("registry", "overrides.cleaner"),
    ("server", "overrides.custom_objects"),
}


def _relative_imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(CORE.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        found[path.stem] = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        }
    return found


def test_the_core_modules_import_no_circle():
    graph = {m: {d.split(".")[0] for d in deps} for m, deps in _relative_imports().items()}
    graph = {m: deps & graph.keys() for m, deps in graph.items()}
    circles: set[tuple[str, ...]] = set()

    def walk(start: str, node: str, path: list[str]) -> None:
        for nxt in graph[node]:
            if nxt == start:
                circles.add(tuple(path))
            elif nxt not in path:
                walk(start, nxt, [*path, nxt])

    for module in graph:
        walk(module, module, [module])
    assert not circles, sorted(circles)


def test_the_core_reaches_into_overrides_only_where_listed():
    reached = {
        (module, dep)
        for module, deps in _relative_imports().items()
        for dep in deps
        if dep.startswith("overrides")
    }
    assert reached == CORE_IMPORTS_OF_OVERRIDES
