"""The hook itself: observers see the outcome, never break or swallow the block they watch."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from ontraport_mcp import observe


@contextlib.contextmanager
def watching(observer: observe.Observer) -> Iterator[None]:
    stop = observe.watch(observer)
    try:
        yield
    finally:
        stop()


def test_an_observer_sees_the_outcome_and_the_duration():
    seen: list[tuple[str, str, float]] = []

    @contextlib.contextmanager
    def record(span: observe.Span) -> Iterator[None]:
        yield
        seen.append((span.kind, span.outcome, span.duration_s))

    with watching(record):
        with observe.tool_call("get_objects", "R") as call:
            with observe.upstream_request("getObjects", 1) as request:
                request.status = 200
            call.outcome = "duplicate"
    assert [(kind, outcome) for kind, outcome, _ in seen] == [
        ("upstream", "ok"),
        ("tools/call", "duplicate"),
    ]
    assert all(duration >= 0 for _, _, duration in seen)


def test_an_exception_is_an_internal_error_and_is_not_swallowed():
    outcomes: list[str] = []

    class Swallower:
        def __init__(self, span: observe.Span) -> None:
            self.span = span

        def __enter__(self) -> None:
            return None

        def __exit__(self, *exc: object) -> bool:
            outcomes.append(self.span.outcome)
            return True  # tries to swallow: ignored

    with watching(Swallower), pytest.raises(KeyError):
        with observe.tool_call("get_objects", "R"):
            raise KeyError("x")
    assert outcomes == ["error:internal_error"]


@pytest.mark.parametrize("where", ["start", "finish"])
def test_a_broken_observer_does_not_break_the_call(where, caplog):
    class Broken:
        def __init__(self, span: observe.Span) -> None:
            if where == "start":
                raise RuntimeError("broken")

        def __enter__(self) -> None:
            return None

        def __exit__(self, *exc: object) -> None:
            raise RuntimeError("broken")

    with watching(Broken):
        with observe.tool_call("get_objects", "R") as call:
            call.outcome = "ok"
    assert f"an observer failed to {where}" in caplog.text


def test_with_no_observer_a_span_still_times_its_block(monkeypatch):
    # other servers of the run (each app installs its metrics) may be watching: not here
    monkeypatch.setattr(observe, "_OBSERVERS", [])
    monkeypatch.setattr(observe, "_FINISHERS", [])
    with observe.tool_call("get_objects", "R") as call:
        pass
    assert call.ended is not None and call.duration_s >= 0


def test_a_finisher_sees_each_span_once_it_has_ended(caplog):
    seen: list[tuple[str, str, int | None, bool]] = []

    def finished(span: observe.Span) -> None:
        seen.append((span.kind, span.outcome, span.status, span.ended is not None))

    def broken(span: observe.Span) -> None:
        raise RuntimeError("broken")

    stops = [observe.watch_ends(broken), observe.watch_ends(finished)]
    try:
        with pytest.raises(KeyError), observe.tool_call("get_objects", "R"):
            with observe.upstream_request("getObjects", 1) as request:
                request.status = 503
            raise KeyError("x")
    finally:
        for stop in stops:
            stop()
    assert seen == [
        ("upstream", "ok", 503, True),
        ("tools/call", "error:internal_error", None, True),
    ]
    assert "an observer failed to finish" in caplog.text
    count = observe.watchers()
    stops[1]()  # removing twice is harmless
    assert observe.watchers() == count
