"""Time helpers. Seeded data uses the fixed ``SEED_EPOCH``; API writes use the wall clock."""

from __future__ import annotations

import time
from decimal import ROUND_HALF_UP, Decimal

SEED_EPOCH = 1767225600  # 2026-01-01T00:00:00Z — "now" for deterministic seed data
DAY = 86400

UNIT_SECONDS = {
    "day": DAY,
    "week": 7 * DAY,
    "month": 30 * DAY,
    "quarter": 91 * DAY,
    "year": 365 * DAY,
}


def now() -> int:
    return int(time.time())


def cents(value: float | Decimal | str) -> Decimal:
    """Round half-up to cents (money maths is done in Decimal)."""
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def money(value: float | Decimal | str) -> str:
    return f"{cents(value):.2f}"
