"""Where the runtime lets metrics, traces and structured logs watch it: two kinds of span.

* ``tool_call(spec)`` — around one ``tools/call`` in the dispatch (every route: fast path, SDK,
  facade, stdio); the caller fills in ``outcome`` (the executor's: ``ok``, ``duplicate``,
  ``confirmation_required``, ``input_required``, ``declined``, ``unanswered``, ``error:<code>``);
* ``upstream_request(operation, attempt)`` — around one HTTP request to Ontraport (an attempt:
  reads may be retried); the transport fills in ``status`` (HTTP status, or 0 when no answer).

Two kinds of watcher, registered for the app's lifespan:

* an *observer* (``watch``): a function ``(span) -> context manager``, entered and exited around
  the block — an OpenTelemetry span that must be current while the block runs;
* a *finisher* (``watch_ends``): a function ``(span) -> None`` called once the block has ended —
  a counter, a histogram.  Most watching only needs the end; a finisher costs one call, no
  objects (this runs twice per ``tools/call``, on every call).

Spans nest through contextvars (an upstream request inside a tool call).  The span is its own
context manager: with nothing registered it costs one small object and two clock reads.  A
watcher that fails is logged and skipped — watching never breaks a call.  Attributes never carry
personal data: tool names, tool classes, operation ids, statuses, attempt numbers and a request
id.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from types import TracebackType
from typing import Any

Observer = Callable[["Span"], contextlib.AbstractContextManager[Any]]
Finisher = Callable[["Span"], None]
_OBSERVERS: list[Observer] = []
_FINISHERS: list[Finisher] = []
_log = logging.getLogger(__name__)

request_id: ContextVar[str | None] = ContextVar("ontraport_mcp_request_id", default=None)
"""The id of the HTTP request (or stdio message) being served, for logs, audit lines and spans."""


class Span:
    """One watched block: what it is (``kind``, ``attributes``) and how it ended."""

    __slots__ = ("kind", "attributes", "outcome", "status", "started", "ended", "_watching")

    def __init__(self, kind: str, attributes: dict[str, Any]) -> None:
        self.kind = kind  # "tools/call" or "upstream"
        self.attributes = attributes
        self.outcome = "ok"
        self.status: int | None = None
        self.started = time.perf_counter()
        self.ended: float | None = None
        self._watching: list[contextlib.AbstractContextManager[Any]] | None = None

    @property
    def duration_s(self) -> float:
        return (self.ended or time.perf_counter()) - self.started

    def __enter__(self) -> Span:
        if _OBSERVERS:
            entered: list[contextlib.AbstractContextManager[Any]] = []
            for observer in tuple(_OBSERVERS):
                try:
                    watcher = observer(self)
                    watcher.__enter__()
                except Exception:  # noqa: BLE001 - a broken observer must not break the call
                    _log.warning("an observer failed to start", exc_info=True)
                    continue
                entered.append(watcher)
            self._watching = entered
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.ended = time.perf_counter()
        if exc_type is not None and self.outcome == "ok":
            self.outcome = "error:internal_error"
        watching = self._watching
        if watching:
            self._watching = None
            for watcher in reversed(watching):
                try:
                    # what it returns is ignored: a watcher never swallows an exception
                    watcher.__exit__(exc_type, exc, tb)
                except Exception:  # noqa: BLE001
                    _log.warning("an observer failed to finish", exc_info=True)
        for finisher in _FINISHERS:
            try:
                finisher(self)
            except Exception:  # noqa: BLE001
                _log.warning("an observer failed to finish", exc_info=True)


def watch(observer: Observer) -> Callable[[], None]:
    """Register an observer; returns the function that removes it (tests, shutdown)."""
    return _register(_OBSERVERS, observer)


def watch_ends(finisher: Finisher) -> Callable[[], None]:
    """Register a finisher; returns the function that removes it (tests, shutdown)."""
    return _register(_FINISHERS, finisher)


def watchers() -> int:
    """How many observers and finishers are registered (tests: an app's start-up adds its own
    and its shutdown removes them)."""
    return len(_OBSERVERS) + len(_FINISHERS)


def _register(table: list[Any], watcher: Any) -> Callable[[], None]:
    table.append(watcher)
    return lambda: table.remove(watcher) if watcher in table else None


def tool_call(tool: str, tool_class: str) -> Span:
    """The span of one ``tools/call`` (``with observe.tool_call(...) as span``)."""
    return Span(
        "tools/call", {"tool": tool, "tool_class": tool_class, "request_id": request_id.get()}
    )


def upstream_request(operation: str, attempt: int) -> Span:
    """The span of one HTTP request to Ontraport (one attempt)."""
    return Span("upstream", {"operation": operation, "attempt": attempt})
