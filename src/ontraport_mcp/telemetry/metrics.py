"""Prometheus metrics of the tool calls and of the requests to Ontraport, served at ``/metrics``.

Every series is fed by the spans of ``observe`` (one ``tools/call`` span per call on every route,
one ``upstream`` span per HTTP attempt), except the open sessions, read at scrape time from a
callable the application passes in.  The registry is this object's own, never the process-wide
default, so one process can hold several servers (the tests do).

Labels, and why their cardinality is bounded (the figures are for the current catalog):

========================  ====================================================================
``tool``                  a static catalog tool name (48), or ``custom:<kind>`` for the
                          account's custom-object tools, whose names come from account data
                          (``custom:get``, ``custom:search``, ``custom:create``, ``custom:update``,
                          ``custom:other``)
``tool_class``            ``R``, ``W``, ``D``, ``$`` (fixed by the tool: adds no series)
``outcome``               ``ok``, ``duplicate``, ``confirmation_required``, ``input_required``,
                          ``declined``, ``error``
``error_code``            ``none`` unless ``outcome`` is ``error``; then a code of
                          ``KNOWN_ERROR_CODES`` or ``other``
``operation``             an operation id of the generated client (89)
``status``                an upstream HTTP status of ``KNOWN_STATUSES``, else its class
                          (``2xx`` … ``5xx``), or ``no_answer``
``source``, ``event``     the small fixed sets of ``rate_limited_total`` and
                          ``confirmations_total``
========================  ====================================================================

So at most (48 + 5) × (5 + 26) ≈ 1,600 tool-call series (in practice a few per tool) and
89 × 22 ≈ 2,000 upstream series.  No label ever holds a credential, an account, a record id or
any argument value.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..observe import Span

log = logging.getLogger(__name__)

KNOWN_ERROR_CODES: frozenset[str] = frozenset(
    {
        "access_denied",
        "card_number_refused",
        "confirmation_expired",
        "confirmation_invalid",
        "duplicate_in_flight",
        "internal_error",
        "invalid_arguments",
        "not_allowed",
        "not_found",
        "not_implemented",
        "outcome_unknown",
        "partially_done",
        "rate_limited",
        "refused",
        "result_too_large",
        "state_unavailable",
        "toolset_disabled",
        "unexpected_response",
        "unknown_tool",
        "upstream_bad_response",
        "upstream_connection_lost",
        "upstream_error",
        "upstream_timeout",
        "upstream_unavailable",
        "upstream_unreachable",
    }
)
"""Error codes kept as a label value; any other code is counted as ``other``."""

OUTCOMES: dict[str, str] = {
    "ok": "ok",
    "duplicate": "duplicate",
    "confirmation_required": "confirmation_required",
    "input_required": "input_required",
    "declined": "declined",
    "unanswered": "declined",
}
"""The executor's outcomes (other than ``error:<code>``) as the ``outcome`` label says them."""

CONFIRMATION_EVENTS: dict[str, str] = {
    "confirmation_required": "asked",
    "input_required": "asked",
    "declined": "declined",
    "unanswered": "declined",
    "error:confirmation_expired": "expired",
    "error:confirmation_invalid": "invalid",
}
"""How an outcome moves ``confirmations_total`` (``confirmed`` is an ``ok`` of a class below)."""

CONFIRMED_CLASSES = frozenset({"D", "$"})
KNOWN_STATUSES = frozenset(
    {200, 201, 204, 400, 401, 403, 404, 409, 413, 422, 429, 500, 502, 503, 504}
)
CUSTOM_KINDS = ("get", "search", "create", "update")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)
"""Seconds; the last buckets hold calls that waited for a person to confirm."""


def tool_label(name: str, catalog: frozenset[str]) -> str:
    """``name`` when it is a static catalog tool, else ``custom:<kind>``: the names of custom-
    object tools come from the account's data and must not become label values."""
    if name in catalog:
        return name
    kind = name.split("_", 1)[0]
    return f"custom:{kind}" if kind in CUSTOM_KINDS else "custom:other"


def status_label(status: int | None) -> str:
    """An HTTP status as a bounded label value (``no_answer`` for 0 or None)."""
    if not status:
        return "no_answer"
    if status in KNOWN_STATUSES:
        return str(status)
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


def outcome_labels(outcome: str) -> tuple[str, str]:
    """``(outcome, error_code)`` labels of an executor outcome."""
    if outcome.startswith("error:"):
        code = outcome[6:]
        return "error", code if code in KNOWN_ERROR_CODES else "other"
    return OUTCOMES.get(outcome, "error"), "none" if outcome in OUTCOMES else "other"


class _OpenSessions(Collector):
    """The open-sessions gauge, read from the application at scrape time."""

    def __init__(self, read: Callable[[], int]) -> None:
        self.read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            value = float(self.read())
        except Exception:  # noqa: BLE001 - a scrape must not fail on one broken reading
            log.warning("the open-sessions count could not be read", exc_info=True)
            return
        yield GaugeMetricFamily(
            "ontraport_mcp_open_sessions",
            "Open MCP sessions (light and full, handshake era).",
            value=value,
        )


class _After:
    """A context manager that calls ``done(span)`` when the block ends (cheaper than a
    generator-based one: this runs on every call)."""

    __slots__ = ("done", "span")

    def __init__(self, done: Callable[[Span], None], span: Span) -> None:
        self.done = done
        self.span = span

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self.done(self.span)


class Metrics:
    """The series above on a registry of their own, and the observer that feeds them."""

    def __init__(
        self,
        tool_names: Iterable[str],
        open_sessions: Callable[[], int] | None = None,
    ) -> None:
        self.catalog = frozenset(tool_names)
        self.registry = CollectorRegistry(auto_describe=True)
        prefix = "ontraport_mcp_"
        self.tool_calls = Counter(
            prefix + "tool_calls",
            "tools/call by tool and outcome (error_code is set when outcome is error).",
            ("tool", "tool_class", "outcome", "error_code"),
            registry=self.registry,
        )
        self.tool_seconds = Histogram(
            prefix + "tool_call_duration_seconds",
            "Duration of tools/call in the dispatch, by tool.",
            ("tool",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upstream = Counter(
            prefix + "upstream_requests",
            "HTTP requests to Ontraport (each attempt) by operation and status.",
            ("operation", "status"),
            registry=self.registry,
        )
        self.rate_limited = Counter(
            prefix + "rate_limited",
            "429s: source=upstream counts Ontraport's HTTP 429 answers (each attempt); "
            "source=server counts tool calls answered rate_limited.",
            ("source",),
            registry=self.registry,
        )
        self.confirmations = Counter(
            prefix + "confirmations",
            "Confirmations of destructive and money tools: asked, confirmed, declined "
            "(or unanswered), expired, invalid.",
            ("event",),
            registry=self.registry,
        )
        for event in ("asked", "confirmed", "declined", "expired", "invalid"):
            self.confirmations.labels(event)
        for source in ("upstream", "server"):
            self.rate_limited.labels(source)
        if open_sessions is not None:
            self.registry.register(_OpenSessions(open_sessions))
        # label children by key: prometheus_client's own lookup takes a lock and builds a tuple
        self._children: dict[tuple[str, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (metric._name, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def observer(self, span: Span) -> contextlib.AbstractContextManager[Any]:
        """The ``observe.watch`` observer."""
        return _After(self._tool_done if span.kind == "tools/call" else self._upstream_done, span)

    def _tool_done(self, span: Span) -> None:
        attrs = span.attributes
        tool = tool_label(str(attrs.get("tool", "")), self.catalog)
        tool_class = str(attrs.get("tool_class", ""))
        outcome, code = outcome_labels(span.outcome)
        self._child(self.tool_calls, tool, tool_class, outcome, code).inc()
        self._child(self.tool_seconds, tool).observe(span.duration_s)
        event = CONFIRMATION_EVENTS.get(span.outcome)
        if event is None and span.outcome == "ok" and tool_class in CONFIRMED_CLASSES:
            event = "confirmed"
        if event is not None:
            self._child(self.confirmations, event).inc()
        if code == "rate_limited":
            self._child(self.rate_limited, "server").inc()

    def _upstream_done(self, span: Span) -> None:
        operation = str(span.attributes.get("operation", ""))
        self._child(self.upstream, operation, status_label(span.status)).inc()
        if span.status == 429:
            self._child(self.rate_limited, "upstream").inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _secret(token: Any) -> str | None:
    """The token's text, whether a plain string or a pydantic ``SecretStr``."""
    if token is None:
        return None
    reveal = getattr(token, "get_secret_value", None)
    text = reveal() if callable(reveal) else str(token)
    return text or None


def metrics_route(metrics: Metrics, token: Any = None, path: str = "/metrics") -> Route:
    """The ``GET /metrics`` route; with ``token`` set, only ``Authorization: Bearer <token>``
    is answered (401 otherwise), compared in constant time."""
    expected = _secret(token)
    expected_bytes = expected.encode() if expected is not None else b""

    async def scrape(request: Request) -> Response:
        if expected is not None:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode("utf-8", "replace"), expected_bytes
            ):
                return JSONResponse(
                    {
                        "code": "unauthorized",
                        "message": "The metrics endpoint needs the bearer token "
                        "configured as ONTRAPORT_METRICS_TOKEN.",
                    },
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                )
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return Route(path, scrape, methods=["GET"])
