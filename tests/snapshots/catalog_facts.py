"""The counts and ids tests compare against, read from the catalog and the meta snapshot.

A test that says "48 tools" or "object type 10000" breaks as soon as the catalog gains a tool or
``openapi/objects_meta.json`` is refreshed from an account with other custom objects.  These
facts come from the same sources the server and the sandbox use, so such a change moves them too.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

from ontraport_mcp.generated.tools import TOOLS
from ontraport_mcp.runtime.manifest import CUSTOM_KINDS
from ontraport_mcp.upstream.meta import CUSTOM_OBJECT_MIN_ID

STATIC_TOOLS = len(TOOLS)
"""Tools listed whatever the account: the catalog's static tools."""

TOOLS_PER_OBJECT = len(CUSTOM_KINDS)
"""Tools each listed custom object adds (get_, search_, create_, update_<name>)."""

META: dict[str, Any] = json.loads(
    files("ontraport_mcp.openapi").joinpath("objects_meta.json").read_text("utf-8")
)["data"]
"""The ``data`` map of the meta snapshot the sandbox serves."""

CUSTOM_TYPES: dict[str, int] = {
    entry["name"]: int(type_id)
    for type_id, entry in META.items()
    if int(type_id) >= CUSTOM_OBJECT_MIN_ID
}
"""Custom object name -> type id, as the sandbox account has them."""

STUDENT = CUSTOM_TYPES["Student"]
"""The seeded custom object the tool tests read and write (tools get_/search_/..._student)."""
