"""Targets of issue #8, judged against a run's figures, and the Markdown rendering."""

from __future__ import annotations

from typing import Any


def _row(report: dict[str, Any], delay: int, c: int) -> dict[str, Any] | None:
    for row in report.get("tools_call", {}).get("rows", []):
        if row["delay_ms"] == delay and row["concurrency"] == c:
            return row  # type: ignore[no-any-return]
    return None


def _target(
    name: str, goal: str, measured: Any, met: bool | None, note: str = "", errors: int = 0
) -> dict[str, Any]:
    """A target judged on a measurement; one taken with failed requests is not met."""
    if errors:
        met = False
        note = f"**{errors} failed requests in this measurement**" + (f"; {note}" if note else "")
    return {"target": name, "goal": goal, "measured": measured, "met": met, "note": note}


def _row_errors(row: dict[str, Any]) -> int:
    """Failed requests of a tools/call point: server and floor, every window measured."""
    windows = row.get("windows") or []
    if len(windows) > 1:
        return sum(w["errors"] + w["floor"]["errors"] for w in windows)
    return int(row["server"]["errors"] + row["floor"]["errors"])


def _cpu_note(row: dict[str, Any]) -> str:
    s = row["server"]
    cores = s.get("cpu_cores", {})
    return (
        f"server CPU {s.get('server_cpu_ms_per_call')} ms/call → one-core ceiling "
        f"{s.get('one_core_capacity_rps')}/s; in the window the server used "
        f"{cores.get('server')} cores, the driver {s.get('driver_cpu_cores')}, the upstream "
        f"{cores.get('upstream')}, other processes {cores.get('other')} (of "
        f"{report_cpus()} cores)"
    )


def report_cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    row = _row(report, 0, 16)
    if row is not None:
        rps = row["server"]["throughput_rps"]
        out.append(
            _target(
                "tools/call throughput, c=16, 0 ms upstream",
                "≥ 1000 calls/s",
                rps,
                rps >= 1000,
                "" if rps >= 1000 else _cpu_note(row),
                _row_errors(row),
            )
        )
    row = _row(report, 25, 1)
    if row is not None:
        overhead = row["overhead_over_floor"]["p50_ms"]
        met = overhead is not None and overhead <= 1.5
        note = (
            ""
            if met
            else f"server CPU {row['server'].get('server_cpu_ms_per_call')} ms/call is the floor "
            "of the overhead at c=1; see the profile for where it goes"
        )
        out.append(
            _target(
                "p50 overhead over the floor, c=1, 25 ms upstream",
                "≤ 1.5 ms",
                overhead,
                met,
                note,
                _row_errors(row),
            )
        )
    lists = report.get("tools_list", {}).get("by_custom_objects", {})
    if lists:
        worst = max(r["meta_calls_per_100_lists"] for r in lists.values())
        out.append(
            _target(
                "/objects/meta calls per 100 tools/list (one account)",
                "≤ 1",
                worst,
                worst <= 1,
                "worst of 0, 13 and 50 custom objects; the first list of an account fetches meta "
                "once, then the cache serves it",
                sum(r["errors"] for r in lists.values()),
            )
        )
    idle = report.get("sessions", {}).get("idle")
    if idle and "rss_per_session_kib" in idle:
        kib = idle["rss_per_session_kib"]
        full = report.get("sessions", {}).get("idle_full") or {}
        full_kib = full.get("rss_per_session_kib")
        out.append(
            _target(
                "RSS per idle handshake-era session",
                "≤ 20 KiB",
                kib,
                kib <= 20,
                f"{idle['sessions']} sessions open, clients without form elicitation (light "
                "sessions)"
                + (
                    ""
                    if full_kib is None
                    else f"; a client that declares form elicitation gets a full SDK session "
                    f"with a back-channel for confirmations: {_f(full_kib)} KiB (the full "
                    "census under Memory)"
                ),
            )
        )
    cycles = report.get("sessions", {}).get("cycles")
    if cycles and "rss_growth_pct" in cycles:
        growth = cycles["rss_growth_pct"]
        out.append(
            _target(
                f"RSS after {cycles['cycles']} session open/close cycles vs start",
                "within 10 %",
                growth,
                abs(growth) <= 10,
                "percent growth",
            )
        )
    manifest = report.get("tools_list", {}).get("default_manifest")
    if manifest and "approx_tokens" in manifest:
        tokens = manifest["approx_tokens"]
        biggest = ", ".join(f"{t['name']} {t['chars']}" for t in manifest["largest_tools"][:3])
        out.append(
            _target(
                "default manifest size (chars/4)",
                "≤ 10 000 tokens",
                tokens,
                tokens <= 10_000,
                ""
                if tokens <= 10_000
                else f"{manifest['tools']} tools, {manifest['bytes']} bytes: descriptions "
                f"{manifest['description_chars']} chars, input schemas "
                f"{manifest['input_schema_chars']}, output schemas "
                f"{manifest['output_schema_chars']}; largest: {biggest}. What would close it: "
                "a smaller default tool set (see Findings in bench/README.md)",
            )
        )
    gen = report.get("codegen")
    if gen and "wall_s" in gen:
        out.append(
            _target(
                "make generate (python -m codegen --check as proxy)",
                "≤ 30 s",
                gen["wall_s"],
                gen["wall_s"] <= 30 and gen.get("exit_code") in (0, 1),
                f"exit code {gen.get('exit_code')} (1 = generated/ differs from the spec, "
                "which other work in progress can cause; the time is what is measured)",
            )
        )
    out += _scale_targets(report.get("scale") or {})
    out += _baseline_targets(report.get("baseline") or {})
    sbx = report.get("sandbox")
    if sbx and "throughput_rps" in sbx:
        rps = sbx["throughput_rps"]
        out.append(
            _target(
                "sandbox GET /objects (range=50), c=16",
                "≥ 300 req/s",
                rps,
                rps >= 300,
                f"sandbox used {sbx.get('cpu_cores', {}).get('sandbox')} cores",
                sbx["errors"],
            )
        )
    return out


def _scale_row(scale: dict[str, Any], part: str, name: str, c: int) -> dict[str, Any] | None:
    row = (scale.get(part) or {}).get(name, {}).get(str(c))
    return row if isinstance(row, dict) and "throughput_rps" in row else None


def _scale_errors(*rows: dict[str, Any]) -> int:
    return sum(w["errors"] + w["floor"]["errors"] for r in rows for w in r.get("windows", []))


def _scale_targets(scale: dict[str, Any]) -> list[dict[str, Any]]:
    """#17: the Redis store's cost against the SQLite default (≤ 15 % at c=16), and what a
    second worker gives on this machine (a figure, no goal)."""
    out: list[dict[str, Any]] = []
    sqlite, redis = (_scale_row(scale, "stores", n, 16) for n in ("sqlite", "redis"))
    if sqlite and redis and sqlite["throughput_rps"]:
        cost = round(100 * (1 - redis["throughput_rps"] / sqlite["throughput_rps"]), 1)
        out.append(
            _target(
                "tools/call throughput cost of the Redis store vs SQLite, c=16",
                "≤ 15 %",
                cost,
                cost <= 15,
                f"SQLite {_f(sqlite['throughput_rps'], 0)}/s, p50 overhead "
                f"{_f(sqlite['p50_overhead_ms'])} ms; Redis {_f(redis['throughput_rps'], 0)}/s, "
                f"{_f(redis['p50_overhead_ms'])} ms (server CPU "
                f"{sqlite['server_cpu_ms_per_call']} vs {redis['server_cpu_ms_per_call']} ms/call)",
                _scale_errors(sqlite, redis),
            )
        )
    one, two = (_scale_row(scale, "workers", n, 16) for n in ("1 worker", "2 workers"))
    one64, two64 = (_scale_row(scale, "workers", n, 64) for n in ("1 worker", "2 workers"))
    at_64 = (
        f"; c=64: {_f(one64['throughput_rps'], 0)}/s → {_f(two64['throughput_rps'], 0)}/s"
        if one64 and two64
        else ""
    )
    if one and two and one["throughput_rps"]:
        ratio = round(two["throughput_rps"] / one["throughput_rps"], 2)
        out.append(
            _target(
                "tools/call throughput, 2 workers vs 1, c=16 (SQLite store)",
                "a figure",
                ratio,
                None,
                f"{_f(one['throughput_rps'], 0)}/s → {_f(two['throughput_rps'], 0)}/s{at_64}, on "
                f"{report_cpus()} cores shared with the driver and the upstream",
                _scale_errors(one, two, *(r for r in (one64, two64) if r)),
            )
        )
    return out


def _scale_lines(scale: dict[str, Any]) -> list[str]:
    rows = [
        (part, name, c, row)
        for part in ("stores", "workers")
        for name, by_c in (scale.get(part) or {}).items()
        for c, row in (by_c.items() if isinstance(by_c, dict) else ())
        if isinstance(row, dict) and "throughput_rps" in row
    ]
    if not rows:
        return []
    return [
        "",
        "### Scale: the state store and worker processes (tools/call `get_objects`, 0 ms upstream)",
        "",
        "| server | c | calls/s (all windows) | p50 ms | p50 overhead ms | server CPU ms/call | "
        "cores: server / driver / other | errors |",
        "|---|---|---|---|---|---|---|---|",
        *(
            f"| {name} | {c} | {_f(row['throughput_rps'], 0)} ("
            + ", ".join(_f(w["throughput_rps"], 0) for w in row.get("windows", []))
            + f") | {_f(row['p50_ms'])} | {_f(row['p50_overhead_ms'])} | "
            f"{_f(row['server_cpu_ms_per_call'])} | {_f(row['cpu_cores'].get('server'))} / "
            f"{_f(row.get('driver_cpu_cores'))} / {_f(row['cpu_cores'].get('other'))} | "
            f"{_errors_cell(row)} |"
            for _part, name, c, row in rows
        ),
    ]


def _baseline_targets(section: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's figures against the baseline commit measured in the same run (within 10 %):
    each judged figure of ``bench.baseline`` as a target, measured as the ratio this / baseline."""
    return [
        _target(
            f"vs baseline {section['commit']}: {fig['figure']}",
            fig["goal"],
            fig["ratio"],
            fig["met"],
            f"this build {_f(fig['this'], _digits(fig))} vs baseline "
            f"{_f(fig['baseline'], _digits(fig))} {fig['unit']} "
            f"(median of {len(fig['this_rounds'])})" + (f"; {fig['note']}" if fig["note"] else ""),
            fig["errors"],
        )
        for fig in section.get("figures", [])
        if fig["goal"] is not None
    ]


def _digits(figure: dict[str, Any]) -> int:
    return {"calls/s": 0, "ms/call": 3}.get(figure["unit"], 2)


def _rounds_cell(median: Any, rounds: list[Any], digits: int) -> str:
    """The median, and every round's value after it when there was more than one."""
    if len(rounds) <= 1:
        return _f(median, digits)
    return f"{_f(median, digits)} ({' / '.join(_f(v, digits) for v in rounds)})"


def _baseline_lines(section: dict[str, Any]) -> list[str]:
    if not section.get("figures"):
        return []
    modules = section.get("module_file") or {}
    errors = sum(
        p["this"]["errors"] + p["baseline"]["errors"] + p["floor_errors"] for p in section["calls"]
    )
    lines = [
        "",
        f"### This build against baseline {section['commit']} (`--baseline {section['ref']}`), "
        "same run",
        "",
        f"| figure | baseline {section['commit']} | this build | ratio | within 10 %? |",
        "|---|---|---|---|---|",
    ]
    for fig in section["figures"]:
        verdict = "–" if fig["met"] is None else _f(fig["met"])
        if fig["met"] and fig["note"]:
            verdict += f" ({fig['note']})"
        lines.append(
            f"| {fig['figure']} ({fig['unit']}) | "
            f"{_rounds_cell(fig['baseline'], fig['baseline_rounds'], _digits(fig))} | "
            f"{_rounds_cell(fig['this'], fig['this_rounds'], _digits(fig))} | "
            f"{_f(fig['ratio'], 3)} | "
            f"{verdict} |"
        )
    lines += [
        "",
        f"Medians over {section['rounds']} round(s), every round in parentheses; "
        f"{section['order']}.  The baseline ran `ontraport_mcp` from `{modules.get('baseline')}` "
        f"(pip: {section['install']}; state folder by {section['data_dir']}), this build from "
        f"`{modules.get('this')}`.  Failed requests in these windows: {errors}.",
    ]
    return lines


# --- Markdown ------------------------------------------------------------------------------------


def _f(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _errors_cell(row: dict[str, Any]) -> str:
    """``0``, or the count with the phases and kinds of the failed requests."""
    if not row.get("errors"):
        return "0"
    phases = ", ".join(f"{k} {v}" for k, v in (row.get("errors_by_phase") or {}).items() if v)
    kinds = ", ".join(f"{k} {v}" for k, v in (row.get("errors_by_kind") or {}).items())
    detail = "; ".join(part for part in (phases, kinds) if part)
    return f"**{row['errors']}**" + (f" ({detail})" if detail else "")


def _flag(report: dict[str, Any]) -> list[str]:
    """The run's warning when any request failed: its figures then measure a server that did
    not answer, so every one of them is suspect, not only the row's."""
    failed = report.get("failed_requests") or []
    if not failed:
        return []
    return [
        f"**Flagged: {report.get('request_errors')} requests failed in this run** (connection "
        "losses, timeouts, non-200s, JSON-RPC errors, replies to another id, `isError: true`; "
        "warm-up, window and drain alike). Where:",
        "",
        *(
            f"- {where['where']}: {_errors_cell(where)}"
            + (f" — e.g. `{where['samples'][0][:160]}`" if where.get("samples") else "")
            for where in failed
        ),
        "",
    ]


def markdown(report: dict[str, Any]) -> str:
    meta = report["meta"]
    lines = [
        f"## ontraport-mcp benchmark ({meta['mode']} mode)",
        "",
        f"{meta['started']} · {meta['cpus']} CPUs · Python {meta['python']} · load average at "
        f"start {meta['loadavg_start']} · {meta['elapsed_s']} s. One server worker; the driver, "
        "the canned upstream and the server share the machine, so compare each server figure "
        "with the floor measured next to it.",
        "",
        *_flag(report),
        "### Targets",
        "",
        "| Target | Goal | Measured | Met | Note |",
        "|---|---|---|---|---|",
    ]
    for t in report.get("targets", []):
        met = "–" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append(f"| {t['target']} | {t['goal']} | {_f(t['measured'])} | {met} | {t['note']} |")
    calls = report.get("tools_call", {})
    if calls.get("rows"):
        lines += [
            "",
            "### tools/call `get_objects` (range 5) vs the floor (same request straight to the "
            "canned upstream)",
            "",
            "| upstream delay | c | floor req/s | server calls/s | server/floor | floor p50 | "
            "server p50 / p95 / p99 ms | p50 overhead ms | server CPU ms/call | 1-core capacity/s "
            "| cores: server / driver / upstream / other | errors |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in calls["rows"]:
            s, fl = row["server"], row["floor"]
            cores = s.get("cpu_cores", {})
            lines.append(
                f"| {row['delay_ms']} ms | {row['concurrency']} | {_f(fl['throughput_rps'], 0)} | "
                f"{_f(s['throughput_rps'], 0)} | {_f(row['throughput_vs_floor'])} | "
                f"{_f(fl['p50_ms'])} | {_f(s['p50_ms'])} / {_f(s['p95_ms'])} / {_f(s['p99_ms'])} | "
                f"{_f(row['overhead_over_floor']['p50_ms'])} | "
                f"{_f(s.get('server_cpu_ms_per_call'), 3)} | {_f(s.get('one_core_capacity_rps'), 0)} | "
                f"{_f(cores.get('server'))} / {_f(s.get('driver_cpu_cores'))} / "
                f"{_f(cores.get('upstream'))} / {_f(cores.get('other'))} | "
                f"{_errors_cell(s)} (floor {_errors_cell(fl)}) |"
            )
        lines += [
            "",
            "*1-core capacity* = 1000 / server CPU ms per call: what one worker would do with a "
            "core to itself.  *errors* count every failed request of the point, whenever it ended "
            "(warm-up, window or the drain after it).",
        ]
        repeated = [row for row in calls["rows"] if len(row.get("windows", [])) > 1]
        if repeated:
            lines += [
                "",
                f"Each point was measured in {len(repeated[0]['windows'])} windows; the table "
                "shows the one where other processes used the least CPU. Every window, as "
                "calls/s (other cores):",
                "",
                *(
                    f"- {row['delay_ms']} ms, c={row['concurrency']}: "
                    + ", ".join(
                        f"{_f(w['throughput_rps'], 0)} ({_f(w['other_cores'])})"
                        for w in row["windows"]
                    )
                    for row in repeated
                ),
            ]
    lists = report.get("tools_list", {})
    if lists.get("by_custom_objects"):
        lines += [
            "",
            "### tools/list (one account, sequential) and `/objects/meta`",
            "",
            "| custom objects | tools | bytes | ≈ tokens | first (cold) ms | p50 / p95 ms | "
            "meta calls / 100 lists | meta calls, 16 concurrent cold lists | errors |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for custom, row in lists["by_custom_objects"].items():
            m = lists["manifest"].get(custom, {})
            lines.append(
                f"| {custom} | {_f(row['tools'])} | {_f(m.get('bytes'))} | "
                f"{_f(m.get('approx_tokens'))} | {_f(row['cold_first_list_ms'])} | "
                f"{_f(row['p50_ms'])} / {_f(row['p95_ms'])} | {_f(row['meta_calls_per_100_lists'])}"
                f" | {row['cold_burst_16_meta_calls']} | {row['errors']} |"
            )
    handshake = report.get("handshake_calls", {}).get("rows")
    if handshake:
        lines += [
            "",
            "### tools/call over a handshake-era (2025-11-25) session, 0 ms upstream",
            "",
            "| session | c | calls/s | p50 / p95 ms | server CPU ms/call | errors |",
            "|---|---|---|---|---|---|",
            *(
                f"| {r['kind']} | {r['concurrency']} | {_f(r['server']['throughput_rps'], 0)} | "
                f"{_f(r['server']['p50_ms'])} / {_f(r['server']['p95_ms'])} | "
                f"{_f(r['server']['server_cpu_ms_per_call'])} | {_errors_cell(r['server'])} |"
                for r in handshake
            ),
        ]
    lines += _scale_lines(report.get("scale") or {})
    lines += _baseline_lines(report.get("baseline") or {})
    sessions = report.get("sessions", {})
    idle, cycles = sessions.get("idle"), sessions.get("cycles")
    if (idle and "sessions" in idle) or (cycles and "cycles" in cycles):
        lines += ["", "### Memory", "", "| measure | value |", "|---|---|"]
        for run in (idle, sessions.get("idle_full")):
            if not run or "sessions" not in run:
                continue
            kind = run.get("kind", "light")
            lines += [
                f"| RSS per idle {kind} session ({run['sessions']} open) | "
                f"{_f(run['rss_per_session_kib'])} KiB |",
                f"| RSS before / with them open / after closing ({kind}) | "
                f"{_f(run['rss_before_mb'])} / {_f(run['rss_open_mb'])} / "
                f"{_f(run['rss_after_close_mb'])} MiB |",
                f"| {kind} sessions opened per second (c=16) | {_f(run['open_rate_per_s'], 0)} |",
            ]
        if cycles and "cycles" in cycles:
            trace = ", ".join(f"{t['rss_mb']}" for t in cycles["trace"])
            lines += [
                f"| RSS start → after {cycles['cycles']:,} open/close cycles | "
                f"{_f(cycles['rss_start_mb'])} → {_f(cycles['rss_end_mb'])} MiB "
                f"({_f(cycles['rss_growth_pct'])} %) |",
                f"| RSS along the way (MiB) | {trace} |",
                f"| cycles per second (c=16) | {_f(cycles['cycles_per_s'], 0)} |",
            ]
    for census in (sessions.get("census"), sessions.get("census_full")):
        if not census or "top" not in census:
            continue
        kind = census.get("kind", "light")
        lines += [
            "",
            f"What one idle {kind} session keeps alive (`python -m bench.census --kind {kind}`, "
            f"{census['sessions']} sessions, gc-tracked objects, shallow sizes): "
            f"{census['objects_per_session']} objects, "
            f"{_f(census['shallow_bytes_per_session'] / 1024)} KiB.",
            "",
            "| type | objects / session | bytes / session |",
            "|---|---|---|",
            *(
                f"| `{row['type']}` | {row['objects_per_session']} | {row['bytes_per_session']:,} |"
                for row in census["top"]
                if row["bytes_per_session"] > 0
            ),
        ]
    other: list[str] = []
    gen = report.get("codegen")
    if gen and "wall_s" in gen:
        other.append(
            f"| `python -m codegen --check` (proxy for `make generate`) | {_f(gen['wall_s'])} s "
            f"(exit {gen['exit_code']}) |"
        )
    sbx = report.get("sandbox")
    if sbx and "throughput_rps" in sbx:
        other.append(
            f"| sandbox `GET /1/objects?objectID=0&range=50`, c=16 | {_f(sbx['throughput_rps'], 0)}"
            f" req/s, p50 {_f(sbx['p50_ms'])} ms, {_errors_cell(sbx)} errors, sandbox "
            f"{_f(sbx.get('cpu_cores', {}).get('sandbox'))} cores |"
        )
    if other:
        lines += ["", "### Other", "", "| measure | value |", "|---|---|", *other]
    prof = report.get("profile")
    if prof and prof.get("by_package"):
        load = prof.get("load_during_profile") or {}
        lines += [
            "",
            f"### Profile (py-spy, {prof['samples']} samples, c=16, 0 ms upstream; "
            f"{_f(load.get('throughput_rps'), 0)} calls/s while sampled)",
            "",
            "| layer (inclusive; layers nest) | share of server CPU |",
            "|---|---|",
            *[f"| {p['layer']} | {p['pct']} % |" for p in prof.get("layers", [])],
            "",
            "| package (self time: a partition) | share |",
            "|---|---|",
            *[f"| {p['package']} | {p['pct']} % |" for p in prof["by_package"][:15]],
        ]
    errors = report.get("section_errors") or {}
    if errors:
        lines += ["", "### Sections that failed", ""]
        lines += [f"- {name}: {why}" for name, why in errors.items()]
    return "\n".join(lines) + "\n"
