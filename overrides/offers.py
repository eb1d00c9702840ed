"""validate_offer: check an offer and compute its totals without side effects (reads only)."""

from __future__ import annotations

from typing import Any

from ontraport_mcp.domain.offers import format_money, prepare
from ontraport_mcp.runtime.context import ToolContext
from ontraport_mcp.runtime.registry import override


@override("validate_offer")
async def validate_offer(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    built = await prepare(ctx, args["offer"])
    out: dict[str, Any] = {
        "valid": built.valid,
        "problems": [p.as_dict() for p in built.problems],
        "totals": built.totals(),
        "offer": built.api(),
    }
    errors = sum(1 for p in built.problems if p.severity == "error")
    warnings = len(built.problems) - errors
    if built.valid:
        out["message"] = (
            f"The offer is valid: {built.describe()}; first charge "
            f"{format_money(built.total)}" + (f" ({warnings} warning(s))." if warnings else ".")
        )
    else:
        out["message"] = (
            f"{errors} problem(s) must be fixed before the offer can be used"
            + (f" (and {warnings} warning(s))" if warnings else "")
            + "; the totals cover only the lines without problems."
        )
    return out
