"""Step 4 — report: what changed against what is committed in ``generated/``.

A maintainer who edits the spec, the meta snapshot or the catalog reads this before committing:

* API changes, against ``generated/api.json`` (see ``api_summary``): operations added and removed,
  parameters renamed, added or removed, required-ness, request body and response fields and their
  types; object types and fields of the meta snapshot;
* the tools those changes affect (the operations and bindings of ``openapi/tools.yaml``, and the
  access policy's tools for an object type);
* tool manifest changes, against ``generated/catalog.json``: tools added, removed and changed,
  and for a change exactly which input/output properties, the description, the annotations or
  the Ontraport operations moved.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .api_summary import field_type

CATALOG = "generated/catalog.json"
API = "generated/api.json"
CUSTOM_OBJECT_IDS = 10000  # Ontraport numbers custom object types from here


def committed_catalog(root: Path) -> dict[str, Any] | None:
    """The catalog in git HEAD (fallback: the file on disk); None when there is none yet."""
    return committed_json(root, CATALOG)


def committed_json(root: Path, rel: str) -> dict[str, Any] | None:
    """A generated JSON file as in git HEAD (fallback: on disk); None when there is none yet."""
    try:
        proc = subprocess.run(
            ["git", "show", f"HEAD:{rel}"],
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
    path = root / rel
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


# --- API changes (generated/api.json) ----------------------------------------------------------


@dataclass(slots=True)
class ApiChanges:
    """The report lines, and what changed keyed the way tools use it (for ``affected_tools``)."""

    lines: list[str] = field(default_factory=list)
    operations: dict[str, str] = field(default_factory=dict)  # operationId -> changed/removed
    object_types: dict[str, str] = field(default_factory=dict)  # type id -> "10000 (Student)"


def _label(key: str, where: str) -> str:
    """``query:id`` -> ``query parameter id``; a field path -> ``<where> field a.b``."""
    if where == "params":
        location, _, name = key.partition(":")
        return f"{location} parameter {name}"
    return f"{where} field {key}" if where else f"field {key}"


def diff_fields(old: dict[str, str], new: dict[str, str], where: str) -> list[str]:
    """Added, removed, renamed (one removed and one added of the same kind and type, in the same
    place) and retyped entries of two ``{name: "type[ (required)]"}`` maps."""
    added = sorted(new.keys() - old.keys())
    removed = sorted(old.keys() - new.keys())
    lines: list[str] = []
    for gone in list(removed):
        place = gone.rpartition(":")[0] if where == "params" else gone.rpartition(".")[0]
        twins = [
            a
            for a in added
            if new[a] == old[gone]
            and (a.rpartition(":")[0] if where == "params" else a.rpartition(".")[0]) == place
        ]
        if len(twins) == 1:
            name = twins[0].partition(":")[2] if where == "params" else twins[0]
            lines.append(f"{_label(gone, where)} renamed to {name} ({new[twins[0]]})")
            removed.remove(gone)
            added.remove(twins[0])
    lines += [f"{_label(name, where)} added ({new[name]})" for name in added]
    lines += [f"{_label(name, where)} removed (was {old[name]})" for name in removed]
    for name in sorted(old.keys() & new.keys()):
        (old_type, old_required), (new_type, new_required) = (
            field_type(old[name]),
            field_type(new[name]),
        )
        if old_type != new_type:
            lines.append(f"{_label(name, where)} type {old_type} -> {new_type}")
        if old_required != new_required:
            now = "now required" if new_required else "no longer required"
            lines.append(f"{_label(name, where)} {now}")
    return lines


def _body_changes(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    if old is None or new is None:
        return (
            [] if old == new else ["request body added" if old is None else "request body removed"]
        )
    lines: list[str] = []
    if old.get("required") != new.get("required"):
        lines.append("request body " + ("now required" if new.get("required") else "optional"))
    if old.get("media") != new.get("media"):
        lines.append(f"request body media types {old.get('media')} -> {new.get('media')}")
    return lines + diff_fields(old.get("fields") or {}, new.get("fields") or {}, "body")


def _response_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    lines = [f"response {s} added" for s in sorted(new.keys() - old.keys())]
    lines += [f"response {s} removed" for s in sorted(old.keys() - new.keys())]
    for status in sorted(old.keys() & new.keys()):
        a, b = old[status], new[status]
        if isinstance(a, dict) and isinstance(b, dict):
            lines += diff_fields(a, b, f"response {status}")
        elif a != b:
            lines.append(f"response {status}: {_shown(a)} -> {_shown(b)}")
    return lines


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else "inline schema"


def _operation_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if (old.get("method"), old.get("path")) != (new.get("method"), new.get("path")):
        lines.append(f"moved from {old.get('method')} {old.get('path')}")
    lines += diff_fields(old.get("params") or {}, new.get("params") or {}, "params")
    lines += _body_changes(old.get("body"), new.get("body"))
    return lines + _response_changes(old.get("responses") or {}, new.get("responses") or {})


def diff_api(old: dict[str, Any] | None, new: dict[str, Any]) -> ApiChanges:
    """What changed between two ``api_summary`` results; empty when nothing did."""
    changes = ApiChanges()
    if old is None:
        changes.lines.append(
            f"new API summary: {len(new['operations'])} operations, "
            f"{len(new['object_types'])} object types"
        )
        return changes
    old_ops, new_ops = old.get("operations") or {}, new.get("operations") or {}

    def where(ops: dict[str, Any], op_id: str) -> str:
        return f"{op_id} ({ops[op_id].get('method')} {ops[op_id].get('path')})"

    for op_id in sorted(new_ops.keys() - old_ops.keys()):
        changes.lines.append(f"+ operation added: {where(new_ops, op_id)}")
    for op_id in sorted(old_ops.keys() - new_ops.keys()):
        changes.lines.append(f"- operation removed: {where(old_ops, op_id)}")
        changes.operations[op_id] = "removed"
    for op_id in sorted(old_ops.keys() & new_ops.keys()):
        for line in _operation_changes(old_ops[op_id], new_ops[op_id]):
            changes.lines.append(f"~ operation {where(new_ops, op_id)}: {line}")
            changes.operations[op_id] = "changed"
    old_shared, new_shared = old.get("responses") or {}, new.get("responses") or {}
    for name in sorted(old_shared.keys() | new_shared.keys()):
        lines = diff_fields(old_shared.get(name) or {}, new_shared.get(name) or {}, "")
        for line in lines:
            changes.lines.append(f"~ shared response {name}: {line}")
        users = [
            op_id
            for op_id, op in new_ops.items()
            if f"ref {name}" in (op.get("responses") or {}).values()
        ]
        for op_id in users if lines else ():
            changes.operations.setdefault(op_id, f"changed (shared response {name})")
    _meta_changes(old.get("object_types") or {}, new.get("object_types") or {}, changes)
    return changes


def _meta_changes(old: dict[str, Any], new: dict[str, Any], changes: ApiChanges) -> None:
    def named(types: dict[str, Any], type_id: str) -> str:
        return f"{type_id} ({types[type_id].get('name')})"

    for type_id in sorted(new.keys() - old.keys(), key=int):
        changes.lines.append(f"+ object type added: {named(new, type_id)}")
        changes.object_types[type_id] = named(new, type_id) + " added"
    for type_id in sorted(old.keys() - new.keys(), key=int):
        changes.lines.append(f"- object type removed: {named(old, type_id)}")
        changes.object_types[type_id] = named(old, type_id) + " removed"
    for type_id in sorted(old.keys() & new.keys(), key=int):
        lines = diff_fields(old[type_id].get("fields") or {}, new[type_id].get("fields") or {}, "")
        if old[type_id].get("name") != new[type_id].get("name"):
            lines.insert(0, f"renamed from {old[type_id].get('name')}")
        for line in lines:
            changes.lines.append(f"~ object type {named(new, type_id)}: {line}")
        if lines:
            changes.object_types[type_id] = named(new, type_id) + " changed"


# The generic CRUD tools by access-policy method (the comment above `access_policy` in
# openapi/tools.yaml): a type's fields reach them as well as the type's own `tools`.
GENERIC_TOOLS: dict[str, tuple[str, ...]] = {
    "get": ("get_objects",),
    "create": ("create_object", "saveorupdate_object"),
    "update": ("update_object",),
    "delete": ("delete_object", "delete_objects"),
}


def tool_usage(catalog: Any) -> dict[str, set[str]]:
    """operationId -> the tools of a raw ``openapi/tools.yaml`` whose operations or binding
    name it."""
    usage: dict[str, set[str]] = {}
    for entry in (catalog.get("tools") if isinstance(catalog, dict) else None) or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        binding = entry.get("binding")
        bound = binding.get("operation") if isinstance(binding, dict) else None
        for op_id in [*(entry.get("operations") or []), bound]:
            if isinstance(op_id, str):
                usage.setdefault(op_id, set()).add(entry["name"])
    return usage


def affected_tools(changes: ApiChanges, catalog: Any, policy: dict[str, Any]) -> list[str]:
    """``tool: why`` for every tool an API change touches: the tools whose operations or binding
    use a changed operation, and for an object type the access policy's tools for it (custom
    objects: the ``custom`` row) plus the generic CRUD tools its methods allow."""
    usage = tool_usage(catalog)
    known = set().union(*usage.values()) if usage else set()
    reasons: dict[str, list[str]] = {}
    for op_id, what in sorted(changes.operations.items()):
        for tool in usage.get(op_id, ()):
            reasons.setdefault(tool, []).append(f"operation {op_id} {what}")
    types = policy.get("types") or {}
    for type_id, what in sorted(changes.object_types.items(), key=lambda kv: int(kv[0])):
        custom = policy.get("custom") if int(type_id) >= CUSTOM_OBJECT_IDS else None
        row = types.get(type_id) or custom or {}
        generic = [t for m in row.get("methods") or () for t in GENERIC_TOOLS.get(m, ())]
        for tool in [*(row.get("tools") or []), *(t for t in generic if t in known)]:
            if f"object type {what}" not in reasons.get(tool, []):
                reasons.setdefault(tool, []).append(f"object type {what}")
    return [f"{tool}: {'; '.join(why)}" for tool, why in sorted(reasons.items())]


def api_report_lines(
    committed: dict[str, Any] | None, api: dict[str, Any], catalog: Any, policy: dict[str, Any]
) -> list[str]:
    """The report's first two sections, ready to print: the API changes between the committed
    summary and ``api`` (both ``api_summary`` results), then the tools they affect (``catalog`` is
    the raw ``openapi/tools.yaml``, ``policy`` its parsed access policy).  Empty when nothing
    changed.  A pure function of its arguments, so a test can drill it without git or files."""
    changes = diff_api(committed, api)
    if not changes.lines:
        return []
    lines = ["API changes against the committed generated/api.json:"]
    lines += [f"  {line}" for line in changes.lines]
    if committed is None:
        return lines  # the first summary: nothing to compare with
    lines.append("Tools affected by these API changes:")
    lines += [f"  {line}" for line in affected_tools(changes, catalog, policy)] or ["  none"]
    return lines
