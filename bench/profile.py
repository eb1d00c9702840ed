"""Profile the server under load with py-spy (optional: ``pip install py-spy``).

py-spy samples the server process from outside (``--nonblocking``: the server is not paused)
while the driver keeps ``tools/call`` at c=16 on a 0 ms upstream.  py-spy pauses the process for
each sample (complete stacks; ``--nonblocking`` truncates many), so the throughput during the
profile is lower than without it: the shares are what counts.  The collapsed stacks are
written to ``bench/results/profile.txt`` and summarised two ways: self time by package (where
the CPU is actually spent: a partition of all samples) and inclusive time by function (which
layers cost what, nested).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from . import procs
from .httpload import MCP_CALL_OK, run_load
from .procs import HOST
from .scenarios import Plan, _prime, call_request, credentials

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")

_LABELS = {
    "mcp": "mcp SDK",
    "mcp_types": "mcp_types (pydantic models)",
    "pydantic": "pydantic",
    "pydantic_core": "pydantic_core",
    "jsonschema": "jsonschema",
    "referencing": "jsonschema (referencing)",
    "rpds": "jsonschema (rpds)",
    "starlette": "starlette",
    "sse_starlette": "sse-starlette",
    "uvicorn": "uvicorn",
    "h11": "h11",
    "httptools": "httptools",
    "httpcore": "httpcore",
    "httpx": "httpx",
    "anyio": "anyio",
    "opentelemetry": "opentelemetry",
    "attr": "attrs",
    "sniffio": "sniffio",
    "overrides": "ontraport_mcp.overrides",
    "generated": "ontraport_mcp.generated",
}
_STDLIB = {
    "asyncio",
    "json",
    "logging",
    "email",
    "http",
    "urllib",
    "concurrent",
    "collections",
    "importlib",
    "re",
    "encodings",
}


def package_of(path: str) -> str:
    """A readable owner of a py-spy frame's file (py-spy shortens paths to the import root)."""
    parts = path.split("/")
    head = parts[0]
    if head == "ontraport_mcp" and len(parts) > 2 and parts[1] in ("generated", "overrides"):
        return f"ontraport_mcp.{parts[1]}"
    if head == "ontraport_mcp":
        return "ontraport_mcp"
    if head in _LABELS:
        return _LABELS[head]
    if head in _STDLIB:
        return f"stdlib {head}"
    if head.startswith("<frozen importlib"):
        return "importlib (imports at run time)"
    if len(parts) == 1 and head.endswith(".py"):
        return f"stdlib {head[:-3]}"
    return head


def _has(*needles: str) -> Any:
    return lambda frames: any(n in f for f in frames for n in needles)


def _under(outer: str, *inner: str) -> Any:
    """Frames matching ``inner`` somewhere below a frame matching ``outer``."""

    def test(frames: list[str]) -> bool:
        for i, frame in enumerate(frames):
            if outer in frame:
                return any(n in f for f in frames[i + 1 :] for n in inner)
        return False

    return test


# Named layers of one tools/call, as inclusive shares of all samples (they nest and overlap).
LAYERS: tuple[tuple[str, Any], ...] = (
    (
        "MCP handling in the SDK, tool included (handle_modern_request)",
        _has("handle_modern_request"),
    ),
    ("tool execution (executor.run_tool)", _has("run_tool (")),
    ("upstream request, all (Upstream.call)", _has("Upstream.call")),
    ("httpx + httpcore (AsyncClient.request)", _has("AsyncClient.request")),
    (
        "failed `import sniffio` per request (httpcore current_async_library)",
        _under("current_async_library (httpcore", "importlib"),
    ),
    (
        "httpcore pool scan of idle connections (_assign_requests_to_connections)",
        _has("_assign_requests_to_connections"),
    ),
    ("upstream JSON parse (json.loads in Upstream.call)", _under("Upstream.call", "loads (json")),
    (
        "clean() of the upstream data",
        _has("clean (ontraport_mcp/overrides/cleaner", "clean (overrides/cleaner"),
    ),
    ("argument validation (jsonschema, executor.validate_arguments)", _has("validate_arguments")),
    ("result text json.dumps (executor._success)", _has("_success (ontraport_mcp/executor")),
    ("SDK result serialisation (ServerRunner._serialize)", _has("ServerRunner._serialize")),
    ("SDK reply write: model_dump + json.dumps + send (_write)", _has("_write (mcp/server")),
    ("SDK Mcp-Param header check against the input schema", _has("_mcp_param_rejection")),
    (
        "SDK per-request task group (SSE deferral path)",
        _under("handle_modern_request", "TaskGroup.", "create_memory_object_stream"),
    ),
    ("OpenTelemetry spans (no-op tracer)", _has("otel_span", "start_as_current_span")),
    ("pydantic, anywhere", _has("(pydantic/", "(pydantic_core/")),
    ("json encode, anywhere", _has("(json/encoder")),
    ("Credentials.digest (sha256, computed per use)", _has("Credentials.digest")),
    ("auth middleware (AuthMiddleware.__call__, MCP inside it)", _has("AuthMiddleware.__call__")),
)


def layers(raw: str) -> list[dict[str, Any]]:
    stacks = []
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if stack and count_text.isdigit():
            stacks.append((stack.split(";"), int(count_text)))
            total += int(count_text)
    if not total:
        return []
    return [
        {"layer": label, "pct": round(sum(c for f, c in stacks if test(f)) * 100 / total, 1)}
        for label, test in LAYERS
    ]


def _parse(raw: str) -> tuple[int, Counter[str], Counter[str]]:
    """Total samples, self samples by package, inclusive samples by function."""
    total = 0
    by_package: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        seen: set[str] = set()
        for frame in frames:
            m = _FRAME.match(frame)
            if m is None:
                continue
            key = f"{m['func']} ({_short(m['file'])})"
            if key not in seen:
                seen.add(key)
                inclusive[key] += count
        leaf = _FRAME.match(frames[-1])
        by_package[package_of(leaf["file"] if leaf else frames[-1])] += count
    return total, by_package, inclusive


def _short(path: str) -> str:
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        at = path.find(marker)
        if at >= 0:
            return path[at + len(marker) :].lstrip("/")
    return path.rsplit("/", 2)[-1] if "/" in path else path


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found if Path(found).exists() else None


def profile(plan: Plan, seconds: float, results_dir: Path, log: Any) -> dict[str, Any]:
    exe = py_spy()
    if exe is None:
        return {"skipped": "py-spy is not installed (pip install py-spy)"}
    out_file = results_dir / "profile.txt"
    with (
        procs.upstream(0) as (_up, upstream_port),
        procs.mcp_server(upstream_port) as (
            server,
            port,
        ),
    ):
        request = call_request(port, credentials(0, "profile"))
        _prime(port, request, MCP_CALL_OK, 50)
        log(f"  py-spy on the server for {seconds} s at c=16")
        spy = subprocess.Popen(
            [
                exe,
                "record",
                "--pid",
                str(server.pid),
                "--duration",
                str(int(seconds)),
                "--rate",
                "200",
                "--format",
                "raw",
                "--output",
                str(out_file),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        load: dict[str, Any] = {}

        def drive() -> None:
            res = run_load(
                HOST,
                port,
                request,
                concurrency=16,
                procs=plan.driver_procs,
                warmup_s=0.5,
                window_s=seconds + 1.0,
                check=MCP_CALL_OK,
            )
            load.update(res.summary())

        driver = threading.Thread(target=drive, daemon=True)
        t0 = time.monotonic()
        driver.start()
        try:
            _, err = spy.communicate(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            spy.kill()
            _, err = spy.communicate()
        driver.join(timeout=seconds + 30)
        log(f"  profile done in {time.monotonic() - t0:.1f} s")
    if not out_file.exists():
        return {"skipped": f"py-spy wrote nothing: {err.decode(errors='replace')[-500:]}"}
    raw = out_file.read_text()
    total, by_package, inclusive = _parse(raw)
    if not total:
        return {"skipped": "py-spy recorded no samples"}
    return {
        "samples": total,
        "raw_stacks": str(out_file),
        "load_during_profile": {
            k: load.get(k) for k in ("throughput_rps", "p50_ms", "errors", "completed")
        },
        "layers": layers(raw),
        "by_package": [
            {"package": name, "pct": round(n * 100 / total, 1)}
            for name, n in by_package.most_common()
        ],
        "inclusive": [
            {"function": name, "pct": round(n * 100 / total, 1)}
            for name, n in inclusive.most_common(60)
        ],
    }
