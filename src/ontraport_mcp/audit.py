"""The audit log: one structured JSON line per tool call, to a configurable sink.

Fields: time, tool, account (a hash, never the credentials), redacted arguments, outcome,
upstream status, number of upstream calls and duration.  Values of arguments whose names suggest
a secret or card data are masked, and confirmation tokens are never written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

_LOG = logging.getLogger("ontraport_mcp.audit")
_SECRET_KEYS = re.compile(r"(token|secret|password|key|card|ccnumber|cvv|code|payer)", re.I)


def configure(sink: str) -> None:
    """``stderr`` (default), ``off``, or a file path (appended)."""
    for old in list(_LOG.handlers):
        _LOG.removeHandler(old)
        old.close()
    _LOG.propagate = False
    if sink == "off":
        _LOG.disabled = True
        return
    _LOG.disabled = False
    handler: logging.Handler = (
        logging.StreamHandler(sys.stderr) if sink == "stderr" else logging.FileHandler(sink)
    )
    handler.setFormatter(logging.Formatter("%(message)s"))
    _LOG.addHandler(handler)
    _LOG.setLevel(logging.INFO)


def redact(value: Any, key: str = "") -> Any:
    if key and _SECRET_KEYS.search(key):
        return "[redacted]"
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value[:20]] + (["…"] if len(value) > 20 else [])
    if isinstance(value, str) and len(value) > 200:
        return value[:200] + "…"
    return value


def audit(**fields: Any) -> None:
    if _LOG.disabled or not _LOG.handlers:
        return
    line = {"ts": round(time.time(), 3), **fields}
    line["args"] = redact(line.get("args") or {})
    line["duration_ms"] = round(float(line.get("duration_ms", 0.0)), 2)
    _LOG.info(json.dumps(line, separators=(",", ":"), default=str))
