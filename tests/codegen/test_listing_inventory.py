"""What an agent reads in tools/list: every argument of every tool described, within a size budget.

Models choose and fill arguments from the listing alone, so an argument without a description
(``start``, ``force``, an id) is a guess.  Describing all of them costs bytes on every
``tools/list``; the budget keeps that cost at most 10% above the listing before they were added.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ontraport_mcp.generated.tools import TOOLS
from ontraport_mcp.runtime.manifest import CUSTOM_KINDS, build_manifest, to_wire
from ontraport_mcp.runtime.registry import build_registry, load_overrides
from ontraport_mcp.upstream.meta import AccountMeta

# The static listing (48 tools, compact JSON of their wire form, as ``static_listing`` measures
# it) on 2026-12-07, before every argument had a description: 55,047 bytes, ≈ 13.8k tokens
# (chars/4).  bench/ reported 55,199 bytes for the same listing inside its JSON-RPC result.
BASELINE_BYTES = 55_047
BUDGET = 1.10
META_SNAPSHOT = Path(__file__).resolve().parents[2] / "openapi" / "objects_meta.json"


def static_wire() -> list[dict[str, Any]]:
    """The static tools exactly as the server lists them (overrides applied, list order)."""
    registry = build_registry(TOOLS, load_overrides())
    specs = [e.spec for e in sorted(registry.values(), key=lambda e: e.spec.name)]
    return [to_wire(s).model_dump(mode="json", by_alias=True, exclude_none=True) for s in specs]


def static_listing() -> bytes:
    tools = static_wire()
    return json.dumps({"tools": tools}, separators=(",", ":"), ensure_ascii=False).encode()


def undescribed(schema: Any, where: str) -> list[str]:
    """Every property (at any depth) of a listed input schema without a non-empty description."""
    missing: list[str] = []
    if not isinstance(schema, dict):
        return missing
    for name, sub in (schema.get("properties") or {}).items():
        text = sub.get("description") if isinstance(sub, dict) else None
        if not (isinstance(text, str) and text.strip()):
            missing.append(f"{where}.{name}")
        missing += undescribed(sub, f"{where}.{name}")
    for key in ("items", "additionalProperties"):
        missing += undescribed(schema.get(key), f"{where}[]")
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key) or []:
            missing += undescribed(sub, where)
    return missing


def custom_object_wire() -> list[dict[str, Any]]:
    """The per-account tools of the snapshot's custom objects, as tools/list shows them."""
    registry = build_registry(TOOLS, load_overrides())
    static = [e.spec for e in registry.values()]
    meta = AccountMeta.from_data(json.loads(META_SNAPSHOT.read_text())["data"])
    manifest = build_manifest(static, [], meta, cap=1000)
    return [
        to_wire(t).model_dump(mode="json", by_alias=True, exclude_none=True) for t in manifest.tools
    ]


def test_every_static_argument_is_described():
    missing = [m for t in static_wire() for m in undescribed(t["inputSchema"], t["name"])]
    assert not missing, missing


def test_every_custom_object_argument_is_described():
    tools = custom_object_wire()
    kinds = {t["name"].split("_", 1)[0] for t in tools}
    assert kinds == set(CUSTOM_KINDS), kinds  # the snapshot has custom objects: all four kinds
    missing = [m for t in tools for m in undescribed(t["inputSchema"], t["name"])]
    assert not missing, missing


SHARED = ("start", "range", "sort", "confirmation_token", "force")


def test_shared_arguments_read_the_same_everywhere():
    """Paging, sorting and the confirmation arguments mean the same in every tool, static or
    custom, so they are described the same (one fragment each)."""
    seen: dict[str, set[str]] = {name: set() for name in SHARED}
    for tool in static_wire() + custom_object_wire():
        props = tool["inputSchema"].get("properties", {})
        for name in SHARED:
            if name in props:
                seen[name].add(props[name]["description"])
    assert all(len(texts) == 1 for texts in seen.values()), seen


def test_static_listing_stays_within_budget():
    size = len(static_listing())
    assert size <= BASELINE_BYTES * BUDGET, (size, f"{size / BASELINE_BYTES - 1:+.1%}")
