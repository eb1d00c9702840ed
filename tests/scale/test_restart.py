"""The embedded SQLite store: the money duplicate guard and pending confirmations survive a
server restart (a clean stop, and a crash), and every API key of one account shares the guard.

The servers are real ``ontraport-mcp serve`` processes on one ``--data-dir`` (so one
``state.sqlite3``), restarted in between, in front of one sandbox; invoices are counted through
the sandbox's API.  Every process is stopped by its own PID.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ontraport_mcp.sandbox.config import SandboxConfig
from ontraport_mcp.sandbox.testing import SandboxServer
from tests.scale.proxy import ProxyThread
from tests.scale.replicas import Replica, call_tool, payload
from tests.scale.test_replicas import CHARGE, MANUAL, sale

SECOND_KEY = "second-api-key-of-the-same-account"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(db=":memory:", rate_limit=1_000_000)) as server:
        yield server


def _call(sandbox: SandboxServer, replica: Replica, args: dict[str, Any]) -> dict[str, Any]:
    with httpx.Client(headers=dict(sandbox.headers), timeout=60) as http:
        return payload(call_tool(http, replica.url, CHARGE, args))


def _charges(sandbox: SandboxServer) -> int:
    return sum((r["method"], r["path"]) == MANUAL for r in sandbox.requests())


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_the_guard_and_a_pending_confirmation_survive_a_restart(
    sandbox: SandboxServer, tmp_path: Path, how: str
) -> None:
    data_dir = tmp_path / "server"
    server = Replica.start(data_dir, store=None, upstream=sandbox.base_url)
    try:
        token = _call(sandbox, server, sale(1))["confirmation_token"]
        done = _call(sandbox, server, {**sale(1), "confirmation_token": token})
        assert done["status"] == "done", done
        pending = _call(sandbox, server, sale(2))["confirmation_token"]
        getattr(server, how)()  # a clean stop (TERM) or a crash (SIGKILL)
        sandbox.clear_requests()
        server = Replica.start(data_dir, store=None, upstream=sandbox.base_url)
        # the same purchase after the restart: the first result, not a second charge
        again = _call(sandbox, server, sale(1))
        assert again["status"] == "duplicate" and again["invoice_id"] == done["invoice_id"]
        # the confirmation asked before the restart still acts, once
        later = _call(sandbox, server, {**sale(2), "confirmation_token": pending})
        assert later["status"] == "done", later
        spent = _call(sandbox, server, {**sale(2), "confirmation_token": pending})
        assert spent["status"] == "duplicate"
        assert _charges(sandbox) == 1
    finally:
        server.stop()


def test_two_api_keys_of_one_account_make_one_charge(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The sandbox accepts one key per account, so a shim in front of it maps a second key to
    the account's first (as Ontraport accepts every key of an account)."""
    second_key = {"api-key": {SECOND_KEY: sandbox.api_key}}
    with ProxyThread([sandbox.root_url], header_map=second_key) as ontraport:
        server = Replica.start(tmp_path / "server", store=None, upstream=ontraport.url + "/1")
        try:
            first_headers = dict(sandbox.headers)
            second_headers = {**first_headers, "Api-Key": SECOND_KEY}
            results = []
            for headers in (first_headers, second_headers):
                with httpx.Client(headers=headers, timeout=60) as http:
                    asked = payload(call_tool(http, server.url, CHARGE, sale(3)))
                    if asked["status"] != "confirmation_required":
                        results.append(asked)
                        continue
                    args = {**sale(3), "confirmation_token": asked["confirmation_token"]}
                    results.append(payload(call_tool(http, server.url, CHARGE, args)))
            assert [r["status"] for r in results] == ["done", "duplicate"], results
            assert results[1]["invoice_id"] == results[0]["invoice_id"]
            assert _charges(sandbox) == 1
        finally:
            server.stop()
