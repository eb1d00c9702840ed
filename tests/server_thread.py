"""Run the MCP server for real on 127.0.0.1, in a thread (tests and the benchmark).

Each ``ServerThread`` keeps its state (the SQLite store) in a folder of its own unless its
settings name one: the run-wide default data directory of ``tests/conftest.py`` would otherwise
let one test's duplicate guard or confirmations reach into another's, since every test sandbox
serves the same account.  Servers meant to share state are given the same ``data_dir`` (or
``store``) explicitly.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from ontraport_mcp.sandbox.testing import free_port
from ontraport_mcp.settings import Settings
from ontraport_mcp.transport.app import build_app


class ServerThread:
    """The Starlette app under uvicorn in a background thread; ``stop()`` always returns."""

    def __init__(self, settings: Settings, *, port: int | None = None) -> None:
        run_wide = os.environ.get("ONTRAPORT_DATA_DIR")
        if settings.store is None and (run_wide is None or settings.data_dir == run_wide):
            settings.data_dir = tempfile.mkdtemp(prefix="ontraport-mcp-server-")
        self.settings = settings
        self.port = port or free_port()
        settings.port = self.port
        self.app = build_app(settings)
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="ontraport-mcp", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mcp(self) -> Any:
        return self.app.state.mcp

    def start(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the MCP server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=5)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.asynccontextmanager
async def connect(
    url: str, headers: dict[str, str], *, mode: str = "auto", **client_kwargs: Any
) -> AsyncIterator[Any]:
    """An ``mcp.Client`` over streamable HTTP with the given headers."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=60)) as http:
        async with Client(
            streamable_http_client(url, http_client=http), mode=mode, **client_kwargs
        ) as client:
            yield client


__all__ = ["ServerThread", "connect"]
