"""JSON on the hot path: orjson when it can, the standard library when it cannot.

A ``tools/call`` of a list tool decodes the upstream page and encodes the result (and its text
block) — with the standard library that was about a third of the server's CPU per call
(``make bench`` profile).  orjson produces the same JSON values; the differences are spelling
only (non-ASCII characters are written as UTF-8, not ``\\u`` escapes).  It refuses what JSON
cannot express faithfully — integers beyond 64 bits, NaN on input — and then the standard
library answers exactly as before, so no value that worked stops working.  (orjson reads an
integer beyond 64 bits as a float; nothing the Ontraport API sends is that large, and request
bodies from clients are read by ``loads_request``, which gives exactly what the standard library
gives.)
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> str:
    """Compact JSON text; values JSON cannot hold are written with ``str()``."""
    try:
        return orjson.dumps(value, default=str, option=_OPTIONS).decode()
    except TypeError:  # e.g. an integer beyond 64 bits
        return json.dumps(value, separators=(",", ":"), default=str)


def loads(data: bytes | str) -> Any:
    """Parse JSON; raises ``ValueError`` when it is not JSON (NaN and Infinity are not)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data, parse_constant=_not_json)  # re-raises for what is not JSON


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


_LONG_DIGITS = re.compile(rb"[0-9]{19}")
"""Nineteen digits in a row: a number orjson might read differently (beyond 64 bits it gives a
float); shorter runs are integers both parsers read alike."""


def loads_request(data: bytes) -> Any:
    """Parse a client's request body to exactly what ``json.loads(data)`` returns, faster.

    orjson reads it unless the body holds a run of 19 or more digits; whatever orjson refuses
    (NaN, Infinity, lone surrogates, numbers beyond a double, non-UTF-8 text, deep nesting) is
    handed to the standard library, which then accepts or raises as it always did."""
    if _LONG_DIGITS.search(data) is None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)
