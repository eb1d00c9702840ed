"""The benchmark still runs: ``python -m bench --quick --smoke`` end to end, in a subprocess;
and its load driver measures what it claims, against a scripted loopback server: every request
has an id of its own, and a failed request counts whenever it ends.

Only the report's shape and the absence of failed requests are checked — never a timing, which
depends on the machine and on whatever else runs on it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench import httpload

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(180)
def test_bench_smoke_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "smoke.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--smoke", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert json.loads(out.read_text()) == report
    assert out.with_suffix(".md").read_text().startswith("## ontraport-mcp benchmark")

    assert {
        "meta",
        "tools_call",
        "tools_list",
        "sessions",
        "codegen",
        "sandbox",
        "targets",
        "request_errors",
        "section_errors",
        "failed_requests",
    } <= set(report)
    assert "reference" not in report  # peers are not measured here: no figures for them
    assert report["meta"]["mode"] == "smoke"
    assert report["section_errors"] == {}
    assert report["request_errors"] == 0
    assert report["failed_requests"] == []

    rows = report["tools_call"]["rows"]
    assert {(r["delay_ms"], r["concurrency"]) for r in rows} >= {(0, 1), (0, 16), (25, 1)}
    for row in rows:
        for side in ("floor", "server"):
            assert row[side]["completed"] > 0
            for key in ("throughput_rps", "p50_ms", "p95_ms", "p99_ms", "driver_cpu_cores"):
                assert key in row[side]
        assert "p50_ms" in row["overhead_over_floor"]
        assert "server_cpu_ms_per_call" in row["server"]

    # one session per kind, 16 lanes at once: every lane is answered (distinct ids)
    handshake = {
        (r["kind"], r["concurrency"]): r["server"] for r in report["handshake_calls"]["rows"]
    }
    assert set(handshake) == {("light", 1), ("light", 16), ("full", 1), ("full", 16)}
    for row in handshake.values():
        assert row["completed"] > 0 and row["errors"] == 0, row

    lists = report["tools_list"]["by_custom_objects"]
    assert set(lists) == {"0", "13", "50"}
    for row in lists.values():
        assert row["tools"] and "meta_calls_per_100_lists" in row
    manifest = report["tools_list"]["default_manifest"]
    assert manifest["bytes"] > 0 and manifest["approx_tokens"] > 0

    assert "rss_per_session_kib" in report["sessions"]["idle"]
    assert "rss_growth_pct" in report["sessions"]["cycles"]
    assert report["sandbox"]["completed"] > 0
    assert {t["target"] for t in report["targets"]} >= {
        "tools/call throughput, c=16, 0 ms upstream",
        "default manifest size (chars/4)",
    }


def _bench(
    tmp_path: Path, *argv: str, timeout: float
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    out = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", *argv, "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done, json.loads(done.stdout)


@pytest.mark.timeout(180)
def test_bench_baseline_measures_an_archived_commit_beside_this_build(tmp_path: Path) -> None:
    """``--baseline HEAD``: a real git archive and pip install of the current commit, served
    beside this checkout; both answer every request, and the baseline's server ran the copy."""
    done, report = _bench(tmp_path, "--only", "baseline", "--baseline", "HEAD", timeout=150)
    assert done.returncode == 0, done.stderr[-3000:]
    assert report["section_errors"] == {}
    assert report["failed_requests"] == [] and report["request_errors"] == 0

    section = report["baseline"]
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert section["ref"] == "HEAD"
    assert section["full_commit"] == head.stdout.strip()
    assert head.stdout.startswith(section["commit"])
    # the running baseline server's environment imports the archived copy, not this checkout
    site = Path(section["site"])
    assert Path(section["module_file"]["baseline"]).is_relative_to(site)
    assert not Path(section["module_file"]["this"]).is_relative_to(site)
    assert not site.parent.exists()  # the temporary folder is gone

    points = {(p["delay_ms"], p["concurrency"]): p for p in section["calls"]}
    assert set(points) == {(0, 1), (0, 16), (25, 1), (25, 16)}
    for point in points.values():
        assert len(point["rounds"]) == section["rounds"] >= 1
        for window in point["rounds"]:
            assert sorted(window["order"]) == ["baseline", "this"]
            for build in ("this", "baseline"):
                assert window[build]["completed"] > 0 and window[build]["errors"] == 0
            assert window["floor"]["errors"] == 0
        for build in ("this", "baseline"):
            assert point[build]["throughput_rps"] > 0
            assert point[build]["p50_overhead_ms"] is not None
    for kind in ("light", "full"):
        for build in ("this", "baseline"):
            assert "rss_per_session_kib" in section["sessions"][kind][build]

    judged = [f for f in section["figures"] if f["goal"] is not None]
    assert len(judged) == 2 + 4 + 2  # throughput at c=16 (two delays), overhead, RSS
    assert all(f["met"] in (True, False) for f in judged)
    targets = [t for t in report["targets"] if t["target"].startswith("vs baseline")]
    assert len(targets) == len(judged)
    md = (tmp_path / "report.md").read_text()
    assert f"| figure | baseline {section['commit']} | this build | ratio | within 10 %? |" in md


@pytest.mark.timeout(60)
def test_bench_baseline_with_an_unknown_ref_is_a_section_error(tmp_path: Path) -> None:
    done, report = _bench(
        tmp_path, "--only", "baseline", "--baseline", "no-such-ref-2f9c", timeout=50
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    error = report["section_errors"]["baseline"]
    assert error.startswith("BaselineError: baseline ref 'no-such-ref-2f9c' is not a commit")
    assert report["baseline"] == {"error": error}


# --- the load driver, against a scripted loopback server ------------------------------------------


class ScriptedServer:
    """A JSON-RPC-over-HTTP server on 127.0.0.1 (its own thread and loop) that records every id
    it is sent and answers, after a millisecond, as ``answer(request_id, arrived_s)`` says: a
    reply body, or None to leave the request unanswered.  Like an SDK session it routes replies
    by id: a request whose id is already in flight is never answered.  ``arrived_s`` counts from
    the first request (the driver's agreed start)."""

    def __init__(self, answer: Callable[[int, float], bytes | None]) -> None:
        self.answer = answer
        self.ids: list[int] = []
        self.in_flight: set[int] = set()
        self.first_at: float | None = None
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()
        server.close()
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for _ in range(100_000):  # bounded: a lane sends far fewer
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                request_id = json.loads(await reader.readexactly(length))["id"]
                self.ids.append(request_id)
                now = time.monotonic()
                self.first_at = now if self.first_at is None else self.first_at
                body = self.answer(request_id, now - self.first_at)
                if body is None or request_id in self.in_flight:
                    await asyncio.sleep(30)  # never answered: the driver's timeout ends it
                    return
                self.in_flight.add(request_id)
                await asyncio.sleep(0.001)
                self.in_flight.discard(request_id)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%b" % (len(body), body))
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def _reply(request_id: int, is_error: bool = False) -> bytes:
    result = {"content": [], "isError": is_error}
    reply = {"jsonrpc": "2.0", "id": request_id, "result": result}
    return json.dumps(reply, separators=(",", ":")).encode()


def _drive(port: int, concurrency: int, **times: float) -> httpload.LoadResult:
    request = httpload.Request(
        "POST",
        "/mcp",
        f"127.0.0.1:{port}",
        {"Content-Type": "application/json"},
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "x"}},
    )
    return httpload.run_load(
        "127.0.0.1",
        port,
        request,
        concurrency=concurrency,
        procs=2,
        check=httpload.MCP_CALL_OK,
        **times,
    )


@pytest.mark.timeout(60)
def test_load_driver_sends_every_request_its_own_id() -> None:
    with ScriptedServer(lambda request_id, arrived_s: _reply(request_id)) as server:
        result = _drive(server.port, 8, warmup_s=0.2, window_s=0.5, timeout_s=1.0)
    assert result.errors == 0, result.error_samples
    assert result.completed > 0
    assert len(server.ids) == len(set(server.ids)) > result.completed


@pytest.mark.timeout(60)
def test_load_driver_counts_failures_in_warmup_and_drain() -> None:
    warmup_s, window_s = 0.6, 0.6
    first_ids = {(worker + 1) * 10**9 for worker in range(2)}

    def answer(request_id: int, arrived_s: float) -> bytes | None:
        if request_id in first_ids:  # each worker's first request: in the warm-up
            return _reply(request_id, is_error=True)
        if arrived_s > warmup_s + window_s - 0.2:  # sent late in the window: ends in the drain
            return None
        return _reply(request_id)

    with ScriptedServer(answer) as server:
        result = _drive(server.port, 4, warmup_s=warmup_s, window_s=window_s, timeout_s=0.6)
    summary = result.summary()
    assert summary["errors_by_phase"]["warmup"] == 2, result.error_samples
    assert summary["errors_by_kind"]["is_error"] == 2
    assert summary["errors_by_phase"]["drain"] >= 1
    assert summary["errors_by_kind"]["timeout"] == summary["errors_by_phase"]["drain"]
    assert result.errors == sum(summary["errors_by_phase"].values())


def _checked(body: bytes, request_id: int = 7, status: int = 200) -> str | None:
    response = httpload.Response(status, b"HTTP/1.1 %d X" % status, body)
    response.request_id = request_id
    return httpload.MCP_CALL_OK.fault(response)


def test_check_names_what_is_wrong_with_a_reply() -> None:
    good = b'{"jsonrpc":"2.0","id":7,"result":{"content":[],"isError":false}}'
    sse = b'event: message\r\ndata: {"jsonrpc":"2.0","id":7,"result":{"content":[]}}\r\n\r\n'
    assert _checked(good) is None
    assert _checked(sse) is None
    assert _checked(good, request_id=17) == "id_mismatch"
    assert _checked(good.replace(b'"id":7', b'"id":70')) == "id_mismatch"
    assert _checked(good, status=503) == "http_status"
    assert _checked(good.replace(b"false", b"true")) == "is_error"
    error = b'{"jsonrpc":"2.0","id":7,"error":{"code":-32603,"message":"x"}}'
    assert _checked(error) == "jsonrpc_error"
    assert _checked(b'{"jsonrpc":"2.0","id":7,"result":{}}') == "unexpected_body"
