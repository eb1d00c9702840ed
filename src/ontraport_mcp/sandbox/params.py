"""Request parameters: query + JSON/form body merged into one dict, and typed readers for them."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from .errors import bad

_BRACKET = re.compile(r"\[([^\]]*)\]")
MAX_DEPTH = 32


def _set_path(target: dict[str, Any], key: str, value: str) -> None:
    """PHP-style ``a[b][]=v`` keys become nested dicts/lists."""
    m = re.match(r"^([^\[]+)((?:\[[^\]]*\])+)$", key)
    if not m:
        target[key] = value
        return
    parts = [m.group(1), *_BRACKET.findall(m.group(2))][:MAX_DEPTH]
    node: Any = target
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if last:
                node.append(value)
                return
            child: Any = [] if parts[i + 1] == "" else {}
            node.append(child)
            node = child
            continue
        if last:
            node[part] = value
            return
        if part not in node or not isinstance(node[part], (dict, list)):
            node[part] = [] if parts[i + 1] == "" else {}
        node = node[part]


def _listify(value: Any) -> Any:
    """Dicts whose keys are 0..n-1 (from ``a[0][x]=...``) become lists."""
    if isinstance(value, dict):
        value = {k: _listify(v) for k, v in value.items()}
        keys = list(value)
        if (
            keys
            and all(k.isascii() and k.isdigit() for k in keys)
            and sorted(int(k) for k in keys) == list(range(len(keys)))
        ):
            return [value[str(i)] for i in range(len(keys))]
        return value
    if isinstance(value, list):
        return [_listify(v) for v in value]
    return value


def parse_pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        _set_path(out, k, v)
    return {k: _listify(v) for k, v in out.items()}


def parse_query(query: str) -> dict[str, Any]:
    return parse_pairs(parse_qsl(query, keep_blank_values=True))


def parse_body(raw: bytes, content_type: str) -> dict[str, Any] | None:
    """Parse a request body. Returns None for an empty body; raises 400 for malformed input."""
    if not raw or not raw.strip():
        return None
    ctype = content_type.split(";")[0].strip().lower()
    text: str
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad("The request body is not valid UTF-8") from None
    if ctype == "application/x-www-form-urlencoded" or (
        ctype != "application/json" and not text.lstrip().startswith(("{", "["))
    ):
        if ctype == "application/x-www-form-urlencoded" or "=" in text:
            return parse_pairs(parse_qsl(text, keep_blank_values=True))
        raise bad("Unsupported request body; send JSON or application/x-www-form-urlencoded")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise bad("The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise bad("The JSON request body must be an object")
    if _depth(data) > MAX_DEPTH:
        raise bad(f"The JSON request body is nested deeper than {MAX_DEPTH} levels")
    return data


def _depth(value: Any) -> int:
    """Nesting depth of a decoded JSON value (iterative, so deep input cannot exhaust the stack)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        if d > MAX_DEPTH:
            break
        if isinstance(node, dict):
            stack.extend((v, d + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, d + 1) for v in node)
    return deepest


# ---------------------------------------------------------------------------- typed readers
def has(params: dict[str, Any], name: str) -> bool:
    v = params.get(name)
    return v is not None and v != "" and v != []


def _scalar(params: dict[str, Any], name: str) -> Any:
    v = params.get(name)
    if isinstance(v, (dict, list)):
        raise bad(f"Parameter '{name}' must be a single value")
    return v


def p_int(
    params: dict[str, Any],
    name: str,
    *,
    required: bool = False,
    default: int | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    v = _scalar(params, name)
    if v is None or v == "":
        if required:
            raise bad(f"Missing required parameter '{name}'")
        return default
    if isinstance(v, bool):
        raise bad(f"Parameter '{name}' must be an integer")
    if isinstance(v, float):
        if not v.is_integer():
            raise bad(f"Parameter '{name}' must be an integer")
        v = int(v)
    if isinstance(v, str):
        s = v.strip()
        if not re.fullmatch(r"-?[0-9]{1,18}", s):
            raise bad(f"Parameter '{name}' must be an integer, got {v!r}")
        v = int(s)
    if not isinstance(v, int):
        raise bad(f"Parameter '{name}' must be an integer")
    if abs(v) > 2**62:
        raise bad(f"Parameter '{name}' is out of range")
    if minimum is not None and v < minimum:
        raise bad(f"Parameter '{name}' must be >= {minimum}")
    if maximum is not None and v > maximum:
        raise bad(f"Parameter '{name}' must be <= {maximum}")
    return v


def req_int(params: dict[str, Any], name: str, *, minimum: int | None = None) -> int:
    v = p_int(params, name, required=True, minimum=minimum)
    assert v is not None
    return v


def p_str(
    params: dict[str, Any], name: str, *, required: bool = False, default: str | None = None
) -> str | None:
    v = _scalar(params, name)
    if v is None or v == "":
        if required:
            raise bad(f"Missing required parameter '{name}'")
        return default
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def p_bool(params: dict[str, Any], name: str, default: bool = False) -> bool:
    v = _scalar(params, name)
    if v is None or v == "":
        return default
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v != 0
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off"):
        return False
    raise bad(f"Parameter '{name}' must be a boolean (0/1/true/false)")


def p_list(params: dict[str, Any], name: str) -> list[str] | None:
    """A list given as JSON array, JSON-array text, or comma-separated string. None when absent."""
    v = params.get(name)
    if v is None or v == "":
        return None
    if isinstance(v, str):
        s = v.strip()
        if s.startswith("["):
            try:
                v = json.loads(s)
            except (ValueError, RecursionError):
                raise bad(f"Parameter '{name}' is not a valid list") from None
        else:
            return [p.strip() for p in s.split(",") if p.strip() != ""]
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return [p_str({name: v}, name) or ""]
    if isinstance(v, list):
        out: list[str] = []
        for item in v:
            if isinstance(item, (dict, list)) or item is None or isinstance(item, bool):
                raise bad(f"Parameter '{name}' must be a list of scalars")
            if isinstance(item, float) and item.is_integer():
                item = int(item)
            s = str(item).strip()
            if s:
                out.extend(p.strip() for p in s.split(",") if p.strip())
        return out
    raise bad(f"Parameter '{name}' must be a list")


def p_int_list(params: dict[str, Any], name: str) -> list[int] | None:
    items = p_list(params, name)
    if items is None:
        return None
    out: list[int] = []
    for item in items:
        if not re.fullmatch(r"-?[0-9]{1,18}", item):
            raise bad(f"Parameter '{name}' must contain integers, got {item!r}")
        out.append(int(item))
    return out


def p_json(params: dict[str, Any], name: str) -> Any:
    """A JSON-valued parameter given either as JSON text or already decoded."""
    v = params.get(name)
    if isinstance(v, str):
        if not v.strip():
            return None
        try:
            v = json.loads(v)
        except (ValueError, RecursionError):
            raise bad(f"Parameter '{name}' is not valid JSON") from None
        if _depth(v) > MAX_DEPTH:
            raise bad(f"Parameter '{name}' is nested too deeply")
    return v
