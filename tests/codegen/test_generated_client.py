"""The generated client talks HTTP to a local endpoint; the generated models parse real shapes."""

import json
import threading
import time
from importlib.resources import files

import httpx
import pytest
import uvicorn
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ontraport_mcp.generated.client import Client
from ontraport_mcp.generated.client.api.objects import get_object, list_objects
from ontraport_mcp.generated.models import api, objects
from ontraport_mcp.sandbox.testing import free_port

SEEN: list[dict] = []


async def _objects(request: Request) -> JSONResponse:
    SEEN.append(
        {
            "path": request.url.path,
            "query": dict(request.query_params),
            "key": request.headers.get("api-key"),
        }
    )
    return JSONResponse(
        {"code": 0, "data": [{"id": "8", "firstname": "Lena"}], "account_id": 7, "misc": []}
    )


async def _object(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "code": 0,
            "data": {"id": request.query_params["id"], "email": "a@b.test"},
            "account_id": 7,
        }
    )


@pytest.fixture(scope="module")
def local_api():
    app = Starlette(routes=[Route("/1/objects", _objects), Route("/1/object", _object)])
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


def test_generated_client_calls_a_local_endpoint(local_api):
    client = Client(base_url=local_api, headers={"Api-Key": "k", "Api-Appid": "a"})
    with client:
        response = list_objects.sync_detailed(
            client=client, object_id=0, range_=5, list_fields="firstname"
        )
        assert response.status_code == 200
        assert json.loads(response.content)["data"][0]["firstname"] == "Lena"
        one = get_object.sync_detailed(client=client, object_id=0, id=8)
        assert one.status_code == 200
    assert SEEN[-1] == {
        "path": "/1/objects",
        "key": "k",
        "query": {"objectID": "0", "start": "0", "range": "5", "listFields": "firstname"},
    }


def test_meta_models_parse_the_snapshot():
    raw = json.loads((files("ontraport_mcp.openapi") / "objects_meta.json").read_text())
    envelope = api.MetaEnvelope.model_validate(raw)
    assert envelope.code.root == 0
    assert set(envelope.data.root) == set(raw["data"])
    assert envelope.data.root["10000"].name == "Student"
    contact = objects.Contact.model_validate(
        {"id": "1", "firstname": "Ada", "priority": "8", "spent": "12.50"}
    )
    assert contact.firstname == "Ada"
    with pytest.raises(ValidationError):
        objects.Contact.model_validate({"spent": "twelve"})
    student = objects.Student.model_validate({"id": "3", "f1601": "Sam"})
    assert student.f1601 == "Sam"


def test_httpx_is_the_clients_transport():
    assert isinstance(Client(base_url="http://127.0.0.1:1").get_httpx_client(), httpx.Client)
