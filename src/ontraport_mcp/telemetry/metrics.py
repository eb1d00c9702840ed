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

import hmac
import logging
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from itertools import accumulate
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
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


class _Family:
    """One counter or histogram family: its samples kept as plain numbers by label values.

    Why not ``prometheus_client.Counter``/``Histogram``: each of their updates takes a lock, checks
    the labels and walks the buckets one by one, several times per ``tools/call`` (the
    ``make bench`` profile showed about 5 % of a call's CPU).  The spans end on the server's one
    event-loop thread, so plain numbers suffice; the families are built at scrape time only."""

    __slots__ = ("name", "documentation", "labels", "buckets", "values")

    def __init__(
        self,
        name: str,
        documentation: str,
        labels: tuple[str, ...],
        buckets: tuple[float, ...] | None = None,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = labels
        self.buckets = buckets  # None: a counter
        # counter: label values -> count; histogram: label values -> [count per bucket …, +Inf
        # bucket, sum]
        self.values: dict[tuple[str, ...], Any] = {}

    def inc(self, key: tuple[str, ...]) -> None:
        values = self.values
        values[key] = values.get(key, 0) + 1

    def observe(self, key: tuple[str, ...], amount: float) -> None:
        assert self.buckets is not None
        slots = self.values.get(key)
        if slots is None:
            slots = self.values[key] = [0] * (len(self.buckets) + 1) + [0.0]
        slots[bisect_left(self.buckets, amount)] += 1  # the first bound >= amount ("le")
        slots[-1] += amount

    def family(self) -> Metric:
        if self.buckets is None:
            counter = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
            for key, count in sorted(self.values.items()):
                counter.add_metric(key, count)
            return counter
        histogram = HistogramMetricFamily(self.name, self.documentation, labels=self.labels)
        bounds = [floatToGoString(bound) for bound in self.buckets] + ["+Inf"]
        for key, slots in sorted(self.values.items()):
            cumulative = list(accumulate(slots[:-1]))
            histogram.add_metric(key, list(zip(bounds, cumulative, strict=True)), slots[-1])
        return histogram


class _Families(Collector):
    """The families of one ``Metrics``, built at scrape time."""

    def __init__(self, families: Iterable[_Family]) -> None:
        self.families = tuple(families)

    def collect(self) -> Iterator[Metric]:
        for family in self.families:
            yield family.family()


class Metrics:
    """The series above on a registry of their own, and the finisher that feeds them."""

    def __init__(
        self,
        tool_names: Iterable[str],
        open_sessions: Callable[[], int] | None = None,
    ) -> None:
        self.catalog = frozenset(tool_names)
        prefix = "ontraport_mcp_"
        self.tool_calls = _Family(
            prefix + "tool_calls",
            "tools/call by tool and outcome (error_code is set when outcome is error).",
            ("tool", "tool_class", "outcome", "error_code"),
        )
        self.tool_seconds = _Family(
            prefix + "tool_call_duration_seconds",
            "Duration of tools/call in the dispatch, by tool.",
            ("tool",),
            buckets=LATENCY_BUCKETS,
        )
        self.upstream = _Family(
            prefix + "upstream_requests",
            "HTTP requests to Ontraport (each attempt) by operation and status.",
            ("operation", "status"),
        )
        self.rate_limited = _Family(
            prefix + "rate_limited",
            "429s: source=upstream counts Ontraport's HTTP 429 answers (each attempt); "
            "source=server counts tool calls answered rate_limited.",
            ("source",),
        )
        self.confirmations = _Family(
            prefix + "confirmations",
            "Confirmations of destructive and money tools: asked, confirmed, declined "
            "(or unanswered), expired, invalid.",
            ("event",),
        )
        for event in ("asked", "confirmed", "declined", "expired", "invalid"):
            self.confirmations.values[(event,)] = 0
        for source in ("upstream", "server"):
            self.rate_limited.values[(source,)] = 0
        families = (
            self.tool_calls,
            self.tool_seconds,
            self.upstream,
            self.rate_limited,
            self.confirmations,
        )
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_Families(families))
        if open_sessions is not None:
            self.registry.register(_OpenSessions(open_sessions))

    def finished(self, span: Span) -> None:
        """The ``observe.watch_ends`` finisher."""
        if span.kind == "tools/call":
            self._tool_done(span)
        else:
            self._upstream_done(span)

    def _tool_done(self, span: Span) -> None:
        attrs = span.attributes
        tool = tool_label(str(attrs.get("tool", "")), self.catalog)
        tool_class = str(attrs.get("tool_class", ""))
        outcome, code = outcome_labels(span.outcome)
        self.tool_calls.inc((tool, tool_class, outcome, code))
        self.tool_seconds.observe((tool,), span.duration_s)
        event = CONFIRMATION_EVENTS.get(span.outcome)
        if event is None and span.outcome == "ok" and tool_class in CONFIRMED_CLASSES:
            event = "confirmed"
        if event is not None:
            self.confirmations.inc((event,))
        if code == "rate_limited":
            self.rate_limited.inc(("server",))

    def _upstream_done(self, span: Span) -> None:
        operation = str(span.attributes.get("operation", ""))
        self.upstream.inc((operation, status_label(span.status)))
        if span.status == 429:
            self.rate_limited.inc(("upstream",))

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
