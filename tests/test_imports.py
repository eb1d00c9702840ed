"""The runtime's import graph: no circles, and no import of ``overrides/`` from the core.

Read statically (every import of ``src/ontraport_mcp``, relative or absolute, typing-only ones
included), so a circle hidden behind ``TYPE_CHECKING`` or a function-level import counts too.
Modules are named by their dotted path below ``ontraport_mcp`` (``transport.server``).
"""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "src" / "ontraport_mcp"


def _module_name(path: Path) -> str:
    parts = path.relative_to(CORE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Module -> the ``ontraport_mcp`` modules it imports (dotted below the package)."""
    found: dict[str, set[str]] = {}
    for path in sorted(CORE.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        name = _module_name(path)
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        package = [p for p in package if p]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - (node.level - 1)]
                target = [*base, *(node.module.split(".") if node.module else [])]
                if node.module:
                    deps.add(".".join(target))
                else:  # from . import a, b: each name may be a module
                    deps.update(".".join([*target, alias.name]) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "ontraport_mcp."
            ):
                deps.add(node.module.removeprefix("ontraport_mcp."))  # type: ignore[union-attr]
        found[name] = {d for d in deps if d}
    return found


def test_the_core_modules_import_no_circle():
    imports = _imports()
    modules = set(imports)

    def owner(dep: str) -> str | None:
        """The module of ``dep`` (which may name an object inside a module)."""
        while dep and dep not in modules:
            dep = dep.rpartition(".")[0]
        return dep or None

    graph = {m: {o for d in deps if (o := owner(d)) and o != m} for m, deps in imports.items()}
    # a package's __init__ re-exporting its modules is not a circle with them
    graph = {m: {d for d in deps if not d.startswith(m + ".")} for m, deps in graph.items()}
    circles: set[tuple[str, ...]] = set()

    def walk(start: str, node: str, path: list[str]) -> None:
        for nxt in graph.get(node, ()):
            if nxt == start:
                circles.add(tuple(path))
            elif nxt not in path:
                walk(start, nxt, [*path, nxt])

    for module in graph:
        walk(module, module, [module])
    assert not circles, sorted(circles)


def test_the_core_never_imports_overrides():
    """overrides/ registers itself (``runtime.registry``: @override, @custom_object,
    @provides); the core reaches it only through those registrations."""
    reached = {
        (module, dep)
        for module, deps in _imports().items()
        for dep in deps
        if dep == "overrides" or dep.startswith("overrides.")
    }
    assert reached == set()
