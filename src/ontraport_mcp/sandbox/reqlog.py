"""In-memory log of /1 requests for tests (credentials and card data redacted)."""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from typing import Any

SECRET_KEYS = {
    "api_key",
    "api-key",
    "apikey",
    "api_appid",
    "api-appid",
    "appid",
    "app_id",
    "password",
}
CARD_KEYS = {"ccnumber", "card_number", "cardnumber", "cc_number", "number"}
CVV_KEYS = {"code", "cvv", "cvv_code", "cvc", "cctoken"}
PAN_RE = re.compile(r"\b[0-9]{13,19}\b")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _mask_pan(text: str) -> str:
    return PAN_RE.sub(
        lambda m: ("*" * (len(m.group()) - 4) + m.group()[-4:]) if _luhn(m.group()) else m.group(),
        text,
    )


def redact(value: Any, key: str = "", in_payer: bool = False) -> Any:
    k = key.lower()
    if isinstance(value, dict):
        payer = in_payer or k == "payer"
        return {kk: redact(vv, kk, payer) for kk, vv in value.items()}
    if isinstance(value, list):
        return [redact(v, key, in_payer) for v in value]
    if k in SECRET_KEYS:
        return "[redacted]"
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        s = str(value)
        if k in CARD_KEYS and (in_payer or k != "number"):
            digits = re.sub(r"[^0-9]", "", s)
            return "*" * max(len(digits) - 4, 0) + digits[-4:]
        if in_payer and k in CVV_KEYS:
            return "[redacted]"
        if isinstance(value, str):
            return _mask_pan(value)
    return value


class RequestLog:
    def __init__(self, size: int = 5000) -> None:
        self._items: deque[dict[str, Any]] = deque(maxlen=size)
        self._seq = 0
        self._lock = threading.Lock()

    def add(
        self,
        method: str,
        path: str,
        query: dict[str, Any],
        body: Any,
        status: int,
        account: int | None,
    ) -> None:
        with self._lock:
            self._seq += 1
            self._items.append(
                {
                    "seq": self._seq,
                    "time": round(time.time(), 6),
                    "method": method,
                    "path": path,
                    "query": redact(query),
                    "body": redact(body),
                    "status": status,
                    "account": account,
                }
            )

    def items(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
