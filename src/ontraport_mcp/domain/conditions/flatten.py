"""Rewriting the parsed tree into the flat AND/OR list the API accepts.

Separate because it is the one stage whose output can grow faster than its input: the API gets
a flat list and (by SQL precedence) evaluates AND before OR, so parentheses cannot be sent and
the tree is rewritten into disjunctive normal form (an OR of ANDs). For an expression that is
already flat that is the expression itself, in the same order; ``a and (b or c)`` becomes
``a and b or a and c``, which can grow exponentially, so the rewrite is capped at
``MAX_CLAUSES`` clauses and refused before the product is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .limits import MAX_CLAUSES, too_complex


@dataclass(frozen=True, slots=True)
class Group:
    """An AND or OR of parsed items, before flattening."""

    connector: Literal["AND", "OR"]
    items: tuple[Node, ...]
    start: int


Node = Group | dict[str, Any]


def _dnf(node: Node) -> list[list[dict[str, Any]]]:
    """Rewrite the tree as an OR of ANDs, the only shape the flat API list can express."""
    if not isinstance(node, Group):
        return [[node]]
    if node.connector == "OR":
        result: list[list[dict[str, Any]]] = []
        for item in node.items:
            result.extend(_dnf(item))
            _check_size(result, node.start)
        return result
    product: list[list[dict[str, Any]]] = [[]]
    for item in node.items:
        part = _dnf(item)
        size = len(part) * sum(map(len, product)) + len(product) * sum(map(len, part))
        if size > MAX_CLAUSES:
            too_complex(size, node.start)
        product = [left + right for left in product for right in part]
    return product


def _check_size(conjunctions: list[list[dict[str, Any]]], start: int) -> None:
    size = sum(map(len, conjunctions))
    if size > MAX_CLAUSES:
        too_complex(size, start)


def flatten(node: Node) -> list[Any]:
    """The API's condition list for a parsed tree: clauses joined by ``"AND"``/``"OR"``."""
    return join_conjunctions(_dnf(node))


def join_conjunctions(conjunctions: list[list[Any]]) -> list[Any]:
    """An OR of ANDs as the API's flat list: ``[[a, b], [c]]`` -> ``[a, "AND", b, "OR", c]``.

    Public because it is the one place that knows the list's shape; ``records.and_conditions``
    builds the same kind of OR of ANDs from tool filters."""
    flat: list[Any] = []
    for conjunction in conjunctions:
        if flat:
            flat.append("OR")
        for position, clause in enumerate(conjunction):
            if position:
                flat.append("AND")
            flat.append(clause)
    return flat
