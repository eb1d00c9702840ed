"""Schema snapshots of every listed tool, and the invariants of the listing as a whole.

Each tool exactly as a client reads it in ``tools/list`` (name, title, description, inputSchema,
outputSchema, annotations) is kept in ``tests/snapshots/tools/<name>.json``, custom-object tools of
the sandbox account included, so that any change to what agents see shows up in review as the
diff of one small file.  After an intended change, rewrite them (stale files are removed)::

    UPDATE_TOOL_SNAPSHOTS=1 .venv/bin/pytest tests/test_tool_snapshots.py

Both tests read one live listing: an in-process server against the session sandbox, through the
MCP Python client, as an agent would.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import pytest

from ontraport_mcp.generated.tools import TOOLS
from ontraport_mcp.runtime.manifest import NOTE_TOOL
from ontraport_mcp.runtime.schema_rules import name_problems, schema_problems
from ontraport_mcp.runtime.toolspec import CLASS_ANNOTATIONS
from ontraport_mcp.sandbox.testing import SandboxServer
from tests.server_thread import ServerThread, connect
from tests.snapshots.catalog_facts import CUSTOM_TYPES, STATIC_TOOLS, TOOLS_PER_OBJECT

SNAPSHOTS = Path(__file__).parent / "snapshots" / "tools"
UPDATE = os.environ.get("UPDATE_TOOL_SNAPSHOTS") == "1"
HOW_TO_UPDATE = (
    "If the change is intended: UPDATE_TOOL_SNAPSHOTS=1 pytest tests/test_tool_snapshots.py"
)
MAX_PAGES = 50  # tools/list pages read at most (the server lists everything on one page today)

PORTABLE_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # what every MCP client accepts
DESCRIPTION_LENGTH = range(81, 1201)  # long enough to say what and when, short enough to read
HINTS = {"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"}

# (tool class, idempotent) of the tools the server makes per account; static ones come from TOOLS.
CUSTOM_KIND_CLASSES: dict[str, tuple[str, bool]] = {
    "get": ("R", True),
    "search": ("R", True),
    "create": ("W", False),
    "update": ("W", True),
}
NOTE_CLASS = ("R", True)
STATIC_CLASSES = {t.name: (t.tool_class, t.idempotent) for t in TOOLS}


async def _list_tools(url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = []
    cursor: str | None = None
    async with connect(url, headers) as client:
        for _ in range(MAX_PAGES):
            page = await client.list_tools(cursor=cursor)
            tools += [
                t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in page.tools
            ]
            cursor = page.next_cursor
            if not cursor:
                return tools
    raise AssertionError(f"tools/list still had more pages after {MAX_PAGES}")


@pytest.fixture(scope="module")
def listed(mcp_server: ServerThread, sandbox: SandboxServer) -> list[dict[str, Any]]:
    """The live listing of the sandbox account, once for this module."""
    headers = {"Api-Key": sandbox.api_key, "Api-Appid": sandbox.app_id}
    return anyio.run(_list_tools, mcp_server.url, headers)


def render(tool: dict[str, Any]) -> str:
    """The snapshot text of one listed tool: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(tool, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _write_all(expected: dict[str, str], on_disk: set[str]) -> None:
    SNAPSHOTS.mkdir(parents=True, exist_ok=True)
    for name, text in expected.items():
        path = SNAPSHOTS / f"{name}.json"
        if not path.exists() or path.read_text("utf-8") != text:
            path.write_text(text, "utf-8")
    for stale in on_disk - set(expected):
        (SNAPSHOTS / f"{stale}.json").unlink()


def _differences(expected: dict[str, str], on_disk: set[str]) -> list[str]:
    problems: list[str] = []
    for name, text in sorted(expected.items()):
        path = SNAPSHOTS / f"{name}.json"
        if name not in on_disk:
            problems.append(f"{name}: listed, but has no snapshot {path.name}")
            continue
        kept = path.read_text("utf-8")
        if kept != text:
            diff = difflib.unified_diff(
                kept.splitlines(keepends=True),
                text.splitlines(keepends=True),
                f"snapshot {path.name}",
                f"listed {name}",
            )
            problems.append(f"{name}: differs from its snapshot\n{''.join(diff)}")
    problems += [
        f"{name}: snapshot {name}.json of a tool no longer listed"
        for name in sorted(on_disk - set(expected))
    ]
    return problems


def test_every_listed_tool_matches_its_snapshot(listed: list[dict[str, Any]]) -> None:
    expected = {tool["name"]: render(tool) for tool in listed}
    on_disk = {path.stem for path in SNAPSHOTS.glob("*.json")}
    if UPDATE:
        _write_all(expected, on_disk)
        return
    problems = _differences(expected, on_disk)
    if problems:
        pytest.fail("\n".join([*problems, HOW_TO_UPDATE]), pytrace=False)


def _class_of(name: str) -> tuple[str, bool] | None:
    """(class, idempotent) of a listed tool: the catalog's, or by the kind of a per-account one."""
    if name in STATIC_CLASSES:
        return STATIC_CLASSES[name]
    if name == NOTE_TOOL:
        return NOTE_CLASS
    return CUSTOM_KIND_CLASSES.get(name.split("_", 1)[0])


def _tool_problems(tool: dict[str, Any]) -> list[str]:
    """What is wrong with one listed tool for a client, in words (empty: nothing)."""
    name = tool["name"]
    problems = [f"{name}: {message}" for message in name_problems(name)]
    if not PORTABLE_NAME.match(name):
        problems.append(f"{name}: name is not portable ({PORTABLE_NAME.pattern})")
    if len(tool.get("description") or "") not in DESCRIPTION_LENGTH:
        problems.append(f"{name}: description of {len(tool.get('description') or '')} chars")
    for key in ("inputSchema", "outputSchema"):
        for message in schema_problems(tool.get(key) or {}, is_input=key == "inputSchema"):
            problems.append(f"{name}.{key}: {message}")
    known = _class_of(name)
    if known is None:
        return [*problems, f"{name}: neither a catalog tool nor a custom-object tool"]
    tool_class, idempotent = known
    hints = tool.get("annotations") or {}
    wanted = {**CLASS_ANNOTATIONS[tool_class], "idempotentHint": idempotent or tool_class == "R"}
    if set(hints) != HINTS or any(hints[hint] is not wanted[hint] for hint in HINTS):
        problems.append(f"{name}: annotations {hints} for class {tool_class}, want {wanted}")
    return problems


def test_the_listing_as_a_whole(listed: list[dict[str, Any]], mcp_server: ServerThread) -> None:
    """Unique portable names, bounded descriptions, explicit annotations that match each tool's
    class, input schemas every client accepts (no top-level oneOf/anyOf/allOf), all the static
    tools plus the four of each custom object, within the manifest cap."""
    names = [tool["name"] for tool in listed]
    problems = [f"{name}: listed {n} times" for name, n in Counter(names).items() if n > 1]
    for tool in listed:
        problems += _tool_problems(tool)
    missing = {t.name for t in TOOLS} - set(names)
    if missing:
        problems.append(f"static tools not listed: {sorted(missing)}")
    cap = mcp_server.settings.manifest_cap
    every_object = STATIC_TOOLS + TOOLS_PER_OBJECT * len(CUSTOM_TYPES)
    if every_object <= cap and len(names) != every_object:
        problems.append(f"{len(names)} tools listed, want {every_object} (every custom object)")
    if len(names) > cap:
        problems.append(f"{len(names)} tools listed, over the manifest cap of {cap}")
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
