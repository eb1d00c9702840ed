"""The per-account manifest: cap, whole custom objects newest first, meta caching, and without
the account's metadata the static tools and a note (never a partial list of custom objects)."""

import asyncio

import httpx
import pytest

from ontraport_mcp.generated.tools import TOOLS
from ontraport_mcp.sandbox.testing import SandboxServer
from ontraport_mcp.settings import Settings
from ontraport_mcp.upstream.meta import CUSTOM_OBJECT_MIN_ID
from tests.server_thread import ServerThread, connect
from tests.snapshots.catalog_facts import CUSTOM_TYPES, STATIC_TOOLS, STUDENT, TOOLS_PER_OBJECT

pytestmark = pytest.mark.anyio

CAP = Settings().manifest_cap
SYNTHETIC = 27  # custom objects added to the snapshot's, more than fit under the cap
OBJECTS = len(CUSTOM_TYPES) + SYNTHETIC
FIT = (CAP - STATIC_TOOLS - 1) // TOOLS_PER_OBJECT  # whole objects beside the note's slot


def _meta_calls(sandbox: SandboxServer) -> int:
    return sum(1 for r in sandbox.requests() if r["path"].lower() == "/objects/meta")


def _settings(sandbox: SandboxServer, **kw) -> Settings:
    return Settings(base_url=sandbox.base_url, audit_log="off", **kw)


@pytest.fixture(scope="module")
def many_objects():
    """A sandbox with more custom objects than fit: the snapshot's and ``SYNTHETIC`` more."""
    assert OBJECTS > FIT
    with SandboxServer(custom_objects=SYNTHETIC, rate_limit=1_000_000, contacts=20) as sandbox:
        yield sandbox


async def test_cap_keeps_static_tools_and_whole_objects_newest_first(many_objects):
    with ServerThread(_settings(many_objects)) as server:
        headers = {"Api-Key": many_objects.api_key, "Api-Appid": many_objects.app_id}
        async with connect(server.url, headers) as client:
            tools = (await client.list_tools()).tools
    names = [t.name for t in tools]
    assert len(names) == len(set(names))
    assert CAP - TOOLS_PER_OBJECT < len(names) <= CAP  # another whole object would not fit
    # what a client reads: every argument of every tool, static or per object, is described
    bare = [
        f"{t.name}.{arg}"
        for t in tools
        for arg, prop in (t.input_schema.get("properties") or {}).items()
        if not str(prop.get("description") or "").strip()
    ]
    assert not bare, bare
    assert "_manifest_note" in names
    dynamic = [
        t
        for t in tools
        if t.name.split("_", 1)[0] in ("get", "create", "update", "search")
        and t.name not in {"get_objects", "get_object_meta"}
        and t.annotations
        and t.title
        and " " in t.title
        and t.name not in _static_names()
    ]
    by_object: dict[str, set[str]] = {}
    for t in dynamic:
        kind, base = t.name.split("_", 1)
        by_object.setdefault(base, set()).add(kind)
    assert all(kinds == {"get", "create", "update", "search"} for kinds in by_object.values())
    assert len(by_object) == FIT
    note = next(t for t in tools if t.name == "_manifest_note")
    assert f"{OBJECTS - FIT} custom object type(s)" in note.description
    # newest first: the highest type ids are the ones listed
    meta = httpx.get(
        many_objects.base_url + "/objects/meta", headers=headers, params={"format": "byId"}
    ).json()
    custom_ids = sorted(
        (int(k) for k in meta["data"] if int(k) >= CUSTOM_OBJECT_MIN_ID), reverse=True
    )
    assert len(custom_ids) == OBJECTS
    listed = {t.name for t in tools}
    newest = custom_ids[:FIT]
    for type_id in newest:
        assert f"({type_id})" not in note.description
    for type_id in custom_ids[FIT:]:
        assert f"({type_id})" in note.description
    assert len(listed) == STATIC_TOOLS + FIT * TOOLS_PER_OBJECT + 1


def _static_names() -> set[str]:
    from ontraport_mcp.generated.tools import TOOLS

    return {t.name for t in TOOLS}


async def test_objects_that_fit_exactly_fill_the_cap():
    """A cap of exactly the static tools plus four per custom object lists every object, and
    no note."""
    objects = len(CUSTOM_TYPES) + 10
    cap = STATIC_TOOLS + TOOLS_PER_OBJECT * objects
    with SandboxServer(custom_objects=10, rate_limit=1_000_000, contacts=10) as sandbox:
        with ServerThread(_settings(sandbox, manifest_cap=cap)) as server:
            headers = {"Api-Key": sandbox.api_key, "Api-Appid": sandbox.app_id}
            async with connect(server.url, headers) as client:
                names = [t.name for t in (await client.list_tools()).tools]
    assert len(names) == cap
    assert "_manifest_note" not in names
    assert {"get_student", "create_student", "update_student", "search_student"} <= set(names)


async def test_hundred_lists_cost_at_most_one_meta_call(sandbox, creds):
    with ServerThread(_settings(sandbox)) as server:
        sandbox.clear_requests()
        async with connect(server.url, creds, mode="legacy") as client:
            for _ in range(100):
                await client.list_tools()
        assert _meta_calls(sandbox) <= 1


async def test_concurrent_lists_share_one_meta_call(sandbox, creds):
    with ServerThread(_settings(sandbox)) as server:
        sandbox.clear_requests()
        async with connect(server.url, creds) as client:
            await asyncio.gather(*(client.list_tools() for _ in range(20)))
        assert _meta_calls(sandbox) == 1


async def test_ttl_zero_refetches(sandbox, creds):
    with ServerThread(_settings(sandbox, meta_ttl_s=0)) as server:
        sandbox.clear_requests()
        async with connect(server.url, creds) as client:
            for _ in range(3):
                await client.list_tools()
        assert _meta_calls(sandbox) >= 3


async def test_meta_failure_lists_the_static_tools_and_says_why_custom_ones_are_missing(
    fresh_sandbox,
):
    """Never a partial list of custom objects: without the account's metadata, exactly the
    static tools and a note that names the cause."""
    fresh_sandbox.set_faults(error_rate=1.0, error_statuses=[503], paths=["/objects/meta"])
    headers = {"Api-Key": fresh_sandbox.api_key, "Api-Appid": fresh_sandbox.app_id}
    with ServerThread(_settings(fresh_sandbox, retry_deadline_s=1.0)) as server:
        async with connect(server.url, headers) as client:
            tools = (await client.list_tools()).tools
    names = {t.name for t in tools}
    assert names == {spec.name for spec in TOOLS} | {"_manifest_note"}
    note = next(t for t in tools if t.name == "_manifest_note")
    assert "could not be read" in (note.description or "")


def test_custom_object_call_works_without_a_prior_list(sandbox, creds):
    with ServerThread(_settings(sandbox)) as server:
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {
                "name": "search_student",
                "arguments": {"range": 2},
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientCapabilities": {},
                },
            },
        }
        headers = {
            **creds,
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2026-07-28",
            "Mcp-Method": "tools/call",
            "Mcp-Name": "search_student",
        }
        response = httpx.post(server.url, json=body, headers=headers)
        assert response.status_code == 200, response.text
        result = response.json()["result"]
        assert not result.get("isError"), result
        assert result["structuredContent"]["object_type_id"] == STUDENT
        assert result["structuredContent"]["count"] == 2


async def test_allowed_types_name_only_tools_that_are_listed(many_objects):
    with ServerThread(_settings(many_objects)) as server:
        headers = {"Api-Key": many_objects.api_key, "Api-Appid": many_objects.app_id}
        async with connect(server.url, headers) as client:
            listed = {t.name for t in (await client.list_tools()).tools}
            result = await client.call_tool("list_allowed_object_types", {})
    custom = [t for t in result.structured_content["types"] if t["custom"]]
    assert len(custom) == OBJECTS
    with_own_tools = [
        t for t in custom if t["tools"][0].startswith("get_") and t["tools"][0] != "get_objects"
    ]
    assert len(with_own_tools) == FIT
    for entry in custom:
        assert set(entry["tools"]) <= listed, entry
