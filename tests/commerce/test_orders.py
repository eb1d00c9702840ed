"""cancel_subscription and update_order (read the offer, change only what was asked, write back)."""

from __future__ import annotations

import time

import pytest

from tests.commerce.cm_util import (
    ADA,
    PAST_DUE_ORDER,
    PLAN_ORDER,
    SUBSCRIPTION_ORDER,
    Env,
    call_err,
    confirmed,
    environment,
)
from tests.server_thread import connect

pytestmark = pytest.mark.anyio


async def test_update_order_price_and_card(env: Env) -> None:
    env.clear()
    async with connect(env.url, env.headers) as client:
        out = await confirmed(
            client, "update_order", {"order_id": SUBSCRIPTION_ORDER, "price": 24, "cc_id": 3}
        )
    assert out["_summary"] == (
        "Change Pro Membership (order #1) of Ada Quill: price $19.00 → $24.00; charged to "
        "Mastercard ending 4444 (card #3). Each future charge: $19.00 → $24.00 (past invoices do "
        "not change)"
    )
    assert out["changed"] == {"price": 24.0, "cc_id": 3} and out["amount"] == 24.0
    assert (out["status_before"], out["status_after"]) == ("current", "current")
    # one GET of the order offer, then exactly one PUT carrying the whole offer
    assert env.writes() == [("PUT", "/transaction/order")]
    reads = [r["path"] for r in env.sb.requests() if r["method"] == "GET"]
    assert "/transaction/order" in reads
    sent = env.write_bodies()[0]["offer"]
    assert sent["order_id"] == 1 and sent["offer_id"] and sent["products"]
    assert sent["products"][0]["price"][0]["price"] == 24.0
    order = env.api("GET", "/Order", params={"id": 1})
    assert (order["next_sub"], order["cc_id"]) == ("24.00", "3")


async def test_update_order_quantity_unit_and_next_date(env: Env) -> None:
    env.clear()
    when = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 10 * 86400))
    async with connect(env.url, env.headers) as client:
        out = await confirmed(
            client, "update_order",
            {"order_id": PLAN_ORDER, "quantity": 2, "unit": "week", "payment_next_date": when},
        )  # fmt: skip
    assert out["changed"]["quantity"] == 2 and out["changed"]["unit"] == "week"
    assert out["changed"]["payment_next_date"].startswith(when)
    assert out["amount"] == 200.0  # 2 × $100.00 installments
    sent = env.write_bodies()[0]["offer"]
    assert sent["payment_next_date"] > time.time()
    assert (sent["products"][0]["quantity"], sent["products"][0]["price"][0]["unit"]) == (2, "week")
    order = env.api("GET", "/Order", params={"id": PLAN_ORDER})
    assert (order["unit"], order["next_sub"]) == ("week", "200.00")


async def test_update_order_refusals(env: Env) -> None:
    env.clear()
    async with connect(env.url, env.headers) as client:
        await call_err(client, "update_order", {"order_id": 1}, "invalid_arguments")
        await call_err(client, "update_order", {"order_id": 999, "price": 5}, "not_found")
        await call_err(client, "update_order", {"order_id": 1, "cc_id": 2}, "refused")  # Ben's
        await call_err(client, "update_order", {"order_id": 1, "product_id": 5, "price": 1},
                       "invalid_arguments")  # fmt: skip
        await call_err(client, "update_order", {"order_id": 1, "payment_next_date": "2020-01-01"},
                       "invalid_arguments")  # fmt: skip
    assert env.writes() == []


async def test_update_order_with_several_lines_needs_product_id() -> None:
    with environment() as e:
        order = e.api("GET", "/transaction/order", params={"id": 11})  # invoice 11 made order 1
        two = [dict(order["products"][0]),
               {"id": 6, "quantity": 1, "type": "subscription", "name": "Premium Support",
                "price": [{"price": "29.00", "payment_count": 1, "unit": "month"}]}]  # fmt: skip
        e.api("PUT", "/transaction/order", json={"offer": {**order, "products": two}})
        e.clear()
        async with connect(e.url, e.headers) as client:
            out = await call_err(client, "update_order", {"order_id": 1, "price": 9},
                                 "invalid_arguments")  # fmt: skip
            assert "product_id" in out["message"] and out["details"]["choices"] == [2, 6]
            done = await confirmed(client, "update_order", {"order_id": 1, "product_id": 6,
                                                            "price": 9})  # fmt: skip
        assert done["amount"] == 19.0 + 9.0  # both lines bill together
        sent = e.write_bodies()[0]["offer"]["products"]
        assert [p["price"][0]["price"] for p in sent] == ["19.00", 9.0]  # only line 6 changed


async def test_cancel_subscription_by_order_and_by_open_order(env: Env) -> None:
    env.clear()
    async with connect(env.url, env.headers) as client:
        out = await confirmed(client, "cancel_subscription", {"order_id": PAST_DUE_ORDER})
        assert out["_summary"] == (
            "Cancel Premium Support (order #3) of Ben Ortiz: no more charges of $29.00 monthly; "
            "past invoices stay"
        )
        assert (out["status_before"], out["status_after"], out["amount"]) == (
            "past_due", "cancelled", 29.0)  # fmt: skip
        opens = env.api("GET", "/OpenOrders", params={"range": 50})
        open_id = next(int(o["id"]) for o in opens if o["order_id"] == str(SUBSCRIPTION_ORDER))
        out = await confirmed(client, "cancel_subscription", {"open_order_id": open_id})
        assert out["order_id"] == SUBSCRIPTION_ORDER and out["contact_id"] == ADA
        again = await call_err(
            client, "cancel_subscription", {"order_id": PAST_DUE_ORDER, "force": True}, "not_found"
        )
        assert "already be cancelled" in again["message"]
    assert env.writes() == [("DELETE", "/Order"), ("DELETE", "/Order")]
    assert env.invoice(13)["status"] == "5"  # the past invoice of order 3 stays


async def test_cancel_subscription_refusals(env: Env) -> None:
    env.clear()
    async with connect(env.url, env.headers) as client:
        await call_err(client, "cancel_subscription", {}, "invalid_arguments")
        await call_err(client, "cancel_subscription", {"open_order_id": 99999}, "not_found")
        opens = env.api("GET", "/OpenOrders", params={"range": 50})
        plan_open = next(int(o["id"]) for o in opens if o["order_id"] == str(PLAN_ORDER))
        await call_err(client, "cancel_subscription",
                       {"order_id": 1, "open_order_id": plan_open}, "invalid_arguments")  # fmt: skip
    assert env.writes() == []
