"""schemathesis against the sandbox with openapi/ontraport.yaml: every operation, bounded
examples, 0 failures — no 5xx, and every response conforms to the spec."""

import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

from ontraport_mcp.sandbox.testing import SandboxServer

CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
EXAMPLES = os.environ.get("FUZZ_SANDBOX_EXAMPLES", "6")


def test_sandbox_conforms_to_the_spec(tmp_path):
    spec = files("ontraport_mcp.openapi") / "ontraport.yaml"
    exe = Path(sys.executable).parent / "schemathesis"
    with SandboxServer(rate_limit=10**9, contacts=60) as sandbox:
        proc = subprocess.run(
            [
                str(exe),
                "run",
                str(spec),
                "--url",
                sandbox.base_url,
                "-H",
                f"Api-Key: {sandbox.api_key}",
                "-H",
                f"Api-Appid: {sandbox.app_id}",
                "--checks",
                CHECKS,
                "--max-examples",
                EXAMPLES,
                "--workers",
                "1",
                "--phases",
                "examples,coverage,fuzzing",
                "--seed",
                "1",
                "--generation-database",
                "none",
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
    assert "87/87" in proc.stdout or "Selected: 87" in proc.stdout, tail
