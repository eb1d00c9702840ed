"""stdio transport for local desktop clients: one account, credentials from the environment."""

from __future__ import annotations

import sys

import anyio
from mcp.server.stdio import stdio_server
from pydantic import SecretStr

from ..settings import Settings


def run_stdio(settings: Settings, *, sandbox: bool = False) -> int:
    handle = None
    if sandbox:
        from ..sandbox.testing import SandboxServer

        handle = SandboxServer()
        handle.start()
        settings.base_url = handle.base_url
        settings.api_key = settings.api_key or _secret(handle.api_key)
        settings.app_id = settings.app_id or _secret(handle.app_id)
    if settings.single_account() is None:
        print(
            "stdio needs one account: set ONTRAPORT_API_KEY and ONTRAPORT_APP_ID (or use --sandbox).",
            file=sys.stderr,
        )
        return 2

    from .server import OntraportMCP

    async def main() -> None:
        mcp = OntraportMCP(settings)
        try:
            async with stdio_server() as (read_stream, write_stream):
                await mcp.server.run(
                    read_stream, write_stream, mcp.server.create_initialization_options()
                )
        finally:
            await mcp.aclose()

    try:
        anyio.run(main)
    finally:
        if handle is not None:
            handle.stop()
    return 0


def _secret(value: str) -> SecretStr:
    return SecretStr(value)
