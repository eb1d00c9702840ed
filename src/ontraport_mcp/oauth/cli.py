"""Operator commands: ``ontraport-mcp grants list|revoke``.

    grants list [--json]              every live grant: id, client, account digest, level,
                                      created, last used (never a token, key or app id)
    grants revoke GRANT_ID            end one grant: its tokens stop working at once
    grants revoke --account APP_ID    end every grant of that Ontraport account

``main(argv, settings)`` takes the arguments after ``grants`` and returns the exit status:
0 done, 1 nothing matched, 2 usage error, 3 the store cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import TextIO

from ..settings import Settings
from ..state import Store, StoreUnavailable, open_store
from .grants import GrantInfo, Grants
from .server import lifetimes_of

_HEADERS = ("grant", "client", "account", "level", "created", "last used")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ontraport-mcp grants", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list live OAuth grants")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    revoke = commands.add_parser("revoke", help="revoke a grant, or every grant of an account")
    target = revoke.add_mutually_exclusive_group(required=True)
    target.add_argument("grant_id", nargs="?", help="the grant id shown by `grants list`")
    target.add_argument("--account", metavar="APP_ID", help="revoke every grant of this app id")
    return parser


def _when(epoch: float | None) -> str:
    if not epoch:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(epoch))


def _client(info: GrantInfo) -> str:
    return f"{info.client_name} ({info.client_id})" if info.client_name else info.client_id


def _row(info: GrantInfo) -> tuple[str, ...]:
    return (
        info.grant_id,
        _client(info),
        info.account,
        info.level,
        _when(info.created),
        _when(info.last_used),
    )


def print_grants(grants: list[GrantInfo], out: TextIO, *, as_json: bool) -> None:
    """A table (or JSON lines) of grants."""
    if as_json:
        for info in grants:
            record = {
                "grant_id": info.grant_id,
                "client_id": info.client_id,
                "client_name": info.client_name,
                "account": info.account,
                "level": info.level,
                "created": info.created,
                "last_used": info.last_used,
            }
            out.write(json.dumps(record) + "\n")
        return
    if not grants:
        out.write("no OAuth grants\n")
        return
    rows = [_HEADERS, *(_row(info) for info in grants)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(_HEADERS))]
    for row in rows:
        out.write(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            + "\n"
        )


async def run(args: argparse.Namespace, store: Store, settings: Settings, out: TextIO) -> int:
    grants = Grants(store, lifetimes_of(settings))
    if args.command == "list":
        print_grants(await grants.list_grants(), out, as_json=args.json)
        return 0
    if args.account is not None:
        count = await grants.revoke_account(args.account)
        out.write(f"revoked {count} grant{'s' if count != 1 else ''} of that account\n")
        return 0 if count else 1
    if await grants.revoke_grant(args.grant_id):
        out.write(f"revoked grant {args.grant_id}\n")
        return 0
    out.write(f"no live grant {args.grant_id}\n")
    return 1


def main(argv: Sequence[str], settings: Settings, *, out: TextIO | None = None) -> int:
    """Run one ``grants`` command against the store ``settings`` name."""
    out = out or sys.stdout
    try:
        args = _parser().parse_args(list(argv))
    except SystemExit as exc:  # argparse has printed the usage
        return 2 if exc.code else 0

    async def go() -> int:
        store = open_store(settings.store, data_dir=os.path.expanduser(settings.data_dir))
        try:
            return await run(args, store, settings, out)
        finally:
            await store.aclose()

    try:
        return asyncio.run(go())
    except StoreUnavailable as exc:
        sys.stderr.write(f"the state store cannot be reached: {exc}\n")
        return 3
