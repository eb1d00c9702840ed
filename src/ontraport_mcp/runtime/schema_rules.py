"""Rules every tool schema must follow so that every MCP client accepts it.

Gemini and OpenAI reject tool schemas with ``$ref``/``$defs``, with ``type: [..., "null"]`` lists
and with arrays lacking ``items``; names outside ``[a-z0-9_]{1,64}`` break several clients.  The
generator checks the static catalog with these rules and the server checks the per-account
custom-object tools with the very same function.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

TOOL_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
_FORBIDDEN_KEYS = ("$ref", "$defs", "definitions")
_TOP_LEVEL_COMBINATORS = ("oneOf", "anyOf", "allOf")


def schema_problems(schema: Mapping[str, Any], *, is_input: bool) -> list[str]:
    """Return human-readable problems of one tool schema (empty list: portable)."""
    problems: list[str] = []
    if schema.get("type") != "object":
        problems.append("top level: must be `type: object`")
    if is_input:
        for key in _TOP_LEVEL_COMBINATORS:
            if key in schema:
                problems.append(f"top level: `{key}` is not allowed in an input schema")
    for path, node in _walk(schema, "#"):
        for key in _FORBIDDEN_KEYS:
            if key in node:
                problems.append(f"{path}: `{key}` is not allowed (inline the schema)")
        node_type = node.get("type")
        if isinstance(node_type, list):
            if "null" in node_type:
                problems.append(f'{path}: `type` list with "null" is not allowed')
            else:
                problems.append(f"{path}: `type` lists are not allowed (use anyOf)")
        if node_type == "array" and "items" not in node:
            problems.append(f"{path}: array without `items`")
    return problems


def name_problems(name: str) -> list[str]:
    return [] if TOOL_NAME.match(name) else [f"tool name {name!r} must match {TOOL_NAME.pattern}"]


def _walk(node: Any, path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if isinstance(node, Mapping):
        yield path, node
        for key, value in node.items():
            if key in ("properties", "patternProperties", "$defs", "definitions"):
                if isinstance(value, Mapping):
                    for prop, sub in value.items():
                        yield from _walk(sub, f"{path}/{key}/{prop}")
            elif key in ("items", "additionalProperties", "not", "contains", "propertyNames"):
                yield from _walk(value, f"{path}/{key}")
            elif key in ("anyOf", "oneOf", "allOf", "prefixItems") and isinstance(value, list):
                for index, sub in enumerate(value):
                    yield from _walk(sub, f"{path}/{key}/{index}")
