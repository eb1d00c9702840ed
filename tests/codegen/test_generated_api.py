"""The generated API (``generated/api.py``) is the one way to Ontraport: typed methods that send
through the real upstream transport, encoding exactly what the spec declares."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
import typing
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ontraport_mcp.credentials import Credentials
from ontraport_mcp.generated import api
from ontraport_mcp.sandbox.testing import free_port
from ontraport_mcp.upstream.client import Upstream
from ontraport_mcp.upstream.operation import Operation

FORM = "application/x-www-form-urlencoded"

SEEN: list[dict[str, Any]] = []


async def _record(request: Request) -> JSONResponse:
    SEEN.append(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "type": request.headers.get("content-type"),
            "body": (await request.body()).decode(),
            "key": request.headers.get("api-key"),
        }
    )
    return JSONResponse({"code": 0, "data": {"id": 8}, "account_id": 7})


@pytest.fixture(scope="module")
def local_api() -> Iterator[str]:
    app = Starlette(routes=[Route("/1/{path:path}", _record, methods=["GET", "POST", "PUT"])])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/1"
    server.should_exit = True
    thread.join(timeout=10)


def _send(base_url: str, call: Any) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        upstream = Upstream(base_url)
        creds = Credentials(app_id="a", api_key="k")
        ontraport = api.OntraportApi(lambda op, query, body: upstream.call(op, creds, query, body))
        try:
            result = await call(ontraport)
            assert result.status == 200 and result.data == {"id": 8}
        finally:
            await upstream.aclose()
        return SEEN[-1]

    return asyncio.run(run())


def test_a_read_sends_its_query_in_spec_order_with_the_spec_defaults(local_api):
    seen = _send(local_api, lambda o: o.list_objects(object_id=0, range_=5, list_fields="f"))
    assert seen["method"] == "GET" and seen["path"] == "/1/objects" and seen["key"] == "k"
    assert seen["query"] == "objectID=0&start=0&range=5&listFields=f"
    assert seen["body"] == ""


def test_a_json_body_and_the_extra_fields_of_an_open_body(local_api):
    seen = _send(
        local_api,
        lambda o: o.create_object(body={"objectID": 0}, fields={"firstname": "Ada", "f1": 2}),
    )
    assert (seen["method"], seen["path"], seen["type"]) == (
        "POST",
        "/1/objects",
        "application/json",
    )
    assert seen["body"] == '{"firstname":"Ada","f1":2,"objectID":0}'


def test_a_form_only_body_is_sent_as_a_form(local_api):
    """No operation of today's spec takes only a form; the transport still encodes one (an
    operation described here, as the spec would)."""
    op = Operation("form_only", "PUT", "/objects/form", content_types=(FORM,))
    seen = _send(local_api, lambda o: o._send(op, {"a": None}, {"ids": [1, 2], "flag": True}))
    assert (seen["method"], seen["type"], seen["query"]) == ("PUT", FORM, "")
    assert seen["body"] == "ids=1&ids=2&flag=true"


def test_every_operation_has_one_typed_method():
    methods = {
        name
        for name, fn in inspect.getmembers(api.OntraportApi, inspect.iscoroutinefunction)
        if not name.startswith("_")
    }
    assert methods == set(api.OPERATIONS)
    for name in methods:
        signature = inspect.signature(getattr(api.OntraportApi, name))
        assert all(
            p.kind is inspect.Parameter.KEYWORD_ONLY
            for p in list(signature.parameters.values())[1:]
        ), name


def test_bodies_are_typed_from_the_spec():
    hints = typing.get_type_hints(api.PauseObjectsBody)
    assert typing.get_args(hints["objectID"]) == (5, 6, 8, 140)
    assert api.PauseObjectsBody.__required_keys__ == {"objectID"}
