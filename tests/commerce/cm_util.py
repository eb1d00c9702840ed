"""Commerce end-to-end fixtures: a fresh seeded sandbox and an MCP server per test module.

Ledger assertions need a known state, so commerce modules do not share the session sandbox.
Helpers read the sandbox's request log: every POST/PUT/DELETE the server sent upstream.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import mcp_types as types
import pytest

from ontraport_mcp.sandbox.config import SandboxConfig
from ontraport_mcp.sandbox.testing import SandboxServer
from tests.conftest import server_settings
from tests.server_thread import ServerThread

# Seed anchors (ontraport_mcp.sandbox.seed.ANCHORS): invoice id by status, and the contacts.
PAID, OPEN, REFUNDED, PARTIAL, VOIDED, DECLINED = 1, 2, 3, 4, 5, 6
WRITTEN_OFF, PENDING, COLLECTIONS, DRAFT = 7, 8, 9, 10
ADA, BEN, CARLA, FINN = 1, 2, 3, 6  # Ben's default card declines; Carla has no card
SUBSCRIPTION_ORDER, PLAN_ORDER, PAST_DUE_ORDER = 1, 2, 3


@dataclass
class Env:
    sb: SandboxServer
    srv: ServerThread

    @property
    def url(self) -> str:
        return self.srv.url

    @property
    def headers(self) -> dict[str, str]:
        return dict(self.sb.headers)

    def writes(self) -> list[tuple[str, str]]:
        """(method, path) of every write the sandbox received since the last clear()."""
        return [(r["method"], r["path"]) for r in self.sb.requests() if r["method"] != "GET"]

    def write_bodies(self) -> list[Any]:
        return [r["body"] for r in self.sb.requests() if r["method"] != "GET"]

    def clear(self) -> None:
        self.sb.clear_requests()

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Direct sandbox HTTP (test setup and ledger checks), returning ``data``."""
        with self.sb.client() as http:
            response = http.request(method, path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json().get("data")

    def invoice(self, invoice_id: int) -> dict[str, Any]:
        return dict(self.api("GET", "/Transaction", params={"id": invoice_id}))

    def new_invoice(self, contact_id: int = ADA, price: float = 10.0) -> int:
        """A new unpaid invoice made directly in the sandbox (not through the MCP server)."""
        data = self.api(
            "POST",
            "/transaction/requestPayment",
            json={
                "contact_id": contact_id,
                "chargeNow": "requestPayment",
                "gateway_id": 1,
                "due_on": 7,
                "offer": {"products": [{"id": 4, "quantity": 1, "price": [{"price": price}]}]},
            },
        )
        return int(data["invoice_id"])

    def with_status(self, code: str) -> list[int]:
        """Ids of the invoices whose status code is ``code`` (e.g. "9" drafts)."""
        cond = json.dumps([{"field": {"field": "status"}, "op": "=", "value": {"value": code}}])
        rows = self.api("GET", "/Transactions", params={"condition": cond, "range": 50})
        return [int(r["id"]) for r in rows]

    def declined_invoice(self, contact_id: int = ADA, price: float = 10.0) -> int:
        iid = self.new_invoice(contact_id, price)
        self.api("PUT", "/transaction/convertToDecline", data={"id": iid})
        return iid


@contextmanager
def environment(**settings: Any) -> Iterator[Env]:
    """A fresh seeded sandbox and an MCP server (with these settings) in front of it."""
    config = SandboxConfig(db=":memory:", rate_limit=1_000_000)
    with SandboxServer(config) as sb:
        # its own data dir (the duplicate guard persists in the store) and no rate budget in
        # the way: these tests make many calls a minute on purpose
        settings.setdefault("rate_limit_per_minute", 1_000_000)
        with ServerThread(server_settings(sb.base_url, **settings)) as srv:
            yield Env(sb, srv)


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    with environment() as e:
        yield e


def structured(result: types.CallToolResult) -> dict[str, Any]:
    """The result's payload: structuredContent (equal to the JSON text) on success, the error
    object of the text block on an error (which carries no structuredContent)."""
    text = result.content[0].text if result.content else ""  # type: ignore[union-attr]
    if result.is_error:
        assert result.structured_content is None, result
        return dict(json.loads(text))
    assert isinstance(result.structured_content, dict), result
    assert json.loads(text) == result.structured_content
    return result.structured_content


async def call(client: Any, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """Call a tool; the SDK client validates structuredContent against the outputSchema."""
    return structured(await client.call_tool(name, args))


async def call_ok(client: Any, name: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, args)
    assert not result.is_error, result.content
    return structured(result)


async def call_err(client: Any, name: str, args: dict[str, Any], code: str) -> dict[str, Any]:
    result = await client.call_tool(name, args)
    assert result.is_error, result.content
    payload = structured(result)
    assert payload["code"] == code, payload
    return payload


async def ask(client: Any, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """First call of a confirmed tool: nothing happens, a summary and token come back."""
    first = await call_ok(client, name, args)
    assert first["status"] == "confirmation_required", first
    assert first["confirmation_token"].startswith("ct_") and first["summary"]
    return first


async def confirmed(client: Any, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """The token flow: ask, then repeat with identical arguments plus the token."""
    first = await ask(client, name, args)
    done = await call_ok(client, name, {**args, "confirmation_token": first["confirmation_token"]})
    assert done["status"] == "done", done
    done["_summary"] = first["summary"]
    return done


def elicitation(answer: str, seen: list[str] | None = None) -> Any:
    """An elicitation callback answering accept (confirm: true), decline or cancel."""

    async def callback(context: Any, params: Any) -> types.ElicitResult:
        if seen is not None:
            seen.append(params.message)
        if answer == "accept":
            return types.ElicitResult(action="accept", content={"confirm": True})
        if answer == "accept-no":
            return types.ElicitResult(action="accept", content={"confirm": False})
        return types.ElicitResult(action=answer)  # type: ignore[arg-type]

    return callback
