"""``python -m bench [--quick | --smoke] [--only …] [--profile SECONDS] [--baseline REF]``

Prints the JSON report on stdout (also written to ``bench/results/latest.json``) and the Markdown
tables on stderr (also ``bench/results/latest.md``); progress goes to stderr.  Exit status 0
when every section ran and no request failed — in warm-up, measured window or drain alike, each
one is counted and the report flags the run — 1 otherwise.  Missed *targets* do not change it
(they are figures, reported with what explains them) unless ``--strict`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from . import baseline, procs, report, scenarios, telemetry
from .scenarios import PLANS

# "baseline" runs only with --baseline REF (bench.baseline: that commit beside this checkout)
SECTIONS = ("calls", "lists", "sessions", "scale", "telemetry", "codegen", "sandbox", "baseline")
# "scale" starts four more servers and a redis-server: about 40 s quick, 3 min full
TIME_LIMIT_S = {"smoke": 90, "quick": 240, "full": 1100}
RESULTS = Path(__file__).resolve().parent / "results"


class Overtime(Exception):
    pass


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _load_rows(rep: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every load measurement of the run, named by what it measured."""
    rows: list[tuple[str, dict[str, Any]]] = []
    for row in rep.get("tools_call", {}).get("rows", []):
        point = f"{row['delay_ms']} ms upstream, c={row['concurrency']}"
        windows = row.get("windows") or []
        if len(windows) <= 1:  # the row is its one window
            rows += [(f"tools/call {point}", row["server"]), (f"floor {point}", row["floor"])]
            continue
        for i, window in enumerate(windows, 1):
            rows += [
                (f"tools/call {point}, window {i}", window),
                (f"floor {point}, window {i}", window["floor"]),
            ]
    for row in rep.get("handshake_calls", {}).get("rows", []):
        rows.append((f"handshake-era {row['kind']} session, c={row['concurrency']}", row["server"]))
    for custom, row in rep.get("tools_list", {}).get("by_custom_objects", {}).items():
        rows.append((f"tools/list, {custom} custom objects", row))
    for part in ("stores", "workers"):
        for name, by_c in ((rep.get("scale") or {}).get(part) or {}).items():
            for c, row in by_c.items() if isinstance(by_c, dict) else ():
                if not isinstance(row, dict) or "errors" not in row:
                    continue  # a skipped backend
                windows = row.get("windows") or [row]
                for i, window in enumerate(windows, 1):
                    rows.append((f"scale: {name}, c={c}, window {i}", window))
                    rows.append((f"scale: floor before {name}, c={c}, window {i}", window["floor"]))
    for point in (rep.get("baseline") or {}).get("calls", []):
        where = f"baseline comparison, {point['delay_ms']} ms upstream, c={point['concurrency']}"
        for i, window in enumerate(point["rounds"], 1):
            rows += [(f"{where}, round {i}, {build}", window[build]) for build in baseline.BUILDS]
            rows.append((f"{where}, round {i}, floor", window["floor"]))
    rows.append(("sandbox", rep.get("sandbox") or {}))
    rows.append(("profile load", (rep.get("profile") or {}).get("load_during_profile") or {}))
    return rows


def failed_requests(rep: dict[str, Any]) -> list[dict[str, Any]]:
    """Where requests failed — a loss, a timeout, a non-200, a JSON-RPC error, a reply to
    another id or ``isError: true`` — in warm-up, window or drain alike."""
    return [
        {
            "where": where,
            "errors": row["errors"],
            "errors_by_phase": row.get("errors_by_phase"),
            "errors_by_kind": row.get("errors_by_kind"),
            "samples": row.get("error_samples", [])[:2],
        }
        for where, row in _load_rows(rep)
        if row.get("errors")
    ]


def _git() -> dict[str, Any]:
    """The checkout measured (read-only git calls; None outside a git checkout)."""
    import subprocess

    def git(*argv: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *argv], cwd=procs.REPO, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    status = git("status", "--porcelain")
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "changed_files": None if status is None else len(status.splitlines()),
    }


def run(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    plan = PLANS[mode]
    only = set(args.only.split(",")) if args.only else set(SECTIONS)
    unknown = only - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown section(s) {sorted(unknown)}; choose from {SECTIONS}")
    if args.baseline is None:
        if args.only and "baseline" in only:
            raise SystemExit("--only baseline needs --baseline REF")
        only.discard("baseline")
    elif "baseline" not in only:
        raise SystemExit("--baseline REF is given, but --only leaves the baseline section out")
    if args.codegen is not None:
        plan = scenarios.Plan(**{**plan.__dict__, "codegen": args.codegen})
    started = time.time()
    t0 = time.monotonic()
    rep: dict[str, Any] = {
        "meta": {
            "mode": mode,
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started)),
            "python": platform.python_version(),
            "cpus": report.report_cpus(),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
            "plan": plan.__dict__,
            "sections": sorted(only),
            "server_env": dict(procs.SERVER_ENV),
            "git": _git(),
        },
        "tools_call": {},
        "tools_list": {},
        "sessions": {},
        "handshake_calls": {},
        "scale": {},
        "codegen": {},
        "sandbox": {},
        "section_errors": {},
    }
    failed = 0

    def section(name: str, fn: Any) -> Any:
        nonlocal failed
        _log(f"[{time.monotonic() - t0:6.1f} s] {name}")
        try:
            return fn()
        except Overtime:
            raise
        except Exception as exc:  # noqa: BLE001 — one broken section must not hide the others
            failed += 1
            rep["section_errors"][name] = f"{type(exc).__name__}: {exc}"
            # a baseline that cannot be measured says why in one line; anything else, in full
            expected = isinstance(exc, baseline.BaselineError)
            _log(rep["section_errors"][name] if expected else traceback.format_exc())
            return {"error": rep["section_errors"][name]}

    needs_upstream = only & {"calls", "lists", "sessions", "scale", "telemetry", "baseline"}
    if needs_upstream:
        with procs.upstream(0) as (upstream, upstream_port):
            if only & {"calls", "lists"}:
                # one server for both: tools/list uses accounts of its own (cold meta caches)
                with procs.mcp_server(upstream_port) as (server, port):
                    if "calls" in only:
                        rep["tools_call"] = section(
                            "tools/call vs floor",
                            lambda: scenarios.call_matrix(
                                plan, upstream, upstream_port, server, port, _log
                            ),
                        )
                    if "lists" in only:
                        rep["tools_list"] = section(
                            "tools/list",
                            lambda: scenarios.tools_list(plan, upstream_port, port, _log),
                        )
            if "calls" in only:  # a server of its own, with one session of each kind
                rep["handshake_calls"] = section(
                    "handshake-era tools/call",
                    lambda: scenarios.handshake_calls(plan, upstream_port, _log),
                )
            if "telemetry" in only:  # metrics on (tracing off) against none, same run
                rep["telemetry"] = section(
                    "telemetry cost",
                    lambda: telemetry.measure(plan, upstream_port, _log),
                )
            if "scale" in only:
                rep["scale"] = section(
                    "scale: state store and workers",
                    lambda: scenarios.scale(plan, upstream, upstream_port, _log),
                )
            if "sessions" in only:
                rep["sessions"] = {
                    "idle": section(
                        "idle sessions",
                        lambda: scenarios.idle_sessions(plan, upstream_port, _log),
                    ),
                    "idle_full": section(
                        "idle full sessions",
                        lambda: scenarios.idle_sessions(plan, upstream_port, _log, "full"),
                    ),
                    "cycles": section(
                        "session cycles",
                        lambda: scenarios.session_cycles(plan, upstream_port, _log),
                    ),
                    "census": section(
                        "session census", lambda: scenarios.session_census(plan, _log)
                    ),
                    "census_full": section(
                        "full session census",
                        lambda: scenarios.session_census(plan, _log, "full"),
                    ),
                }
            if "baseline" in only:  # this checkout and that commit, side by side
                rep["baseline"] = section(
                    "baseline",
                    lambda: baseline.run(plan, args.baseline, upstream, upstream_port, _log),
                )
    if "sandbox" in only:
        rep["sandbox"] = section("sandbox", lambda: scenarios.sandbox(plan, _log))
    if "codegen" in only:
        if plan.codegen:
            rep["codegen"] = section("codegen", lambda: scenarios.codegen(_log))
        else:
            rep["codegen"] = {"skipped": f"not in {mode} mode (use --codegen)"}
    if args.profile:
        from .profile import profile

        RESULTS.mkdir(parents=True, exist_ok=True)
        rep["profile"] = section("profile", lambda: profile(plan, args.profile, RESULTS, _log))
    rep["targets"] = report.targets(rep)
    rep["failed_requests"] = failed_requests(rep)
    rep["request_errors"] = sum(where["errors"] for where in rep["failed_requests"])
    rep["meta"]["elapsed_s"] = round(time.monotonic() - t0, 1)
    if rep["request_errors"]:  # flagged in the report; the run fails, --strict or not
        failed += 1
    if args.strict and any(t["met"] is False for t in rep["targets"]):
        failed += 1
    return rep, 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts (< 90 s)")
    parser.add_argument("--smoke", action="store_true", help="tiny counts (< 30 s): it still runs")
    parser.add_argument("--only", help=f"comma-separated sections of {','.join(SECTIONS)}")
    parser.add_argument(
        "--codegen",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="time python -m codegen --check (default: full mode only)",
    )
    parser.add_argument(
        "--profile", type=float, metavar="SECONDS", help="py-spy the server under c=16 load"
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment for the MCP server (ONTRAPORT_* settings, or PYTHONPATH=a patched copy)",
    )
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also measure this git commit (archived and installed in a temporary folder) "
        "beside this checkout, in the same run: section baseline",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    for item in args.server_env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--server-env wants KEY=VALUE, not {item!r}")
        procs.SERVER_ENV[key] = value
    limit = TIME_LIMIT_S[mode] + (int(args.profile) + 90 if args.profile else 0)
    if args.baseline:
        limit += baseline.budget_s(PLANS[mode])

    def overtime(signum: int, frame: Any) -> None:
        raise Overtime(f"the benchmark ran past its {limit} s limit")

    signal.signal(signal.SIGALRM, overtime)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(143))  # unwind: children are stopped
    signal.alarm(limit)
    try:
        rep, status = run(args)
    finally:
        signal.alarm(0)
    text = json.dumps(rep, indent=1, default=str)
    md = report.markdown(rep)
    if rep.get("telemetry"):
        md += "\n" + telemetry.markdown(rep["telemetry"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    args.out.with_suffix(".md").write_text(md)
    print(md, file=sys.stderr)
    print(text)
    return status


if __name__ == "__main__":
    sys.exit(main())
