"""Assertion helpers shared by the sandbox tests."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

import httpx
import jsonschema
import yaml


def ok(r: httpx.Response) -> Any:
    """Assert a success envelope and return its ``data`` (or None when absent)."""
    assert r.status_code == 200, (
        f"{r.request.method} {r.request.url} -> {r.status_code}: {r.text[:500]}"
    )
    body = r.json()
    assert body["code"] == 0 and body["account_id"] == 204817
    return body.get("data")


def err(r: httpx.Response, status: int) -> str:
    """Assert an error response with the sandbox error body; return its message."""
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text[:500]}"
    body = r.json()
    assert set(body) >= {"code", "error", "message"} and body["code"] == status, body
    assert "Traceback" not in r.text
    return str(body["message"])


def cond(*parts: Any) -> str:
    """Build a condition JSON string: cond(("state", "=", "CA"), "AND", ("id", ">", 3))."""
    out: list[Any] = []
    for p in parts:
        if isinstance(p, str):
            out.append(p)
            continue
        field, op, value = p
        if isinstance(value, list):
            v: Any = {"list": [{"value": x} for x in value]}
        elif value == "NULL":
            v = "NULL"
        else:
            v = {"value": value}
        out.append({"field": {"field": field}, "op": op, "value": v})
    return json.dumps(out)


@cache
def spec() -> dict[str, Any]:
    """openapi/ontraport.yaml as shipped in the package (what the sandbox must answer to)."""
    loaded: dict[str, Any] = yaml.safe_load(
        (files("ontraport_mcp.openapi") / "ontraport.yaml").read_text()
    )
    return loaded


def spec_validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator for ``schema`` whose ``$ref``s resolve against the spec's components."""
    return jsonschema.Draft202012Validator({**schema, "components": spec()["components"]})
