"""The per-account tool manifest: static tools + custom-object tools under the cap.

``tools/list`` = the catalog's static tools (generated stubs with overrides applied) + for each
custom object (type id ≥ 10000, from the account's live ``/objects/meta``) the four tools
``get_<name>``, ``create_<name>``, ``update_<name>`` and ``search_<name>``, typed from that
object's fields — subject to the cap (``overrides/manifest_cap.py``).  A manifest is built once
per meta snapshot and reused until the meta cache refreshes; its order is deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import mcp_types as types

from ..upstream.meta import AccountMeta, TypeMeta
from .registry import hook
from .schema_rules import name_problems, schema_problems
from .toolspec import ToolSpec

NOTE_TOOL = "_manifest_note"
CUSTOM_KINDS = ("get", "create", "update", "search")
_READ_ONLY_FIELD_TYPES = frozenset({"timestamp", "mergefield", "subscription"})
_SYSTEM_FIELDS = frozenset(
    {
        "id",
        "owner",
        "unique_id",
        "date",
        "dla",
        "dlm",
        "system_source",
        "source_location",
        "ip_addy",
        "ip_addy_display",
        "import_id",
        "bindex",
        "contact_cat",
        "updateSequence",
        "updateCampaign",
        "bulk_mail",
        "bulk_sms",
    }
)


def slug(text: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", text.lower())).strip("_")


@dataclass(frozen=True, slots=True)
class CustomField:
    prop: str  # argument name shown to agents (from the field's label)
    field: str  # Ontraport field name (f1601)
    alias: str
    type: str
    options: Mapping[str, str]


def writable_fields(meta: TypeMeta) -> list[CustomField]:
    """Fields an agent may write, with argument names derived from their labels."""
    used: set[str] = {"id", "fields", "condition", "confirmation_token"}
    found: list[CustomField] = []
    for name in sorted(meta.fields):
        spec = meta.fields[name]
        ftype = str(spec.get("type") or "text")
        if (
            name in _SYSTEM_FIELDS
            or ftype in _READ_ONLY_FIELD_TYPES
            or str(spec.get("editable")) == "0"
        ):
            continue
        prop = slug(str(spec.get("alias") or "")) or name
        if prop in used or not re.match(r"^[a-z_][a-z0-9_]*$", prop):
            prop = name
        used.add(prop)
        raw_options = spec.get("options")
        options: dict[str, str] = (
            {str(k): str(v) for k, v in raw_options.items()}
            if isinstance(raw_options, dict)
            else {}
        )
        found.append(CustomField(prop, name, str(spec.get("alias") or name), ftype, options))
    return found


def _field_schema(f: CustomField) -> dict[str, Any]:
    label = f"{f.alias} (field {f.field}, {f.type})"
    choices = ", ".join(f"{v} ({k})" for k, v in list(f.options.items())[:40])
    if f.type in ("numeric", "price"):
        return {"type": "number", "description": label}
    if f.type == "check":
        return {"type": "boolean", "description": label}
    if f.type == "parent":
        return {
            "type": "integer",
            "minimum": 0,
            "description": f"{label}: id of the related record",
        }
    if f.type in ("fulldate", "timestamp"):
        return {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "description": f"{label}: ISO 8601 (2026-03-01), Unix seconds or e.g. 7 days ago",
        }
    if f.type == "drop":
        return {"type": "string", "description": f"{label}: one option, by label or id: {choices}"}
    if f.type == "list":
        return {
            "type": "array",
            "items": {"type": "string"},
            "description": f"{label}: options by label or id (replaces the whole set): {choices}",
        }
    return {"type": "string", "description": label}


_RECORD_OUT = {"type": "object", "additionalProperties": True}

# The paging and sorting arguments of search_<object>, worded as the catalog's fragments for the
# same arguments of the static tools (openapi/tools.yaml) so every tool describes them alike.
_LIST_PROPS: dict[str, dict[str, Any]] = {
    "search": {"type": "string", "description": "Free text to match."},
    "start": {
        "type": "integer",
        "minimum": 0,
        "default": 0,
        "description": "Records to skip; default 0.",
    },
    "range": {
        "type": "integer",
        "minimum": 1,
        "maximum": 50,
        "default": 50,
        "description": "Records per page.",
    },
    "sort": {"type": "string", "description": "Field to sort by."},
    "sort_dir": {"type": "string", "enum": ["asc", "desc"], "description": "Sort order."},
}


def custom_tools(meta: TypeMeta, name: str) -> list[ToolSpec]:
    """The four tools of one custom object."""
    fields = writable_fields(meta)
    props = {f.prop: _field_schema(f) for f in fields}
    label = meta.name
    type_note = f"custom object {label} (object type {meta.type_id})"
    common: dict[str, Any] = {"toolset": "custom", "object_type_id": meta.type_id}
    id_prop = {"type": "integer", "minimum": 1, "description": f"The {label} record id."}
    fields_prop = {
        "type": "array",
        "items": {"type": "string"},
        "description": "Only return these fields (argument names or field names).",
    }
    list_out = {
        "type": "object",
        "properties": {
            "object_type_id": {"type": "integer"},
            "records": {"type": "array", "items": _RECORD_OUT},
            "count": {"type": "integer"},
            "start": {"type": "integer"},
            "has_more": {"type": "boolean"},
            "total": {"type": "integer"},
            "truncated": {"type": "boolean"},
            "note": {"type": "string"},
        },
        "required": ["object_type_id", "records", "count", "start", "has_more"],
        "additionalProperties": True,
    }
    one_out = {
        "type": "object",
        "properties": {
            "object_type_id": {"type": "integer"},
            "id": {"type": "integer"},
            "record": _RECORD_OUT,
        },
        "required": ["object_type_id", "id", "record"],
        "additionalProperties": True,
    }
    example_field = fields[0].prop if fields else "name"
    return [
        ToolSpec(
            name=f"get_{name}",
            title=f"Get a {label}",
            description=(
                f"Read one {type_note} by id, with field values labelled. Use search_{name} to "
                f'find records. Example: {{"id": 1}}'
            ),
            tool_class="R",
            idempotent=True,
            input_schema={
                "type": "object",
                "properties": {"id": id_prop, "fields": fields_prop},
                "required": ["id"],
                "additionalProperties": False,
            },
            output_schema=one_out,
            operations=("get_object",),
            meta={"kind": "get"},
            **common,
        ),
        ToolSpec(
            name=f"search_{name}",
            title=f"Search {label} records",
            description=(
                f"List or filter records of the {type_note}: `condition` takes a readable filter "
                f"over its fields, `search` free text; pages of up to 50. Example: "
                f'{{"condition": "{example_field} = \\"x\\"", "range": 10}}'
            ),
            tool_class="R",
            idempotent=True,
            input_schema={
                "type": "object",
                "properties": {
                    "condition": {
                        "anyOf": [{"type": "string"}, {"type": "array", "items": {}}],
                        "description": "Readable filter (e.g. `status = Enrolled`) or the API's condition JSON.",
                    },
                    "fields": fields_prop,
                    **_LIST_PROPS,
                },
                "additionalProperties": False,
            },
            output_schema=list_out,
            operations=("list_objects",),
            meta={"kind": "search"},
            **common,
        ),
        ToolSpec(
            name=f"create_{name}",
            title=f"Create a {label}",
            description=(
                f"Create one record of the {type_note} (always creates; no duplicate check). "
                f'Options may be given by label. Example: {{"{example_field}": "..."}}'
            ),
            tool_class="W",
            idempotent=False,
            input_schema={"type": "object", "properties": props, "additionalProperties": False},
            output_schema=one_out,
            operations=("create_object",),
            meta={"kind": "create"},
            **common,
        ),
        ToolSpec(
            name=f"update_{name}",
            title=f"Update a {label}",
            description=(
                f"Change fields of one {type_note} record; only the given fields change. "
                f'Example: {{"id": 1, "{example_field}": "..."}}'
            ),
            tool_class="W",
            idempotent=True,
            input_schema={
                "type": "object",
                "properties": {"id": id_prop, **props},
                "required": ["id"],
                "additionalProperties": False,
            },
            output_schema={
                "type": "object",
                "properties": {
                    "object_type_id": {"type": "integer"},
                    "id": {"type": "integer"},
                    "changed": _RECORD_OUT,
                },
                "required": ["object_type_id", "id", "changed"],
                "additionalProperties": True,
            },
            operations=("update_object",),
            meta={"kind": "update"},
            **common,
        ),
    ]


def note_tool(omitted: Sequence[TypeMeta]) -> ToolSpec:
    names = ", ".join(f"{t.name} ({t.type_id})" for t in omitted[:50])
    return ToolSpec(
        name=NOTE_TOOL,
        title="More custom objects exist",
        description=(
            f"{len(omitted)} custom object type(s) have no dedicated tools in this list (the "
            f"manifest is capped): {names}. Reach them with get_objects, create_object, "
            "update_object and count_objects using their object_type_id, and read their fields "
            "with get_object_meta. Calling this tool returns the same list."
        ),
        tool_class="R",
        toolset="custom",
        idempotent=True,
        input_schema={"type": "object", "properties": {}, "additionalProperties": False},
        output_schema={
            "type": "object",
            "properties": {
                "omitted": {
                    "type": "array",
                    "items": {"type": "object", "additionalProperties": True},
                },
                "how_to_reach": {"type": "string"},
            },
            "required": ["omitted"],
            "additionalProperties": True,
        },
        meta={
            "kind": "note",
            "omitted": [{"object_type_id": t.type_id, "name": t.name} for t in omitted],
        },
    )


@dataclass(frozen=True, slots=True)
class Manifest:
    tools: tuple[ToolSpec, ...]  # dynamic ones only (static are shared)
    wire: tuple[types.Tool, ...]  # static + dynamic, in list order
    by_name: Mapping[str, ToolSpec]
    omitted: tuple[TypeMeta, ...]


def to_wire(spec: ToolSpec) -> types.Tool:
    return types.Tool.model_validate(spec.wire())


def build_manifest(
    static: Sequence[ToolSpec], static_wire: Sequence[types.Tool], meta: AccountMeta, cap: int
) -> Manifest:
    taken = {s.name for s in static}
    newest_first, apply_cap = hook("newest_first"), hook("apply_cap")  # overrides/manifest_cap.py
    objects = newest_first(meta.custom_types, [t.recency for t in meta.custom_types])
    decision = apply_cap(len(static), len(objects), cap)
    dynamic: list[ToolSpec] = []
    for index in decision.included:
        obj = objects[index]
        base = slug(obj.name) or f"object_{obj.type_id}"
        base = base[: 64 - len("search_") - 7]
        if any(f"{k}_{base}" in taken for k in CUSTOM_KINDS):
            base = f"{base}_{obj.type_id}"
        tools = custom_tools(obj, base)
        if all(
            not name_problems(t.name) and not schema_problems(t.input_schema, is_input=True)
            for t in tools
        ):
            dynamic.extend(tools)
            taken.update(t.name for t in tools)
    omitted = tuple(objects[i] for i in decision.omitted)
    if decision.note:
        dynamic.append(note_tool(omitted))
    assert len(static) + len(dynamic) <= max(cap, len(static)), "manifest over the cap"
    by_name = {t.name: t for t in dynamic}
    wire = (*static_wire, *(to_wire(t) for t in dynamic))
    return Manifest(tuple(dynamic), wire, by_name, omitted)
