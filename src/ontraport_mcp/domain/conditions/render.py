"""Rendering an API condition list back to one readable line, for confirmations and logs.

Separate because it goes the other way from everything else in the package and needs no field
meta: it reads any list, including one a caller wrote by hand, and must never hide part of what
will be sent. Its output is valid input for ``parse_condition``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from .lexer import CONNECTORS, KEYWORDS

_IDENT_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def describe_condition(condition: list[Any]) -> str:
    """Render an API condition list as one readable line, for confirmations and logs.

    The output is valid input for ``parse_condition`` and, for values in the form the parser
    emits, parses back to the same list. Unexpected items are shown as JSON rather than dropped,
    so a summary never hides part of what will be sent.
    """
    parts: list[str] = []
    for item in condition:
        if isinstance(item, str) and item.strip().upper() in CONNECTORS:
            parts.append(item.strip().upper())
        elif isinstance(item, Mapping):
            parts.append(_describe_clause(item))
        else:
            parts.append(json.dumps(item, default=str))
    return " ".join(parts)


def _describe_clause(clause: Mapping[str, Any]) -> str:
    raw_field = clause.get("field")
    name = raw_field.get("field") if isinstance(raw_field, Mapping) else raw_field
    field_text = _describe_name(name if isinstance(name, str) else json.dumps(name, default=str))
    op = clause.get("op")
    value = clause.get("value")
    inner = value.get("value") if isinstance(value, Mapping) else value
    op_text = " ".join(op.upper().split()) if isinstance(op, str) else str(op)
    if op_text in ("IS", "IS NOT") and isinstance(inner, str) and inner.upper() == "NULL":
        return f"{field_text} {op_text} NULL"
    if op_text in ("<>", "!=") and inner == "":
        return f"{field_text} IS NOT NULL"
    if op_text in ("IN", "NOT IN") and isinstance(value, Mapping) and "list" in value:
        entries = value.get("list")
        shown = [
            _describe_value(entry.get("value") if isinstance(entry, Mapping) else entry)
            for entry in (entries if isinstance(entries, list) else [])
        ]
        return f"{field_text} {op_text} ({', '.join(shown)})"
    op_text = "!=" if op_text == "<>" else op_text
    return f"{field_text} {op_text} {_describe_value(inner)}"


def _describe_name(name: str) -> str:
    if _IDENT_RE.fullmatch(name) and name.casefold() not in KEYWORDS:
        return name
    return _quote(name)


def _describe_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _quote(value)
    return json.dumps(value, default=str)


def _quote(text: str) -> str:
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\t", "\\t")
        .replace("\r", "\\r")
    )
    return f'"{escaped}"'
