"""Metrics, traces and structured logs, fed by the spans of ``observe``; one entry point.

``install(settings, app, ...)`` on the Starlette app of ``transport.app.build_app`` (before it
serves) adds:

* ``GET /metrics`` (Prometheus text; ``settings.metrics_token`` set: bearer token required),
  unless ``settings.metrics`` is false;
* OpenTelemetry spans exported over OTLP, only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
  ``…_TRACES_ENDPOINT``) is set — otherwise no tracing observer exists at all;
* ``RequestIdMiddleware`` (``X-Request-Id`` in, ``observe.request_id`` set, header echoed);
* their observers registered for the app's lifespan only (start-up to shutdown).

``configure_logging(level, fmt)`` is the CLI's half (``--log-format json``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import observe
from .logs import RequestIdMiddleware, configure_logging
from .metrics import Metrics, metrics_route
from .tracing import Tracing, otlp_configured

__all__ = ["Telemetry", "configure_logging", "install"]


@dataclass
class Telemetry:
    """What ``install`` set up; ``close()`` undoes it (idempotent)."""

    metrics: Metrics | None = None
    tracing: Tracing | None = None
    _unwatch: list[Callable[[], None]] = field(default_factory=list)

    def start(self) -> None:
        """Register the observers (the app's start-up: nothing watches an app that never runs)."""
        if self.metrics is not None:
            self._unwatch.append(observe.watch_ends(self.metrics.finished))
        if self.tracing is not None:
            self._unwatch.append(observe.watch(self.tracing.observer))

    def close(self) -> None:
        for unwatch in self._unwatch:
            unwatch()
        self._unwatch.clear()
        if self.tracing is not None:
            self.tracing.shutdown()
            self.tracing = None


def _static_tool_names(app: Any) -> Iterable[str]:
    """The catalog's tool names from the app's dispatch (custom-object tools are not in it)."""
    mcp = getattr(getattr(app, "state", None), "mcp", None)
    entries = getattr(getattr(mcp, "dispatch", None), "entries", None)
    return tuple(entries) if entries is not None else ()


def _tracker_sessions(app: Any) -> Callable[[], int] | None:
    tracker = getattr(getattr(app, "state", None), "tracker", None)
    owners = getattr(tracker, "owner_of", None)
    return (lambda: len(owners)) if owners is not None else None


def install(
    settings: Any,
    app: Any,
    *,
    tool_names: Iterable[str] | None = None,
    open_sessions: Callable[[], int] | None = None,
    span_processor: Any = None,
    environ: Mapping[str, str] = os.environ,
) -> Telemetry:
    """Add metrics, traces and request ids to ``app`` (a Starlette app that has not served yet).

    ``tool_names``: the static catalog (default: the app's ``dispatch.entries``);
    ``open_sessions``: read at each scrape (default: the app's session tracker);
    ``span_processor``: traces to this processor instead of OTLP (tests, the bench)."""
    from .. import __version__

    telemetry = Telemetry()
    names = tuple(tool_names) if tool_names is not None else tuple(_static_tool_names(app))
    if getattr(settings, "metrics", True):
        sessions = open_sessions if open_sessions is not None else _tracker_sessions(app)
        telemetry.metrics = Metrics(names, sessions)
        route = metrics_route(telemetry.metrics, getattr(settings, "metrics_token", None))
        app.router.routes.append(route)
    if span_processor is not None or otlp_configured(environ):
        telemetry.tracing = Tracing(
            tool_names=names, processor=span_processor, service_version=__version__
        )
    app.add_middleware(RequestIdMiddleware)
    inner_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(the_app: Any) -> AsyncIterator[Any]:
        telemetry.start()
        try:
            async with inner_lifespan(the_app) as state:
                yield state
        finally:
            telemetry.close()

    app.router.lifespan_context = lifespan
    return telemetry
