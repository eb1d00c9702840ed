"""Step 2 — model: turn the parsed inputs into the records the renderers write.

* tool records from ``openapi/tools.yaml`` (fragments inlined, confirmation fields added to D/$
  tools, annotations derived from the class, portability checked);
* the object access policy as data;
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from ontraport_mcp.runtime.schema_rules import name_problems, schema_problems
from ontraport_mcp.runtime.toolspec import (
    CONFIRMED_CLASSES,
    TOOL_CLASSES,
    TOOLSETS,
    annotations_for,
)

from .parse import Inputs, iter_operations
from .problems import Problems

# the catalog's toolsets: every toolset but the per-account custom-object tools (built at run time)
CATALOG_TOOLSETS = tuple(name for name in TOOLSETS if name != "custom")
MAX_DESCRIPTION = 1200

# Added by the generator to every D and $ tool: the confirmation rule lives in one place.
# One short line each (every listed argument has a description): the result that calls for them
# (confirmation_required, duplicate) and the server's instructions say the rest.
_FORCE_TEXT = "Repeat a call done in the last 10 minutes."
CONFIRMATION_INPUT: dict[str, Any] = {
    "confirmation_token": {"type": "string", "description": "From a confirmation_required result."},
}
FORCE_INPUT: dict[str, Any] = {
    "force": {
        "type": "boolean",
        "default": False,
        "description": _FORCE_TEXT,
        # listed without its default: false is what an absent boolean means anyway
        "$listed": {"type": "boolean", "description": _FORCE_TEXT},
    },
}
CONFIRMATION_OUTPUT: dict[str, Any] = {
    "status": {
        "type": "string",
        "enum": ["done", "confirmation_required", "declined", "duplicate"],
        "description": "done: the action ran; confirmation_required: nothing happened yet.",
    },
    "summary": {"type": "string", "description": "What will happen / what happened."},
    "confirmation_token": {"type": "string"},
    "expires_in_s": {"type": "integer"},
}


@dataclass(frozen=True, slots=True)
class ToolRecord:
    name: str
    title: str
    description: str
    tool_class: str
    toolset: str
    idempotent: bool
    operations: tuple[str, ...]
    binding: dict[str, Any] | None
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    # keys of every successful result: the catalog's output `required` (for D/$ tools the
    # output schema itself requires only `status`, since a confirmation result has no others)
    success_keys: tuple[str, ...] = ()
    # the input schema before ``wire_input``, with every ``$listed`` replacement applied
    listed_input_schema: dict[str, Any] | None = None

    @property
    def annotations(self) -> dict[str, Any]:
        return annotations_for(self.tool_class, idempotent=self.idempotent)

    def as_catalog_entry(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "class": self.tool_class,
            "toolset": self.toolset,
            "idempotent": self.idempotent,
            "operations": list(self.operations),
            "binding": self.binding,
            "description": self.description,
            "annotations": self.annotations,
            "inputSchema": self.input_schema,
            "outputSchema": self.output_schema,
        }


@dataclass(frozen=True, slots=True)
class Model:
    tools: tuple[ToolRecord, ...]
    access_policy: dict[str, Any]
    operations: dict[str, tuple[str, str]]  # operationId -> (METHOD, path)


def build_model(inputs: Inputs, problems: Problems) -> Model:
    operations = {
        op["operationId"]: (method.upper(), path)
        for path, method, op in iter_operations(inputs.spec.data)
        if op.get("operationId")
    }
    catalog = inputs.catalog.data if isinstance(inputs.catalog.data, dict) else {}
    fragments = catalog.get("fragments") or {}
    tools: list[ToolRecord] = []
    seen: set[str] = set()
    for index, entry in enumerate(catalog.get("tools") or []):
        record = _tool(entry, index, fragments, operations, problems)
        if record is None:
            continue
        if record.name in seen:
            problems.error(f"tools.yaml: {record.name}", "duplicate tool name")
            continue
        seen.add(record.name)
        tools.append(record)
    policy = _access_policy(catalog.get("access_policy"), problems)
    return Model(
        tools=tuple(sorted(tools, key=lambda t: t.name)),
        access_policy=policy,
        operations=operations,
    )


def _tool(
    entry: Any,
    index: int,
    fragments: dict[str, Any],
    operations: dict[str, tuple[str, str]],
    problems: Problems,
) -> ToolRecord | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        problems.error(f"tools.yaml: tools[{index}]", "entry without a name")
        return None
    name: str = entry["name"]
    where = f"tools.yaml: {name}"
    for message in name_problems(name):
        problems.error(where, message)
    tool_class = str(entry.get("class"))
    if tool_class not in TOOL_CLASSES:
        problems.error(where, f"class must be one of {tuple(TOOL_CLASSES)}, got {tool_class!r}")
        return None
    if entry.get("toolset") not in CATALOG_TOOLSETS:
        problems.error(where, f"toolset must be one of {CATALOG_TOOLSETS}")
    description = str(entry.get("description") or "").strip()
    if not description:
        problems.error(where, "missing description")
    elif len(description) > MAX_DESCRIPTION:
        problems.error(where, f"description is {len(description)} chars (max {MAX_DESCRIPTION})")
    ops = tuple(entry.get("operations") or ())
    for op in ops:
        if op not in operations:
            problems.error(where, f"unknown operationId {op!r}")
    binding = entry.get("binding")
    if binding is not None and binding.get("operation") not in operations:
        problems.error(where, f"binding names unknown operationId {binding.get('operation')!r}")
    raw_input = entry.get("input") or {"type": "object"}
    input_schema = _expand(raw_input, fragments, where, problems)
    listed_input = _expand(raw_input, fragments, where, problems, listed=True)
    output_schema = _expand(entry.get("output") or {"type": "object"}, fragments, where, problems)
    success_keys = tuple(output_schema.get("required") or ())
    if tool_class in CONFIRMED_CLASSES:
        control = {**CONFIRMATION_INPUT, **(FORCE_INPUT if tool_class == "$" else {})}
        input_schema = _with_properties(input_schema, _expand(control, {}, where, problems))
        listed_control = _expand(control, {}, where, problems, listed=True)
        listed_input = _with_properties(listed_input, listed_control)
        output_schema = _with_properties(output_schema, CONFIRMATION_OUTPUT)
        output_schema["required"] = ["status"]
    for message in schema_problems(input_schema, is_input=True):
        problems.error(f"{where}: input", message)
    for message in schema_problems(output_schema, is_input=False):
        problems.error(f"{where}: output", message)
    return ToolRecord(
        name=name,
        title=str(entry.get("title") or name.replace("_", " ").capitalize()),
        description=description,
        tool_class=tool_class,
        toolset=str(entry.get("toolset")),
        idempotent=bool(entry.get("idempotent", tool_class == "R")),
        operations=ops,
        binding=binding,
        input_schema=input_schema,
        output_schema=output_schema,
        success_keys=success_keys,
        listed_input_schema=listed_input,
    )


def _with_properties(schema: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(schema)
    merged.setdefault("properties", {}).update(copy.deepcopy(extra))
    return merged


def _expand(
    node: Any, fragments: dict[str, Any], where: str, problems: Problems, *, listed: bool = False
) -> Any:
    """Inline every ``{$fragment: NAME, ...overrides}``: tool schemas carry no references.

    ``$listed: SCHEMA`` beside a node is what ``tools/list`` shows instead of it (``listed``
    true), typically a one-line pointer to the one tool that lists a large shared shape in full;
    the full schema (``listed`` false) drops the key and is what arguments are validated
    against."""
    if isinstance(node, dict):
        if "$listed" in node:
            if listed:
                return _expand(node["$listed"], fragments, where, problems, listed=True)
            node = {k: v for k, v in node.items() if k != "$listed"}
        if "$fragment" in node:
            name = node["$fragment"]
            if name not in fragments:
                problems.error(where, f"unknown fragment {name!r}")
                return {}
            base = _expand(
                copy.deepcopy(fragments[name]), fragments, where, problems, listed=listed
            )
            local = {k: v for k, v in node.items() if k != "$fragment"}
            return {**base, **_expand(local, fragments, where, problems, listed=listed)}
        return {k: _expand(v, fragments, where, problems, listed=listed) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand(v, fragments, where, problems, listed=listed) for v in node]
    return node


def access_policy_of(inputs: Inputs) -> dict[str, Any]:
    """The access policy alone, for the report (its problems are the model step's to raise)."""
    catalog = inputs.catalog.data if isinstance(inputs.catalog.data, dict) else {}
    return _access_policy(catalog.get("access_policy"), Problems())


def _access_policy(raw: Any, problems: Problems) -> dict[str, Any]:
    """The access matrix as ``{"types": {id: {...}}, "custom": {...}}`` (ids as strings)."""
    policy: dict[str, Any] = {"types": {}, "custom": {}}
    if not isinstance(raw, (list, dict)):
        problems.error("tools.yaml: access_policy", "missing")
        return policy
    rows = raw if isinstance(raw, list) else raw.get("types", [])
    custom = raw.get("custom") if isinstance(raw, dict) else None
    for row in rows:
        if isinstance(row, dict) and "custom" in row and "ids" not in row:
            custom = row["custom"]
            continue
        methods = [m for m in ("get", "create", "update", "delete") if row.get(m)]
        for type_id in row.get("ids") or []:
            policy["types"][str(type_id)] = {
                "name": row.get("name", ""),
                "methods": methods,
                "tools": list(row.get("tools") or []),
            }
    if isinstance(custom, dict):
        policy["custom"] = {
            "methods": [m for m in ("get", "create", "update", "delete") if custom.get(m)],
            "tools": list(custom.get("tools") or []),
        }
    else:
        problems.error("tools.yaml: access_policy", "missing the `custom` row")
    policy["types"] = dict(sorted(policy["types"].items(), key=lambda kv: int(kv[0])))
    return policy
