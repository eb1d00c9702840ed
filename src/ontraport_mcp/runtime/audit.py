"""The audit log: one structured JSON line per tool call, to a configurable sink.

Fields: time, tool, account (a digest, never the credentials), the arguments, outcome, upstream
status, number of upstream calls, duration, and the request id (``observe.request_id``, the same
id as the request's span and log lines) when one is set.

With ``fmt="json"`` (``--log-format json``) the line goes through the JSON log formatter of
``telemetry.logs``: the same fields, plus the time, level and logger every JSON log line has.

What a line says of the arguments is chosen by ``ONTRAPORT_AUDIT_ARGS``:

* ``safe`` (default): no customer data.  Every argument *name* is kept, and of the values only
  what identifies the work without identifying a person: record and type ids, amounts and counts
  (numbers under names such as ``id``, ``*_id``, ``ids``, ``price``, ``amount``, ``quantity``),
  booleans, and strings the tool's schema limits to an enum (``action: "add"``).  Everything else
  (names, emails, phone numbers, addresses, free text, conditions, card data) is written as its
  shape only: ``"<text 24>"``, ``"<number>"``, ``"<object 3>"``.
* ``full``: values too, for debugging on a trusted host; credentials, confirmation tokens and
  anything named like a secret or card data are still masked.

Both walks are bounded in depth and width, so no argument value can make a line large or deep.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any, Literal

from .. import observe

_LOG = logging.getLogger("ontraport_mcp.runtime.audit")
_SECRET_KEYS = re.compile(r"(token|secret|password|key|card|ccnumber|cvv|code|payer)", re.I)
_SAFE_NUMBER_KEYS = re.compile(
    r"(^|_)(id|ids|amount|amounts|price|total|quantity|count|range|start|"
    r"payment_count|unit_count|days)$",
    re.I,
)
_MAX_DEPTH = 6
_MAX_ITEMS = 20
_MAX_TEXT = 200

AuditArgs = Literal["safe", "full"]
_mode: AuditArgs = "safe"


def configure(sink: str, args: AuditArgs = "safe", fmt: Literal["text", "json"] = "text") -> None:
    """``sink``: ``stderr`` (default), ``off``, or a file path (appended); ``args``: see above;
    ``fmt``: ``text`` writes the bare JSON line, ``json`` the line as a JSON log object."""
    global _mode
    _mode = args
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
    if fmt == "json":
        from ..telemetry.logs import JsonFormatter

        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(message)s"))
    _LOG.addHandler(handler)
    _LOG.setLevel(logging.INFO)


def _shape(value: Any) -> str:
    if isinstance(value, str):
        return f"<text {len(value)}>"
    if isinstance(value, bool) or value is None:
        return "<value>"
    if isinstance(value, int | float):
        return "<number>"
    if isinstance(value, dict):
        return f"<object {len(value)}>"
    if isinstance(value, list):
        return f"<list {len(value)}>"
    return "<value>"


def _enum_of(schema: Any) -> list[Any]:
    if not isinstance(schema, dict):
        return []
    found = list(schema.get("enum", ()))
    for option in schema.get("anyOf", ()):
        found += _enum_of(option)
    return found


def _child_schema(schema: Any, key: Any) -> Any:
    if not isinstance(schema, dict):
        return None
    if isinstance(key, int):
        return schema.get("items")
    props = schema.get("properties")
    return props.get(key) if isinstance(props, dict) else None


def safe_view(value: Any, schema: Any = None, key: str = "", depth: int = 0) -> Any:
    """``value`` with customer data replaced by its shape (the ``safe`` mode)."""
    if key and _SECRET_KEYS.search(key) and not _SAFE_NUMBER_KEYS.search(key):
        return "[redacted]"
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return value if key and _SAFE_NUMBER_KEYS.search(key) else "<number>"
    if isinstance(value, str):
        return value if len(value) <= _MAX_TEXT and value in _enum_of(schema) else _shape(value)
    if depth >= _MAX_DEPTH or not isinstance(value, dict | list):
        return _shape(value)
    if isinstance(value, dict):
        items = list(value.items())[:_MAX_ITEMS]
        view = {
            str(k)[:_MAX_TEXT]: safe_view(v, _child_schema(schema, k), str(k), depth + 1)
            for k, v in items
        }
        if len(value) > _MAX_ITEMS:
            view["…"] = f"{len(value) - _MAX_ITEMS} more"
        return view
    # a list of ids keeps its ids; a list of anything else its shapes
    kept = [safe_view(v, _child_schema(schema, 0), key, depth + 1) for v in value[:_MAX_ITEMS]]
    return kept + (["…"] if len(value) > _MAX_ITEMS else [])


def redact(value: Any, key: str = "", depth: int = 0) -> Any:
    """``value`` with secrets masked and sizes bounded (the ``full`` mode)."""
    if key and _SECRET_KEYS.search(key):
        return "[redacted]"
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        return value[:_MAX_TEXT] + "…"
    if not isinstance(value, dict | list):
        return value
    if depth >= _MAX_DEPTH:
        return _shape(value)
    if isinstance(value, dict):
        return {
            str(k)[:_MAX_TEXT]: redact(v, str(k), depth + 1)
            for k, v in list(value.items())[:_MAX_ITEMS]
        }
    kept = [redact(v, "", depth + 1) for v in value[:_MAX_ITEMS]]
    return kept + (["…"] if len(value) > _MAX_ITEMS else [])


def audit(*, schema: Any = None, **fields: Any) -> None:
    """Write one line; ``schema`` is the tool's input schema (it tells which strings are enums)."""
    if _LOG.disabled or not _LOG.handlers:
        return
    line = {"ts": round(time.time(), 3), **fields}
    args = line.get("args") or {}
    line["args"] = safe_view(args, schema) if _mode == "safe" else redact(args)
    line["duration_ms"] = round(float(line.get("duration_ms", 0.0)), 2)
    request_id = observe.request_id.get()
    if request_id is not None:
        line["request_id"] = request_id
    # ensure_ascii: a lone surrogate in an argument name is written as an escape, not an error
    _LOG.info(json.dumps(line, separators=(",", ":"), default=str), extra={"audit": line})
