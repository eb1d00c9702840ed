"""The commerce example requests of the product catalog, scripted as an agent would run them."""

from __future__ import annotations

import time

import pytest

from tests.commerce.cm_util import Env, call_ok, confirmed, elicitation
from tests.server_thread import connect

pytestmark = pytest.mark.anyio
DAY = 86400


def john(env: Env) -> tuple[int, int]:
    """John Smith and a $500 Consulting product, made directly in the sandbox."""
    contact = env.api("POST", "/Contacts", json={"firstname": "John", "lastname": "Smith",
                                                 "email": "john.smith@example.com"})  # fmt: skip
    product = env.api("POST", "/Products", json={"name": "Consulting", "price": "500.00"})
    return int(contact["id"]), int(product["id"])


async def test_create_a_draft_invoice_for_john_then_send_it(env: Env) -> None:
    """Example request: 'Create a draft invoice for John for $500 of consulting, then send it.'"""
    john_id, consulting = john(env)
    env.clear()
    offer = {"products": [{"product_id": consulting, "price": 500}]}
    async with connect(env.url, env.headers) as client:
        checked = await call_ok(client, "validate_offer", {"offer": offer})
        assert checked["valid"] and checked["totals"]["total"] == 500.0
        created = await confirmed(
            client, "create_invoice", {"contact_id": john_id, "offer": offer, "gateway_id": 1}
        )
        assert created["_summary"].startswith(
            "Create an invoice for John Smith, $500.00: Consulting; due on receipt; not emailed"
        )
        invoice_id = created["invoice_id"]
        assert env.writes() == [("POST", "/transaction/requestPayment")]
        finalised = await confirmed(client, "update_invoice", {"id": invoice_id, "status": "open"})
        assert finalised["status_after"] == "open" and finalised["id"] == invoice_id
        sent = await call_ok(client, "send_invoice", {"id": invoice_id})
        assert sent["status"] == "open" and "John Smith" in sent["message"]
    assert env.writes() == [
        ("POST", "/transaction/requestPayment"),
        ("POST", "/transaction/resendInvoice"),
    ]
    invoice = env.invoice(invoice_id)
    assert (invoice["status"], invoice["total"], invoice["contact_id"]) == (
        "0", "500.00", str(john_id))  # fmt: skip


async def test_refund_johns_299_payment_from_last_week(env: Env) -> None:
    """Example request: 'Refund John's $299 payment from last week.' (elicitation, 2026-07-28)"""
    john_id, consulting = john(env)
    last_week = int(time.time()) - 6 * DAY
    sales = {}
    for price in (299, 49):
        data = env.api("POST", "/transaction/processManual", json={
            "contact_id": john_id, "chargeNow": "chargeLog", "trans_date": last_week * 1000,
            "offer": {"products": [{"id": consulting, "price": [{"price": price}]}]}})  # fmt: skip
        sales[price] = int(data["invoice_id"])
    env.clear()
    asked: list[str] = []
    since = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 8 * DAY))
    async with connect(env.url, env.headers, elicitation_callback=elicitation("accept", asked)) as client:  # fmt: skip
        payments = await call_ok(client, "get_payments", {"contact_id": john_id, "since": since})
        target = next(p for p in payments["records"] if p["amount"] == 299.0)
        assert target["invoice_status"] == "paid"
        invoices = await call_ok(client, "get_invoices", {"id": target["invoice_id"]})
        assert invoices["records"][0]["date"] <= time.strftime("%Y-%m-%dT", time.gmtime())
        done = await call_ok(
            client, "refund_transaction",
            {"id": target["invoice_id"], "reason": "Customer asked for a refund"},
        )  # fmt: skip
    assert done["status"] == "done" and done["status_after"] == "refunded"
    assert asked[0].startswith(
        f"Refund invoice #{sales[299]}, $299.00, to John Smith (reason: Customer asked"
    )
    assert env.writes() == [("PUT", "/transaction/refund")]
    assert env.invoice(sales[299])["status"] == "2"
    assert env.invoice(sales[49])["status"] == "1"  # the other payment is untouched
