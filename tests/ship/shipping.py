"""What the wheel ships, read from the files that decide it, and how to build and install it.

``setup.py`` holds the tables (mapped folders, data files, modules left behind) and
``pyproject.toml`` the dependency lists; the tests here read both rather than restating them, so a
change to either is checked against the code and the built wheel, not against a copy.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
from collections.abc import Mapping
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path
from types import ModuleType

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"ontraport_mcp"}
# development code (with the modules setup.py leaves out of the wheel)
DEV_FOLDERS = ("codegen", "tests", "bench")
PIP_ENV = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}


def setup_tables() -> ModuleType:
    """``setup.py`` as a module: its tables, without running setuptools (it builds only as
    ``__main__``)."""
    spec = importlib.util.spec_from_file_location("ontraport_mcp_setup", ROOT / "setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def project() -> dict[str, object]:
    table = pyproject()["project"]
    assert isinstance(table, dict)
    return table


def normalize(name: str) -> str:
    """A distribution name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(requirements: list[str]) -> set[str]:
    return {normalize(Requirement(text).name) for text in requirements}


def runtime_requirements() -> set[str]:
    dependencies = project()["dependencies"]
    assert isinstance(dependencies, list)
    return requirement_names(dependencies)


def optional_runtime_requirements() -> set[str]:
    """The extras a user may add to the runtime (``otlp``): imported lazily, with a clear error
    when absent."""
    extras = project()["optional-dependencies"]
    assert isinstance(extras, dict)
    return {
        name
        for extra, requirements in extras.items()
        if extra != "dev"
        for name in requirement_names(requirements)
    }


def dev_requirements() -> set[str]:
    extras = project()["optional-dependencies"]
    assert isinstance(extras, dict)
    return requirement_names(extras["dev"])


def shipped_modules() -> dict[str, Path]:
    """Module name -> source file of every module the wheel carries (setup.py's rules)."""
    tables = setup_tables()
    packages, package_dir = tables.find_packages()
    found: dict[str, Path] = {}
    for package in packages:
        root_package = max((p for p in package_dir if package.startswith(p)), key=len)
        folder = ROOT / package_dir[root_package]
        folder = folder.joinpath(*package[len(root_package) :].split(".")[1:])
        for path in sorted(folder.glob("*.py")):
            module = package if path.stem == "__init__" else f"{package}.{path.stem}"
            if module not in tables.NOT_SHIPPED:
                found[module] = path
    return found


def all_modules() -> dict[str, Path]:
    """Module name -> file for every module of the mapped folders, shipped or not."""
    tables = setup_tables()
    found: dict[str, Path] = {}
    for package, folder in tables.MAPPED.items():
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT / folder).with_suffix("").parts
            parts = rel[:-1] if rel[-1] == "__init__" else rel
            found[".".join((package, *parts))] = path
    return found


def _type_checking_only(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_modules(path: Path) -> set[str]:
    """Dotted names of the absolute imports a file makes at run time, lazy ones included
    (imports inside functions run too); ``if TYPE_CHECKING:`` blocks are left out."""
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _type_checking_only(node):
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            # ``from opentelemetry import trace``: the names may be submodules (which is what
            # tells apart the distributions of a namespace package)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), filename=str(path)))
    return names


def checkout_copy(dest: Path) -> Path:
    """The checkout's files as git sees them (tracked, plus new files not yet committed but not
    ignored) copied to ``dest``: no ``build/``, ``*.egg-info`` or caches can leak into a wheel
    built there.  Untracked-but-not-ignored files are included because the tree under review
    often has new modules not yet committed; ignored ones (builds, venvs, caches) never are."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        source = ROOT / rel
        if not source.is_file():  # listed in the index but deleted or renamed in the tree
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return dest


def build_wheel(source: Path, out: Path) -> Path:
    """``pip wheel --no-deps`` of ``source`` into ``out`` (build isolation: setuptools comes from
    PyPI at the version ``[build-system]`` asks for, not from this venv)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(source)],
        check=True,
        timeout=600,
        env={**os.environ, **PIP_ENV},
        cwd=out,
    )
    wheels = sorted(out.glob("ontraport_mcp-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def fresh_venv(home: Path) -> Path:
    """A new virtual environment with pip and nothing else; its ``bin`` folder."""
    venv.EnvBuilder(with_pip=True, clear=True).create(home)
    return home / "bin"


def pip_install(bin_dir: Path, *args: str) -> None:
    subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", *args],
        check=True,
        timeout=900,
        env={**os.environ, **PIP_ENV},
        cwd=bin_dir.parent,
    )


def installed_distributions(bin_dir: Path) -> set[str]:
    listed = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, **PIP_ENV},
    ).stdout
    return {normalize(line.split("==")[0]) for line in listed.splitlines() if "==" in line}


@cache
def _distributions() -> Mapping[str, list[str]]:
    return packages_distributions()


@functools.cache
def _owner(module: str, candidates: tuple[str, ...]) -> str | None:
    """The distribution that installs ``module`` when several share its top-level name (a
    namespace package such as ``opentelemetry``): the one whose files hold the module's file;
    None when ``module`` is no module with a file (a namespace, or a name inside a module)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or spec.origin in ("namespace", "built-in"):
        return None
    origin = Path(spec.origin).resolve()
    for name in candidates:
        dist = importlib.metadata.distribution(name)
        for file in dist.files or ():
            if Path(str(dist.locate_file(file))).resolve() == origin:
                return name
    return None


def third_party(
    files: list[Path], root: Path = ROOT, *, development: bool = False
) -> dict[str, set[str]]:
    """Distribution name -> the files (relative to ``root``) that import it; an import no
    installed distribution provides is reported under ``?name``.  ``development``: names of this
    repository's own folders and helper modules count as first-party too (never for shipped
    code: the wheel has none of them)."""
    found: dict[str, set[str]] = {}
    for path in files:
        for module in imported_modules(path):
            name = module.split(".")[0]
            if name in FIRST_PARTY or name in sys.stdlib_module_names:
                continue
            if development and _first_party_dev(name):
                continue
            dists = _distributions().get(name) or [f"?{name}"]
            if len(set(dists)) > 1:
                owner = _owner(module, tuple(sorted(set(dists))))
                if owner is None:
                    continue  # a namespace or a name: the statement's other entries decide
                dists = [owner]
            for dist in {normalize(d) for d in dists}:
                found.setdefault(dist, set()).add(str(path.relative_to(root)))
    return found


def _first_party_dev(name: str) -> bool:
    """A folder or module of this repository imported by name (``tests``, ``codegen``, or a
    helper a test puts on ``sys.path`` such as the conformance ``harness``)."""
    if (ROOT / name).is_dir() or (ROOT / f"{name}.py").is_file():
        return True
    return any(
        next((ROOT / folder).rglob(f"{name}.py"), None) is not None for folder in DEV_FOLDERS
    )
