"""Step 2c — model: every operation of the spec as a typed Python signature.

The runtime calls Ontraport only through ``generated/api.py``: one async method per operation,
its query parameters as keyword arguments (snake_case, typed from the schema, spec defaults kept),
its request body as a ``TypedDict`` keyed by the API's own field names.  So mypy checks every call
an override makes: a renamed or removed parameter, a body field that changed type, a removed
operation all fail ``make typecheck`` at the override's line.  A body open to extra fields (a
record's custom fields) takes them in a separate ``fields`` mapping, so its fixed fields stay
checked.

The JSON Schema → Python type mapping is deliberately small (one table, below): scalars, enums
and consts as ``Literal``, arrays, unions, ``$ref``s to object schemas as named ``TypedDict``s;
anything deeper is ``dict[str, Any]``.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from typing import Any

from .parse import Inputs, iter_operations
from .problems import Problems

SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}
# builtins an argument name would shadow get a trailing underscore, like Python keywords
SHADOWED = frozenset({"all", "format", "range", "type", "filter", "list", "dict", "min", "max"})
MAX_LITERAL = 24  # longer enums are typed by their base type


@dataclass(frozen=True, slots=True)
class Param:
    api_name: str  # as the API spells it (``objectID``)
    python_name: str  # the keyword argument (``object_id``)
    type_text: str  # the annotation, without ``| None``
    required: bool
    default: Any = None  # the spec's default, sent when the caller gives none


@dataclass(frozen=True, slots=True)
class BodyField:
    api_name: str
    type_text: str
    required: bool


@dataclass(frozen=True, slots=True)
class Body:
    name: str  # the TypedDict's name
    fields: tuple[BodyField, ...]
    extra_type: str | None  # the type of extra fields (``fields=`` argument), None: closed
    required: bool  # whether the operation requires a body


@dataclass(frozen=True, slots=True)
class OperationRecord:
    operation_id: str
    method: str
    path: str
    summary: str
    params: tuple[Param, ...]
    body: Body | None
    content_types: tuple[str, ...]

    @property
    def idempotent(self) -> bool:
        return self.method == "GET"


@dataclass
class _Types:
    """Named ``TypedDict``s met while typing bodies (a shared ``$ref`` is declared once)."""

    spec: dict[str, Any]
    named: dict[str, tuple[BodyField, ...]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)


def python_name(api_name: str) -> str:
    """``objectID`` → ``object_id``, ``sortDir`` → ``sort_dir``, ``range`` → ``range_``."""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", api_name)
    snake = re.sub(r"([A-Z]+)", lambda m: m.group(1).lower(), snake)
    snake = re.sub(r"[^0-9a-zA-Z_]", "_", snake).strip("_") or "value"
    if snake[0].isdigit():
        snake = f"p_{snake}"
    return f"{snake}_" if keyword.iskeyword(snake) or snake in SHADOWED else snake


def class_name(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9a-zA-Z]+", text) if part)


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follow local ``$ref``s (``#/components/...``) to the schema they name."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 32:
        target: Any = spec
        for part in str(node["$ref"]).lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node, seen = target, seen + 1
    return node


def merged_object(spec: dict[str, Any], schema: Any) -> dict[str, Any]:
    """An object schema with its ``allOf`` parts merged: properties, required, extras."""
    schema = resolve(spec, schema)
    if not isinstance(schema, dict):
        return {}
    out: dict[str, Any] = {
        "properties": dict(schema.get("properties") or {}),
        "required": list(schema.get("required") or []),
    }
    if "additionalProperties" in schema:
        out["additionalProperties"] = schema["additionalProperties"]
    for part in schema.get("allOf") or []:
        sub = merged_object(spec, part)
        out["properties"].update(sub["properties"])
        out["required"] += [r for r in sub["required"] if r not in out["required"]]
        if sub.get("additionalProperties") not in (None, False):
            out["additionalProperties"] = sub["additionalProperties"]
    return out


def type_text(types: _Types, schema: Any, hint: str) -> str:
    """The Python annotation for a JSON Schema (``hint`` names a nested TypedDict)."""
    raw = schema
    schema = resolve(types.spec, schema)
    if not isinstance(schema, dict) or schema is True:
        return "Any"
    if "const" in schema:
        return f"Literal[{schema['const']!r}]"
    enum = schema.get("enum")
    if isinstance(enum, list) and 0 < len(enum) <= MAX_LITERAL and None not in enum:
        return f"Literal[{', '.join(repr(v) for v in enum)}]"
    for combiner in ("anyOf", "oneOf"):
        if isinstance(schema.get(combiner), list):
            parts = [type_text(types, s, hint) for s in schema[combiner]]
            return _union(parts)
    kind = schema.get("type")
    if isinstance(kind, list):
        return _union([type_text(types, {**schema, "type": k}, hint) for k in kind])
    if kind in SCALARS:
        return SCALARS[kind]
    if kind == "array":
        return f"list[{type_text(types, schema.get('items', True), hint)}]"
    if kind == "object" or "properties" in schema or "allOf" in schema:
        ref = raw.get("$ref") if isinstance(raw, dict) else None
        merged = merged_object(types.spec, schema)
        if ref and merged["properties"]:
            name = class_name(str(ref).rsplit("/", 1)[-1])
            _declare(types, name, merged)
            return name
        extra = merged.get("additionalProperties", True)
        return f"dict[str, {type_text(types, extra, hint) if isinstance(extra, dict) else 'Any'}]"
    return "Any"


def _union(parts: list[str]) -> str:
    flat: list[str] = []
    for part in parts:
        for piece in part.split(" | "):
            if piece not in flat:
                flat.append(piece)
    if "Any" in flat:
        return "Any"
    return " | ".join(flat)


def _declare(types: _Types, name: str, merged: dict[str, Any]) -> tuple[BodyField, ...]:
    if name in types.named:
        return types.named[name]
    types.named[name] = ()  # a recursive reference sees the name while the fields are typed
    required = set(merged["required"])
    fields = tuple(
        BodyField(api, type_text(types, sub, f"{name}{class_name(api)}"), api in required)
        for api, sub in sorted(merged["properties"].items())
    )
    types.named[name] = fields
    types.order.append(name)
    return fields


def _body(types: _Types, op_id: str, op: dict[str, Any]) -> tuple[Body | None, tuple[str, ...]]:
    request = resolve(types.spec, op.get("requestBody"))
    if not isinstance(request, dict):
        return None, ()
    content = request.get("content") or {}
    content_types = tuple(content)
    chosen = next(iter(content), None)  # the first media type: the one the transport sends
    if chosen is None:
        return None, content_types
    raw = (content[chosen] or {}).get("schema") or {}
    merged = merged_object(types.spec, raw)
    ref = raw.get("$ref") if isinstance(raw, dict) else None
    plain_ref = ref and not resolve(types.spec, raw).get("allOf")
    name = class_name(str(ref).rsplit("/", 1)[-1]) if plain_ref else f"{class_name(op_id)}Body"
    fields = _declare(types, name, {**merged, "additionalProperties": False})
    extra = merged.get("additionalProperties")
    extra_type = type_text(types, extra, f"{name}Extra") if isinstance(extra, dict) else None
    if extra is True:
        extra_type = "Any"
    return Body(name, fields, extra_type, bool(request.get("required"))), content_types


def build_operations(inputs: Inputs, problems: Problems) -> tuple[list[OperationRecord], _Types]:
    """Every operation of the spec, sorted by operationId, and the TypedDicts their bodies use."""
    spec = inputs.spec.data if isinstance(inputs.spec.data, dict) else {}
    types = _Types(spec)
    records: list[OperationRecord] = []
    for path, method, op in iter_operations(spec):
        op_id = str(op.get("operationId") or "")
        item = (spec.get("paths") or {}).get(path) or {}
        params: list[Param] = []
        seen: dict[str, str] = {}
        for raw in [*(item.get("parameters") or []), *(op.get("parameters") or [])]:
            param = resolve(spec, raw)
            if not isinstance(param, dict) or param.get("in") != "query":
                if isinstance(param, dict) and param.get("in") in ("path", "header", "cookie"):
                    problems.error(op_id, f"{param.get('in')} parameters are not supported")
                continue
            api = str(param.get("name"))
            py = python_name(api)
            if py in seen or py in ("body", "fields"):
                problems.error(op_id, f"parameters {seen.get(py, py)!r} and {api!r} clash as {py}")
                continue
            seen[py] = api
            schema = resolve(spec, param.get("schema") or {})
            params.append(
                Param(
                    api,
                    py,
                    type_text(types, param.get("schema") or {}, class_name(f"{op_id}_{api}")),
                    bool(param.get("required")),
                    schema.get("default") if isinstance(schema, dict) else None,
                )
            )
        body, content_types = _body(types, op_id, op)
        records.append(
            OperationRecord(
                operation_id=op_id,
                method=method.upper(),
                path=path,
                summary=" ".join(str(op.get("summary") or "").split()),
                params=tuple(params),  # spec order: the order of the query string
                body=body,
                content_types=content_types,
            )
        )
    return sorted(records, key=lambda r: r.operation_id), types
