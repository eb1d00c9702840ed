"""schemathesis against the sandbox with openapi/ontraport.yaml: every operation, bounded
examples, 0 failures — no 5xx, and every response conforms to the spec."""

import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
import yaml

from ontraport_mcp.sandbox.testing import SandboxServer

METHODS = ("get", "put", "post", "delete", "patch")
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
EXAMPLES = os.environ.get("FUZZ_SANDBOX_EXAMPLES", "6")
RUN_TIMEOUT_S = 900  # schemathesis' own bound; ~320 s for 89 operations on a busy 2-core machine


def _operation_count(spec_text: str) -> int:
    """Operations in the spec: schemathesis must select every one of them (none skipped)."""
    paths = yaml.safe_load(spec_text)["paths"]
    return sum(1 for item in paths.values() for method in item if method in METHODS)


@pytest.mark.timeout(
    RUN_TIMEOUT_S + 60
)  # the run bounds itself; the suite default (300 s) is too short
def test_sandbox_conforms_to_the_spec(tmp_path):
    spec = files("ontraport_mcp.openapi") / "ontraport.yaml"
    total = _operation_count(spec.read_text())
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
            timeout=RUN_TIMEOUT_S,
            cwd=tmp_path,
            check=False,
        )
    tail = proc.stdout[-8000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    assert f"{total}/{total}" in proc.stdout or f"Selected: {total}" in proc.stdout, tail
