"""schemathesis over every tool through the HTTP facade (GET /openapi.json, POST /tools/{name}).

Positive and negative cases for every operation of the caller's live manifest: no 5xx ever,
every success validates against the tool's outputSchema, every invalid input gets a documented,
structured 4xx.  Bounded so the run stays well inside CI's budget.
"""

import os
import subprocess
import sys
from pathlib import Path

import httpx

from ontraport_mcp.sandbox.testing import SandboxServer
from ontraport_mcp.settings import Settings
from tests.server_thread import ServerThread
from tests.snapshots.catalog_facts import STATIC_TOOLS

CHECKS = ",".join(
    [
        "not_a_server_error",
        "response_schema_conformance",
        "status_code_conformance",
        "content_type_conformance",
        "negative_data_rejection",
    ]
)
EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "8")


def test_every_tool_survives_fuzzing(tmp_path):
    with SandboxServer(rate_limit=10**9) as sandbox:
        settings = Settings(base_url=sandbox.base_url, audit_log="off")
        with ServerThread(settings) as server:
            headers = {"Api-Key": sandbox.api_key, "Api-Appid": sandbox.app_id}
            document = httpx.get(server.root + "/openapi.json", headers=headers).json()
            assert len(document["paths"]) >= STATIC_TOOLS + 12
            exe = Path(sys.executable).parent / "schemathesis"
            proc = subprocess.run(
                [
                    str(exe),
                    "run",
                    server.root + "/openapi.json",
                    "-H",
                    f"Api-Key: {sandbox.api_key}",
                    "-H",
                    f"Api-Appid: {sandbox.app_id}",
                    "--checks",
                    CHECKS,
                    "--mode",
                    "all",
                    "--max-examples",
                    EXAMPLES,
                    "--phases",
                    "examples,fuzzing",
                    "--generation-deterministic",
                    "--workers",
                    "1",
                    "--request-timeout",
                    "30",
                ],
                capture_output=True,
                text=True,
                timeout=900,
                cwd=tmp_path,
                check=False,
            )
    tail = proc.stdout[-8000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    assert "Tested: " in proc.stdout
