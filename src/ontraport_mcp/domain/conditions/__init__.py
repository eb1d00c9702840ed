"""Human-readable record conditions, translated into Ontraport's ``condition`` JSON.

Why this exists: the API filters records with a JSON array of clause objects joined by the strings
``"AND"``/``"OR"`` (API.md §1.8). A language model (or a person) writes
``state = CA and lifetime value > 1000`` far more reliably than that JSON, and it does not know
that "Sales Stage" is the field ``status`` or that the option "High" is stored as ``8``. This
package parses the readable form with a small recursive-descent parser, resolves field names and
option labels against the object type's ``/objects/meta`` entry, and emits the JSON. It also
validates JSON written by hand, renders JSON back to a one-line summary for confirmations, and
spots conditions that would select every record (so a bulk delete can refuse them).

The stages, each a module with one job (a module imports only those above it)::

    limits    the caps on work, and ConditionError, which every stage raises
    fields    the field table from meta, and name/alias/synonym lookup
    lexer     characters -> tokens; the syntax's keywords and operator spellings
    values    a typed value -> the API's representation for the field's type
    flatten   the parsed tree -> the flat AND/OR list (DNF), capped
    parse     the grammar; parse_condition
    clauses   JSON input checked and repaired; normalize_condition (any argument form)
    render    an API list -> one readable line (describe_condition)
    analysis  what a list selects (is_always_true)

Bounded work: parsing runs on the server's event loop, so every step is linear in the input and
the input is capped (all caps are in ``limits``): a readable condition at
``MAX_EXPRESSION_LENGTH`` characters and ``MAX_TOKENS`` tokens, nesting at ``MAX_DEPTH``, a flat
AND/OR chain at ``MAX_CLAUSES`` items (refused while parsing, not after), a JSON condition at
``MAX_JSON_LENGTH`` characters of text and ``MAX_JSON_ITEMS`` clauses, connectors and IN values.
The worst input costs about a millisecond or two; every limit is refused with a
``ConditionError`` naming the limit and how to stay within it, and error messages quote at most
80 characters of what was sent.
"""

from __future__ import annotations

from .analysis import is_always_true
from .clauses import normalize_condition
from .fields import FIELD_SYNONYMS, FieldInfo, fields_from_meta
from .flatten import join_conjunctions
from .limits import (
    MAX_CLAUSES,
    MAX_DEPTH,
    MAX_EXPRESSION_LENGTH,
    MAX_JSON_ITEMS,
    MAX_JSON_LENGTH,
    MAX_TOKENS,
    ConditionError,
)
from .parse import OPERATOR_CHOICES, parse_condition
from .render import describe_condition

__all__ = [
    "FIELD_SYNONYMS",
    "MAX_CLAUSES",
    "MAX_DEPTH",
    "MAX_EXPRESSION_LENGTH",
    "MAX_JSON_ITEMS",
    "MAX_JSON_LENGTH",
    "MAX_TOKENS",
    "OPERATOR_CHOICES",
    "ConditionError",
    "FieldInfo",
    "describe_condition",
    "fields_from_meta",
    "is_always_true",
    "join_conjunctions",
    "normalize_condition",
    "parse_condition",
]
