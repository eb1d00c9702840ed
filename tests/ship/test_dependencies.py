"""``[project].dependencies`` is exactly what the shipped code imports; the dev extra covers the
rest.

The shipped modules are the ones ``setup.py`` puts in the wheel; their imports (lazy ones
included) are mapped to distributions with ``importlib.metadata.packages_distributions()`` of this
venv.  A runtime dependency nothing imports is dead weight on every install (``python-dateutil``
was one); an import no requirement covers breaks a fresh install (``jinja2`` for codegen was one).
"""

from __future__ import annotations

from tests.ship.shipping import (
    DEV_FOLDERS,
    ROOT,
    all_modules,
    dev_requirements,
    optional_runtime_requirements,
    runtime_requirements,
    setup_tables,
    shipped_modules,
    third_party,
)

# runtime requirements the code never names in an import, and why they are needed anyway
LOADED_BY_NAME = {
    "uvloop": "uvicorn's event loop, chosen by name (loop='auto') when installed",
    "sniffio": "httpcore imports it on every request and does not cache a failed import",
}


def test_runtime_dependencies_are_exactly_the_runtime_imports() -> None:
    imported = third_party(list(shipped_modules().values()))
    unknown = {dist: files for dist, files in imported.items() if dist.startswith("?")}
    assert not unknown, f"imported by the runtime but installed by nothing: {unknown}"

    declared = runtime_requirements()
    optional = optional_runtime_requirements()
    missing = {
        dist: sorted(files) for dist, files in imported.items() if dist not in declared | optional
    }
    assert not missing, f"imported by the runtime, not in [project].dependencies: {missing}"

    assert optional <= set(imported), "an extra that nothing imports"
    unused = declared - set(imported) - set(LOADED_BY_NAME)
    assert not unused, f"in [project].dependencies but imported by nothing that ships: {unused}"
    assert set(LOADED_BY_NAME) <= declared
    stale = set(LOADED_BY_NAME) & set(imported)
    assert not stale, f"imported now, drop from LOADED_BY_NAME: {stale}"


def test_development_code_imports_only_declared_packages() -> None:
    tables = setup_tables()
    files = [p for folder in DEV_FOLDERS for p in (ROOT / folder).rglob("*.py")]
    files = [p for p in files if "fixtures" not in p.relative_to(ROOT).parts]
    files += [p for m, p in all_modules().items() if m in tables.NOT_SHIPPED]
    imported = third_party(files, development=True)
    declared = runtime_requirements() | optional_runtime_requirements() | dev_requirements()
    missing = {dist: sorted(found)[:3] for dist, found in imported.items() if dist not in declared}
    assert not missing, f"imported by development code, in neither list: {missing}"


def test_the_modules_left_out_exist() -> None:
    """An entry of NOT_SHIPPED that names no module would exclude nothing, silently."""
    tables = setup_tables()
    assert set(tables.NOT_SHIPPED) <= set(all_modules())
    assert not set(tables.NOT_SHIPPED) & set(shipped_modules())
