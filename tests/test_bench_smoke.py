"""The benchmark still runs: ``python -m bench --quick --smoke`` end to end, in a subprocess.

Only the report's shape and the absence of failed requests are checked — never a timing, which
depends on the machine and on whatever else runs on it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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
        "reference",
    } <= set(report)
    assert report["meta"]["mode"] == "smoke"
    assert report["section_errors"] == {}
    assert report["request_errors"] == 0

    rows = report["tools_call"]["rows"]
    assert {(r["delay_ms"], r["concurrency"]) for r in rows} >= {(0, 1), (0, 16), (25, 1)}
    for row in rows:
        for side in ("floor", "server"):
            assert row[side]["completed"] > 0
            for key in ("throughput_rps", "p50_ms", "p95_ms", "p99_ms", "driver_cpu_cores"):
                assert key in row[side]
        assert "p50_ms" in row["overhead_over_floor"]
        assert "server_cpu_ms_per_call" in row["server"]

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
