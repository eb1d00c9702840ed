"""Packaging glue: one import package, ``ontraport_mcp``, assembled from three folders.

The repository keeps generated and hand-written code in top-level folders (``generated/``,
``overrides/``) so that a maintainer sees at a glance which is which.  An installed wheel must not
put bare ``generated``/``overrides`` modules on ``sys.path``, so they are mapped here to
``ontraport_mcp.generated`` and ``ontraport_mcp.overrides``; the spec folder ``openapi/`` ships as
package data under ``ontraport_mcp.openapi``.  Everything else is in ``pyproject.toml``.
"""

from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).parent
MAPPED = {
    "ontraport_mcp": "src/ontraport_mcp",
    "ontraport_mcp.generated": "generated",
    "ontraport_mcp.overrides": "overrides",
    "ontraport_mcp.openapi": "openapi",
}


def _packages() -> tuple[list[str], dict[str, str]]:
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


PACKAGES, PACKAGE_DIR = _packages()

setup(
    packages=PACKAGES,
    package_dir=PACKAGE_DIR,
    package_data={
        "ontraport_mcp.openapi": ["*.yaml", "*.json"],
        "ontraport_mcp.generated": ["*.json"],
        "ontraport_mcp": ["py.typed"],
    },
)
