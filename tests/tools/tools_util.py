"""Helpers for the end-to-end tool tests: records made through the sandbox API, the upstream
request log, and checks of tool results against the catalog's output schemas."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from ontraport_mcp.generated.tools import TOOLS
from ontraport_mcp.runtime.executor import error_payload
from ontraport_mcp.sandbox.testing import SandboxServer

SPECS = {spec.name: spec for spec in TOOLS}


def uniq(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json().get("data")


def make_contact(api: httpx.Client, **fields: Any) -> int:
    fields.setdefault("firstname", "Test")
    fields.setdefault("lastname", uniq("L"))
    data = ok(api.post("/objects", json={"objectID": 0, **fields}))
    return int(data["id"])


def make_record(api: httpx.Client, type_id: int, **fields: Any) -> int:
    data = ok(api.post("/objects", json={"objectID": type_id, **fields}))
    return int(data.get("id") or data.get("tag_id"))


def get_record(api: httpx.Client, type_id: int, record_id: int) -> dict[str, Any]:
    return dict(ok(api.get("/object", params={"objectID": type_id, "id": record_id})))


def make_task(api: httpx.Client, contact_id: int, message_id: int = 4) -> int:
    """Assign a task from a task message to one contact; returns the new task id."""
    before = ok(
        api.get("/objects", params={"objectID": 1, "sort": "id", "sortDir": "desc", "range": 1})
    )
    last = int(before[0]["id"]) if before else 0
    ok(
        api.post(
            "/task/assign",
            json={"object_type_id": 0, "ids": [contact_id], "message": {"id": message_id}},
        )
    )
    cond = json.dumps(
        [
            {"field": {"field": "id"}, "op": ">", "value": {"value": last}},
            "AND",
            {"field": {"field": "contact_id"}, "op": "=", "value": {"value": contact_id}},
        ]
    )
    rows = ok(api.get("/objects", params={"objectID": 1, "condition": cond}))
    assert len(rows) == 1, rows
    return int(rows[0]["id"])


def insert(sandbox: SandboxServer, type_id: int, **values: Any) -> int:
    """Insert a record the API cannot create (groups, sequences, automations) straight into the store."""
    store = sandbox.state.store
    with store.transaction():
        return int(store.insert(type_id, values))


def make_group(sandbox: SandboxServer, name: str, condition: list[Any], type_id: int = 0) -> int:
    return insert(
        sandbox,
        3,
        name=name,
        object_type_id=type_id,
        owner="1",
        public="1",
        condition=json.dumps(condition),
    )


def clause(field: str, op: str, value: Any) -> dict[str, Any]:
    if op in ("IN", "NOT IN"):
        return {
            "field": {"field": field},
            "op": op,
            "value": {"list": [{"value": v} for v in value]},
        }
    return {"field": {"field": field}, "op": op, "value": {"value": value}}


def upstream(sandbox: SandboxServer) -> list[dict[str, Any]]:
    """The logged /1 requests since the last clear, without the (cached) meta fetch."""
    return [
        {k: r[k] for k in ("method", "path", "query", "body", "status")}
        for r in sandbox.requests()
        if r["path"] != "/objects/meta"
    ]


def writes(sandbox: SandboxServer) -> list[dict[str, Any]]:
    """The logged requests that are not reads."""
    return [r for r in upstream(sandbox) if r["method"] != "GET"]


def check_output(name: str, result: Any) -> dict[str, Any]:
    """A successful result whose structuredContent validates against the tool's outputSchema."""
    assert not result.is_error, result.content
    data = result.structured_content
    assert isinstance(data, dict)
    errors = list(Draft202012Validator(SPECS[name].output_schema).iter_errors(data))
    assert not errors, [e.message for e in errors]
    return data


def check_error(result: Any, code: str, *needles: str) -> dict[str, Any]:
    """A structured tool error with this code whose message mentions every needle."""
    assert result.is_error, result.content
    # an error result carries no structuredContent (strict clients check it against the
    # outputSchema); its one text block is the error object
    assert result.structured_content is None, result.structured_content
    data = error_payload(result)
    assert isinstance(data, dict), result.content
    assert data["code"] == code, data
    assert data["message"], data
    assert data.get("http_status", 400) < 500 or code.startswith("upstream"), data
    for needle in needles:
        assert needle.lower() in data["message"].lower(), (needle, data["message"])
    return data
