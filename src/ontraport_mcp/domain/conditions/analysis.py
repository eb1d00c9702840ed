"""Questions about what a condition selects, asked before a bulk action runs.

Separate because it reasons about meaning, not syntax: ``is_always_true`` spots the obvious
ways of saying "every record" so a bulk delete or update can refuse them. It reads the API list
(parsed, validated or hand-written), so it depends on no other stage except number reading.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .values import to_number


def is_always_true(condition: list[Any] | None) -> bool:
    """Whether a condition selects every record, so a bulk delete or update can refuse it.

    True for no condition at all, and for a list in which some OR-branch consists only of
    clauses every record satisfies: tests on ``id`` (always a positive integer) such as
    ``id > 0``, ``id >= 1``, ``id <> 0``, ``id IS NOT NULL``, ``id NOT IN (0)`` or
    ``id LIKE "%"``. This is a guard against the obvious ways to say "everything", not a
    theorem prover; a caller should still require explicit ids or a group for bulk actions.
    """
    if not condition:
        return True
    branch_true = True
    branch_empty = True
    for item in condition:
        if isinstance(item, str) and item.strip().upper() == "OR":
            if branch_true and not branch_empty:
                return True
            branch_true, branch_empty = True, True
        elif isinstance(item, str) and item.strip().upper() == "AND":
            continue
        else:
            branch_empty = False
            branch_true = branch_true and _clause_always_true(item)
    return branch_true and not branch_empty


def _clause_always_true(clause: object) -> bool:
    if not isinstance(clause, Mapping):
        return False
    raw_field = clause.get("field")
    name = raw_field.get("field") if isinstance(raw_field, Mapping) else raw_field
    if name != "id":
        return False
    op = clause.get("op")
    if not isinstance(op, str):
        return False
    op = " ".join(op.upper().split())
    value = clause.get("value")
    inner = value.get("value") if isinstance(value, Mapping) else value
    if op == "IS NOT":
        return isinstance(inner, str) and inner.upper() == "NULL"
    if op == "LIKE":
        return isinstance(inner, str) and inner != "" and set(inner) == {"%"}
    if op in ("<>", "!=") and inner == "":
        return True
    if op == "NOT IN" and isinstance(value, Mapping):
        entries = value.get("list")
        if not isinstance(entries, list):
            return False
        numbers = [_as_number(e.get("value") if isinstance(e, Mapping) else e) for e in entries]
        return all(number is not None and _never_an_id(number) for number in numbers)
    number = _as_number(inner)
    if number is None:
        return False
    return (
        (op == ">" and number < 1)
        or (op == ">=" and number <= 1)
        or (op in ("<>", "!=") and _never_an_id(number))
    )


def _never_an_id(number: float) -> bool:
    """Record ids are positive integers, so ``id <> x`` holds for every record when this is true."""
    return number < 1 or not number.is_integer()


def _as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    number: int | float | None = None
    if isinstance(value, int | float):
        number = value
    elif isinstance(value, str):
        number = to_number(value.strip())
    if number is None:
        return None
    try:
        result = float(number)
    except OverflowError:  # an int beyond float range is certainly not below 1
        return math.inf if number > 0 else -math.inf
    return result if math.isfinite(result) or isinstance(number, int) else None
