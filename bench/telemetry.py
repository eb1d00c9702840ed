"""What metrics and traces cost: ``tools/call`` throughput at c=16 with and without telemetry,
measured in the same run on the bench's own load driver.

Three servers on the same canned upstream (0 ms), each a child process started the same way
(``python -m bench.telemetry serve``: the app of ``build_app`` under uvicorn, as ``serve``
runs it):

* ``plain``   — no telemetry installed (no observer: the default server);
* ``metrics`` — ``telemetry.install`` with metrics on and tracing off (the issue's target:
  at most 5 % fewer calls per second than ``plain``);
* ``traces``  — metrics and tracing, spans batched to an exporter that drops them (what the
  span bookkeeping itself costs, without a collector's network time).

Their windows are interleaved in rounds (plain, metrics, traces, plain, …) so a noisy neighbour
hits all three alike.  The target is judged on the median over rounds of each round's cost
against that round's plain window; the best window of each variant, the server CPU per call and
the hooks' own cost in microseconds (``hook_cost_us``, in-process) are reported beside it.

``measure(plan, upstream_port, log)`` returns the section; ``python -m bench`` adds it as
``rep["telemetry"]``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from typing import Any

from . import procs
from .httpload import MCP_CALL_OK
from .scenarios import Plan, _load, _per_call_cpu, _prime, _round, call_request, credentials

VARIANTS = ("plain", "metrics", "traces")
CONCURRENCY = 16
TARGET_COST = 0.05


SERVER_ENV = {
    "ONTRAPORT_AUDIT_LOG": "off",
    # the load is thousands of calls a second on one bench account: the per-account budget
    # toward Ontraport (180 a minute by default) would answer rate_limited after a second
    "ONTRAPORT_RATE_LIMIT_PER_MINUTE": "1000000000",
}


@contextlib.contextmanager
def _server(upstream_port: int, variant: str) -> Iterator[tuple[procs.Child, int]]:
    """One server child with a state folder of its own (no budget or cache shared with
    another server or another run), removed afterwards."""
    port = procs.free_port()
    argv = [sys.executable, "-m", "bench.telemetry", "serve", "--port", str(port)]
    argv += ["--upstream", f"http://{procs.HOST}:{upstream_port}/1", "--variant", variant]
    with tempfile.TemporaryDirectory(prefix="bench-telemetry-") as data_dir:
        child = procs.Child(
            f"MCP server ({variant})",
            argv,
            env={**SERVER_ENV, "ONTRAPORT_DATA_DIR": data_dir, **procs.SERVER_ENV},
        )
        try:
            procs.wait_http(port, "/health", child, timeout_s=60)
            yield child, port
        finally:
            child.stop()


def rounds(plan: Plan) -> int:
    """Rounds of three windows: enough for a median that one disturbed round cannot move
    (``full``: 6 rounds of 7.5 s windows, about 2.5 minutes)."""
    return max(5, 2 * plan.repeats)


def measure(plan: Plan, upstream_port: int, log: Any) -> dict[str, Any]:
    """The section: every window of every variant, the best of each, the costs and the target."""
    creds = credentials(0, "telemetry")
    windows: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    with contextlib.ExitStack() as stack:
        servers = {v: stack.enter_context(_server(upstream_port, v)) for v in VARIANTS}
        for _child, port in servers.values():
            _prime(port, call_request(port, creds), MCP_CALL_OK)
        for repeat in range(rounds(plan)):
            for variant in VARIANTS:
                child, port = servers[variant]
                log(f"  telemetry {variant:<7} c={CONCURRENCY} window {repeat + 1}")
                result, row = _load(
                    port,
                    call_request(port, creds),
                    plan,
                    CONCURRENCY,
                    MCP_CALL_OK,
                    {"server": child},
                )
                _per_call_cpu(result, row)
                windows[variant].append(row)
    best = {v: max(windows[v], key=lambda r: r["throughput_rps"] or 0.0) for v in VARIANTS}
    plain = best["plain"]["throughput_rps"] or 0.0

    def cost(variant: str) -> float | None:
        rps = best[variant]["throughput_rps"]
        return _round(1 - rps / plain, 4) if plain and rps else None

    def cpu(variant: str) -> float | None:
        """The least server CPU per call of the variant's windows (ms)."""
        values = [r["server_cpu_ms_per_call"] for r in windows[variant]]
        known = [v for v in values if v is not None]
        return min(known) if known else None

    def cpu_cost(variant: str) -> float | None:
        base, with_it = cpu("plain"), cpu(variant)
        return _round(with_it / base - 1, 4) if base and with_it else None

    def paired_cost(variant: str) -> float | None:
        """The median over rounds of the cost against the same round's plain window: windows
        run back to back share the machine's load, so the ratio is steadier than either."""
        ratios = sorted(
            1 - w["throughput_rps"] / p["throughput_rps"]
            for p, w in zip(windows["plain"], windows[variant], strict=True)
            if p["throughput_rps"] and w["throughput_rps"]
        )
        return _round(ratios[len(ratios) // 2], 4) if ratios else None

    metrics_cost = paired_cost("metrics")
    hooks = hook_cost_us()
    plain_cpu_us = (cpu("plain") or 0.0) * 1000

    def _share(extra_us: float) -> float | None:
        return _round(extra_us / plain_cpu_us, 4) if plain_cpu_us else None

    return {
        "concurrency": CONCURRENCY,
        "delay_ms": 0,
        "throughput_rps": {v: best[v]["throughput_rps"] for v in VARIANTS},
        "p50_ms": {v: best[v]["p50_ms"] for v in VARIANTS},
        "cost": {"metrics": cost("metrics"), "metrics_and_traces": cost("traces")},
        "paired_cost": {
            "metrics": metrics_cost,
            "metrics_and_traces": paired_cost("traces"),
        },
        # CPU per call is steadier than calls/s on a shared machine: the same story, in ms
        "server_cpu_ms_per_call": {v: cpu(v) for v in VARIANTS},
        "cpu_cost": {"metrics": cpu_cost("metrics"), "metrics_and_traces": cpu_cost("traces")},
        "target": {
            "what": "metrics on, tracing off: at most 5 % fewer tools/call per second "
            "(the paired median)",
            "max_cost": TARGET_COST,
            "met": None if metrics_cost is None else metrics_cost <= TARGET_COST,
        },
        "windows": {
            v: [
                {
                    "throughput_rps": r["throughput_rps"],
                    "server_cpu_ms_per_call": r["server_cpu_ms_per_call"],
                    "errors": r.get("errors", 0),
                    "other_cores": r["cpu_cores"].get("other"),
                }
                for r in rows
            ]
            for v, rows in windows.items()
        },
        "errors": sum(r.get("errors", 0) for rows in windows.values() for r in rows),
        "hook_cost_us": hooks,
        # the hooks' microseconds over the plain server's CPU per call: the cost the load
        # windows try to see, without their noise (a 2-core machine shared with other jobs)
        "estimated_cost": {
            "metrics": _share(hooks["metrics"] - hooks["none"] + hooks["request_id_middleware"]),
            "metrics_and_traces": _share(
                hooks["metrics_and_traces"] - hooks["none"] + hooks["request_id_middleware"]
            ),
        },
        "other_cores_max": max(
            (r["cpu_cores"].get("other") or 0.0 for rows in windows.values() for r in rows),
            default=None,
        ),
    }


def hook_cost_us(calls: int = 20_000, repeats: int = 5) -> dict[str, float]:
    """Microseconds the hooks add to one ``tools/call`` with one upstream request (its two
    spans), in this process: none watching, metrics, metrics and traces (spans batched to a
    dropping exporter); and what the request-id middleware adds to one HTTP request.  The best
    of ``repeats`` runs: CPU work only, steady where calls/s on a shared machine is not."""
    import asyncio
    import timeit

    from ontraport_mcp import observe
    from ontraport_mcp.telemetry.logs import RequestIdMiddleware
    from ontraport_mcp.telemetry.metrics import Metrics
    from ontraport_mcp.telemetry.tracing import Tracing

    def one_call() -> None:
        with observe.tool_call("get_objects", "R") as call:
            with observe.upstream_request("getObjects", 1) as request:
                request.status = 200
            call.outcome = "ok"

    def per_call() -> float:
        return min(timeit.repeat(one_call, number=calls, repeat=repeats)) / calls * 1e6

    figures: dict[str, float] = {"none": per_call()}
    metrics = Metrics(["get_objects"])
    unwatch = [observe.watch_ends(metrics.finished)]
    figures["metrics"] = per_call()
    tracing = Tracing(tool_names=["get_objects"], processor=_batch_to_nowhere())
    unwatch.append(observe.watch(tracing.observer))
    try:
        figures["metrics_and_traces"] = per_call()
    finally:
        for stop in unwatch:
            stop()
        tracing.shutdown()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def ignore(message: Any) -> None:
        return None

    async def requests(handler: Any) -> float:
        scope = {"type": "http", "headers": [(b"x-request-id", b"abc-123")]}
        started = time.perf_counter()
        for _ in range(calls):
            await handler(scope, ignore, ignore)
        return (time.perf_counter() - started) / calls * 1e6

    async def middleware_cost() -> float:
        bare = min([await requests(app) for _ in range(repeats)])
        wrapped = min([await requests(RequestIdMiddleware(app)) for _ in range(repeats)])
        return wrapped - bare

    figures["request_id_middleware"] = asyncio.run(middleware_cost())
    return {k: round(v, 2) for k, v in figures.items()}


def _batch_to_nowhere() -> Any:
    """A batch span processor whose exporter takes every batch and keeps nothing."""
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Drop(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    return BatchSpanProcessor(Drop())


def markdown(section: dict[str, Any]) -> str:
    """The section as a small table for ``latest.md``."""
    if not section or "throughput_rps" not in section:
        return ""
    lines = [
        f"### Telemetry cost (tools/call, c={section['concurrency']}, 0 ms upstream)",
        "",
        "| server | calls/s | p50 ms | cost (calls/s) | server CPU ms/call | cost (CPU) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    keys = {"plain": None, "metrics": "metrics", "traces": "metrics_and_traces"}
    for variant, key in keys.items():
        cost = section["cost"][key] if key else None
        cpu_cost = section["cpu_cost"][key] if key else None
        lines.append(
            f"| {variant} | {section['throughput_rps'][variant]} | {section['p50_ms'][variant]} "
            f"| {_percent(cost)} | {section['server_cpu_ms_per_call'][variant]} "
            f"| {_percent(cpu_cost)} |"
        )
    paired = section.get("paired_cost") or {}
    lines += [
        "",
        "Median over rounds of the cost against the same round's plain window: "
        f"metrics {_percent(paired.get('metrics'))}, "
        f"metrics and traces {_percent(paired.get('metrics_and_traces'))}.",
    ]
    estimated = section.get("estimated_cost") or {}
    lines.append(
        f"Estimated from the hooks' own cost over the plain server's CPU per call: metrics "
        f"{_percent(estimated.get('metrics'))}, metrics and traces "
        f"{_percent(estimated.get('metrics_and_traces'))} (other processes used up to "
        f"{section.get('other_cores_max')} cores during the windows)."
    )
    hooks = section.get("hook_cost_us") or {}
    if hooks:
        lines += [
            "",
            "In-process, µs per tools/call (its span and one upstream span): "
            + ", ".join(f"{k} {v}" for k, v in hooks.items())
            + " (the middleware: per HTTP request, over a bare ASGI app).",
        ]
    return "\n".join(lines) + "\n"


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


# --- the server child ------------------------------------------------------------------------------


def _serve(port: int, upstream: str, variant: str) -> int:
    import gc

    import uvicorn

    from ontraport_mcp import __version__
    from ontraport_mcp.settings import Settings
    from ontraport_mcp.telemetry.tracing import Tracing
    from ontraport_mcp.transport.app import build_app

    settings = Settings(
        base_url=upstream,
        host=procs.HOST,
        port=port,
        audit_log="off",
        metrics=variant != "plain",  # build_app installs telemetry as a served app has it
    )
    app = build_app(settings)
    if variant == "traces":  # spans batched to an exporter that drops them (no OTLP here)
        app.state.telemetry.tracing = Tracing(
            tool_names=tuple(app.state.mcp.dispatch.entries),
            processor=_batch_to_nowhere(),
            service_version=__version__,
        )
    config = uvicorn.Config(app, host=procs.HOST, port=port, log_level="warning", lifespan="on")
    gc.collect()
    gc.freeze()  # as ``ontraport-mcp serve`` does
    uvicorn.Server(config).run()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.telemetry")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--variant", choices=VARIANTS, required=True)
    args = parser.parse_args(argv)
    return _serve(args.port, args.upstream, args.variant)


if __name__ == "__main__":
    raise SystemExit(main())
