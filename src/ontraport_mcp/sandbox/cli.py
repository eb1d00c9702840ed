"""``ontraport-mcp sandbox`` — run the Ontraport API emulator."""

from __future__ import annotations

import argparse
import sys

from .config import DEFAULT_API_KEY, DEFAULT_APP_ID, SandboxConfig


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ontraport-mcp sandbox",
        description="Run a local, SQLite-backed emulator of the Ontraport REST API v1.",
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8081, help="port (default 8081)")
    p.add_argument(
        "--db", default=":memory:", help="SQLite file to persist to, or :memory: (default)"
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the demo data (default 1)")
    p.add_argument(
        "--contacts", type=int, default=200, help="number of seeded contacts (default 200)"
    )
    p.add_argument(
        "--api-key", default=DEFAULT_API_KEY, help=f"accepted Api-Key (default {DEFAULT_API_KEY})"
    )
    p.add_argument(
        "--app-id", default=DEFAULT_APP_ID, help=f"accepted Api-Appid (default {DEFAULT_APP_ID})"
    )
    p.add_argument(
        "--rate-limit", type=int, default=180, help="requests per rolling minute (default 180)"
    )
    p.add_argument(
        "--custom-objects", type=int, default=0, help="extra synthetic custom object types (10003+)"
    )
    p.add_argument("--log-level", default="warning", help="uvicorn log level (default warning)")
    return p


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if (
        args.contacts < 0
        or args.custom_objects < 0
        or args.rate_limit < 1
        or not 0 < args.port < 65536
    ):
        print(
            "error: --contacts/--custom-objects must be >= 0, --rate-limit >= 1, --port 1..65535",
            file=sys.stderr,
        )
        return 2
    import uvicorn

    from .app import create_app

    config = SandboxConfig(
        db=args.db,
        seed=args.seed,
        contacts=args.contacts,
        api_key=args.api_key,
        app_id=args.app_id,
        rate_limit=args.rate_limit,
        custom_objects=args.custom_objects,
    )
    app = create_app(config)
    base = f"http://{args.host}:{args.port}/1"
    print(f"Ontraport sandbox: {base}", flush=True)
    print(f"  Api-Key:   {config.api_key}", flush=True)
    print(f"  Api-Appid: {config.app_id}", flush=True)
    print(f"  account_id {config.account_id}; database {config.db}; seed {config.seed}", flush=True)
    print(f"  admin: http://{args.host}:{args.port}/_admin/health", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0


def main() -> None:
    raise SystemExit(run())


if __name__ == "__main__":
    main()
