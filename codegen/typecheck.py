"""``make typecheck``: mypy over the runtime, the generated code, the overrides and the generator.

``generated/`` and ``overrides/`` are imported as ``ontraport_mcp.generated`` and
``ontraport_mcp.overrides`` (``setup.py`` maps the folders into the package), a layout mypy cannot
discover from the file tree alone.  So the sources are handed to mypy here, each file with the
module name it has when installed (the mapping is read from ``setup.py``, its one home), and
errors are reported at the real file and line: ``overrides/query.py:202: error: ...``.

``make generate`` runs the same check on ``generated/`` and ``overrides/`` after writing, so a
spec change that breaks an override fails there, naming the override's file, line and tools.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXTRA = {"codegen": "codegen"}  # checked too, under their own names


def package_map(root: Path = ROOT) -> dict[str, str]:
    """Import package -> folder, as ``setup.py``'s ``MAPPED`` declares it."""
    tree = ast.parse((root / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "MAPPED" for t in node.targets
        ):
            mapped = ast.literal_eval(node.value)
            return {k: v for k, v in mapped.items() if (root / v).is_dir()}
    raise RuntimeError("setup.py has no MAPPED table")


def sources(root: Path, packages: dict[str, str]) -> list[tuple[str, str]]:
    """(path relative to root, module name) of every Python file of the mapped folders."""
    found: list[tuple[str, str]] = []
    for package, folder in packages.items():
        base = root / folder  # an absolute folder stays as it is
        for path in sorted(base.rglob("*.py")):
            rel = path.relative_to(base)
            if "__pycache__" in rel.parts or "templates" in rel.parts:
                continue
            parts = rel.with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if not all(p.isidentifier() for p in parts):
                continue
            shown = path.relative_to(root) if path.is_relative_to(root) else path
            found.append((str(shown), ".".join((package, *parts))))
    return found


def check(
    root: Path = ROOT, *, only: tuple[str, ...] = (), generated: Path | None = None
) -> list[str]:
    """mypy's error lines (empty when clean).  ``only``: report just files under these
    folders (the whole program is still analysed, so cross-module types are right).
    ``generated``: check this folder as ``ontraport_mcp.generated`` instead of the committed
    one (``make generate`` checks what it is about to write)."""
    from mypy import build
    from mypy.main import process_options
    from mypy.modulefinder import BuildSource

    packages = {**package_map(root), **EXTRA}
    if generated is not None:
        packages["ontraport_mcp.generated"] = str(generated)
    pairs = sources(root, packages)
    # the options from pyproject.toml; the file argument only satisfies the parser (the sources
    # are the list built here)
    _, options = process_options(
        ["--config-file", str(root / "pyproject.toml"), str(root / "setup.py")]
    )
    build_sources = [BuildSource(str(root / path), module) for path, module in pairs]
    options.cache_dir = str(root / ".mypy_cache")
    try:
        result = build.build(build_sources, options)
        messages = result.errors
    except Exception as exc:  # noqa: BLE001 - mypy's CompileError carries its messages
        messages = list(getattr(exc, "messages", [str(exc)]))
    lines = [_relative(line, root) for line in messages]
    if only:
        lines = [line for line in lines if line.startswith(only)]
    return lines


def _relative(line: str, root: Path) -> str:
    prefix = f"{root}/"
    return line[len(prefix) :] if line.startswith(prefix) else line


ERROR_AT = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error:")


def main(argv: list[str] | None = None) -> int:
    lines = check()
    for line in lines:
        print(line)
    errors = sum(1 for line in lines if ERROR_AT.match(line))
    if errors:
        print(f"make typecheck: {errors} error(s)", file=sys.stderr)
        return 1
    print(f"make typecheck: no issues in {len(sources(ROOT, {**package_map(), **EXTRA}))} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
