"""Rolling-window rate limiter per account (Ontraport: 180 requests per minute)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class RateLimiter:
    def __init__(self, limit: int = 180, window_s: float = 60.0) -> None:
        self.limit = max(int(limit), 1)
        self.window_s = float(window_s) if window_s > 0 else 60.0
        self._hits: dict[int, deque[float]] = {}
        self._lock = threading.Lock()

    def configure(self, limit: int, window_s: float) -> None:
        with self._lock:
            self.limit = max(int(limit), 1)
            self.window_s = float(window_s) if window_s > 0 else 60.0
            self._hits.clear()

    def _purge(self, q: deque[float], now: float) -> None:
        edge = now - self.window_s
        while q and q[0] <= edge:
            q.popleft()

    def hit(self, account: int) -> tuple[bool, dict[str, str]]:
        """Count one request. Returns (allowed, headers)."""
        with self._lock:
            now = time.monotonic()
            q = self._hits.setdefault(account, deque())
            self._purge(q, now)
            if len(q) >= self.limit:
                headers = self._headers(q, now)
                headers["Retry-After"] = headers["X-Rate-Limit-Reset"]
                return False, headers
            q.append(now)
            return True, self._headers(q, now)

    def peek(self, account: int) -> dict[str, str]:
        with self._lock:
            now = time.monotonic()
            q = self._hits.setdefault(account, deque())
            self._purge(q, now)
            return self._headers(q, now)

    def exhausted(self, account: int) -> dict[str, str]:
        """Headers for a forced 429 (fault injection)."""
        headers = self.peek(account)
        headers["X-Rate-Limit-Remaining"] = "0"
        headers["Retry-After"] = headers["X-Rate-Limit-Reset"]
        return headers

    def _headers(self, q: deque[float], now: float) -> dict[str, str]:
        reset = math.ceil(q[0] + self.window_s - now) if q else math.ceil(self.window_s)
        return {
            "X-Rate-Limit-Limit": str(self.limit),
            "X-Rate-Limit-Remaining": str(max(self.limit - len(q), 0)),
            "X-Rate-Limit-Reset": str(max(reset, 1)),
        }
