"""Compile the API's condition JSON (API.md §1.8) into an SQL WHERE fragment.

Grammar: a JSON array of clauses with "AND"/"OR" strings between them; a clause is
``{"field": {"field": name}, "op": op, "value": {"value": v} | {"list": [{"value": v}, ...]} | "NULL"}``.
A nested array is a parenthesised sub-condition.  AND binds tighter than OR (SQL precedence).
Comparisons are numeric when both sides look numeric, otherwise case-insensitive text
(``ncmp`` SQL function registered by the store).
"""

from __future__ import annotations

import json
from typing import Any

from .errors import bad
from .store import TypeInfo, q

MAX_CLAUSES = 200
OPS = {
    "=",
    "<>",
    "!=",
    ">",
    "<",
    ">=",
    "<=",
    "IN",
    "NOT IN",
    "LIKE",
    "NOT LIKE",
    "CONTAINS",
    "DOES NOT CONTAIN",
    "IS",
    "IS NOT",
    "IS NULL",
    "IS NOT NULL",
}


def parse(raw: Any) -> list[Any]:
    """Accept JSON text or an already decoded list/dict; always return a list of tokens."""
    value = raw
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return []
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            raise bad(
                "Parameter 'condition' is not valid JSON (expected a JSON array of clauses)"
            ) from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise bad("Parameter 'condition' must be a JSON array of clauses")
    return value


def compile_condition(ti: TypeInfo, raw: Any) -> tuple[str, list[Any]]:
    tokens = parse(raw)
    if not tokens:
        return "", []
    counter = [0]
    sql, params = _compile_list(ti, tokens, counter, 0)
    return sql, params


def _compile_list(
    ti: TypeInfo, tokens: list[Any], counter: list[int], depth: int
) -> tuple[str, list[Any]]:
    if depth > 10:
        raise bad("Condition nested too deeply")
    parts: list[str] = []
    params: list[Any] = []
    expect_clause = True
    for tok in tokens:
        if isinstance(tok, str) and tok.strip().upper() in ("AND", "OR"):
            if expect_clause:
                raise bad(f"Condition: '{tok}' must stand between two clauses")
            parts.append(tok.strip().upper())
            expect_clause = True
            continue
        if not expect_clause:
            parts.append("AND")  # two clauses in a row: implicit AND
        counter[0] += 1
        if counter[0] > MAX_CLAUSES:
            raise bad(f"Condition has more than {MAX_CLAUSES} clauses")
        if isinstance(tok, list):
            if not tok:
                raise bad("Condition: empty group")
            sub, sp = _compile_list(ti, tok, counter, depth + 1)
        elif isinstance(tok, dict):
            sub, sp = _compile_clause(ti, tok)
        else:
            raise bad(
                f"Condition: expected a clause object or 'AND'/'OR', got {json.dumps(tok)[:60]}"
            )
        parts.append(f"({sub})")
        params.extend(sp)
        expect_clause = False
    if expect_clause:
        raise bad("Condition ends with a dangling 'AND'/'OR'")
    return " ".join(parts), params


def _scalar(value: Any, what: str) -> str:
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    if value is None or isinstance(value, (dict, list)):
        raise bad(f"Condition: {what} must be a scalar value")
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _list_values(value: Any) -> list[str]:
    items: Any
    if isinstance(value, dict) and "list" in value:
        items = value["list"]
    elif isinstance(value, list):
        items = value
    elif isinstance(value, dict) and "value" in value and isinstance(value["value"], list):
        items = value["value"]
    else:
        raise bad('Condition: IN/NOT IN need a value of the form {"list": [{"value": ...}, ...]}')
    if not isinstance(items, list):
        raise bad("Condition: 'list' must be an array")
    if len(items) > 1000:
        raise bad("Condition: list too long")
    return [_scalar(item, "each list entry") for item in items]


def _compile_clause(ti: TypeInfo, clause: dict[str, Any]) -> tuple[str, list[Any]]:
    fld = clause.get("field")
    if isinstance(fld, dict):
        fld = fld.get("field")
    if not isinstance(fld, str) or not fld:
        raise bad('Condition: every clause needs {"field": {"field": <name>}}')
    column = ti.column(fld)
    if column is None:
        raise bad(f"Condition: unknown field '{fld}' for object type {ti.id} ({ti.name})")
    op_raw = clause.get("op")
    if not isinstance(op_raw, str):
        raise bad("Condition: every clause needs an 'op' string")
    op = " ".join(op_raw.upper().split())
    if op not in OPS:
        raise bad(f"Condition: unsupported operator '{op_raw}'")
    col = q(column)
    value = clause.get("value")
    if op in ("IS", "IS NOT", "IS NULL", "IS NOT NULL"):
        v = value.get("value") if isinstance(value, dict) else value
        if op in ("IS", "IS NOT") and not (
            v is None or (isinstance(v, str) and v.strip().upper() == "NULL")
        ):
            raise bad('Condition: IS only supports the value "NULL"')
        return (f"{col} IS NOT NULL" if "NOT" in op else f"{col} IS NULL"), []
    if op in ("IN", "NOT IN") or (
        op == "=" and (isinstance(value, list) or (isinstance(value, dict) and "list" in value))
    ):
        values = _list_values(value)
        if not values:
            return ("0" if op != "NOT IN" else f"{col} IS NOT NULL"), []
        inner = " OR ".join(f"ncmp({col}, ?) = 0" for _ in values)
        if op == "NOT IN":
            return f"{col} IS NOT NULL AND NOT ({inner})", values
        return inner, values
    v = _scalar(value, "value")
    if op in ("LIKE", "NOT LIKE"):
        return (f"{col} {'NOT LIKE' if op == 'NOT LIKE' else 'LIKE'} ?"), [v]
    if op == "CONTAINS":
        return f"instr({col}, ?) > 0", [f"*/*{v}*/*"]
    if op == "DOES NOT CONTAIN":
        return f"({col} IS NULL OR instr({col}, ?) = 0)", [f"*/*{v}*/*"]
    sql_op = {"=": "=", "<>": "<>", "!=": "<>", ">": ">", "<": "<", ">=": ">=", "<=": "<="}[op]
    return f"ncmp({col}, ?) {sql_op} 0", [v]
