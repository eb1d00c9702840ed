"""Step 2b — model: a small, sorted summary of the API the generated code was made from.

``generated/api.json`` holds, per operation, its method and path, its parameters, its request
body fields and its response fields (each with a type and whether it is required), and, per
object type of the meta snapshot, its name and its fields' types.  It has no prose: a reworded
summary or description changes nothing here, while a renamed parameter, a field whose type
changed or a new object type does, which is what ``report.diff_api`` compares against the
committed copy.  Built from the parsed inputs alone, so the report works even when a later step
fails (e.g. a tool still names an operation that was removed).
"""

from __future__ import annotations

from typing import Any

from .parse import Inputs, iter_operations

REQUIRED = " (required)"
MAX_DEPTH = 6  # deeper structure is summarised as its type only
_MAX_ENUM = 12  # longer enums are summarised by their size


def api_summary(inputs: Inputs) -> dict[str, Any]:
    """``{"operations": {...}, "responses": {...}, "object_types": {...}}`` with sorted keys (JSON-ready)."""
    spec = inputs.spec.data if isinstance(inputs.spec.data, dict) else {}
    operations: dict[str, Any] = {}
    for path, method, op in iter_operations(spec):
        op_id = op.get("operationId")
        if not op_id:
            continue
        item = (spec.get("paths") or {}).get(path) or {}
        operations[str(op_id)] = _operation(spec, path, method, op, item)
    meta = inputs.meta.data.get("data") if isinstance(inputs.meta.data, dict) else None
    shared = (spec.get("components") or {}).get("responses") or {}
    return {
        "operations": dict(sorted(operations.items())),
        "responses": {
            str(name): _content_fields(spec, (_resolve(spec, raw) or {}).get("content") or {})
            for name, raw in sorted(shared.items())
        },
        "object_types": _object_types(meta if isinstance(meta, dict) else {}),
    }


def field_type(entry: str) -> tuple[str, bool]:
    """``"integer (required)"`` -> ``("integer", True)``: the two halves of a summary entry."""
    if entry.endswith(REQUIRED):
        return entry[: -len(REQUIRED)], True
    return entry, False


def _operation(
    spec: dict[str, Any], path: str, method: str, op: dict[str, Any], item: dict[str, Any]
) -> dict[str, Any]:
    params: dict[str, str] = {}
    for raw in [*(item.get("parameters") or []), *(op.get("parameters") or [])]:
        param = _resolve(spec, raw)
        if isinstance(param, dict) and param.get("name"):
            # ``query:ids`` holds the parameter's own type; an array or object parameter also
            # gets ``query:ids[]`` / ``query:filter.a`` entries, so a change of its item or
            # property types is seen like a body field's
            key = f"{param.get('in', 'query')}:{param['name']}"
            schema = param.get("schema")
            _flatten(
                spec,
                schema if isinstance(schema, dict) else {},
                key,
                bool(param.get("required")),
                params,
                (),
            )
    summary: dict[str, Any] = {
        "method": method.upper(),
        "path": path,
        "params": dict(sorted(params.items())),
    }
    body = _resolve(spec, op.get("requestBody"))
    if isinstance(body, dict):
        content = body.get("content") or {}
        summary["body"] = {
            "required": bool(body.get("required")),
            "media": sorted(content),
            "fields": _content_fields(spec, content),
        }
    responses: dict[str, Any] = {}
    for status, raw in sorted((op.get("responses") or {}).items(), key=lambda kv: str(kv[0])):
        if isinstance(raw, dict) and isinstance(raw.get("$ref"), str):
            # a shared response (the error envelope): its name, summarised once under `responses`
            responses[str(status)] = f"ref {raw['$ref'].rsplit('/', 1)[-1]}"
        elif isinstance(raw, dict):
            responses[str(status)] = _content_fields(spec, raw.get("content") or {})
    summary["responses"] = responses
    return summary


def _content_fields(spec: dict[str, Any], content: dict[str, Any]) -> dict[str, str]:
    """The fields of the first JSON (else first) media type: ``{"a.b": "integer", ...}``."""
    if not content:
        return {}
    media = next((m for m in sorted(content) if "json" in m), sorted(content)[0])
    schema = (content.get(media) or {}).get("schema")
    fields: dict[str, str] = {}
    if isinstance(schema, dict):
        _flatten(spec, schema, "", True, fields, ())
    return dict(sorted(fields.items()))


def _flatten(
    spec: dict[str, Any],
    schema: dict[str, Any],
    prefix: str,
    required: bool,
    out: dict[str, str],
    seen: tuple[str, ...],
) -> None:
    """Record ``prefix``'s type, then every property (``a.b``), item (``a[]``) and map value
    (``a{}``) beneath it, following ``$ref``s once per branch."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        if ref in seen:
            out[prefix or "."] = f"ref {ref.rsplit('/', 1)[-1]} (recursive)"
            return
        seen = (*seen, ref)
        target = _resolve(spec, schema)
        schema = target if isinstance(target, dict) else {}
    out[prefix or "."] = _type(spec, schema, seen) + (REQUIRED if prefix and required else "")
    if sum(prefix.count(mark) for mark in (".", "[]", "{}")) >= MAX_DEPTH:
        return
    parts = [schema, *[_resolve(spec, s) for s in schema.get("allOf") or []]]
    for alternatives in ("anyOf", "oneOf"):
        parts += [_resolve(spec, s) for s in schema.get(alternatives) or []]
    for part in parts:
        if not isinstance(part, dict):
            continue
        needed = set(part.get("required") or ())
        for name, sub in (part.get("properties") or {}).items():
            if isinstance(sub, dict):
                child = f"{prefix}.{name}" if prefix else str(name)
                _flatten(spec, sub, child, name in needed, out, seen)
        if isinstance(part.get("items"), dict):
            _flatten(spec, part["items"], f"{prefix}[]", False, out, seen)
        extra = part.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            _flatten(spec, extra, f"{prefix}{{}}", False, out, seen)


def _type(spec: dict[str, Any], schema: Any, seen: tuple[str, ...]) -> str:
    """One schema's type in a few words: ``integer``, ``string|null``, ``enum[a,b]``, ..."""
    schema = _resolve(spec, schema)
    if not isinstance(schema, dict):
        return "any"
    words: list[str] = []
    kind = schema.get("type")
    if isinstance(kind, list):
        words.append("|".join(str(k) for k in kind))
    elif kind:
        words.append(str(kind))
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            words.append("|".join(_type(spec, s, seen) for s in schema[key]))
    if schema.get("allOf"):
        words.append("object")
    if schema.get("format"):
        words.append(f"format {schema['format']}")
    enum = schema.get("enum")
    if isinstance(enum, list):
        shown = ",".join(str(v) for v in enum) if len(enum) <= _MAX_ENUM else f"{len(enum)} values"
        words.append(f"enum[{shown}]")
    if "const" in schema:
        words.append(f"const {schema['const']}")
    return " ".join(words) or "any"


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follow a local ``$ref`` chain (bounded); anything else is returned as it is."""
    for _ in range(10):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
            return node
        ref: str = node["$ref"]
        if not ref.startswith("#/"):
            return {}
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        node = target if target is not None else {}
    return {}


def _object_types(meta: dict[str, Any]) -> dict[str, Any]:
    types: dict[str, Any] = {}
    for type_id in sorted(meta, key=lambda t: (len(str(t)), str(t))):
        entry = meta[type_id] if isinstance(meta[type_id], dict) else {}
        fields: dict[str, str] = {}
        for name, spec in sorted((entry.get("fields") or {}).items()):
            spec = spec if isinstance(spec, dict) else {}
            kind = str(spec.get("type") or "text")
            options = spec.get("options")
            if isinstance(options, dict) and options:
                kind += f"[{','.join(sorted(options, key=lambda o: (len(o), o)))}]"
            fields[str(name)] = kind + (REQUIRED if str(spec.get("required")) == "1" else "")
        types[str(type_id)] = {"name": str(entry.get("name") or ""), "fields": fields}
    return types
