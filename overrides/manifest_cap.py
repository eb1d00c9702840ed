"""The manifest cap: which custom objects get their four tools when not all of them fit.

Policy (documented in the README): static tools always stay; custom objects are added whole
(all four of their tools or none), most recently modified first; when any is left out, one
``_manifest_note`` tool takes a slot and tells the agent how to reach the rest.  With the default
cap of 100 and 48 static tools, 13 custom objects fill the manifest exactly; from 14 on, 12 are
listed plus the note (97 tools), because a 13th object would need 4 of the 3 remaining slots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from ontraport_mcp.runtime.registry import provides

T = TypeVar("T")
TOOLS_PER_OBJECT = 4


@dataclass(frozen=True, slots=True)
class CapDecision:
    included: tuple[int, ...]  # indexes into the newest-first list of custom objects
    omitted: tuple[int, ...]
    note: bool


@provides("apply_cap")
def apply_cap(static_count: int, object_count: int, cap: int) -> CapDecision:
    """Decide for ``object_count`` custom objects, already sorted newest first."""
    room = max(0, cap - static_count)
    if object_count * TOOLS_PER_OBJECT <= room:
        return CapDecision(tuple(range(object_count)), (), False)
    fit = max(0, room - 1) // TOOLS_PER_OBJECT  # one slot is the note's
    return CapDecision(tuple(range(fit)), tuple(range(fit, object_count)), True)


@provides("newest_first")
def newest_first(items: Sequence[T], recency: Sequence[tuple[int, int]]) -> list[T]:
    order = sorted(range(len(items)), key=lambda i: recency[i], reverse=True)
    return [items[i] for i in order]
