"""The ASGI application: /1 API (auth, rate limit, faults, one SQLite transaction per request, request
log) and the /_admin endpoints."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import sys
import traceback
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import (
    catalog,
    routes_fieldeditor,
    routes_messages,
    routes_objects,
    routes_tags,
    routes_tasks,
    routes_transactions,
    seed,
)
from .config import SandboxConfig
from .errors import ApiError, error_body
from .faults import FaultInjector
from .params import parse_body, parse_query
from .ratelimit import RateLimiter
from .reqlog import RequestLog
from .router import MISSING, Ctx, RawJSON, Result, Router
from .store import Store

log = logging.getLogger("ontraport_mcp.sandbox")
LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost", "testclient"}
MAX_BODY = 2 * 1024 * 1024


def build_router() -> Router:
    router = Router()
    routes_objects.register(router)
    routes_fieldeditor.register(router)
    routes_tags.register(router)
    routes_tasks.register(router)
    routes_messages.register(router)
    routes_transactions.register(router)
    return router


def open_store(config: SandboxConfig) -> Store:
    store = Store(config.db)
    with store.lock:
        if store.is_initialised():
            store.load_types()
        else:
            with store.transaction():
                store.create_schema(catalog.initial_meta(config.custom_objects))
                seed.seed(store, config)
    return store


def _encode(obj: Any) -> str:
    if isinstance(obj, RawJSON):
        return str(obj)
    if isinstance(obj, dict):
        return "{" + ",".join(json.dumps(k) + ":" + _encode(v) for k, v in obj.items()) + "}"
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _dumps(obj: Any) -> bytes:
    """JSON bytes; envelope values that are ``RawJSON`` are spliced in as they are."""
    if isinstance(obj, dict) and any(isinstance(v, RawJSON) for v in obj.values()):
        return _encode(obj).encode("utf-8")
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class SandboxState:
    def __init__(self, config: SandboxConfig, store: Store | None = None) -> None:
        self.config = config
        self.store = store or open_store(config)
        self.router = build_router()
        self.limiter = RateLimiter(config.rate_limit, config.rate_window_s)
        self.faults = FaultInjector(config.faults)
        self.reqlog = RequestLog(config.request_log_size)
        self._key = config.api_key.encode()
        self._app = config.app_id.encode()
        self.stopping: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def authenticated(self, request: Request) -> bool:
        key = request.headers.get("api-key", "").encode()
        app = request.headers.get("api-appid", "").encode()
        ok_key = hmac.compare_digest(key, self._key)
        ok_app = hmac.compare_digest(app, self._app)
        return ok_key and ok_app

    def reset(self) -> None:
        old = self.store
        self.store = open_store(self.config)
        old.close()


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        _dumps(payload), status_code=status, media_type="application/json", headers=headers
    )


async def api_endpoint(request: Request) -> Response:
    st: SandboxState = request.app.state.sandbox
    path = "/" + request.path_params.get("path", "").strip("/")
    method = request.method
    account = st.config.account_id
    query = parse_query(request.url.query)
    raw = await request.body()
    body: Any = None
    body_error: ApiError | None = None
    if len(raw) > MAX_BODY:
        body_error = ApiError(413, "Request body too large")
    else:
        try:
            body = parse_body(raw, request.headers.get("content-type", ""))
        except ApiError as exc:
            body_error = exc

    def done(
        status: int,
        payload: Any,
        headers: dict[str, str],
        acct: int | None,
        *,
        raw_body: bytes | None = None,
    ) -> Response:
        st.reqlog.add(method, path, query, body, status, acct)
        if raw_body is not None:
            return Response(
                raw_body, status_code=status, media_type="application/json", headers=headers
            )
        return _json(status, payload, headers)

    if not st.authenticated(request):
        return done(
            401,
            error_body(401, "Missing or invalid Api-Key / Api-Appid headers"),
            st.limiter.peek(account),
            None,
        )
    allowed, rl = st.limiter.hit(account)
    if not allowed:
        return done(
            429,
            error_body(
                429,
                f"Rate limit of {st.limiter.limit} requests per "
                f"{st.limiter.window_s:g} seconds exceeded",
            ),
            rl,
            account,
        )
    decision = st.faults.decide(path)
    if decision.latency_s:
        await asyncio.sleep(decision.latency_s)
    if decision.hang_s:
        if st.stopping is None:
            st.stopping = asyncio.Event()
            st.loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(st.stopping.wait(), timeout=decision.hang_s)
        except TimeoutError:
            pass
        return done(
            504,
            error_body(504, f"Sandbox fault: the request hung for {decision.hang_s:g} s"),
            rl,
            account,
        )
    if decision.force_429:
        return done(
            429,
            error_body(429, "Rate limit exceeded (sandbox fault injection)"),
            st.limiter.exhausted(account),
            account,
        )
    if decision.error_status:
        return done(
            decision.error_status,
            error_body(decision.error_status, "Sandbox fault injection"),
            rl,
            account,
        )

    try:
        if body_error is not None:
            raise body_error
        handler, type_id = st.router.resolve(method, path)
        params = dict(query)
        if isinstance(body, dict):
            params.update(body)
        store = st.store
        ctx = Ctx(
            store=store, config=st.config, method=method, path=path, params=params, type_id=type_id
        )
        with store.transaction():
            result: Result = handler(ctx)
        envelope: dict[str, Any] = {"code": 0}
        if result.data is not MISSING:
            envelope["data"] = result.data
        envelope["account_id"] = account
        if result.misc:
            envelope["misc"] = []
        envelope.update(result.extra)
        status, payload = 200, envelope
    except ApiError as exc:
        status, payload = exc.status, error_body(exc.status, exc.message)
    except Exception as exc:  # noqa: BLE001  (never leak a traceback to the client)
        traceback.print_exc(file=sys.stderr)
        status, payload = 500, error_body(500, f"Internal sandbox error ({type(exc).__name__})")
    if decision.malformed and status == 200:
        text = _dumps(payload)
        return done(
            status,
            None,
            rl,
            account,
            raw_body=text[: max(len(text) // 2, 1)] + b"\x00<!--truncated",
        )
    return done(status, payload, rl, account)


def _admin_guard(request: Request) -> Response | None:
    host = request.client.host if request.client else "127.0.0.1"
    if host not in LOCAL_HOSTS:
        return _json(403, error_body(403, "admin endpoints are only available from 127.0.0.1"))
    return None


async def admin_requests(request: Request) -> Response:
    st: SandboxState = request.app.state.sandbox
    if (denied := _admin_guard(request)) is not None:
        return denied
    if request.method == "DELETE":
        st.reqlog.clear()
        return _json(200, {"status": "cleared"})
    return _json(200, {"requests": st.reqlog.items()})


async def admin_faults(request: Request) -> Response:
    st: SandboxState = request.app.state.sandbox
    if (denied := _admin_guard(request)) is not None:
        return denied
    if request.method == "PUT":
        try:
            changes = json.loads((await request.body()) or b"{}")
            settings = st.faults.update(changes)
        except ApiError as exc:
            return _json(exc.status, error_body(exc.status, exc.message))
        except (ValueError, RecursionError):
            return _json(400, error_body(400, "body must be JSON"))
        return _json(200, settings.to_dict())
    return _json(200, st.faults.settings.to_dict())


async def admin_ratelimit(request: Request) -> Response:
    st: SandboxState = request.app.state.sandbox
    if (denied := _admin_guard(request)) is not None:
        return denied
    if request.method == "PUT":
        try:
            body = json.loads((await request.body()) or b"{}")
            limit = int(body.get("limit", st.limiter.limit))
            window = float(body.get("window_s", st.limiter.window_s))
        except (ValueError, TypeError, AttributeError, RecursionError):
            return _json(
                400, error_body(400, 'body must be JSON {"limit": int, "window_s": number}')
            )
        if limit < 1 or window <= 0:
            return _json(400, error_body(400, "limit must be >= 1 and window_s > 0"))
        st.limiter.configure(limit, window)
    return _json(200, {"limit": st.limiter.limit, "window_s": st.limiter.window_s})


async def admin_health(request: Request) -> Response:
    return _json(200, {"status": "ok"})


async def admin_reset(request: Request) -> Response:
    st: SandboxState = request.app.state.sandbox
    if (denied := _admin_guard(request)) is not None:
        return denied
    if st.config.db != ":memory:":
        return _json(400, error_body(400, "reset is only available for :memory: databases"))
    st.reset()
    st.reqlog.clear()
    return _json(200, {"status": "reset"})


async def not_found(request: Request) -> Response:
    return _json(404, error_body(404, f"Unknown path {request.url.path}; the API lives under /1"))


ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]


def create_app(config: SandboxConfig | None = None, *, store: Store | None = None) -> Starlette:
    """Build the sandbox ASGI app (opens/creates and seeds the database)."""
    cfg = config or SandboxConfig()
    app = Starlette(
        routes=[
            Route("/1/{path:path}", api_endpoint, methods=ALL_METHODS),
            Route("/1", api_endpoint, methods=ALL_METHODS),
            Route("/_admin/requests", admin_requests, methods=["GET", "DELETE"]),
            Route("/_admin/faults", admin_faults, methods=["GET", "PUT"]),
            Route("/_admin/ratelimit", admin_ratelimit, methods=["GET", "PUT"]),
            Route("/_admin/health", admin_health, methods=["GET"]),
            Route("/_admin/reset", admin_reset, methods=["POST"]),
            Route("/{rest:path}", not_found, methods=ALL_METHODS),
        ]
    )
    app.state.sandbox = SandboxState(cfg, store)
    return app
