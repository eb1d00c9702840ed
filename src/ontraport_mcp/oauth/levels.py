"""Access levels: what a grant lets its holder do, as one table.

A level is chosen by the user on the consent page, stored with the grant, carried by every token
of the grant and exposed to the dispatch at ``scope["ontraport_mcp.access"]``.  The dispatch (not
this package) filters ``tools/list`` and refuses calls by tool class:

    R  read            W  non-money write
    D  delete          $  money (charges, refunds)

Levels are ordered: ``read`` < ``write`` < ``full``; a refresh may keep or narrow a level, never
widen it.  Each level is one OAuth scope value (``ontraport:<level>``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

from ..runtime.dispatch import ACCESS_SCOPE_KEY as ACCESS_SCOPE_KEY
from ..runtime.toolspec import ACCESS_LEVELS

Level = Literal["read", "write", "full"]

LEVELS: Final[Mapping[str, frozenset[str]]] = ACCESS_LEVELS
"""The tool classes each level allows: the runtime's table (``runtime.toolspec``), not a copy."""

LEVEL_ORDER: Final[tuple[Level, ...]] = ("read", "write", "full")
"""Narrowest first: the rank of a level is its index here."""

LEVEL_LABELS: Final[dict[Level, str]] = {
    "read": "Read only: look up contacts, deals, products and reports",
    "write": "Read and write: also create and update records (no deletes, no money)",
    "full": "Full: everything, including deletes, charges and refunds (confirmations still apply)",
}
"""How the consent page describes each level."""

SCOPE_PREFIX: Final = "ontraport:"
SCOPES: Final[dict[str, Level]] = {f"{SCOPE_PREFIX}{level}": level for level in LEVEL_ORDER}
"""OAuth scope value → level."""

# ACCESS_SCOPE_KEY (imported above, re-exported): where the gate puts a request's level, the
# key the dispatch reads


def scope_of(level: Level) -> str:
    """The OAuth scope value that names ``level``."""
    return f"{SCOPE_PREFIX}{level}"


def all_scopes() -> list[str]:
    """Every scope value, narrowest first (for metadata and challenges)."""
    return [scope_of(level) for level in LEVEL_ORDER]


def rank(level: Level) -> int:
    return LEVEL_ORDER.index(level)


def levels_in(scope: str | None) -> list[Level]:
    """The levels a space-separated scope string names, narrowest first; unknown values (a
    client's own, ``offline_access``) are ignored, as RFC 6749 §3.3 lets a server do."""
    named = {SCOPES[value] for value in (scope or "").split() if value in SCOPES}
    return [level for level in LEVEL_ORDER if level in named]


def preselected(scope: str | None) -> Level:
    """The level the consent page offers first: the narrowest one the client asked for (least
    privilege), ``read`` when it named none."""
    named = levels_in(scope)
    return named[0] if named else "read"


def widest(scope: str | None) -> Level | None:
    """The widest level a scope string names, None when it names none."""
    named = levels_in(scope)
    return named[-1] if named else None


def parse_level(value: str | None) -> Level | None:
    """A level from a form field or a stored record; None when it is not one."""
    for level in LEVEL_ORDER:
        if value == level:
            return level
    return None
