"""SLOW (a minute or two, PyPI needed): the wheel as a user gets it, with no checkout.

The checkout's files as git lists them (tracked, and new ones not ignored: no build output,
egg-info or cache leaks in) are copied to a temporary folder and built into a wheel; the wheel must hold exactly the modules and
data files ``setup.py`` says ship.  A fresh virtual environment then installs it with its runtime
dependencies from PyPI, and from an empty folder, with a PATH of that environment and system
folders only:

* ``ontraport-mcp serve --sandbox --port N`` answers ``/health`` and a real ``tools/list`` over
  streamable HTTP (the Python SDK's client, from this venv);
* ``ontraport-mcp`` launched over stdio with the arguments ``server.json`` gives the MCP Registry
  (plus ``--sandbox``) lists tools (the SDK's stdio client launching the installed script).

Every process started here is stopped by its own PID.
"""

from __future__ import annotations

import ast
import json
import os
import re
import selectors
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import psutil
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from packaging.requirements import Requirement

from bench.procs import Child
from ontraport_mcp.sandbox.testing import free_port
from tests.ship.shipping import (
    ROOT,
    build_wheel,
    checkout_copy,
    dev_requirements,
    fresh_venv,
    installed_distributions,
    normalize,
    optional_runtime_requirements,
    pip_install,
    runtime_requirements,
    setup_tables,
    shipped_modules,
    third_party,
)

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(1200)]

# development requirements a runtime dependency brings along all the same, and which one does
ALSO_RUNTIME = {
    "packaging": "limits",
    "httpx2": "mcp",
}
STARTUP_S = 60.0


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = checkout_copy(tmp_path_factory.mktemp("checkout"))
    return build_wheel(source, tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def unpacked(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder)
    return folder


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel and its runtime dependencies only; its ``bin`` folder."""
    bin_dir = fresh_venv(tmp_path_factory.mktemp("runtime") / "venv")
    pip_install(bin_dir, str(wheel))
    return bin_dir


def runtime_env(bin_dir: Path) -> dict[str, str]:
    """What a user's shell gives the installed command: its venv's ``bin`` first, then system
    folders only; no ``ONTRAPORT_*``, venv or Python path variable of the test run."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ONTRAPORT_", "VIRTUAL_ENV", "PYTHON"))
    }
    return {**keep, "PATH": os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])}


def expected_members() -> set[str]:
    """The wheel paths of every module and data file ``setup.py`` ships."""
    tables = setup_tables()
    members = {
        module.replace(".", "/") + ("/__init__.py" if path.name == "__init__.py" else ".py")
        for module, path in shipped_modules().items()
    }
    for package, patterns in tables.PACKAGE_DATA.items():
        top = max((p for p in tables.MAPPED if package.startswith(p)), key=len)
        folder = ROOT / tables.MAPPED[top] / package[len(top) :].lstrip(".").replace(".", "/")
        found = {path.name for pattern in patterns for path in folder.glob(pattern)}
        members |= {f"{package.replace('.', '/')}/{name}" for name in found}
    return members


def test_the_wheel_holds_exactly_what_ships(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = {n for n in archive.namelist() if ".dist-info/" not in n}
        metadata = archive.read(next(n for n in archive.namelist() if n.endswith("/METADATA")))
    expected = expected_members()
    assert names == expected, {"unexpected": names - expected, "missing": expected - names}
    for left_out in setup_tables().NOT_SHIPPED:
        assert left_out.replace(".", "/") + ".py" not in names
    assert not any(
        n.startswith(("codegen/", "tests/", "bench/")) or n.endswith(".j2") for n in names
    )
    requires = [
        Requirement(line.split(":", 1)[1])
        for line in metadata.decode().splitlines()
        if line.startswith("Requires-Dist:")
    ]
    runtime = {normalize(r.name) for r in requires if "extra" not in str(r.marker or "")}
    assert runtime == runtime_requirements()


def test_every_data_file_in_the_wheel_is_opened_by_the_runtime(unpacked: Path) -> None:
    """Read from the built wheel: each data file's name is a string the shipped code uses (not
    a docstring or comment), so spec sources and generator reports stay out."""
    data = [
        p
        for p in unpacked.rglob("*")
        if p.is_file() and p.suffix != ".py" and ".dist-info" not in str(p) and p.name != "py.typed"
    ]
    assert data, "the wheel has no data file: the sandbox's objects_meta.json is missing"
    literals = set().union(*(string_literals(p) for p in unpacked.rglob("*.py")))
    unused = [
        str(p.relative_to(unpacked))
        for p in data
        if not any(text == p.name or text.endswith("/" + p.name) for text in literals)
    ]
    assert not unused, f"data files no shipped code names: {unused}"


def string_literals(path: Path) -> set[str]:
    """The string constants of a module, docstrings left out."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    }


def test_every_import_in_the_wheel_is_a_declared_dependency(unpacked: Path) -> None:
    """Read from the built wheel itself, not from setup.py: a module that should have stayed
    behind (the pytest plugin imports pytest, the test server httpx2) fails here."""
    imported = third_party(sorted(unpacked.rglob("*.py")), unpacked)
    declared = runtime_requirements() | optional_runtime_requirements()  # extras: lazy imports
    undeclared = {d: sorted(f) for d, f in imported.items() if d not in declared}
    assert not undeclared, f"imported in the wheel, not a runtime dependency: {undeclared}"


def test_the_install_brings_no_development_package(installed: Path) -> None:
    present = installed_distributions(installed)
    assert "ontraport-mcp" in present
    dev_only = dev_requirements() - runtime_requirements()
    assert set(ALSO_RUNTIME.values()) <= present
    leaked = (present & dev_only) - set(ALSO_RUNTIME)
    assert not leaked, f"development packages in a runtime install: {sorted(leaked)}"


def test_the_package_runs_from_the_venv_not_a_checkout(installed: Path, tmp_path: Path) -> None:
    found = subprocess.run(
        [str(installed / "python"), "-c", "import ontraport_mcp; print(ontraport_mcp.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=runtime_env(installed),
        cwd=tmp_path,
    ).stdout.strip()
    assert Path(found).is_relative_to(installed.parent), found
    assert not Path(found).is_relative_to(ROOT)


@pytest.fixture
def http_server(
    installed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """``ontraport-mcp serve --sandbox`` on a free port, run from an empty folder; its banner's
    URL and sandbox headers.  Stopped by its PID (its process group) whatever the test did."""
    for name in list(os.environ):
        if name.startswith(("ONTRAPORT_", "VIRTUAL_ENV", "PYTHON")):
            monkeypatch.delenv(name)
    port = free_port()
    argv = [str(installed / "ontraport-mcp"), "serve", "--sandbox", "--port", str(port)]
    server = Child("ontraport-mcp", argv, env=runtime_env(installed), cwd=tmp_path)
    try:
        banner = read_until(server, ("serving MCP at ", "Sandbox credentials"), STARTUP_S)
        url = re.search(r"serving MCP at (\S+)", banner)
        keys = dict(re.findall(r"(Api-Key|Api-Appid)=(\S+)", banner))
        assert url and set(keys) == {"Api-Key", "Api-Appid"}, banner + server.stderr_tail()
        assert url.group(1) == f"http://127.0.0.1:{port}/mcp"
        yield {"url": url.group(1), "root": f"http://127.0.0.1:{port}", "headers": keys}
    finally:
        server.stop()


def read_until(child: Child, wanted: tuple[str, ...], timeout: float) -> str:
    """The child's stdout up to the moment every ``wanted`` text has appeared (bounded).  Reads
    the pipe's descriptor directly: a buffered ``readline`` can hold the next lines where
    ``select`` does not see them."""
    stdout = child.popen.stdout
    assert stdout is not None
    text = ""
    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            if not selector.select(remaining):
                continue
            chunk = os.read(stdout.fileno(), 65536)
            if not chunk:
                break
            text += chunk.decode(errors="replace")
            if all(w in text for w in wanted):
                return text
    raise AssertionError(f"no {wanted} within {timeout}s: {text!r}\n{child.stderr_tail()}")


async def test_serve_over_http_from_an_empty_folder(http_server: dict[str, Any]) -> None:
    health = httpx.get(http_server["root"] + "/health", timeout=10)
    assert health.status_code == 200, health.text
    timeout = httpx2.Timeout(30, read=60)
    async with httpx2.AsyncClient(headers=http_server["headers"], timeout=timeout) as http:
        async with Client(streamable_http_client(http_server["url"], http_client=http)) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert {"get_objects", "log_offline_purchase"} <= names
            result = await client.call_tool("get_objects", {"object_type_id": 0, "range": 1})
            assert not result.is_error, result


def registry_stdio_arguments() -> list[str]:
    """The command line ``server.json``'s PyPI package gives a registry client."""
    package = json.loads((ROOT / "server.json").read_text())["packages"][0]
    args: list[str] = []
    for argument in package["packageArguments"]:
        if argument["type"] == "named":
            args.append(argument["name"])
        args.append(argument["value"])
    return args


async def test_stdio_with_the_registry_arguments(installed: Path, tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=str(installed / "ontraport-mcp"),
        args=[*registry_stdio_arguments(), "--sandbox"],
        env=runtime_env(installed),
        cwd=str(tmp_path),
    )
    async with Client(stdio_client(params)) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"get_objects", "log_offline_purchase"} <= names
        result = await client.call_tool("get_objects", {"object_type_id": 0, "range": 1})
        assert not result.is_error, result
    # the SDK's stdio client stops the server it launched: nothing of ours outlives the session
    assert not children_running(installed)


def children_running(bin_dir: Path) -> list[int]:
    """PIDs of this test process's descendants started from ``bin_dir``."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if str(bin_dir) in " ".join(child.cmdline()):
                found.append(child.pid)
        except psutil.Error:  # exited meanwhile
            continue
    return found
