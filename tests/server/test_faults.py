"""Under injected upstream faults reads succeed (retries) and no write is ever sent twice."""

import pytest

from ontraport_mcp.executor import error_payload
from ontraport_mcp.settings import Settings
from ontraport_mcp.testing import ServerThread, connect

pytestmark = pytest.mark.anyio


async def test_reads_survive_20_percent_5xx_and_writes_go_once(fresh_sandbox):
    sandbox = fresh_sandbox
    creds = {"Api-Key": sandbox.api_key, "Api-Appid": sandbox.app_id}
    settings = Settings(base_url=sandbox.base_url, audit_log="off")
    with ServerThread(settings) as server:
        async with connect(server.url, creds) as client:
            await client.list_tools()  # meta cached before faults start
            sandbox.set_faults(
                error_rate=0.2, error_statuses=[500, 502, 503], latency_ms=2, seed=11
            )
            # 3 attempts at 20% failure each: 99.2% of reads should succeed; measured over 600
            reads = 600
            ok = 0
            for i in range(reads):
                args = {"object_type_id": 0, "range": 2, "start": i % 150}
                result = await client.call_tool("get_objects", args)
                ok += not result.is_error
            assert ok / reads >= 0.99

            sandbox.clear_requests()
            outcomes = []
            for i in range(20):
                result = await client.call_tool(
                    "create_object",
                    {
                        "object_type_id": 0,
                        "data": {"firstname": f"Fault{i}", "email": f"fault{i}@x.test"},
                    },
                )
                outcomes.append(result)
            sandbox.clear_faults()
    posts = [r for r in sandbox.requests() if r["method"] == "POST" and r["path"] == "/objects"]
    assert len(posts) == 20  # one request per call, failed or not
    names = [r["body"]["firstname"] for r in posts]
    assert len(set(names)) == 20
    failed = [r for r in outcomes if r.is_error]
    assert all(error_payload(r)["code"].startswith("upstream") for r in failed)
    assert len(failed) >= 1  # the fault rate did hit writes, and they were not retried
