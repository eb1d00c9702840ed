"""``ontraport-mcp`` — serve, run the sandbox, list the tools.

ontraport-mcp serve [--transport http|stdio] [--sandbox] [...]   see serve --help
ontraport-mcp sandbox [...]          the Ontraport API emulator alone (see --help)
ontraport-mcp tools [--json]         the static tool catalog and where each tool is implemented
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import socket
import sys
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
    ("--log-level", None, {"default": "WARNING"}, "Python log level on stderr (default WARNING)"),
]
ENV_PREFIX = "ONTRAPORT_"
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


def build_settings(args: argparse.Namespace) -> Any:
    from .settings import Settings

    overrides: dict[str, Any] = {}
    for flag, field, _, _ in SERVE_FLAGS:
        value = getattr(args, flag.lstrip("-").replace("-", "_"), None)
        if field is not None and value is not None and field != "allowed_hosts":
            overrides[field] = value
    settings = Settings(**overrides)
    if getattr(args, "allowed_host", None):
        settings.allowed_hosts = [*settings.allowed_hosts, *args.allowed_host]
    return settings


def refusal(settings: Any, sandbox: bool) -> str | None:
    """Why this configuration must not start (one line), or None."""
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
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from . import audit

    settings = build_settings(args)
    if (why := refusal(settings, args.sandbox)) is not None:
        print(f"ontraport-mcp: not starting: {why}", file=sys.stderr)
        return 2
    audit.configure(settings.audit_log, settings.audit_args)
    if settings.transport == "stdio":
        from .stdio import run_stdio

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

    from .server import build_app

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
            app, log_level="warning", lifespan="on", timeout_graceful_shutdown=SHUTDOWN_GRACE_S
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
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sandbox"]:
        from .sandbox.cli import run

        raise SystemExit(run(argv[1:]))
    args = parser.parse_args(argv)
    if args.command == "serve":
        raise SystemExit(serve(args))
    if args.command == "tools":
        raise SystemExit(_tools(args.json))


def _tools(as_json: bool) -> int:
    from .generated.tools import TOOLS
    from .registry import build_registry, load_overrides

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
