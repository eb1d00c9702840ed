"""``python -m bench --baseline REF``: this checkout against an earlier commit, both measured in
the same run on the same machine.  The issue's rule: ``make bench-full`` figures stay within
10 % of the previous tip's — ``tools/call`` at c=16, p50 overhead, idle session RSS.  On a shared
machine figures of two runs cannot be compared; windows of one run, interleaved, can.

* ``prepare(ref)`` extracts the commit with ``git archive`` (nothing in the repository's ``.git``
  changes: no worktree, no checkout) and installs it with pip into a temporary folder of its
  own; the venv's ``ontraport-mcp`` then runs that copy under ``PYTHONPATH=<folder>``, which is
  checked before anything is measured.  The folder is removed afterwards.
* ``measure(...)`` runs one server of each build at once, against the run's canned upstream.
  For every tools/call point of the plan, ``plan.repeats`` rounds of a floor window and then
  the two servers' windows back to back, in alternating order (so neither build always goes
  first); each figure is the median over rounds, and every round is reported.  Then idle
  session RSS, light and full, on a fresh server of each build.
* Each figure gets the ratio this / baseline; the issue's figures get a verdict.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from . import procs, scenarios
from .httpload import MCP_CALL_OK, UPSTREAM_OK
from .procs import Child
from .scenarios import Plan, _load, _per_call_cpu, _prime, _round

BUILDS = ("this", "baseline")
TOLERANCE = 0.10  # the "within 10 %"
VERDICT_CONCURRENCY = 16  # the tools/call point
OVERHEAD_SLACK_MS = 0.1  # 10 % of an overhead under 1 ms is below what a window resolves
RSS_SLACK_KIB = 1.0  # likewise for a light session's 1–4 KiB of allocator slack
INSTALL_TIMEOUT_S = 300
CHECK_TIMEOUT_S = 60
IMPORT_PROBE = "import ontraport_mcp, ontraport_mcp.cli; print(ontraport_mcp.__file__)"


class BaselineError(RuntimeError):
    """The baseline cannot be measured (unknown ref, failed install, wrong import); the message
    says which and why, so the section reports it without a traceback."""


@dataclass(frozen=True)
class Baseline:
    """An installed copy of one commit, ready to serve."""

    ref: str
    commit: str  # short hash
    full_commit: str
    site: Path  # pip --target folder: the baseline's PYTHONPATH
    data_dir_flag: bool  # its `serve` takes --data-dir; else ONTRAPORT_DATA_DIR
    install: str  # how pip built it

    def server(
        self, upstream_port: int, **env: str
    ) -> contextlib.AbstractContextManager[tuple[Child, int]]:
        """``procs.mcp_server`` for this copy: the bench's environment and ``--server-env``, and
        a PYTHONPATH of its own (whatever ``--server-env`` said)."""
        env["PYTHONPATH"] = str(self.site)  # env is this call's own dict
        return procs.mcp_server(upstream_port, workers=1, data_dir_flag=self.data_dir_flag, **env)

    def describe(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "commit": self.commit,
            "full_commit": self.full_commit,
            "site": str(self.site),
            "install": self.install,
            "data_dir": "--data-dir" if self.data_dir_flag else "ONTRAPORT_DATA_DIR",
        }


def _run(
    argv: list[str], what: str, timeout_s: float, **options: Any
) -> subprocess.CompletedProcess[str]:
    """A bounded child run whose output is kept; a missing program or a timeout is a
    BaselineError naming the step."""
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout_s, check=False, **options
        )
    except FileNotFoundError as exc:
        raise BaselineError(f"{what}: {argv[0]} not found ({exc})") from None
    except subprocess.TimeoutExpired:
        raise BaselineError(f"{what}: no result after {timeout_s} s") from None


def _tail(text: str, lines: int = 3) -> str:
    return " / ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def _cause(text: str) -> str:
    """The last exception line of a build's output (pip ends with its own generic hints), or
    the output's tail."""
    raised = [
        line.strip() for line in text.splitlines() if re.match(r"\s*\w+(Error|Exception): ", line)
    ]
    return raised[-1] if raised else _tail(text)


def _git(repo: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return _run(["git", "-C", str(repo), *argv], f"git {argv[0]}", 30)


def _resolve(repo: Path, ref: str) -> tuple[str, str]:
    """The full and short hash of ``ref``'s commit (read-only git calls)."""
    if not ref or ref.startswith("-"):
        raise BaselineError(f"baseline ref {ref!r} is not a ref")
    done = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if done.returncode != 0:
        shallow = _git(repo, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"
        hint = (
            ": this clone is shallow, so older commits are missing (git fetch --unshallow)"
            if shallow
            else ""
        )
        raise BaselineError(f"baseline ref {ref!r} is not a commit of {repo}{hint}")
    full = done.stdout.strip()
    return full, _git(repo, "rev-parse", "--short", full).stdout.strip() or full[:7]


def _extract(repo: Path, commit: str, into: Path) -> None:
    """``git archive <commit> | tar -x -C <into>``, both bounded in time."""
    with tempfile.TemporaryFile() as git_err:
        archive = subprocess.Popen(
            ["git", "-C", str(repo), "archive", commit], stdout=subprocess.PIPE, stderr=git_err
        )
        assert archive.stdout is not None
        try:
            tar = _run(["tar", "-x", "-C", str(into)], "tar -x", 120, stdin=archive.stdout)
        finally:
            archive.stdout.close()
            try:
                archive.wait(timeout=30)
            except subprocess.TimeoutExpired:
                archive.kill()
                archive.wait(timeout=5)
        git_err.seek(0)
        message = git_err.read().decode("utf-8", "replace")
    if archive.returncode != 0 or tar.returncode != 0:
        raise BaselineError(f"git archive {commit} | tar -x failed: {_tail(message + tar.stderr)}")


def _install(src: Path, site: Path) -> str:
    """``pip install --no-deps --target site src``: first without build isolation when the venv
    has setuptools (no download), else — or when that fails, e.g. a setuptools too old for
    the commit's pyproject — with it.  Returns how it was built."""
    attempts: dict[str, list[str]] = {"isolated build": []}
    if importlib.util.find_spec("setuptools") is not None:
        local = f"--no-build-isolation (the venv's setuptools {version('setuptools')})"
        attempts = {local: ["--no-build-isolation"], **attempts}
    failures: list[str] = []
    for mode, extra in attempts.items():
        shutil.rmtree(site, ignore_errors=True)
        argv = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *extra]
        argv += ["--target", str(site), str(src)]
        done = _run(
            argv,
            "pip install",
            INSTALL_TIMEOUT_S,
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )
        if done.returncode == 0:
            return mode + (f" (after: {'; '.join(failures)})" if failures else "")
        failures.append(f"{mode} failed: {_cause(done.stderr + done.stdout)}")
    raise BaselineError("pip could not install the baseline: " + "; ".join(failures))


def _check_env(site: Path) -> dict[str, str]:
    """The environment the baseline's server gets (procs.mcp_server), for the checks."""
    return {**os.environ, **procs.BENCH_ENV, **procs.SERVER_ENV, "PYTHONPATH": str(site)}


def _imported_from(env: dict[str, str], cwd: Path) -> str:
    """``ontraport_mcp.__file__`` as this interpreter resolves it in ``env``."""
    done = _run(
        [sys.executable, "-c", IMPORT_PROBE], "import check", CHECK_TIMEOUT_S, env=env, cwd=cwd
    )
    if done.returncode != 0:
        raise BaselineError(f"import ontraport_mcp.cli failed: {_tail(done.stderr)}")
    return done.stdout.strip().splitlines()[-1]


def _under(path: str, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve())


@contextlib.contextmanager
def prepare(ref: str, log: Any, repo: Path = procs.REPO) -> Iterator[Baseline]:
    """The commit ``ref`` of ``repo``, archived and installed in a temporary folder (removed
    when the block ends), checked to import from there."""
    root = Path(tempfile.mkdtemp(prefix="ontraport-mcp-baseline-"))
    try:
        full, short = _resolve(repo, ref)
        src, site = root / "src", root / "site"
        src.mkdir()
        log(f"  git archive {ref} ({short}) | tar -x")
        _extract(repo, full, src)
        log("  pip install --no-deps --target <temporary folder>")
        install = _install(src, site)
        module_file = _imported_from(_check_env(site), root)
        if not _under(module_file, site):
            raise BaselineError(
                f"with PYTHONPATH={site}, ontraport_mcp is imported from {module_file}, "
                "not from the baseline's copy"
            )
        argv = [*procs.ontraport_mcp_command(), "serve", "--help"]
        helped = _run(argv, "serve --help", CHECK_TIMEOUT_S, env=_check_env(site), cwd=root)
        if helped.returncode != 0:
            raise BaselineError(f"the baseline's `serve --help` failed: {_tail(helped.stderr)}")
        yield Baseline(
            ref=ref,
            commit=short,
            full_commit=full,
            site=site,
            data_dir_flag="--data-dir" in helped.stdout,
            install=install,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def budget_s(plan: Plan) -> int:
    """Seconds the section may take, for the run's alarm: the install, the windows (three per
    round: floor, this, baseline) with their start-up and drain, four idle-session runs."""
    install = 2 * 90  # two pip attempts, the second may download setuptools
    points = len(plan.delays_ms) * len(plan.concurrencies)
    windows = points * plan.repeats * 3 * (plan.warmup_s + plan.window_s + 2.5)
    # each: a server start, warm-up sessions, n sessions at ≥ 50/s, three settles, the closing
    sessions = 4 * (20 + 2 * plan.idle_sessions / 50 + 3 * plan.settle_s)
    return int(install + 2 * 20 + windows + sessions)


# --- the measurement -------------------------------------------------------------------------------


def run(plan: Plan, ref: str, upstream: Child, upstream_port: int, log: Any) -> dict[str, Any]:
    """The section: prepare ``ref``, measure both builds, remove the copy."""
    with prepare(ref, log) as baseline:
        return measure(plan, upstream, upstream_port, baseline, log)


def _server_imports(child: Child, root: Path) -> str:
    """Where the running server's environment (read from the process) imports ontraport_mcp
    from: the same interpreter as its console script, the same PYTHONPATH."""
    return _imported_from(dict(child.ps.environ()), root)


def measure(
    plan: Plan, upstream: Child, upstream_port: int, baseline: Baseline, log: Any
) -> dict[str, Any]:
    """Both builds' tools/call figures over the plan's points, interleaved round by round, then
    their idle-session RSS; each figure with its ratio and, for the issue's, a verdict."""
    creds = scenarios.credentials(0, "baseline")
    floor = scenarios.floor_request(upstream_port, creds)
    points: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        servers = {
            "this": stack.enter_context(procs.mcp_server(upstream_port)),
            "baseline": stack.enter_context(baseline.server(upstream_port)),
        }
        imports = {
            b: _server_imports(child, baseline.site.parent) for b, (child, _) in servers.items()
        }
        if not _under(imports["baseline"], baseline.site) or imports["this"] == imports["baseline"]:
            raise BaselineError(
                f"the baseline server's environment imports {imports['baseline']} (this build: "
                f"{imports['this']}), not the copy under {baseline.site}"
            )
        calls = {b: scenarios.call_request(port, creds) for b, (_, port) in servers.items()}
        for build, (_, port) in servers.items():
            _prime(port, calls[build], MCP_CALL_OK)
        try:
            for delay in plan.delays_ms:
                procs.control(upstream_port, "POST", f"/_bench/config?delay_ms={delay}")
                for c in plan.concurrencies:
                    rounds = [
                        _one_round(plan, upstream, upstream_port, servers, calls, floor, c, i, log)
                        for i in range(plan.repeats)
                    ]
                    points.append(_point(delay, c, rounds))
        finally:
            procs.control(upstream_port, "POST", "/_bench/config?delay_ms=0")
    starters: dict[str, scenarios.ServerStarter] = {
        "this": procs.mcp_server,
        "baseline": baseline.server,
    }
    sessions: dict[str, dict[str, Any]] = {}
    for kind, order in (("light", BUILDS), ("full", BUILDS[::-1])):
        sessions[kind] = {}
        for build in order:
            log(f"  {build}:")
            sessions[kind][build] = scenarios.idle_sessions(
                plan, upstream_port, log, kind, start_server=starters[build]
            )
    return {
        **baseline.describe(),
        "module_file": imports,
        "rounds": plan.repeats,
        "order": "each round: a floor window, then both servers back to back; this build "
        "first in odd rounds, the baseline first in even ones",
        "calls": points,
        "sessions": sessions,
        "figures": _figures(points, sessions),
    }


def _one_round(
    plan: Plan,
    upstream: Child,
    upstream_port: int,
    servers: dict[str, tuple[Child, int]],
    calls: dict[str, Any],
    floor: Any,
    c: int,
    index: int,
    log: Any,
) -> dict[str, Any]:
    """A floor window, then each build's window; the order alternates with the round."""
    order = BUILDS if index % 2 == 0 else BUILDS[::-1]
    log(f"  floor     c={c:<3} round {index + 1}")
    _, floor_row = _load(upstream_port, floor, plan, c, UPSTREAM_OK, {"upstream": upstream})
    out: dict[str, Any] = {"order": list(order), "floor": floor_row}
    for build in order:
        child, port = servers[build]
        log(f"  {build:<9} c={c:<3} round {index + 1}")
        watched = {"server": child, "upstream": upstream}
        res, row = _load(port, calls[build], plan, c, MCP_CALL_OK, watched)
        _per_call_cpu(res, row)
        p50, floor_p50 = row["p50_ms"], floor_row["p50_ms"]
        row["p50_overhead_ms"] = (
            _round(p50 - floor_p50) if p50 is not None and floor_p50 is not None else None
        )
        out[build] = row
    return out


CALL_FIGURES = ("throughput_rps", "p50_overhead_ms", "server_cpu_ms_per_call")


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return _round(statistics.median(known)) if known else None


def _point(delay: int, c: int, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Per build: the median of each figure over the rounds, and every round's value."""
    point: dict[str, Any] = {"delay_ms": delay, "concurrency": c}
    for build in BUILDS:
        rows = [r[build] for r in rounds]
        point[build] = {
            **{key: _median([row[key] for row in rows]) for key in CALL_FIGURES},
            "by_round": {key: [row[key] for row in rows] for key in CALL_FIGURES},
            "other_cores": [row["cpu_cores"].get("other") for row in rows],
            "errors": sum(row["errors"] for row in rows),
        }
    point["floor_errors"] = sum(r["floor"]["errors"] for r in rounds)
    point["ratio"] = {
        key: _ratio(point["this"][key], point["baseline"][key]) for key in CALL_FIGURES
    }
    point["rounds"] = rounds  # every window as measured: _load_rows counts their failures
    return point


def _ratio(this: float | None, base: float | None) -> float | None:
    """this / baseline; none when the baseline's figure is not a positive number."""
    if this is None or base is None or base <= 0:
        return None
    return round(this / base, 3)


# --- verdicts ----------------------------------------------------------------------------------------


def _at_least(this: float, base: float) -> tuple[bool, str]:
    return this >= (1 - TOLERANCE) * base, ""


def _at_most(slack: float, unit: str) -> Callable[[float, float], tuple[bool, str]]:
    """Within 10 % above the baseline, or within ``slack`` of it when both are so small that
    10 % is below what the measurement resolves (the note says when that decided it)."""

    def judge(this: float, base: float) -> tuple[bool, str]:
        if this <= (1 + TOLERANCE) * base:
            return True, ""
        if this - base <= slack:
            return True, f"met on the {slack:g} {unit} absolute allowance, not on the ratio"
        return False, ""

    return judge


# figure key -> (label, unit, goal, judge); a None judge is a figure reported without a verdict
CALL_JUDGES: dict[str, tuple[str, str, str | None, Any]] = {
    "throughput_rps": ("tools/call throughput", "calls/s", "≥ 0.90 × baseline", _at_least),
    "p50_overhead_ms": (
        "p50 overhead over the floor",
        "ms",
        f"≤ 1.10 × baseline, or within {OVERHEAD_SLACK_MS:g} ms",
        _at_most(OVERHEAD_SLACK_MS, "ms"),
    ),
    "server_cpu_ms_per_call": ("server CPU per call", "ms/call", None, None),
}


def _figure(
    name: str,
    unit: str,
    this: list[float | None],
    base: list[float | None],
    goal: str | None,
    judge: Any,
    errors: int,
) -> dict[str, Any]:
    """One row of the comparison: medians, every round, the ratio, the verdict if judged."""
    this_m, base_m = _median(this), _median(base)
    met: bool | None = None
    note = ""
    if judge is not None and this_m is not None and base_m is not None:
        met, note = judge(this_m, base_m)
    return {
        "figure": name,
        "unit": unit,
        "baseline": base_m,
        "this": this_m,
        "baseline_rounds": base,
        "this_rounds": this,
        "ratio": _ratio(this_m, base_m),
        "goal": goal,
        "met": met,
        "note": note,
        "errors": errors,
    }


def _figures(
    points: list[dict[str, Any]], sessions: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every figure of both builds; the issue's get a goal and a verdict: throughput at c=16,
    p50 overhead at every point, RSS per idle session of both kinds."""
    out: list[dict[str, Any]] = []
    for point in points:
        where = f"{point['delay_ms']} ms upstream, c={point['concurrency']}"
        errors = point["this"]["errors"] + point["baseline"]["errors"] + point["floor_errors"]
        for key, (label, unit, goal, judge) in CALL_JUDGES.items():
            if key == "throughput_rps" and point["concurrency"] != VERDICT_CONCURRENCY:
                goal, judge = None, None
            out.append(
                _figure(
                    f"{label}, {where}",
                    unit,
                    point["this"]["by_round"][key],
                    point["baseline"]["by_round"][key],
                    goal,
                    judge,
                    errors,
                )
            )
    rss_goal = f"≤ 1.10 × baseline, or within {RSS_SLACK_KIB:g} KiB"
    for kind, by_build in sessions.items():
        this, base = by_build["this"], by_build["baseline"]
        out.append(
            _figure(
                f"RSS per idle {kind} session ({this['sessions']} open)",
                "KiB",
                [this["rss_per_session_kib"]],
                [base["rss_per_session_kib"]],
                rss_goal,
                _at_most(RSS_SLACK_KIB, "KiB"),
                0,
            )
        )
        out.append(
            _figure(
                f"server RSS before the {kind} sessions",
                "MiB",
                [this["rss_before_mb"]],
                [base["rss_before_mb"]],
                None,
                None,
                0,
            )
        )
    return out
