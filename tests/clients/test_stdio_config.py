"""stdio launched from the desktop-style JSON config that README.md shows, as a desktop client
launches it: the block right after the line ``<!-- stdio-config -->``, each server's command
found on PATH (the venv's ``bin`` first, where an installed console script lives), its ``env``
on top of the few variables an MCP client passes on, an empty working directory, and the Python
SDK's stdio client.  The server brings its own embedded sandbox (``--sandbox``)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from tests.clients.harness import (
    Compat,
    accept_elicitation,
    check_elicitation_transcript,
    check_transcript,
    elicitation_session,
    run_python_session,
    token_session,
)

pytestmark = pytest.mark.anyio
README = Path(__file__).parents[2] / "README.md"
MARKER = "<!-- stdio-config -->"
VENV_BIN = Path(sys.executable).parent


def config_block(readme: str) -> dict[str, Any]:
    """The JSON of the fenced ```json block that follows the marker line (blank lines allowed)."""
    lines = [line.rstrip() for line in readme.splitlines()]
    if MARKER not in lines:
        raise LookupError(f"README.md has no line {MARKER!r} (followed by a ```json block)")
    rest = lines[lines.index(MARKER) + 1 :]
    while rest and not rest[0]:
        rest.pop(0)
    if not rest or rest[0] != "```json" or "```" not in rest[1:]:
        raise LookupError(f"the line {MARKER!r} in README.md is not followed by a ```json block")
    return dict(json.loads("\n".join(rest[1 : rest.index("```", 1)])))


def launch(entry: dict[str, Any], cwd: Path) -> StdioServerParameters:
    """What a desktop client spawns for one ``mcpServers`` entry."""
    path = os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")])
    found = shutil.which(entry["command"], path=path)
    assert found == str(VENV_BIN / entry["command"]), f"{entry['command']} on PATH is {found}"
    env = {**entry.get("env", {}), "PATH": path}
    return StdioServerParameters(
        command=entry["command"], args=list(entry.get("args", [])), env=env, cwd=cwd
    )


@pytest.fixture(scope="module")
def servers() -> dict[str, dict[str, Any]]:
    try:
        config = config_block(README.read_text())
    except LookupError as missing:
        pytest.fail(f"{missing}: the stdio client test launches what README shows")
    assert config.get("mcpServers"), "README's stdio config lists no mcpServers"
    return dict(config["mcpServers"])


def test_the_config_launches_the_server_on_its_own_sandbox(servers: dict[str, Any]):
    entry = servers["ontraport"]
    assert entry["command"] == "ontraport-mcp"
    assert entry["args"][:3] == ["serve", "--transport", "stdio"] and "--sandbox" in entry["args"]


async def test_every_tool_class_and_the_token_flow(
    compat: Compat, servers: dict[str, Any], tmp_path: Path
):
    for name, entry in servers.items():
        workdir = tmp_path / name
        workdir.mkdir()
        async with Client(launch(entry, workdir), mode="auto") as client:
            session = token_session(f"stdio{name}", compat.nonce())
            transcript = await run_python_session(client, session, [])
        assert transcript.protocol_version == "2026-07-28"
        check_transcript(
            transcript,
            expected_tools=compat.expected_tools,
            bad_arguments_error=compat.bad_arguments_error,
        )
        assert transcript.control and transcript.control["threw"], "no output-schema check"
        assert list(workdir.iterdir()) == [], "the server wrote into its working directory"


async def test_elicitation_confirms_money_and_deletion(
    compat: Compat, servers: dict[str, Any], tmp_path: Path
):
    """The 2025-11-25 era over stdio: the server pushes ``elicitation/create`` to the client."""
    for name, entry in servers.items():
        seen: list[str] = []
        callback = accept_elicitation(seen)
        params = launch(entry, tmp_path)
        session = elicitation_session(f"stdio{name}", compat.nonce())
        async with Client(params, mode="legacy", elicitation_callback=callback) as client:
            transcript = await run_python_session(client, session, seen)
        assert transcript.protocol_version == "2025-11-25"
        check_elicitation_transcript(transcript, bad_arguments_error=compat.bad_arguments_error)
