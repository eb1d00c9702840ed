"""Calls to the Ontraport API through the generated client, over one pooled httpx client.

Requests are built by the generated client's per-operation ``_get_kwargs`` (so encodings follow
``openapi/ontraport.yaml``) and sent with a shared ``httpx.AsyncClient`` carrying the caller's
credentials per request.  Policy, in one place:

* idempotent reads (GET) are retried on 5xx, timeouts and transport errors with jittered
  exponential backoff — at most ``retries`` attempts and never past ``deadline_s``;
* writes are sent exactly once: a timeout on a write is reported as "may have happened";
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
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import httpx

from .credentials import Credentials
from .errors import ToolError, UpstreamUnavailable, upstream_error
from .generated.operations import OPERATIONS

RETRY_STATUSES = frozenset({500, 502, 503, 504})
_CLIENT_PACKAGE = "ontraport_mcp.generated.client"


@dataclass(frozen=True, slots=True)
class UpstreamResult:
    status: int
    envelope: dict[str, Any]
    headers: httpx.Headers

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
        max_connections: int = 24,
        shards: int = 4,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = max(1, retries)
        self.deadline_s = deadline_s
        # httpcore re-checks every pooled connection (a readability poll each) twice per
        # request, so one big pool costs O(connections) per call.  Several small pools used in
        # turn keep each scan short (make bench: see the commit that introduced shards).
        shards = max(1, min(shards, max_connections)) if transport is None else 1
        per_shard = max(1, max_connections // shards)
        self._clients = [
            httpx.AsyncClient(
                base_url=self.base_url,
                timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
                limits=httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard),
                transport=transport,
                headers={"Accept": "application/json", "User-Agent": "ontraport-mcp"},
            )
            for _ in range(shards)
        ]
        self._turn = 0
        self._modules: dict[str, ModuleType] = {}
        self._models = importlib.import_module(f"{_CLIENT_PACKAGE}.models")
        self.calls = 0  # upstream requests sent (for tests and the benchmark)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

    def _next_client(self) -> httpx.AsyncClient:
        self._turn = (self._turn + 1) % len(self._clients)
        return self._clients[self._turn]

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
        request = self.build_request(operation_id, params=params, body=body)
        headers = {**request.pop("headers", {}), **credentials.headers()}
        method = request.pop("method").upper()
        url = request.pop("url")
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
                client = self._next_client()
                response = await client.request(method, url, headers=headers, **request)
            except httpx.TimeoutException:
                last_error = UpstreamUnavailable(
                    "Ontraport did not answer in time."
                    + (
                        ""
                        if op.idempotent
                        else " The write may or may not have happened: check before retrying."
                    ),
                    status=504,
                    code="upstream_timeout",
                )
                continue
            except httpx.TransportError:
                last_error = UpstreamUnavailable(
                    "Could not reach Ontraport (connection failed). Try again shortly.",
                    code="upstream_unreachable",
                )
                continue
            if response.status_code in RETRY_STATUSES and op.idempotent:
                last_error = self._error(response, credentials)
                continue
            if response.status_code >= 400:
                raise self._error(response, credentials)
            try:
                envelope = json.loads(response.content) if response.content else {}
            except ValueError:
                last_error = UpstreamUnavailable(
                    "Ontraport sent a response that is not valid JSON.",
                    code="upstream_bad_response",
                )
                if op.idempotent:
                    continue
                raise last_error from None
            if not isinstance(envelope, dict):
                envelope = {"data": envelope}
            return UpstreamResult(
                status=response.status_code, envelope=envelope, headers=response.headers
            )
        assert last_error is not None
        raise last_error

    @staticmethod
    def _error(response: httpx.Response, credentials: Credentials) -> ToolError:
        detail: str | None = None
        try:
            body = json.loads(response.content)
            if isinstance(body, dict):
                detail = str(body.get("message") or body.get("error") or "") or None
        except ValueError:
            text = response.text.strip()
            detail = text[:300] if text and "<" not in text[:1] else None
        if detail:
            detail = credentials.redact(detail)
        return upstream_error(response.status_code, detail, _retry_after(response))


def _retry_after(response: httpx.Response) -> float | None:
    if response.status_code != 429:
        return None
    for header in ("Retry-After", "X-Rate-Limit-Reset"):
        value = response.headers.get(header)
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
    return 60.0
