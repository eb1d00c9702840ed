"""Fault injection for the /1 API, reproducible through a seeded RNG.

For every request the injector draws exactly three numbers (hang, error, malformed) in that order,
whatever the settings, so the same settings + the same sequence of requests give the same faults.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, fields
from typing import Any

from .config import FaultSettings
from .errors import bad


@dataclass
class Decision:
    latency_s: float = 0.0
    hang_s: float = 0.0
    error_status: int | None = None
    malformed: bool = False
    force_429: bool = False


class FaultInjector:
    def __init__(self, settings: FaultSettings | None = None) -> None:
        self._lock = threading.Lock()
        self.settings = FaultSettings()
        self._rng = random.Random(1)
        self.apply(settings or FaultSettings())

    def apply(self, settings: FaultSettings) -> None:
        with self._lock:
            self.settings = settings
            self._rng = random.Random(settings.seed)

    def update(self, changes: dict[str, Any]) -> FaultSettings:
        """Validate a JSON body of ``PUT /_admin/faults`` and apply it (unknown keys are refused)."""
        if not isinstance(changes, dict):
            raise bad("fault settings must be a JSON object")
        known = {f.name for f in fields(FaultSettings)}
        unknown = set(changes) - known
        if unknown:
            raise bad(f"unknown fault setting(s): {sorted(unknown)}")
        merged = {**self.settings.to_dict(), **changes}
        try:
            s = FaultSettings(
                latency_ms=int(merged["latency_ms"]),
                error_rate=float(merged["error_rate"]),
                error_statuses=[int(x) for x in (merged["error_statuses"] or [500])],
                hang_rate=float(merged["hang_rate"]),
                hang_s=float(merged["hang_s"]),
                malformed_rate=float(merged["malformed_rate"]),
                force_429=bool(merged["force_429"]),
                seed=int(merged["seed"]),
                paths=None if merged["paths"] is None else [str(p) for p in merged["paths"]],
            )
        except (TypeError, ValueError):
            raise bad("invalid fault settings") from None
        for name in ("error_rate", "hang_rate", "malformed_rate"):
            if not 0.0 <= getattr(s, name) <= 1.0:
                raise bad(f"{name} must be between 0 and 1")
        if s.latency_ms < 0 or s.latency_ms > 120_000 or s.hang_s < 0 or s.hang_s > 600:
            raise bad("latency_ms must be 0..120000 and hang_s 0..600")
        if any(not 400 <= c <= 599 for c in s.error_statuses):
            raise bad("error_statuses must be HTTP 4xx/5xx codes")
        self.apply(s)
        return s

    def _applies(self, path: str) -> bool:
        paths = self.settings.paths
        if not paths:
            return True
        return any(path.startswith(p[2:] if p.startswith("/1/") else p) for p in paths)

    def decide(self, path: str) -> Decision:
        with self._lock:
            s = self.settings
            if not self._applies(path):
                return Decision()
            r_hang, r_err, r_mal = self._rng.random(), self._rng.random(), self._rng.random()
            d = Decision(latency_s=s.latency_ms / 1000.0, force_429=s.force_429)
            if r_hang < s.hang_rate:
                d.hang_s = s.hang_s
            elif r_err < s.error_rate:
                d.error_status = s.error_statuses[int(r_mal * 1_000_003) % len(s.error_statuses)]
            elif r_mal < s.malformed_rate:
                d.malformed = True
            return d
