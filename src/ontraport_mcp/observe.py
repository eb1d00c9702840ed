"""Where the runtime lets metrics, traces and structured logs watch it: two kinds of span.

* ``tool_call(spec)`` — around one ``tools/call`` in the dispatch (every route: fast path, SDK,
  facade, stdio); the caller fills in ``outcome`` (the executor's: ``ok``, ``duplicate``,
  ``confirmation_required``, ``input_required``, ``declined``, ``unanswered``, ``error:<code>``);
* ``upstream_request(operation, attempt)`` — around one HTTP request to Ontraport (an attempt:
  reads may be retried); the transport fills in ``status`` (HTTP status, or 0 when no answer).

An observer is a function ``(span) -> context manager`` registered with ``watch``; it may start
an OpenTelemetry span, time the block, count the outcome.  Spans nest through contextvars (an
upstream request inside a tool call).  The span is its own context manager: with no observer
registered it costs one small object and two clock reads, so the default server pays nothing
measurable; with observers, each one's context manager is entered and exited around the block
(no ``ExitStack``: this runs twice per call).  An observer that fails is logged and skipped —
watching never breaks a call.  Attributes never carry personal data: tool names, tool classes,
operation ids, statuses, attempt numbers and a request id.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

Observer = Callable[["Span"], contextlib.AbstractContextManager[Any]]
_OBSERVERS: list[Observer] = []
_log = logging.getLogger(__name__)

request_id: ContextVar[str | None] = ContextVar("ontraport_mcp_request_id", default=None)
"""The id of the HTTP request (or stdio message) being served, for logs, audit lines and spans."""


@dataclass(slots=True)
class Span:
    """One watched block: what it is (``kind``, ``attributes``) and how it ended."""

    kind: str  # "tools/call" or "upstream"
    attributes: dict[str, Any]
    outcome: str = "ok"
    status: int | None = None
    started: float = field(default_factory=time.perf_counter)
    ended: float | None = None
    _watching: list[contextlib.AbstractContextManager[Any]] | None = None

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
        watching = self._watching
        if not watching:
            return
        if exc_type is not None and self.outcome == "ok":
            self.outcome = "error:internal_error"
        for watcher in reversed(watching):
            try:
                watcher.__exit__(exc_type, exc, tb)  # what it returns is ignored: never swallows
            except Exception:  # noqa: BLE001
                _log.warning("an observer failed to finish", exc_info=True)
        self._watching = None


def watch(observer: Observer) -> Callable[[], None]:
    """Register an observer; returns the function that removes it (tests, shutdown)."""
    _OBSERVERS.append(observer)
    return lambda: _OBSERVERS.remove(observer) if observer in _OBSERVERS else None


def tool_call(tool: str, tool_class: str) -> Span:
    """The span of one ``tools/call`` (``with observe.tool_call(...) as span``)."""
    return Span(
        "tools/call", {"tool": tool, "tool_class": tool_class, "request_id": request_id.get()}
    )


def upstream_request(operation: str, attempt: int) -> Span:
    """The span of one HTTP request to Ontraport (one attempt)."""
    return Span("upstream", {"operation": operation, "attempt": attempt})
