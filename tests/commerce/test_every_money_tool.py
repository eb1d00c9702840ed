"""Every $ tool, on every confirmation channel: nothing changes in the ledger until the user
confirms, and a confirmed call makes exactly its own writes — once."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

import pytest

from ontraport_mcp.generated.tools import TOOLS
from tests.commerce.cm_util import ADA, CARLA, Env, ask, call_ok, elicitation
from tests.server_thread import connect

pytestmark = pytest.mark.anyio
_n = itertools.count(1)


def _order(env: Env) -> int:
    data = env.api("POST", "/transaction/processManual", json={
        "contact_id": ADA, "chargeNow": "chargeNow", "gateway_id": 1,
        "offer": {"products": [{"id": 2, "type": "subscription",
                                "price": [{"price": 19, "unit": "month"}]}]}})  # fmt: skip
    return int(data["order_id"])


def _paid(env: Env) -> int:
    iid = env.new_invoice(ADA, 12)
    env.api("PUT", "/transaction/markPaid", data={"id": iid, "type": 3})
    return iid


Case = Callable[[Env], tuple[dict[str, Any], list[tuple[str, str]]]]
CASES: dict[str, Case] = {
    "create_invoice": lambda env: (
        {"contact_id": ADA, "gateway_id": 1, "customer_note": f"n{next(_n)}",
         "offer": {"products": [{"product_id": 7, "price": 500}]}},
        [("POST", "/transaction/requestPayment")],
    ),
    "update_invoice": lambda env: (
        {"id": env.new_invoice(ADA, 8), "customer_note": "changed"},
        [("POST", "/transaction/requestPayment"), ("PUT", "/transaction/void")],
    ),
    "pay_invoice": lambda env: ({"id": env.new_invoice(ADA, 9)}, [("POST", "/transaction/payInvoice")]),
    "process_transaction": lambda env: (
        {"contact_id": ADA, "gateway_id": 1, "external_order_id": f"T{next(_n)}",
         "offer": {"products": [{"product_id": 4}]}},
        [("POST", "/transaction/processManual")],
    ),
    "log_offline_purchase": lambda env: (
        {"contact_id": CARLA, "method": "cash", "note": f"receipt {next(_n)}",
         "offer": {"products": [{"product_id": 8}]}},
        [("POST", "/transaction/processManual")],
    ),
    "mark_transaction_paid": lambda env: (
        {"id": env.new_invoice(ADA, 10), "method": "ach"}, [("PUT", "/transaction/markPaid")],
    ),
    "rerun_transaction": lambda env: (
        {"id": env.declined_invoice(ADA, 11)}, [("POST", "/transaction/rerun")],
    ),
    "refund_transaction": lambda env: ({"id": _paid(env)}, [("PUT", "/transaction/refund")]),
    "void_transaction": lambda env: ({"id": env.new_invoice(ADA, 13)}, [("PUT", "/transaction/void")]),
    "write_off_transaction": lambda env: (
        {"id": env.new_invoice(ADA, 14)}, [("PUT", "/transaction/writeOff")],
    ),
    "convert_transaction": lambda env: (
        {"id": env.new_invoice(ADA, 15), "to": "decline"},
        [("PUT", "/transaction/convertToDecline")],
    ),
    "cancel_subscription": lambda env: ({"order_id": _order(env)}, [("DELETE", "/Order")]),
    "update_order": lambda env: (
        {"order_id": _order(env), "price": 21}, [("PUT", "/transaction/order")],
    ),
}  # fmt: skip


def test_every_money_tool_is_covered() -> None:
    money = {t.name for t in TOOLS if t.tool_class == "$"}
    assert money == set(CASES)


@pytest.mark.parametrize("tool", sorted(CASES))
async def test_token_channel(env: Env, tool: str) -> None:
    args, expected = CASES[tool](env)
    env.clear()
    async with connect(env.url, env.headers, mode="legacy") as client:
        first = await ask(client, tool, args)
        assert re.search(r"\$\d[\d,]*\.\d\d", first["summary"]), first["summary"]  # the amount
        assert env.writes() == []  # asking changes nothing
        token = first["confirmation_token"]
        done = await call_ok(client, tool, {**args, "confirmation_token": token})
        assert done["status"] == "done"
        assert env.writes() == expected
        dup = await call_ok(client, tool, {**args, "confirmation_token": token})
        assert dup["status"] == "duplicate"
    assert env.writes() == expected  # exactly one change per confirmed call


@pytest.mark.parametrize("mode", ["legacy", "auto"])
@pytest.mark.parametrize("tool", sorted(CASES))
async def test_elicitation_channel(env: Env, tool: str, mode: str) -> None:
    args, expected = CASES[tool](env)
    env.clear()
    asked: list[str] = []
    declined = elicitation("decline", asked)
    async with connect(env.url, env.headers, mode=mode, elicitation_callback=declined) as client:
        out = await call_ok(client, tool, args)
    assert out["status"] == "declined"
    assert len(asked) == 1 and asked[0].startswith(out["summary"])
    assert env.writes() == []
    async with connect(env.url, env.headers, mode=mode, elicitation_callback=elicitation("accept")) as client:  # fmt: skip
        done = await call_ok(client, tool, args)
    assert done["status"] == "done"
    assert env.writes() == expected
