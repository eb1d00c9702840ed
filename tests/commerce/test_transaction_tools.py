"""process_transaction, log_offline_purchase and the invoice state tools, against the ledger.

State rules come from one table (overrides/transactions.TRANSITIONS) mirroring the sandbox's
``INVOICE_TRANSITIONS``; a refusal names the current state and the valid ones, before any write.
"""

from __future__ import annotations

import json

import pytest

from ontraport_mcp.overrides.commerce_reads import INVOICE_STATUS
from ontraport_mcp.overrides.transactions import TRANSITIONS
from ontraport_mcp.sandbox.commerce import INVOICE_TRANSITIONS
from tests.commerce.cm_util import (
    ADA,
    BEN,
    CARLA,
    COLLECTIONS,
    DECLINED,
    FINN,
    OPEN,
    PAID,
    PARTIAL,
    PENDING,
    REFUNDED,
    VOIDED,
    WRITTEN_OFF,
    Env,
    call_err,
    confirmed,
)
from tests.server_thread import connect

pytestmark = pytest.mark.anyio


def test_transition_table_mirrors_the_sandbox() -> None:
    for action, (allowed, after) in INVOICE_TRANSITIONS.items():
        if action == "rerunCommission":
            continue  # no tool re-runs commissions
        rule = TRANSITIONS[action]
        assert rule.allowed == {INVOICE_STATUS[c] for c in allowed}, action
        assert rule.after == (INVOICE_STATUS[after] if after else None), action


# ------------------------------------------------------------------------------ process_transaction
async def test_process_transaction_charges_a_card_on_file(env: Env) -> None:
    env.clear()
    args = {"contact_id": ADA, "gateway_id": 1, "external_order_id": "WEB-7",
            "offer": {"products": [{"product_id": 1, "taxable": True, "shipped": True},
                                   {"product_id": 2, "type": "subscription", "unit": "month"}],
                      "tax_ids": [1], "shipping_id": 1}}  # fmt: skip
    async with connect(env.url, env.headers) as client:
        out = await confirmed(client, "process_transaction", args)
    assert out["_summary"] == (
        "Charge Ada Quill $78.54 now on Visa ending 4242 (card #1) through Sandbox Stripe: "
        "Starter Kit, Pro Membership ($19.00 monthly) + tax $4.04 + shipping $6.50; then $19.00 "
        "monthly until cancelled (Pro Membership)"
    )
    assert (out["declined"], out["status_after"], out["total"]) == (False, "paid", 78.54)
    assert out["order_id"] and "Order #" in out["message"]
    assert env.writes() == [("POST", "/transaction/processManual")]
    body = env.write_bodies()[0]
    assert (body["chargeNow"], body["cc_id"], body["gateway_id"]) == ("chargeNow", 1, 1)
    assert "payer" not in body
    inv = env.invoice(out["invoice_id"])
    assert (inv["status"], inv["total"], inv["external_order_id"]) == ("1", "78.54", "WEB-7")
    order = env.api("GET", "/Order", params={"id": out["order_id"]})
    assert order["next_charge"] == "19.00"


async def test_process_transaction_decline_is_a_result(env: Env) -> None:
    env.clear()
    async with connect(env.url, env.headers) as client:
        out = await confirmed(
            client, "process_transaction",
            {"contact_id": BEN, "gateway_id": 2, "offer": {"products": [{"product_id": 4}]}},
        )  # fmt: skip
    assert out["declined"] is True and out["status_after"] == "declined"
    assert "Declined" in out["message"] and "payment page" in out["message"]
    assert env.invoice(out["invoice_id"])["status"] == "5"
    assert env.writes() == [("POST", "/transaction/processManual")]


async def test_process_transaction_refusals(env: Env) -> None:
    env.clear()
    sale = {"gateway_id": 1, "offer": {"products": [{"product_id": 4}]}}
    async with connect(env.url, env.headers) as client:
        out = await call_err(
            client, "process_transaction", {**sale, "contact_id": CARLA}, "refused"
        )
        assert "no default card" in out["message"] and "payment page" in out["message"]
        out = await call_err(
            client, "process_transaction", {**sale, "contact_id": ADA, "cc_id": 2}, "refused"
        )
        assert "card #2 is not a card on file of Ada Quill" in out["message"]
        await call_err(client, "process_transaction", {**sale, "contact_id": 7}, "refused")
        await call_err(
            client, "process_transaction",
            {"contact_id": ADA, "offer": {"products": [{"product_id": 4}]}}, "invalid_arguments",
        )  # fmt: skip
        await call_err(
            client, "process_transaction",
            {**sale, "contact_id": ADA, "offer": {"products": [{"product_id": 2,
                                                                "type": "subscription"}]}},
            "invalid_arguments",
        )  # fmt: skip
        await call_err(
            client, "process_transaction",
            {**sale, "contact_id": ADA, "payer": {"ccnumber": "4111111111111111"}},
            "invalid_arguments",
        )  # fmt: skip
    assert env.writes() == []


# ------------------------------------------------------------------------------ log_offline_purchase
async def test_log_offline_purchase(env: Env) -> None:
    env.clear()
    args = {"contact_id": CARLA, "offer": {"products": [{"product_id": 8, "price": 1000}]},
            "method": "check", "note": "check #1001", "date": "2025-12-18",
            "external_order_id": "CHK-1001"}  # fmt: skip
    async with connect(env.url, env.headers) as client:
        out = await confirmed(client, "log_offline_purchase", args)
        assert out["_summary"] == (
            "Record a sale to Carla Diaz already paid by check: Annual Plan, $1,000.00, dated "
            "2025-12-18 (a paid invoice; nothing is charged)"
        )
        assert (out["status_after"], out["total"], out["date"]) == (
            "paid", 1000.0, "2025-12-18T00:00:00Z")  # fmt: skip
        await call_err(
            client, "log_offline_purchase", {**args, "date": "2999-01-01"}, "invalid_arguments"
        )
    assert env.writes() == [("POST", "/transaction/processManual")]
    body = env.write_bodies()[0]
    assert (body["chargeNow"], body["trans_date"]) == ("chargeLog", 1766016000000)
    assert "gateway_id" not in body and "cc_id" not in body
    inv = env.invoice(out["invoice_id"])
    assert (inv["status"], inv["total"], inv["date"]) == ("1", "1000.00", "1766016000")


# ------------------------------------------------------------------------------ state tools
async def test_refund_transaction(env: Env) -> None:
    env.clear()
    async with connect(env.url, env.headers) as client:
        out = await confirmed(client, "refund_transaction", {"id": PARTIAL, "reason": "Guarantee"})
        assert out["_summary"] == "Refund invoice #4, $50.00, to Finn Walsh (reason: Guarantee)"
        assert (out["status_before"], out["status_after"], out["reason"]) == (
            "partially_refunded", "refunded", "Guarantee")  # fmt: skip
        for iid, state in ((OPEN, "open"), (REFUNDED, "refunded"), (VOIDED, "voided")):
            refused = await call_err(client, "refund_transaction", {"id": iid}, "refused")
            assert f"is {state}" in refused["message"]
            assert "paid or partially_refunded" in refused["message"]
            assert refused["details"]["current_status"] == state
    assert env.writes() == [("PUT", "/transaction/refund")]
    assert json.loads(json.dumps(env.write_bodies()[0])) == {"objectID": 46, "ids": [PARTIAL]}


async def test_void_transaction(env: Env) -> None:
    env.clear()
    async with connect(env.url, env.headers) as client:
        out = await confirmed(client, "void_transaction", {"id": PENDING})
        assert (out["status_before"], out["status_after"], out["contact_id"]) == (
            "pending", "voided", FINN)  # fmt: skip
        refused = await call_err(client, "void_transaction", {"id": PAID}, "refused")
        assert "refund_transaction" in refused["message"]  # settled: refund instead
    assert env.writes() == [("PUT", "/transaction/void")]


async def test_write_off_transaction(env: Env) -> None:
    iid = env.declined_invoice(ADA, 17)
    env.clear()
    async with connect(env.url, env.headers) as client:
        out = await confirmed(client, "write_off_transaction", {"id": iid})
        assert out["_summary"].endswith("(declined → written_off; no money moves)")
        assert out["status_after"] == "written_off"
        for bad in (PAID, WRITTEN_OFF):
            await call_err(client, "write_off_transaction", {"id": bad}, "refused")
    assert env.writes() == [("PUT", "/transaction/writeOff")]


async def test_mark_transaction_paid(env: Env) -> None:
    iid = env.new_invoice(ADA, 18)
    env.clear()
    async with connect(env.url, env.headers) as client:
        out = await confirmed(
            client, "mark_transaction_paid", {"id": iid, "method": "check", "date": "2026-01-02"}
        )
        assert "as paid by check on 2026-01-02" in out["_summary"]
        assert (out["status_after"], out["method"], out["paid_on"]) == (
            "paid",
            "check",
            "2026-01-02",
        )
        await call_err(client, "mark_transaction_paid", {"id": PAID}, "refused")
        await call_err(client, "mark_transaction_paid", {"id": iid, "date": "2999-01-01",
                                                         "force": True}, "invalid_arguments")  # fmt: skip
    assert env.writes() == [("PUT", "/transaction/markPaid")]
    assert env.write_bodies()[0] == {"id": str(iid), "type": "3"}
    payments = env.api("GET", "/objects", params={"objectID": 227, "condition": json.dumps(
        [{"field": {"field": "invoice_id"}, "op": "=", "value": {"value": iid}}])})  # fmt: skip
    assert [p["amount"] for p in payments] == ["18.00"]


async def test_rerun_transaction(env: Env) -> None:
    good = env.declined_invoice(ADA, 19)  # Ada's card works
    env.clear()
    async with connect(env.url, env.headers) as client:
        out = await confirmed(client, "rerun_transaction", {"id": good})
        assert "Visa ending 4242" in out["_summary"]
        assert (out["declined"], out["status_after"]) == (False, "paid")
        again = await confirmed(client, "rerun_transaction", {"id": COLLECTIONS})  # Ben: declines
        assert (again["declined"], again["status_after"]) == (True, "collections")
        assert "send_invoice" in again["message"]
        refused = await call_err(client, "rerun_transaction", {"id": OPEN}, "refused")
        assert "pay_invoice" in refused["message"]
        carla = env.declined_invoice(CARLA, 5)
        no_card = await call_err(client, "rerun_transaction", {"id": carla}, "refused")
        assert "no card on file" in no_card["message"]
    assert env.writes().count(("POST", "/transaction/rerun")) == 2


async def test_convert_transaction(env: Env) -> None:
    iid = env.new_invoice(ADA, 21)
    env.clear()
    async with connect(env.url, env.headers) as client:
        out = await confirmed(client, "convert_transaction", {"id": iid, "to": "decline"})
        assert (out["status_before"], out["status_after"]) == ("open", "declined")
        out = await confirmed(client, "convert_transaction", {"id": iid, "to": "collections"})
        assert out["_summary"].startswith(
            f"Move invoice #{iid}, $21.00, of Ada Quill from declined"
        )
        assert out["status_after"] == "collections"
        refused = await call_err(client, "convert_transaction", {"id": OPEN, "to": "collections"},
                                 "refused")  # fmt: skip
        assert "to: decline" in refused["message"]
        await call_err(client, "convert_transaction", {"id": DECLINED, "to": "decline"}, "refused")
    assert env.writes() == [
        ("PUT", "/transaction/convertToDecline"),
        ("PUT", "/transaction/convertToCollections"),
    ]


async def test_unknown_invoice(env: Env) -> None:
    env.clear()
    async with connect(env.url, env.headers) as client:
        for tool in ("refund_transaction", "void_transaction", "write_off_transaction",
                     "rerun_transaction", "mark_transaction_paid"):  # fmt: skip
            out = await call_err(client, tool, {"id": 999999}, "not_found")
            assert "get_invoices" in out["message"]
    assert env.writes() == []
