"""``SandboxServer``: run the sandbox with uvicorn on 127.0.0.1 in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import uvicorn

from .app import create_app
from .config import SandboxConfig


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class SandboxServer:
    """Context manager; ``base_url`` is ``http://127.0.0.1:PORT/1``."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        **overrides: Any,
    ) -> None:
        cfg = config or SandboxConfig()
        for key, value in overrides.items():
            setattr(cfg, key, value)
        self.config = cfg
        self.host = host
        self.port = port or free_port(host)
        self.app = create_app(cfg)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._client: httpx.Client | None = None

    # ------------------------------------------------------------------ properties
    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/1"

    @property
    def api_key(self) -> str:
        return self.config.api_key

    @property
    def app_id(self) -> str:
        return self.config.app_id

    @property
    def account_id(self) -> int:
        return self.config.account_id

    @property
    def headers(self) -> dict[str, str]:
        return {"Api-Key": self.config.api_key, "Api-Appid": self.config.app_id}

    @property
    def state(self) -> Any:
        return self.app.state.sandbox

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> SandboxServer:
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            loop="asyncio",
            http="h11",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, name=f"sandbox-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("sandbox server failed to start")
            if time.monotonic() > deadline:
                raise RuntimeError("sandbox server did not start within 15 s")
            time.sleep(0.01)
        self._client = httpx.Client(base_url=self.root_url, timeout=10)
        return self

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        server, thread = self._server, self._thread
        if server is not None and thread is not None:
            self._release_hangs()
            server.should_exit = True
            thread.join(timeout=10)
            if thread.is_alive():
                server.force_exit = True
                thread.join(timeout=5)
        self._server = None
        self._thread = None
        self.state.store.close()

    def _release_hangs(self) -> None:
        """Wake up requests held by the ``hang`` fault so shutdown is quick."""
        ev, loop = self.state.stopping, self.state.loop
        if ev is not None and loop is not None and loop.is_running():
            loop.call_soon_threadsafe(ev.set)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ admin helpers
    def _admin(self) -> httpx.Client:
        if self._client is None:
            raise RuntimeError("server is not running")
        return self._client

    def requests(self) -> list[dict[str, Any]]:
        r = self._admin().get("/_admin/requests")
        r.raise_for_status()
        return list(r.json()["requests"])

    def clear_requests(self) -> None:
        self._admin().delete("/_admin/requests").raise_for_status()

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        r = self._admin().put("/_admin/faults", json=settings)
        r.raise_for_status()
        return dict(r.json())

    def clear_faults(self) -> dict[str, Any]:
        return self.set_faults(
            latency_ms=0,
            error_rate=0.0,
            hang_rate=0.0,
            malformed_rate=0.0,
            force_429=False,
            paths=None,
        )

    def set_rate_limit(self, limit: int, window_s: float = 60.0) -> dict[str, Any]:
        r = self._admin().put("/_admin/ratelimit", json={"limit": limit, "window_s": window_s})
        r.raise_for_status()
        return dict(r.json())

    def reset(self) -> None:
        self._admin().post("/_admin/reset").raise_for_status()

    def client(self, **kwargs: Any) -> httpx.Client:
        """A new httpx client for the /1 API with the credentials set."""
        return httpx.Client(
            base_url=self.base_url,
            headers=self.headers,
            timeout=kwargs.pop("timeout", 10),
            **kwargs,
        )
