"""Step 4 — report: what changed in the tool manifest against the committed catalog.

A maintainer who edits the spec or the catalog reads this before committing: tools added, removed
and changed, and for a change exactly which input/output properties, the description, the
annotations or the Ontraport operations moved.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

CATALOG = "generated/catalog.json"


def committed_catalog(root: Path) -> dict[str, Any] | None:
    """The catalog in git HEAD (fallback: the file on disk); None when there is none yet."""
    try:
        proc = subprocess.run(
            ["git", "show", f"HEAD:{CATALOG}"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode == 0:
            data: dict[str, Any] = json.loads(proc.stdout)
            return data
    except (OSError, ValueError):
        pass
    path = root / CATALOG
    if path.exists():
        try:
            data = json.loads(path.read_text())
            return data
        except ValueError:
            return None
    return None


def _props(schema: dict[str, Any]) -> dict[str, Any]:
    props = schema.get("properties")
    return props if isinstance(props, dict) else {}


def _schema_changes(label: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    changes: list[str] = []
    old_p, new_p = _props(old), _props(new)
    for name in sorted(new_p.keys() - old_p.keys()):
        changes.append(f"{label} property added: {name}")
    for name in sorted(old_p.keys() - new_p.keys()):
        changes.append(f"{label} property removed: {name}")
    for name in sorted(old_p.keys() & new_p.keys()):
        if old_p[name] != new_p[name]:
            changes.append(f"{label} property changed: {name}")
    if sorted(old.get("required") or []) != sorted(new.get("required") or []):
        changes.append(
            f"{label} required: {old.get('required') or []} -> {new.get('required') or []}"
        )
    rest_old = {k: v for k, v in old.items() if k not in ("properties", "required")}
    rest_new = {k: v for k, v in new.items() if k not in ("properties", "required")}
    if rest_old != rest_new:
        changes.append(f"{label} schema changed (outside properties)")
    return changes


def diff_catalogs(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """Human-readable lines; empty when the tool manifest is unchanged."""
    if old is None:
        return [f"new catalog: {len(new.get('tools', []))} tools"]
    old_tools = {t["name"]: t for t in old.get("tools", [])}
    new_tools = {t["name"]: t for t in new.get("tools", [])}
    lines: list[str] = []
    for name in sorted(new_tools.keys() - old_tools.keys()):
        lines.append(f"+ added   {name}")
    for name in sorted(old_tools.keys() - new_tools.keys()):
        lines.append(f"- removed {name}")
    for name in sorted(old_tools.keys() & new_tools.keys()):
        a, b = old_tools[name], new_tools[name]
        details: list[str] = []
        for key in ("title", "description", "class", "toolset", "idempotent"):
            if a.get(key) != b.get(key):
                details.append(f"{key} changed")
        if a.get("annotations") != b.get("annotations"):
            details.append(f"annotations: {a.get('annotations')} -> {b.get('annotations')}")
        if a.get("operations") != b.get("operations") or a.get("binding") != b.get("binding"):
            details.append(f"operations: {a.get('operations')} -> {b.get('operations')}")
        details += _schema_changes("input", a.get("inputSchema", {}), b.get("inputSchema", {}))
        details += _schema_changes("output", a.get("outputSchema", {}), b.get("outputSchema", {}))
        listed_a, listed_b = a.get("listed"), b.get("listed")
        if listed_a is not None and listed_b is not None:  # catalogs before them had none
            for key, label in (("inputSchema", "listed input"), ("outputSchema", "listed output")):
                details += _schema_changes(label, listed_a.get(key, {}), listed_b.get(key, {}))
        if details:
            lines.append(f"~ changed {name}: " + "; ".join(details))
    if old.get("access_policy") != new.get("access_policy"):
        lines.append("~ access policy changed")
    return lines
