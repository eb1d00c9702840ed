"""How much work one condition may cost, and how a refusal of that is reported.

Separate because the caps are a contract shared by every stage (the lexer counts tokens, the
parser counts nesting and clauses, the flattener counts the multiplied-out clauses, the JSON
validator counts items): keeping them in one module means a limit is changed in one place, and
every stage's refusal names the same number. ``ConditionError`` lives here too, as the one
exception every stage raises, so no stage has to import another just to fail.

Parsing runs on the server's event loop, so every step is linear in the input and the input is
capped; every limit is refused with a ``ConditionError`` naming the limit and how to stay within
it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sized
from typing import Final

MAX_CLAUSES: Final = 32
"""Most clause objects one condition may expand to; beyond this the caller must simplify."""

MAX_DEPTH: Final = 32
"""Deepest parenthesis nesting accepted; keeps the recursive parser far from Python's limit."""

MAX_EXPRESSION_LENGTH: Final = 10_000
"""Longest readable expression accepted, so a runaway argument cannot cost unbounded work."""

MAX_TOKENS: Final = 1_000
"""Most words, quoted strings, operators and punctuation one readable expression may hold.

With ``MAX_EXPRESSION_LENGTH`` this bounds the parser's work (about a millisecond at most; it
runs on the server's event loop): 1,000 tokens leave room for 32 clauses plus IN lists of a few
hundred values, far beyond what a hand-written condition needs."""

MAX_JSON_ITEMS: Final = 2_000
"""Most clauses, connectors and IN values together a condition given as JSON may hold; the same
bound on work as ``MAX_TOKENS`` for the readable form."""

MAX_JSON_LENGTH: Final = 200_000
"""Longest condition accepted as JSON text (a string starting with ``[`` or ``{``)."""


class ConditionError(ValueError):
    """A condition could not be understood; the message says how to fix it.

    ``position`` is the character offset in the readable expression (``None`` when the problem is
    in JSON input and has no text position); ``choices`` are the values that would have been
    accepted (closest field names, valid operators, option labels), so a caller can offer them.
    """

    def __init__(
        self, message: str, *, position: int | None = None, choices: Iterable[str] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.choices: tuple[str, ...] = tuple(choices)

    def __str__(self) -> str:
        return self.message


def check_items(items: Sized, start: int) -> None:
    """Stop parsing a group as soon as its items alone pass ``MAX_CLAUSES`` (each item is at least
    one clause), rather than parse thousands of clauses only to refuse them afterwards."""
    if len(items) > MAX_CLAUSES:
        too_complex(len(items), start)


def too_complex(size: int, start: int) -> None:
    """Refuse a condition whose multiplied-out form passes ``MAX_CLAUSES``."""
    raise ConditionError(
        f"The condition expands to at least {size} clauses (limit {MAX_CLAUSES}): the API cannot "
        "nest parentheses, so each AND over an OR group is multiplied out. Simplify it, use "
        "IN (...) instead of chains of OR on one field, or split it into several calls.",
        position=start,
    )


def too_much_json() -> ConditionError:
    """The error for JSON input past ``MAX_JSON_ITEMS``; returned so the caller raises it."""
    return ConditionError(
        f"The condition JSON holds more than {MAX_JSON_ITEMS} clauses, connectors and IN values "
        "together; use fewer, or split the work over several calls.",
        position=None,
    )
