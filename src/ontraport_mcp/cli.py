"""``ontraport-mcp`` — serve, run the sandbox, regenerate.

ontraport-mcp serve [--host 127.0.0.1] [--port 8000] [--transport http|stdio]
                    [--upstream URL] [--sandbox] [--stateless] [--allowed-host H]...
ontraport-mcp sandbox [...]          the Ontraport API emulator alone (see --help)
ontraport-mcp generate [--check]     regenerate generated/ (a source checkout only)
ontraport-mcp tools [--json]         the static tool catalog and where each tool is implemented
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
from typing import Any

from . import __version__

log = logging.getLogger("ontraport_mcp")


def _serve_parser(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the MCP server")
    p.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 8000)")
    p.add_argument("--transport", choices=["http", "stdio"], default=None)
    p.add_argument("--upstream", default=None, help="Ontraport API base URL (…/1)")
    p.add_argument("--sandbox", action="store_true", help="run the embedded sandbox as upstream")
    p.add_argument(
        "--stateless", action="store_true", help="no handshake-era sessions (load balancers)"
    )
    p.add_argument(
        "--allowed-host", action="append", default=[], help="extra Host header to accept"
    )
    p.add_argument("--manifest-cap", type=int, default=None)
    p.add_argument("--confirm", choices=["always", "money-only", "never"], default=None)
    p.add_argument("--log-level", default="WARNING")


def build_settings(args: argparse.Namespace) -> Any:
    from .settings import Settings

    overrides: dict[str, Any] = {}
    for flag, key in (
        ("host", "host"),
        ("port", "port"),
        ("transport", "transport"),
        ("upstream", "base_url"),
        ("manifest_cap", "manifest_cap"),
        ("confirm", "confirm"),
    ):
        value = getattr(args, flag, None)
        if value is not None:
            overrides[key] = value
    if getattr(args, "stateless", False):
        overrides["stateless"] = True
    settings = Settings(**overrides)
    if getattr(args, "allowed_host", None):
        settings.allowed_hosts = [*settings.allowed_hosts, *args.allowed_host]
    return settings


def serve(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from . import audit

    settings = build_settings(args)
    audit.configure(settings.audit_log)
    if settings.transport == "stdio":
        from .stdio import run_stdio

        return run_stdio(settings, sandbox=args.sandbox)
    import uvicorn

    from .server import build_app

    sandbox_handle = None
    if args.sandbox:
        from .sandbox.testing import SandboxServer

        sandbox_handle = SandboxServer()
        sandbox_handle.start()
        settings.base_url = sandbox_handle.base_url
    app = build_app(settings)
    if settings.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"WARNING: listening on {settings.host}, reachable from other machines. Only the "
            f"Host headers {settings.allowed_hosts or '(none configured: use --allowed-host)'} "
            "and loopback names are accepted (DNS-rebinding protection).",
            file=sys.stderr,
        )
    _print_banner(settings, sandbox_handle)
    # Everything alive now (modules, schemas, the generated client) lives as long as the process:
    # keep it out of the cyclic collector so its full passes stay short under load.
    gc.collect()
    gc.freeze()
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", lifespan="on")
    finally:
        if sandbox_handle is not None:
            sandbox_handle.stop()
    return 0


def _print_banner(settings: Any, sandbox: Any) -> None:
    url = f"http://{settings.host}:{settings.port}/mcp"
    print(f"ontraport-mcp {__version__} serving MCP at {url} (upstream {settings.base_url})")
    if sandbox is None:
        print("Clients send their own Ontraport credentials: Api-Key and Api-Appid headers.")
        return
    key, app_id = sandbox.api_key, sandbox.app_id
    print("\nSandbox credentials (demo data only):", f"Api-Key={key}", f"Api-Appid={app_id}")
    print("\nClaude Code:")
    print(
        f"  claude mcp add --transport http ontraport {url} "
        f'--header "Api-Key: {key}" --header "Api-Appid: {app_id}"'
    )
    cursor = {
        "mcpServers": {"ontraport": {"url": url, "headers": {"Api-Key": key, "Api-Appid": app_id}}}
    }
    print("\nCursor / VS Code (mcp.json):")
    print("  " + json.dumps(cursor))
    print("\nMCP Inspector:")
    print(
        f"  npx @modelcontextprotocol/inspector  → Streamable HTTP, URL {url}, headers Api-Key / Api-Appid as above"
    )
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ontraport-mcp", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ontraport-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    sub.add_parser("sandbox", help="run the Ontraport API emulator", add_help=False)
    gen = sub.add_parser("generate", help="regenerate generated/ from openapi/ (source checkout)")
    gen.add_argument("--check", action="store_true")
    tools = sub.add_parser("tools", help="list the static tools and their implementations")
    tools.add_argument("--json", action="store_true")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sandbox"]:
        from .sandbox.cli import run

        raise SystemExit(run(argv[1:]))
    args = parser.parse_args(argv)
    if args.command == "serve":
        raise SystemExit(serve(args))
    if args.command == "generate":
        raise SystemExit(_generate(args.check))
    if args.command == "tools":
        raise SystemExit(_tools(args.json))


def _generate(check: bool) -> int:
    root = os.getcwd()
    if not os.path.isdir(os.path.join(root, "codegen")):
        print(
            "ontraport-mcp generate runs in a source checkout (the folder with codegen/).",
            file=sys.stderr,
        )
        return 2
    sys.path.insert(0, root)
    from codegen.__main__ import main as codegen_main  # type: ignore[import-not-found]

    result: int = codegen_main(["--check"] if check else [])
    return result


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
