"""The one transport under the generated API (``generated/api.py``): encode, send, decode.

Every call arrives as an ``Operation`` of the spec with its query (API names) and body, from a
typed method of ``OntraportApi``.  It is encoded here — the query as ``key=value`` pairs (lists
repeat the key, booleans are ``true``/``false``), the body in the first media type the spec lists
for it (JSON or a form) — and sent over ``http11.ConnectionPool`` (keep-alive, bounded) with the caller's
credentials.  When an HTTP(S) proxy applies to the API's host, or a caller passes an httpx
transport (unit tests of this module), the same bytes go through an ``httpx.AsyncClient``
instead: proxies are a feature of this transport.  Policy, in one place:

* idempotent reads (GET) are retried on 5xx, timeouts and transport errors with jittered
  exponential backoff — at most ``retries`` attempts and never past ``deadline_s``;
* writes are sent exactly once: a timeout, a broken connection, a 5xx or a malformed answer
  after the request went out is ``OutcomeUnknown`` ("may have happened; check first");
* a 429 comes back at once as ``RateLimited`` with ``retry_after_s`` (never slept on);
* every other error status becomes a structured ``ToolError`` (see ``errors``), with any echo of
  the credentials removed.

Before each attempt leaves, it spends one request of the account's budget (``state.governor``,
shared by every worker and replica; reads and writes alike): a spent budget waits briefly
(``rate_wait_max_s``) or is ``RateLimited`` with ``retry_after_s`` at once, *without* calling
Ontraport, so the agent never sees Ontraport's own 429 for traffic this server can count.  Every
answer (429s included) is shown back to the governor, which tightens the budget from Ontraport's
``X-Rate-Limit-*`` headers.  A state store that does not answer does not stop a request: the
budget is a courtesy to Ontraport (its own 429 still applies), and money safety lives in the
duplicate guard, which fails closed by itself; the lapse is logged at most once a minute.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from .. import observe, wirejson
from ..credentials import Credentials
from ..errors import (
    OutcomeUnknown,
    RateLimited,
    ToolError,
    UpstreamError,
    UpstreamUnavailable,
    upstream_error,
)
from ..state import StoreLapse, StoreUnavailable
from ..state.governor import Governor, RateBudgetExhausted, account_key
from .http11 import ConnectionPool, RawResponse, SendError
from .operation import Operation, UpstreamResult

RETRY_STATUSES = frozenset({500, 502, 503, 504})
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
log = logging.getLogger("ontraport_mcp.upstream")


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
        governor: Governor | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.governor = governor  # each account's request budget (state.governor); None: none
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
        self.calls = 0  # upstream requests sent (for tests and the benchmark)
        # a store that does not answer lets requests go unbudgeted; said once a minute at most
        self._store_lapse = StoreLapse(
            log,
            "the state store did not answer: requests to Ontraport are sent without the shared "
            "rate budget until it is back",
        )

    @property
    def transport_name(self) -> str:
        """``"http11"`` (the built-in pool) or ``"httpx"`` (proxy or injected transport)."""
        return "http11" if self._pool is not None else "httpx"

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
        if self._client is not None:
            await self._client.aclose()

    async def call(
        self,
        op: Operation,
        credentials: Credentials,
        query: Mapping[str, Any],
        body: Mapping[str, Any] | None = None,
    ) -> UpstreamResult:
        """Send one operation for one caller, with the retry and outcome policy above."""
        method, target, headers, content = self.encode(op, query, body, credentials)
        attempts = self.retries if op.idempotent else 1
        started = time.monotonic()
        last_error: ToolError | None = None
        account = account_key(credentials.app_id) if self.governor is not None else None
        for attempt in range(attempts):
            if attempt:
                delay = random.uniform(0, min(2.0, 0.1 * 2**attempt))
                if time.monotonic() - started + delay > self.deadline_s:
                    break
                await asyncio.sleep(delay)
            if account is not None:
                await self._spend(account)
            with observe.upstream_request(op.operation_id, attempt + 1) as span:
                try:
                    self.calls += 1
                    response = await self._send(method, target, headers, content, op.idempotent)
                except SendError as exc:
                    span.status, span.outcome = 0, "no_answer"
                    last_error = _send_error(exc, op.idempotent)
                    continue
                span.status = response.status
            if account is not None:
                await self._observe(account, response.headers)
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

    # --- the account's budget (state.governor) ------------------------------------------------

    async def _spend(self, account: str) -> None:
        """Take one request of ``account``'s budget before an attempt leaves, or raise
        ``RateLimited`` (nothing sent); a store that does not answer lets the request go."""
        assert self.governor is not None
        try:
            await self.governor.acquire(account)
        except RateBudgetExhausted as spent:
            raise RateLimited(_spent_message(spent), retry_after_s=spent.retry_after_s) from None
        except StoreUnavailable:
            self._store_lapse()

    async def _observe(self, account: str, headers: Mapping[str, str]) -> None:
        """Show an answer's ``X-Rate-Limit-*`` headers to the governor (never fails a call)."""
        assert self.governor is not None
        try:
            await self.governor.observe(account, headers)
        except StoreUnavailable:
            self._store_lapse()
        except Exception:  # noqa: BLE001 - a write's answer must reach its caller, whatever this did
            log.exception("could not apply Ontraport's X-Rate-Limit headers to the rate budget")

    @staticmethod
    def encode(
        op: Operation,
        query: Mapping[str, Any],
        body: Mapping[str, Any] | None,
        credentials: Credentials,
    ) -> tuple[str, str, dict[str, str], bytes | None]:
        """Method, target (path + query), headers and body bytes of one request."""
        headers = {**_DEFAULT_HEADERS, **credentials.headers()}
        target = op.path
        pairs = _pairs({k: v for k, v in query.items() if v is not None})
        if pairs:
            target = f"{target}?{urlencode(pairs)}"
        content: bytes | None = None
        if body is not None and op.content_types:
            if op.content_types[0] == JSON_TYPE:  # the spec's first media type, as it lists them
                content = json.dumps(
                    body, ensure_ascii=False, separators=(",", ":"), allow_nan=False
                ).encode("utf-8")
                headers["Content-Type"] = JSON_TYPE
            else:
                content = urlencode(_pairs(body)).encode("ascii")
                headers["Content-Type"] = FORM_TYPE
        return op.method, target, headers, content

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


def _spent_message(spent: RateBudgetExhausted) -> str:
    """What the agent reads when the governor refuses: whose budget, how big, when to retry."""
    window = "a minute" if spent.window_s == 60 else f"per {spent.window_s} s"
    return (
        f"This Ontraport account's request budget ({spent.limit:,} requests {window}, shared by "
        f"every replica of this server) is spent, so nothing was sent to Ontraport: retry after "
        f"{spent.retry_after_s:g} s."
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
