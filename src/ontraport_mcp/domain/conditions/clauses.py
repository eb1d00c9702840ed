"""Checking and repairing conditions given as JSON, and ``normalize_condition``.

Separate because JSON input skips the parser yet must meet the same rules: the API answers a
malformed clause with an opaque 400 or, worse, silently ignores it, so each clause's shape,
operator and field are checked here, common shorthands are repaired, and the size is held to
``MAX_JSON_LENGTH`` characters and ``MAX_JSON_ITEMS`` items. ``normalize_condition`` is the one
entry point for a tool argument in any form, so it sends readable text on to ``parse``.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from .fields import FieldIndex, FieldInfo
from .lexer import CONNECTORS, OPERATOR_ALIASES
from .limits import MAX_JSON_ITEMS, MAX_JSON_LENGTH, ConditionError, too_much_json
from .parse import parse_condition
from .values import null_clause

_API_OPERATORS: Final = frozenset(
    {"=", "<>", ">", "<", ">=", "<=", "IN", "NOT IN", "IS", "LIKE", "CONTAINS", "DOES NOT CONTAIN"}
)


def normalize_condition(
    condition: str | list[Any] | None,
    fields: Mapping[str, FieldInfo],
    *,
    now: datetime | None = None,
    tag_ids: Mapping[str, int] | None = None,
) -> list[Any] | None:
    """Accept any form a tool argument may take and return the API list, or ``None`` for "none".

    A readable string is parsed; a list, or a string holding JSON, is checked clause by clause
    (shape, operator, field name) because the API answers mistakes with an opaque 400 or, worse,
    silently ignores them. Common shorthands are repaired on the way: ``"field": "email"``,
    a bare scalar ``"value"``, a bare list for ``IN``, ``!=``, lower-case operators, a field
    alias instead of its name, and a single clause object instead of a list.
    """
    if condition is None:
        return None
    if isinstance(condition, str):
        stripped = condition.strip()
        if not stripped:
            return None
        if stripped[0] in "[{":
            if len(stripped) > MAX_JSON_LENGTH:
                raise ConditionError(
                    f"The condition JSON is longer than {MAX_JSON_LENGTH} characters; use fewer "
                    "clauses or values, or split the work over several calls.",
                    position=MAX_JSON_LENGTH,
                )
            try:
                decoded = json.loads(stripped)
            except json.JSONDecodeError as exc:
                offset = len(condition) - len(condition.lstrip()) + exc.pos
                raise ConditionError(
                    f"The condition looks like JSON but does not parse ({exc.msg} at offset "
                    f"{offset}); send a JSON list of clauses or a readable condition.",
                    position=offset,
                ) from None
            except RecursionError:
                raise ConditionError(
                    "The condition JSON is nested too deeply.", position=None
                ) from None
            return _validate_json(decoded, fields)
        return parse_condition(condition, fields, now=now, tag_ids=tag_ids)
    return _validate_json(condition, fields)


def _validate_json(data: object, fields: Mapping[str, FieldInfo]) -> list[Any] | None:
    if isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, list):
        raise ConditionError(
            'A condition must be a readable string or a JSON list of clauses joined by "AND"/"OR".',
            position=None,
        )
    if not data:
        return None
    index = FieldIndex(fields)
    result: list[Any] = []
    budget = MAX_JSON_ITEMS - len(data)  # what is left for IN values
    for position, item in enumerate(data):
        if budget < 0:
            raise too_much_json()
        expect_clause = position % 2 == 0
        if expect_clause:
            clause = _validate_clause(item, position, index, budget)
            value = clause["value"]
            budget -= len(value.get("list", ())) if isinstance(value, dict) else 0
            result.append(clause)
            continue
        if not isinstance(item, str) or item.strip().upper() not in CONNECTORS:
            raise ConditionError(
                f'Item {position} of the condition must be "AND" or "OR" (clauses and '
                f"connectors alternate), got {json.dumps(item, default=str)[:60]}.",
                position=None,
                choices=("AND", "OR"),
            )
        result.append(item.strip().upper())
    if len(data) % 2 == 0:
        raise ConditionError(
            "The condition ends with a connector; remove the trailing AND/OR or add a clause.",
            position=None,
        )
    return result


def _validate_clause(
    item: object, position: int, index: FieldIndex, budget: int = MAX_JSON_ITEMS
) -> dict[str, Any]:
    where = f"Clause at item {position}"
    if not isinstance(item, Mapping):
        raise ConditionError(
            f'{where} must be an object like {{"field": {{"field": "email"}}, "op": "=", '
            f'"value": {{"value": "a@b.c"}}}}.',
            position=None,
        )
    extra = sorted(str(key) for key in item if key not in ("field", "op", "value"))
    if extra:
        raise ConditionError(
            f"{where} has unexpected keys {extra}; a clause has only field, op and value.",
            position=None,
            choices=("field", "op", "value"),
        )
    raw_field = item.get("field")
    if isinstance(raw_field, Mapping):
        raw_field = raw_field.get("field")
    if not isinstance(raw_field, str) or not raw_field:
        raise ConditionError(f'{where} needs "field": {{"field": "<field name>"}}.', position=None)
    info = index.lookup(raw_field)
    if info is None:
        raise index.unknown(raw_field, None)
    raw_op = item.get("op")
    if not isinstance(raw_op, str):
        raise ConditionError(
            f'{where} needs "op", one of {", ".join(sorted(_API_OPERATORS))}.',
            position=None,
            choices=sorted(_API_OPERATORS),
        )
    op = " ".join(raw_op.upper().split())
    op = OPERATOR_ALIASES.get(op, op)
    raw_value = item.get("value")
    if op in ("IS", "IS NOT"):
        if isinstance(raw_value, Mapping):
            raw_value = raw_value.get("value")
        if raw_value is not None and (
            not isinstance(raw_value, str) or raw_value.upper() != "NULL"
        ):
            raise ConditionError(
                f'{where}: IS only tests for NULL ("value": "NULL"); use = for other values.',
                position=None,
            )
        return null_clause(info, negate=op == "IS NOT")
    if op not in _API_OPERATORS:
        close = difflib.get_close_matches(op, sorted(_API_OPERATORS), n=3, cutoff=0.4)
        raise ConditionError(
            f'{where} has unknown operator "{raw_op}"; use one of '
            f"{', '.join(sorted(_API_OPERATORS))}.",
            position=None,
            choices=close + [name for name in sorted(_API_OPERATORS) if name not in close],
        )
    clause_field = {"field": info.name}
    if op in ("IN", "NOT IN"):
        items = raw_value.get("list") if isinstance(raw_value, Mapping) else raw_value
        if not isinstance(items, list) or not items:
            raise ConditionError(
                f'{where}: {op} needs "value": {{"list": [{{"value": 1}}, {{"value": 2}}]}} '
                "with at least one value.",
                position=None,
            )
        if len(items) > budget:
            raise too_much_json()
        values = [
            {"value": _json_scalar(entry.get("value") if isinstance(entry, Mapping) else entry)}
            for entry in items
        ]
        if any(value["value"] is None for value in values):
            raise ConditionError(
                f"{where}: every {op} entry must be a string or number.", position=None
            )
        return {"field": clause_field, "op": op, "value": {"list": values}}
    scalar = _json_scalar(raw_value.get("value") if isinstance(raw_value, Mapping) else raw_value)
    if scalar is None:
        raise ConditionError(
            f'{where} needs "value": {{"value": <string or number>}}; for missing values use '
            '"op": "IS", "value": "NULL".',
            position=None,
        )
    return {"field": clause_field, "op": op, "value": {"value": scalar}}


def _json_scalar(value: object) -> str | int | float | None:
    """The value if it is a JSON string or finite number (booleans are not), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str | int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return None
