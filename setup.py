"""Packaging glue: one import package, ``ontraport_mcp``, assembled from three folders.

The repository keeps generated and hand-written code in top-level folders (``generated/``,
``overrides/``) so that a maintainer sees at a glance which is which.  An installed wheel must not
put bare ``generated``/``overrides`` modules on ``sys.path``, so they are mapped here to
``ontraport_mcp.generated`` and ``ontraport_mcp.overrides``; the spec folder ``openapi/`` maps to
``ontraport_mcp.openapi``.  Everything else is in ``pyproject.toml``.

The wheel carries what the runtime needs and nothing only tests or the generator need: the tables
below say which data files ship and which modules stay behind, each with its reason.
``tests/ship/`` reads these tables (this file only calls ``setup()`` when run as a build script)
to check the built wheel and the runtime's imports against them.
"""

from pathlib import Path

ROOT = Path(__file__).parent

# import package -> folder of the checkout
MAPPED = {
    "ontraport_mcp": "src/ontraport_mcp",
    "ontraport_mcp.generated": "generated",
    "ontraport_mcp.overrides": "overrides",
    "ontraport_mcp.openapi": "openapi",
}

# data files the runtime opens (importlib.resources), by package; nothing else ships as data:
# openapi/*.yaml are the generator's input, generated/*.json its change report and input hashes
PACKAGE_DATA = {
    "ontraport_mcp": ["py.typed"],  # the package is typed (PEP 561)
    "ontraport_mcp.openapi": ["objects_meta.json"],  # the sandbox's field catalog (catalog.py)
}

# modules of the mapped folders that do not ship, and why (none today: the test helpers live in
# tests/ — the server in a thread, the sandbox fixtures — and the generator in codegen/)
NOT_SHIPPED: dict[str, str] = {}


def find_packages() -> tuple[list[str], dict[str, str]]:
    """Every folder with an ``__init__.py`` under a mapped folder, as a dotted package name."""
    packages: list[str] = []
    package_dir: dict[str, str] = {}
    for name, folder in MAPPED.items():
        base = ROOT / folder
        package_dir[name] = folder
        for init in sorted(base.rglob("__init__.py")):
            rel = init.parent.relative_to(base)
            if "__pycache__" in rel.parts:
                continue
            packages.append(".".join((name, *rel.parts)) if rel.parts else name)
    return sorted(set(packages)), package_dir


def build() -> None:
    """Run setuptools with the tables above (imported here so reading the tables needs nothing)."""
    from setuptools import setup  # type: ignore[import-untyped]
    from setuptools.command.build_py import build_py  # type: ignore[import-untyped]

    class BuildPy(build_py):
        """build_py without the modules of ``NOT_SHIPPED`` (package_data cannot drop a module)."""

        def find_package_modules(
            self, package: str, package_dir: str
        ) -> list[tuple[str, str, str]]:
            found = super().find_package_modules(package, package_dir)
            return [entry for entry in found if f"{entry[0]}.{entry[1]}" not in NOT_SHIPPED]

    packages, package_dir = find_packages()
    setup(
        packages=packages,
        package_dir=package_dir,
        package_data=PACKAGE_DATA,
        cmdclass={"build_py": BuildPy},
    )


if __name__ == "__main__":  # setuptools runs this file as __main__; tests import the tables
    build()
