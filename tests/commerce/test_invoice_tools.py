"""create_invoice, update_invoice, pay_invoice, send_invoice against the sandbox ledger."""

from __future__ import annotations

import json
import time

import pytest

from tests.commerce.cm_util import (
    ADA,
    BEN,
    CARLA,
    DRAFT,
    PAID,
    VOIDED,
    Env,
    ask,
    call_err,
    call_ok,
    confirmed,
)
from tests.server_thread import connect

pytestmark = pytest.mark.anyio
CONSULTING = {"products": [{"product_id": 7, "price": 500}]}


# ------------------------------------------------------------------------------ create_invoice
async def test_create_invoice_open_and_sent(env: Env) -> None:
    env.clear()
    args = {"contact_id": ADA, "gateway_id": 1, "status": "open", "send": True, "due_in_days": 14,
            "customer_note": "Thanks!", "internal_note": "Q4", "external_order_id": "INV-9",
            "offer": {"products": [{"product_id": 1, "quantity": 2, "taxable": True}],
                      "tax_ids": [1]}}  # fmt: skip
    async with connect(env.url, env.headers) as client:
        out = await confirmed(client, "create_invoice", args)
    assert out["_summary"] == (
        "Create an invoice for Ada Quill, $106.09: Starter Kit ×2 + tax $8.09; due "
        f"{time.strftime('%Y-%m-%d', time.gmtime(time.time() + 14 * 86400))}; emailed to the "
        "contact now. The invoice is live as soon as it is created: open and payable by Ada "
        "Quill on Ontraport's payment page (Ontraport has no draft invoices); nothing is "
        "charged now"
    )
    assert (out["total"], out["status_after"], out["sent"]) == (106.09, "open", True)
    assert env.writes() == [("POST", "/transaction/requestPayment")]
    body = env.write_bodies()[0]
    assert body["send_invoice"] is True and body["due_on"] == 14 and body["gateway_id"] == 1
    assert body["offer"]["grandTotal"] == 106.09
    inv = env.invoice(out["invoice_id"])
    assert (inv["status"], inv["total"], inv["customer_note"], inv["external_order_id"]) == (
        "0", "106.09", "Thanks!", "INV-9")  # fmt: skip


async def test_create_invoice_summary_says_it_is_live_and_payable(env: Env) -> None:
    """The default (no status, no send) is an open, payable invoice, and the user is told so
    before confirming; a draft is not offered, since Ontraport's API cannot make one."""
    env.clear()
    async with connect(env.url, env.headers) as client:
        asked = await ask(
            client, "create_invoice", {"contact_id": ADA, "gateway_id": 1, "offer": CONSULTING}
        )
        assert asked["summary"] == (
            "Create an invoice for Ada Quill, $500.00: Gift Card; due on receipt; not emailed. "
            "The invoice is live as soon as it is created: open and payable by Ada Quill on "
            "Ontraport's payment page (Ontraport has no draft invoices); nothing is charged now"
        )
        assert env.writes() == []
        out = await confirmed(
            client, "create_invoice", {"contact_id": ADA, "gateway_id": 1, "offer": CONSULTING}
        )
        draft = await call_err(
            client,
            "create_invoice",
            {"contact_id": ADA, "gateway_id": 1, "offer": CONSULTING, "status": "draft"},
            "invalid_arguments",
        )
        assert "status" in draft["message"]
    assert out["status_after"] == "open" and "requested_status" not in out
    assert out["sent"] is False and "payable on Ontraport's payment page" in out["message"]
    assert env.writes() == [("POST", "/transaction/requestPayment")]  # the draft call sent nothing
    assert env.write_bodies()[0]["send_invoice"] is False
    assert env.invoice(out["invoice_id"])["status"] == "0"  # open (unpaid) upstream


async def test_create_invoice_refusals(env: Env) -> None:
    env.clear()
    async with connect(env.url, env.headers) as client:
        base = {"contact_id": ADA, "gateway_id": 1, "offer": CONSULTING}
        await call_err(client, "create_invoice", {**base, "status": "draft"}, "invalid_arguments")
        bad = await call_err(
            client, "create_invoice",
            {**base, "offer": {"products": [{"product_id": 999}, {"product_id": 2,
                                                                   "type": "payment_plan"}]}},
            "invalid_arguments",
        )  # fmt: skip
        assert {p["path"] for p in bad["details"]["problems"]} >= {
            "products[0].product_id", "products[1].unit", "products[1].payment_count"}  # fmt: skip
        many = await call_err(
            client, "create_invoice", {"contact_id": ADA, "offer": CONSULTING}, "invalid_arguments"
        )
        assert "2 active gateways" in many["message"] and "Sandbox Stripe" in many["message"]
        await call_err(client, "create_invoice", {**base, "gateway_id": 3}, "refused")  # inactive
        await call_err(client, "create_invoice", {**base, "contact_id": 999999}, "not_found")
        await call_err(client, "create_invoice", {**base, "foo": 1}, "invalid_arguments")
    assert env.writes() == []


# ------------------------------------------------------------------------------ update_invoice
async def test_update_invoice_replaces_an_open_invoice(env: Env) -> None:
    old = env.new_invoice(ADA, 80)
    env.clear()
    due = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 30 * 86400))
    args = {"id": old, "offer": {"products": [{"product_id": 5, "quantity": 2}]},
            "due_date": due, "customer_note": "Updated"}  # fmt: skip
    async with connect(env.url, env.headers) as client:
        out = await confirmed(client, "update_invoice", args)
    assert out["_summary"] == (
        f"Replace open invoice #{old} of Ada Quill ($80.00): Ontraport cannot edit an invoice in "
        f"place, so #{old} will be voided and a new invoice for $240.00 (Workshop Ticket ×2) "
        f"created under a new id; due date {due}, customer note Updated. The new invoice is live "
        "as soon as it is created: open and payable by Ada Quill on Ontraport's payment page "
        "(Ontraport has no draft invoices); nothing is emailed"
    )
    assert out["id"] != old
    assert (out["replaced_id"], out["status_before"], out["status_after"]) == (old, "open", "open")
    assert out["amount"] == 240.0 and out["changed"]["due_date"] == due
    assert out["changed"]["customer_note"] == "Updated"
    assert out["changed"]["offer"][0]["name"] == "Workshop Ticket"
    assert env.writes() == [("POST", "/transaction/requestPayment"), ("PUT", "/transaction/void")]
    assert env.invoice(old)["status"] == "4"
    new = env.invoice(out["id"])
    assert (new["status"], new["total"], new["customer_note"]) == ("0", "240.00", "Updated")
    assert new["due_date"] is not None and new["send_invoice"] == "0"


async def test_update_invoice_promotes_a_draft(env: Env) -> None:
    env.clear()
    async with connect(env.url, env.headers) as client:
        refused = await call_err(
            client, "update_invoice", {"id": DRAFT, "customer_note": "x"}, "refused"
        )
        assert "status: open" in refused["message"]
        out = await confirmed(client, "update_invoice", {"id": DRAFT, "status": "open"})
    # the user is told before confirming: the draft is voided, a new invoice (new id) replaces
    # it, and that one is live and payable at once
    assert out["_summary"] == (
        f"Replace draft invoice #{DRAFT} of Ada Quill ($25.00): Ontraport cannot edit an invoice "
        f"in place, so #{DRAFT} will be voided and a new invoice for $25.00 created under a new "
        "id. The new invoice is live as soon as it is created: open and payable by Ada Quill on "
        "Ontraport's payment page (Ontraport has no draft invoices); nothing is emailed"
    )
    assert out["id"] != DRAFT and out["replaced_id"] == DRAFT
    assert (out["status_before"], out["status_after"], out["amount"]) == ("draft", "open", 25.0)
    assert out["changed"] == {"status": "open"}
    assert env.writes() == [("POST", "/transaction/requestPayment"), ("PUT", "/transaction/void")]
    carried = json.loads(env.invoice(out["id"])["offer_data"])
    assert carried["products"][0]["name"] == "Gift Card"
    assert env.invoice(DRAFT)["status"] == "4"


async def test_update_invoice_noop_and_refusals(env: Env) -> None:
    iid = env.new_invoice(ADA, 9)
    env.clear()
    async with connect(env.url, env.headers) as client:
        noop = await confirmed(client, "update_invoice", {"id": iid, "status": "open"})
        assert noop["changed"] == {} and noop["id"] == iid
        assert "already open" in noop["_summary"]
        for invoice_id, state in ((PAID, "paid"), (VOIDED, "voided")):
            out = await call_err(client, "update_invoice", {"id": invoice_id, "status": "open"},
                                 "refused")  # fmt: skip
            assert f"is {state}" in out["message"] and "draft or open" in out["message"]
        await call_err(client, "update_invoice", {"id": iid}, "invalid_arguments")
        await call_err(client, "update_invoice", {"id": iid, "due_date": "2020-01-01"},
                       "invalid_arguments")  # fmt: skip
        await call_err(client, "update_invoice",
                       {"id": iid, "offer": {"products": [{"product_id": 404}]}},
                       "invalid_arguments")  # fmt: skip
        await call_err(client, "update_invoice", {"id": 999999, "status": "open"}, "not_found")
    assert env.writes() == []


# ------------------------------------------------------------------------------ pay_invoice
async def test_pay_invoice_with_the_default_card_and_with_cc_id(env: Env) -> None:
    a, b = env.new_invoice(ADA, 20), env.new_invoice(ADA, 21)
    env.clear()
    async with connect(env.url, env.headers) as client:
        out = await confirmed(client, "pay_invoice", {"id": a})
        assert out["_summary"] == (
            f"Charge Ada Quill $20.00 on Visa ending 4242 (card #1) to pay invoice #{a} (now open)"
        )
        assert (out["declined"], out["status_after"], out["amount"]) == (False, "paid", 20.0)
        out = await confirmed(client, "pay_invoice", {"id": b, "cc_id": 3})
        assert "Mastercard ending 4444" in out["_summary"] and out["cc_id"] == 3
    assert env.writes() == [("POST", "/transaction/payInvoice")] * 2
    assert env.invoice(a)["status"] == env.invoice(b)["status"] == "1"
    assert env.invoice(b)["cc_id"] == "3"


async def test_pay_invoice_decline_is_a_result_not_an_error(env: Env) -> None:
    iid = env.new_invoice(BEN, 30)
    env.clear()
    async with connect(env.url, env.headers) as client:
        out = await confirmed(client, "pay_invoice", {"id": iid})
    assert out["declined"] is True and out["status_after"] == "open"
    assert "payment page" in out["message"]
    assert env.writes() == [("POST", "/transaction/payInvoice")]


async def test_pay_invoice_refusals(env: Env) -> None:
    carla = env.new_invoice(CARLA, 5)
    ada = env.new_invoice(ADA, 5)
    env.clear()
    async with connect(env.url, env.headers) as client:
        no_card = await call_err(client, "pay_invoice", {"id": carla}, "refused")
        assert "no default card" in no_card["message"] and "payment page" in no_card["message"]
        foreign = await call_err(client, "pay_invoice", {"id": ada, "cc_id": 2}, "refused")
        assert "not a card on file" in foreign["message"] and "Visa ending 4242" in (
            foreign["message"])  # fmt: skip
        paid = await call_err(client, "pay_invoice", {"id": PAID}, "refused")
        assert "is paid" in paid["message"] and "already paid" in paid["message"]
        other_draft = env.with_status("9")[-1]
        draft = await call_err(client, "pay_invoice", {"id": other_draft}, "refused")
        assert "update_invoice" in draft["message"]
        # there is no argument for a raw card number at all
        await call_err(client, "pay_invoice", {"id": ada, "ccnumber": "4111111111111111"},
                       "invalid_arguments")  # fmt: skip
    assert env.writes() == []


async def test_pay_invoice_expired_card_refused(env: Env) -> None:
    iid = env.new_invoice(7, 5)  # contact 7's default card (#5) expired in 2024
    env.clear()
    async with connect(env.url, env.headers) as client:
        out = await call_err(client, "pay_invoice", {"id": iid}, "refused")
    assert "is expired" in out["message"] and "payment page" in out["message"]
    assert env.writes() == []


# ------------------------------------------------------------------------------ send_invoice
async def test_send_invoice(env: Env) -> None:
    iid = env.new_invoice(ADA, 7)
    env.clear()
    async with connect(env.url, env.headers) as client:
        out = await call_ok(client, "send_invoice", {"id": iid})  # W: no confirmation
        assert out == {
            "id": iid, "status": "open", "contact_id": ADA, "amount": 7.0,
            "message": f"Emailed invoice #{iid} (open, $7.00) to Ada Quill, with the link to "
            "Ontraport's payment page.",
        }  # fmt: skip
        draft = await call_err(client, "send_invoice", {"id": env.with_status("9")[-1]}, "refused")
        assert "is draft" in draft["message"] and "update_invoice (status: open)" in draft[
            "message"]  # fmt: skip
        await ask(client, "void_transaction", {"id": iid})  # (unrelated: still confirmable)
    assert env.writes() == [("POST", "/transaction/resendInvoice")]
