"""Calls to the Ontraport API through the generated client, over one pooled HTTP/1.1 transport.

Requests are built by the generated client's per-operation ``_get_kwargs`` (so encodings follow
``openapi/ontraport.yaml``), encoded here the way httpx would encode them, and sent over
``http11.ConnectionPool`` (keep-alive, bounded) with the caller's credentials per request.  When an
HTTP(S) proxy applies to the API's host, or a caller passes an httpx transport (unit tests of this
module), the same bytes go through an ``httpx.AsyncClient`` instead.  Policy, in one place:

* idempotent reads (GET) are retried on 5xx, timeouts and transport errors with jittered
  exponential backoff — at most ``retries`` attempts and never past ``deadline_s``;
* writes are sent exactly once: a timeout, a broken connection, a 5xx or a malformed answer
  after the request went out is ``OutcomeUnknown`` ("may have happened; check first");
* a 429 comes back at once as ``RateLimited`` with ``retry_after_s`` (never slept on);
* every other error status becomes a structured ``ToolError`` (see ``errors``), with any echo of
  the credentials removed.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import random
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from . import wirejson
from .credentials import Credentials
from .errors import OutcomeUnknown, ToolError, UpstreamError, UpstreamUnavailable, upstream_error
from .generated.operations import OPERATIONS
from .http11 import ConnectionPool, RawResponse, SendError

RETRY_STATUSES = frozenset({500, 502, 503, 504})
_CLIENT_PACKAGE = "ontraport_mcp.generated.client"


@dataclass(frozen=True, slots=True)
class UpstreamResult:
    status: int
    envelope: dict[str, Any]
    headers: Mapping[str, str]  # names lower-cased

    @property
    def data(self) -> Any:
        return self.envelope.get("data")

    @property
    def account_id(self) -> Any:
        return self.envelope.get("account_id")


class Upstream:
    """The Ontraport API for every account this process serves."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        retries: int = 3,
        deadline_s: float = 20.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 64,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = max(1, retries)
        self.deadline_s = deadline_s
        self._pool: ConnectionPool | None = None
        self._client: httpx.AsyncClient | None = None
        if transport is None and not proxy_applies(self.base_url):
            self._pool = ConnectionPool(
                self.base_url,
                max_connections=max_connections,
                connect_timeout_s=connect_timeout_s,
                timeout_s=timeout_s,
            )
        else:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
                limits=httpx.Limits(
                    max_connections=max_connections, max_keepalive_connections=max_connections
                ),
                transport=transport,
            )
        self._modules: dict[str, ModuleType] = {}
        self._models = importlib.import_module(f"{_CLIENT_PACKAGE}.models")
        self.calls = 0  # upstream requests sent (for tests and the benchmark)

    @property
    def transport_name(self) -> str:
        """``"http11"`` (the built-in pool) or ``"httpx"`` (proxy or injected transport)."""
        return "http11" if self._pool is not None else "httpx"

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
        if self._client is not None:
            await self._client.aclose()

    def build_request(
        self, operation_id: str, *, params: dict[str, Any] | None, body: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Method, url, params and body for one operation, as the generated client encodes it."""
        op = OPERATIONS[operation_id]
        module = self._modules.get(operation_id)
        if module is None:
            module = importlib.import_module(f"{_CLIENT_PACKAGE}.api.{op.module}")
            self._modules[operation_id] = module
        kwargs: dict[str, Any] = {}
        for api_name, value in (params or {}).items():
            if value is None:
                continue
            keyword = op.query.get(api_name)
            if keyword is None:
                raise KeyError(f"{operation_id} has no query parameter {api_name!r}")
            enum_name = op.enums.get(api_name)
            if enum_name is not None and isinstance(value, str):
                value = getattr(self._models, enum_name)(value)
            kwargs[keyword] = value
        if op.body_model is not None and body is not None:
            model = getattr(self._models, op.body_model)
            kwargs["body"] = model.from_dict(body)
        request: dict[str, Any] = module._get_kwargs(**kwargs)
        if "json" in request and "data" in request:
            # The operation accepts JSON and form: JSON keeps nested values intact.
            request.pop("data")
            request.setdefault("headers", {})["Content-Type"] = "application/json"
        return request

    async def call(
        self,
        operation_id: str,
        credentials: Credentials,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> UpstreamResult:
        op = OPERATIONS[operation_id]
        method, target, headers, content = self.encode(
            self.build_request(operation_id, params=params, body=body), credentials
        )
        attempts = self.retries if op.idempotent else 1
        started = time.monotonic()
        last_error: ToolError | None = None
        for attempt in range(attempts):
            if attempt:
                delay = random.uniform(0, min(2.0, 0.1 * 2**attempt))
                if time.monotonic() - started + delay > self.deadline_s:
                    break
                await asyncio.sleep(delay)
            try:
                self.calls += 1
                response = await self._send(method, target, headers, content, op.idempotent)
            except SendError as exc:
                last_error = _send_error(exc, op.idempotent)
                continue
            if response.status >= 500 and not op.idempotent:
                raise OutcomeUnknown(
                    f"Ontraport answered HTTP {response.status} to a write it had received."
                )
            if response.status in RETRY_STATUSES and op.idempotent:
                last_error = self._error(response, credentials)
                continue
            if response.status >= 400:
                raise self._error(response, credentials)
            try:
                envelope = wirejson.loads(response.body) if response.body else {}
            except ValueError:
                if not op.idempotent:  # a 2xx with a broken body: the write was likely done
                    raise OutcomeUnknown(
                        f"Ontraport answered HTTP {response.status} to a write, but its answer "
                        "was not valid JSON."
                    ) from None
                last_error = UpstreamUnavailable(
                    "Ontraport sent a response that is not valid JSON.",
                    code="upstream_bad_response",
                )
                continue
            if not isinstance(envelope, dict):
                envelope = {"data": envelope}
            return UpstreamResult(
                status=response.status, envelope=envelope, headers=response.headers
            )
        assert last_error is not None
        raise last_error

    @staticmethod
    def encode(
        request: dict[str, Any], credentials: Credentials
    ) -> tuple[str, str, dict[str, str], bytes | None]:
        """Method, target (path + query), headers and body bytes — the encoding httpx uses."""
        headers = {**_DEFAULT_HEADERS, **request.get("headers", {}), **credentials.headers()}
        target = request["url"]
        query = _pairs(request.get("params") or {})
        if query:
            target = f"{target}?{urlencode(query)}"
        content: bytes | None = None
        if "json" in request:
            content = json.dumps(
                request["json"], ensure_ascii=False, separators=(",", ":"), allow_nan=False
            ).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        elif "data" in request:
            content = urlencode(_pairs(request["data"])).encode("ascii")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return request["method"].upper(), target, headers, content

    async def _send(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        content: bytes | None,
        idempotent: bool,
    ) -> RawResponse:
        if self._pool is not None:
            return await self._pool.request(
                method, target, headers.items(), content, idempotent=idempotent
            )
        assert self._client is not None
        try:
            response = await self._client.request(
                method, self.base_url + target, headers=headers, content=content
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            timeout = isinstance(exc, httpx.TimeoutException)
            raise SendError(str(exc), sent=False, timeout=timeout) from None
        except httpx.TimeoutException as exc:
            raise SendError(str(exc), sent=True, timeout=True) from None
        except httpx.TransportError as exc:
            raise SendError(str(exc), sent=True) from None
        headers_out = {name.lower(): value for name, value in response.headers.items()}
        return RawResponse(response.status_code, headers_out, response.content)

    @staticmethod
    def _error(response: RawResponse, credentials: Credentials) -> ToolError:
        detail: str | None = None
        try:
            body = wirejson.loads(response.body)
            if isinstance(body, dict):
                detail = str(body.get("message") or body.get("error") or "") or None
        except ValueError:
            text = response.body.decode("utf-8", "replace").strip()
            detail = text[:300] if text and "<" not in text[:1] else None
        if detail:
            detail = credentials.redact(detail)
        return upstream_error(
            response.status, detail, _retry_after(response), budget=_budget(response)
        )


_DEFAULT_HEADERS = {"Accept": "application/json", "User-Agent": "ontraport-mcp"}


def _pairs(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Query/form pairs as httpx makes them: lists repeat the key, booleans are true/false."""
    pairs: list[tuple[str, str]] = []
    for key, value in values.items():
        for item in value if isinstance(value, list | tuple) else (value,):
            text = "true" if item is True else "false" if item is False else item
            pairs.append((key, "" if text is None else str(text)))
    return pairs


def _send_error(exc: SendError, idempotent: bool) -> UpstreamError:
    if exc.sent and not idempotent:
        if exc.timeout:
            return OutcomeUnknown("Ontraport did not answer a write in time.", status=504)
        return OutcomeUnknown("The connection to Ontraport broke after a write was sent.")
    if not exc.sent:
        return UpstreamUnavailable(
            "Could not reach Ontraport (connection failed); nothing was sent. Try again shortly.",
            code="upstream_unreachable",
        )
    if exc.timeout:
        return UpstreamUnavailable(
            "Ontraport did not answer in time.", status=504, code="upstream_timeout"
        )
    return UpstreamUnavailable(
        "The connection to Ontraport broke before its answer arrived.",
        code="upstream_connection_lost",
    )


def _budget(response: RawResponse) -> str | None:
    """The request budget a 429 states (``X-Rate-Limit-Limit`` and ``-Reset``), in words."""
    if response.status != 429:
        return None
    limit = response.headers.get("x-rate-limit-limit", "").strip()
    if not limit.isdigit():
        return None
    reset = response.headers.get("x-rate-limit-reset", "").strip()
    window = f"; the window frees up in {reset} s" if reset.isdigit() else ""
    return f"{int(limit):,} requests{window}"


def proxy_applies(base_url: str) -> bool:
    """Whether the environment routes this URL through a proxy (then httpx carries it)."""
    parts = urlsplit(base_url)
    proxies = urllib.request.getproxies()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")


def _retry_after(response: RawResponse) -> float | None:
    if response.status != 429:
        return None
    for header in ("retry-after", "x-rate-limit-reset"):
        value = response.headers.get(header)
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
    return 60.0
