"""``ontraport-mcp`` — serve, run the sandbox, list the tools.

ontraport-mcp serve [--transport http|stdio] [--sandbox] [...]   see serve --help
ontraport-mcp sandbox [...]          the Ontraport API emulator alone (see --help)
ontraport-mcp tools [--json]         the static tool catalog and where each tool is implemented

``serve --workers N`` runs N worker processes on one listening socket (uvicorn's supervisor:
a worker that dies is replaced).  Every worker builds its own app from the environment
(``worker_app``), so ``serve`` exports the settings it was given as flags as ``ONTRAPORT_*``
variables before the workers start; they share the state store (the SQLite file under
``--data-dir`` by default, or ``--store redis://…``), so confirmations, the duplicate guard,
light sessions and the per-account rate budget hold across workers.  Full SDK sessions (clients
that declared form elicitation) live in one worker: a handshake-era client that needs one is
best served by a single worker or by sticky routing.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import json
import logging
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from . import __version__

log = logging.getLogger("ontraport_mcp")


# The flags of ``serve``: (flag, Settings field or None for a flag only, argparse options, help).
# Each flag overrides its ``ONTRAPORT_*`` variable; ``serve --help`` names the variable.
SERVE_FLAGS: list[tuple[str, str | None, dict[str, Any], str]] = [
    ("--host", "host", {}, "bind address (default 127.0.0.1)"),
    ("--port", "port", {"type": int}, "port (default 8000)"),
    ("--transport", "transport", {"choices": ["http", "stdio"]}, "http (default) or stdio"),
    ("--upstream", "base_url", {}, "Ontraport API base URL (default https://api.ontraport.com/1)"),
    ("--sandbox", None, {"action": "store_true"}, "serve the embedded demo sandbox as upstream"),
    (
        "--stateless",
        "stateless",
        {"action": "store_true", "default": None},
        "no handshake-era sessions (plain load balancers)",
    ),
    (
        "--allowed-host",
        "allowed_hosts",
        {"action": "append", "metavar": "HOST"},
        "an extra Host header to accept, repeatable (the variable takes a JSON list)",
    ),
    ("--manifest-cap", "manifest_cap", {"type": int}, "most tools listed (default 100)"),
    (
        "--confirm",
        "confirm",
        {"choices": ["always", "money-only", "never"]},
        "which tools ask the user first (default always)",
    ),
    (
        "--audit-args",
        "audit_args",
        {"choices": ["safe", "full"]},
        "argument values in audit lines: safe (no customer data, default) or full",
    ),
    (
        "--read-only",
        "read_only",
        {"action": "store_true", "default": None},
        "list and run read tools only, for every caller",
    ),
    (
        "--toolsets",
        "toolsets",
        {"type": lambda text: _toolsets(text), "metavar": "A,B"},
        "toolsets served (default all: crud,query,manage,commerce,custom)",
    ),
    ("--data-dir", "data_dir", {}, "where the state store and OAuth state live"),
    ("--store", "store", {}, "state store: sqlite:///file (default, in --data-dir) or redis://…"),
    ("--public-url", "public_url", {}, "public base URL behind a proxy (OAuth issuer, resource)"),
    (
        "--log-format",
        "log_format",
        {"choices": ["text", "json"]},
        "log lines on stderr: text, or one JSON object per line with request ids",
    ),
    ("--log-level", None, {"default": "WARNING"}, "Python log level on stderr (default WARNING)"),
    (
        "--workers",
        None,
        {"type": int, "default": 1, "metavar": "N"},
        "worker processes sharing the port and the state store (default 1)",
    ),
]
ENV_PREFIX = "ONTRAPORT_"
LOG_LEVEL_ENV = "ONTRAPORT_LOG_LEVEL"
"""How ``serve`` tells its worker processes the ``--log-level`` (not a setting of ``Settings``)."""
WORKER_APP = "ontraport_mcp.cli:worker_app"
"""The factory each worker process imports by name (uvicorn spawns fresh interpreters)."""
MAX_WORKERS = 64
WORKER_START_TIMEOUT_S = 60.0


def _toolsets(text: str) -> list[str]:
    """``--toolsets crud,query``: known names only, read as the variable is."""
    from .settings import toolset_names

    try:
        return toolset_names(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


SHUTDOWN_GRACE_S = 5


def _serve_parser(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="run the MCP server",
        description=(
            "Run the MCP server. Every flag overrides the environment variable named in its "
            "help. Single-account mode takes ONTRAPORT_API_KEY and ONTRAPORT_APP_ID from the "
            "environment (stdio; over HTTP also ONTRAPORT_MCP_TOKEN, the bearer token clients "
            "must send). Other settings are variables only: see the README's table."
        ),
    )
    for flag, field, options, text in SERVE_FLAGS:
        env = f" [{ENV_PREFIX}{field.upper()}]" if field else " [flag only]"
        p.add_argument(flag, help=text + env, **{"default": None, **options})


def _flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """The ``Settings`` fields given as flags (``allowed_hosts`` aside: it adds to the variable)."""
    overrides: dict[str, Any] = {}
    for flag, field, _, _ in SERVE_FLAGS:
        value = getattr(args, flag.lstrip("-").replace("-", "_"), None)
        if field is not None and value is not None and field != "allowed_hosts":
            overrides[field] = value
    return overrides


def build_settings(args: argparse.Namespace) -> Any:
    from .settings import Settings

    settings = Settings(**_flag_values(args))
    if getattr(args, "allowed_host", None):
        settings.allowed_hosts = [*settings.allowed_hosts, *args.allowed_host]
    return settings


def refusal(settings: Any, sandbox: bool, workers: int = 1) -> str | None:
    """Why this configuration must not start (one line), or None."""
    if not 1 <= workers <= MAX_WORKERS:
        return f"--workers takes a number from 1 to {MAX_WORKERS}."
    if workers > 1 and settings.transport == "stdio":
        return "--workers serves HTTP; a stdio server is one process for one client."
    short = [k for k in settings.request_state_keys if len(k.get_secret_value().encode()) < 32]
    if short:
        return (
            "ONTRAPORT_REQUEST_STATE_KEYS: each key needs at least 32 bytes of secret randomness "
            '(python -c "import secrets; print(secrets.token_hex(32))").'
        )
    if settings.transport == "http" and settings.single_account() and not settings.mcp_token:
        if sandbox:
            return None
        return (
            "ONTRAPORT_API_KEY and ONTRAPORT_APP_ID are set, so this server would act as that "
            "one account for anyone who reaches it: set ONTRAPORT_MCP_TOKEN (the bearer token "
            "clients must send), or unset the key to let each client send its own credentials."
        )
    return None


def serve(args: argparse.Namespace) -> int:
    from .runtime import audit

    settings = build_settings(args)
    if args.sandbox and args.data_dir is None:
        # the demo account lives only as long as this process, and so does its state: a new
        # sandbox must not meet the duplicate guard or grants of the last one
        settings.data_dir = tempfile.mkdtemp(prefix="ontraport-mcp-sandbox-")
        atexit.register(shutil.rmtree, settings.data_dir, True)
    _configure_logging(args.log_level, settings.log_format)
    if (why := refusal(settings, args.sandbox, args.workers)) is not None:
        print(f"ontraport-mcp: not starting: {why}", file=sys.stderr)
        return 2
    audit.configure(settings.audit_log, settings.audit_args, fmt=settings.log_format)
    if settings.transport == "stdio":
        from .transport.stdio import run_stdio

        return run_stdio(settings, sandbox=args.sandbox)
    try:
        listener = _bind(settings.host, settings.port)
    except OSError as exc:
        print(
            f"ontraport-mcp: cannot listen on {settings.host}:{settings.port} ({exc.strerror}); "
            "choose another with --port.",
            file=sys.stderr,
        )
        return 2
    settings.port = listener.getsockname()[1]
    if args.workers > 1:
        return _serve_workers(settings, listener, args)
    return _serve_http(settings, listener, args.sandbox)


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything is printed: the banner's URL then works."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(2048)
    except OSError:
        listener.close()
        raise
    listener.set_inheritable(True)
    return listener


def _serve_http(settings: Any, listener: socket.socket, sandbox: bool) -> int:
    import uvicorn

    from .transport.app import build_app

    sandbox_handle = None
    if sandbox:
        from .sandbox.testing import SandboxServer

        sandbox_handle = SandboxServer()
        sandbox_handle.start()
        settings.base_url = sandbox_handle.base_url
    try:
        app = build_app(settings)
        if settings.host not in ("127.0.0.1", "localhost", "::1"):
            print(
                f"WARNING: listening on {settings.host}, reachable from other machines. Only "
                f"the Host headers {settings.allowed_hosts or '(none configured: use --allowed-host)'} "
                "and loopback names are accepted (DNS-rebinding protection).",
                file=sys.stderr,
            )
        # a bound on how long shutdown waits for open calls (uvicorn's default is no bound);
        # tests/test_cli.py checks that a pending confirmation does not hold shutdown
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
            # JSON logs: uvicorn's own loggers go through the root handler too
            log_config=None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
        )
        server = uvicorn.Server(config)
        # Everything alive now (modules, schemas, the generated client) lives as long as the
        # process: keep it out of the cyclic collector so its full passes stay short under load.
        gc.collect()
        gc.freeze()
        _run_with_banner(server, listener, settings, sandbox_handle)
    finally:
        if sandbox_handle is not None:
            sandbox_handle.stop()
        listener.close()
    return 0


def _run_with_banner(server: Any, listener: socket.socket, settings: Any, sandbox: Any) -> None:
    """Serve on the bound socket (uvicorn's own event loop, uvloop where installed); print the
    banner once the app's start-up has run and uvicorn accepts connections on it."""
    import asyncio

    from uvicorn.server import asyncio_run

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[listener]))
        for _ in range(6000):  # start-up is seconds at most; the loop is bounded all the same
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if server.started:
            print_banner(settings, sandbox)
        await task

    asyncio_run(main(), loop_factory=server.config.get_loop_factory())


# --- serve --workers N ------------------------------------------------------------------------


def export_settings(settings: Any, fields: set[str], log_level: str) -> dict[str, str]:
    """Put ``fields`` of ``settings`` (those given as flags, and those ``serve`` resolved: the
    port, the sandbox's URL) into this process's environment as ``ONTRAPORT_*`` variables, the
    way ``Settings`` reads them back (lists as JSON), so worker processes build the same
    settings; return what was set.  Secrets are never flags: they reach the workers through the
    environment they already came from."""
    exported: dict[str, str] = {LOG_LEVEL_ENV: log_level}
    for field in sorted(fields):
        value = getattr(settings, field)
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, list | tuple):
            text = json.dumps(list(value))
        else:
            text = str(value)
        exported[ENV_PREFIX + field.upper()] = text
    os.environ.update(exported)
    return exported


def worker_app() -> Any:
    """The app of one worker of ``serve --workers N``, built in that process from the
    environment ``serve`` exported (uvicorn imports this by name: ``WORKER_APP``): logging and
    the audit sink set up as ``serve`` does for one process, then the same ``build_app``."""
    from .runtime import audit
    from .settings import Settings
    from .transport.app import build_app

    settings = Settings()
    _configure_logging(os.environ.get(LOG_LEVEL_ENV, "WARNING"), settings.log_format)
    audit.configure(settings.audit_log, settings.audit_args, fmt=settings.log_format)
    app = build_app(settings)
    gc.collect()  # as in _serve_http: the long-lived objects stay out of the cyclic collector
    gc.freeze()
    return app


def _serve_workers(settings: Any, listener: socket.socket, args: argparse.Namespace) -> int:
    """N worker processes on the bound socket under uvicorn's supervisor (restarts a worker that
    dies, stops them all on SIGINT/SIGTERM); the banner once one of them answers ``/health``."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    sandbox_handle = None
    if args.sandbox:
        from .sandbox.testing import SandboxServer

        sandbox_handle = SandboxServer()
        sandbox_handle.start()
        settings.base_url = sandbox_handle.base_url
    try:
        fields = {*_flag_values(args), "port", "base_url", "data_dir"}
        if getattr(args, "allowed_host", None):
            fields.add("allowed_hosts")
        export_settings(settings, fields, args.log_level)
        config = uvicorn.Config(
            WORKER_APP,
            factory=True,
            workers=args.workers,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        )
        supervisor = Multiprocess(config, sockets=[listener])
        announce = threading.Thread(
            target=_banner_when_up,
            args=(settings, sandbox_handle),
            name="banner",
            daemon=True,
        )
        announce.start()
        supervisor.run()
    finally:
        if sandbox_handle is not None:
            sandbox_handle.stop()
        listener.close()
    return 0


def _banner_when_up(settings: Any, sandbox: Any) -> None:
    """Print the banner once a worker answers ``/health`` on loopback (bounded wait; the
    supervisor's own pipe to each worker is not ours to share)."""
    url = f"http://{_url_host(settings.host)}:{settings.port}/health"
    deadline = time.monotonic() + WORKER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1.0) as answer:  # noqa: S310 - loopback
                answer.read()
            break
        except urllib.error.HTTPError:
            break  # 503 (the store is degraded) still means a worker serves
        except OSError:
            time.sleep(0.05)
    else:
        print("ontraport-mcp: no worker answered /health in time", file=sys.stderr)
        return
    print_banner(settings, sandbox)


def _configure_logging(level: str, fmt: Any = "text") -> None:
    """Log lines on stderr at ``level``: text, or one JSON object per line (``--log-format``)."""
    from .telemetry.logs import configure_logging

    configure_logging(level.upper(), fmt)


def client_configs(url: str, headers: dict[str, str]) -> dict[str, str]:
    """What to paste into each client, by client name (``headers``: what it sends)."""
    flags = " ".join(f'--header "{k}: {v}"' for k, v in headers.items())
    inspector_flags = " ".join(f'--header "{k}: {v}"' for k, v in headers.items())
    cursor = {"mcpServers": {"ontraport": {"url": url, "headers": headers}}}
    vscode = {"servers": {"ontraport": {"type": "http", "url": url, "headers": headers}}}
    return {
        "Claude Code": f"claude mcp add --transport http ontraport {url} {flags}",
        "Cursor (~/.cursor/mcp.json)": json.dumps(cursor),
        "VS Code (.vscode/mcp.json)": json.dumps(vscode),
        "MCP Inspector (CLI)": (
            f"npx @modelcontextprotocol/inspector --cli {url} --transport http "
            f"{inspector_flags} --method tools/list"
        ),
    }


def stdio_config(sandbox: bool) -> dict[str, Any]:
    """The desktop (stdio) config: Claude Desktop's ``claude_desktop_config.json`` and others."""
    server: dict[str, Any] = {"command": "ontraport-mcp", "args": ["serve", "--transport", "stdio"]}
    if sandbox:
        server["args"].append("--sandbox")
    else:
        server["env"] = {"ONTRAPORT_API_KEY": "<api key>", "ONTRAPORT_APP_ID": "<app id>"}
    return {"mcpServers": {"ontraport": server}}


def print_banner(settings: Any, sandbox: Any) -> None:
    url = f"http://{_url_host(settings.host)}:{settings.port}/mcp"
    print(f"ontraport-mcp {__version__} serving MCP at {url} (upstream {settings.base_url})")
    if sandbox is not None:
        headers = {"Api-Key": sandbox.api_key, "Api-Appid": sandbox.app_id}
        print("Sandbox credentials (demo data only):", *(f"{k}={v}" for k, v in headers.items()))
    elif settings.single_account():
        headers = {"Authorization": "Bearer <ONTRAPORT_MCP_TOKEN>"}
        print("One account, from the environment: clients send the bearer token below.")
    else:
        headers = {"Api-Key": "<api key>", "Api-Appid": "<app id>"}
        print("Each client sends its own Ontraport credentials (Api-Key and Api-Appid headers).")
    for client, text in client_configs(url, headers).items():
        print(f"\n{client}:\n  {text}")
    print("\nClaude Desktop (stdio, claude_desktop_config.json; its own embedded server):")
    print("  " + json.dumps(stdio_config(sandbox is not None)))
    sys.stdout.flush()


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ontraport-mcp", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ontraport-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    sub.add_parser("sandbox", help="run the Ontraport API emulator", add_help=False)
    tools = sub.add_parser("tools", help="list the static tools and their implementations")
    tools.add_argument("--json", action="store_true")
    sub.add_parser("grants", help="list or revoke OAuth grants (grants --help)", add_help=False)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sandbox"]:
        from .sandbox.cli import run

        raise SystemExit(run(argv[1:]))
    if argv[:1] == ["grants"]:  # the store of --data-dir / --store, as `serve` would open it
        from .oauth.cli import main as grants
        from .settings import Settings

        raise SystemExit(grants(argv[1:], Settings()))
    args = parser.parse_args(argv)
    if args.command == "serve":
        raise SystemExit(serve(args))
    if args.command == "tools":
        raise SystemExit(_tools(args.json))


def _tools(as_json: bool) -> int:
    from .generated.tools import TOOLS
    from .runtime.registry import build_registry, load_overrides

    registry = build_registry(TOOLS, load_overrides())
    rows = [
        {
            "name": name,
            "class": e.spec.tool_class,
            "toolset": e.spec.toolset,
            "implemented_in": e.source,
        }
        for name, e in sorted(registry.items())
    ]
    if as_json:
        print(json.dumps(rows, indent=1))
    else:
        for row in rows:
            print(f"{row['name']:<32} {row['class']}  {row['toolset']:<9} {row['implemented_in']}")
    return 0
