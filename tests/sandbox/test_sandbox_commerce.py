"""processManual, requestPayment, payInvoice, the invoice state machine, orders and cards."""

from __future__ import annotations

import json

import httpx
import pytest

from ontraport_mcp.sandbox.commerce import INVOICE_TRANSITIONS
from ontraport_mcp.sandbox.testing import SandboxServer
from tests.sandbox.sbx_util import cond, err, ok, spec, spec_validator

SUB = {
    "id": 2,
    "quantity": 1,
    "type": "subscription",
    "price": [{"price": 19, "payment_count": 1, "unit": "month"}],
}
KIT = {
    "id": 1,
    "quantity": 2,
    "type": "single",
    "tax": True,
    "shipping": True,
    "price": [{"price": 49.00, "payment_count": 1, "unit": "month"}],
}


def invoice(api: httpx.Client, iid: int | str) -> dict:
    return dict(ok(api.get("/Transaction", params={"id": iid})))


def contact(api: httpx.Client, cid: int | str) -> dict:
    return dict(ok(api.get("/Contact", params={"id": cid})))


def new_unpaid(api: httpx.Client, cid: int = 1, price: float = 10.0) -> int:
    return int(
        ok(
            api.post(
                "/transaction/requestPayment",
                json={
                    "contact_id": cid,
                    "chargeNow": "requestPayment",
                    "gateway_id": 1,
                    "trans_date": 1767000000000,
                    "due_on": 10,
                    "offer": {
                        "products": [
                            {"id": 4, "quantity": 1, "type": "single", "price": [{"price": price}]}
                        ]
                    },
                },
            )
        )["invoice_id"]
    )


def test_process_manual_charge_now_with_taxes_and_shipping(api: httpx.Client) -> None:
    spent_before = float(contact(api, 1)["spent"])
    data = ok(
        api.post(
            "/transaction/processManual",
            json={
                "contact_id": 1,
                "chargeNow": "chargeNow",
                "gateway_id": 1,
                "cc_id": 1,
                "invoice_template": 1,
                "trans_date": 1767000000000,
                "external_order_id": "WEB-1",
                "offer": {
                    "products": [KIT],
                    "taxes": [{"id": 1, "rate": 8.25, "name": "Sales Tax", "taxShipping": False}],
                    "hasTaxes": True,
                    "shipping": [{"id": 1, "name": "Ground", "price": 6.50}],
                    "hasShipping": True,
                },
            },
        )
    )
    assert data["result_code"] == 0 and isinstance(data["invoice_id"], int) and data["external_txn"]
    inv = invoice(api, data["invoice_id"])
    assert (inv["status"], inv["subtotal"], inv["tax"], inv["shipping"], inv["total"]) == (
        "1",
        "98.00",
        "8.09",
        "6.50",
        "112.59",
    )
    assert (
        inv["date"] == "1767000000" and inv["external_order_id"] == "WEB-1" and inv["cc_id"] == "1"
    )
    offer = json.loads(inv["offer_data"])
    assert offer["grandTotal"] == "112.59" and offer["products"][0]["name"] == "Starter Kit"
    purchases = ok(
        api.get("/Purchases", params={"condition": cond(("invoice_id", "=", data["invoice_id"]))})
    )
    assert [(p["product_id"], p["quantity"], p["status"]) for p in purchases] == [("1", "2", "1")]
    payments = ok(
        api.get(
            "/objects",
            params={"objectID": 227, "condition": cond(("invoice_id", "=", data["invoice_id"]))},
        )
    )
    assert [(p["amount"], p["status"]) for p in payments] == [("112.59", "1")]
    after = contact(api, 1)
    assert float(after["spent"]) == pytest.approx(spent_before + 112.59)
    assert after["mriInvoiceNum"] == str(data["invoice_id"]) and after["mrcResult"] == "0"


def test_subscription_creates_order_open_order_and_offer(api: httpx.Client) -> None:
    data = ok(
        api.post(
            "/transaction/processManual",
            json={
                "contact_id": 6,
                "chargeNow": "chargeNow",
                "gateway_id": 1,
                "offer": {"products": [SUB]},
            },
        )
    )
    assert data["result_code"] == 0 and data.get("order_id")
    order = ok(api.get("/Order", params={"id": data["order_id"]}))
    assert (order["contact_id"], order["unit"], order["next_sub"], order["status"]) == (
        "6",
        "month",
        "19.00",
        "0",
    )
    assert order["cc_id"] == "4"  # contact 6's default card
    opens = ok(
        api.get("/OpenOrders", params={"condition": cond(("order_id", "=", data["order_id"]))})
    )
    assert [(o["type"], o["payment_amount"], o["billing_status"]) for o in opens] == [
        ("0", "19.00", "current")
    ]
    offer = ok(api.get("/Offer", params={"id": order["offer_id"]}))
    assert json.loads(offer["data"])["products"][0]["type"] == "subscription"
    assert invoice(api, data["invoice_id"])["order_id"] == str(data["order_id"])


def test_declining_card_reports_in_body(api: httpx.Client) -> None:
    before = contact(api, 2)
    data = ok(
        api.post(
            "/transaction/processManual",
            json={
                "contact_id": 2,
                "chargeNow": "chargeNow",
                "gateway_id": 1,
                "offer": {"products": [SUB]},
            },
        )
    )
    assert data["result_code"] != 0 and "Declined" in data["message"]
    inv = invoice(api, data["invoice_id"])
    assert inv["status"] == "5"
    assert (
        ok(
            api.get(
                "/objects",
                params={"objectID": 227, "condition": cond(("invoice_id", "=", inv["id"]))},
            )
        )
        == []
    )
    order = ok(api.get("/Order", params={"id": data["order_id"]}))
    assert (
        order["status"] == "1"
    )  # past due, open order kept (create_open_order_on_decline default)
    after = contact(api, 2)
    assert after["mrcResult"] == "1" and after["spent"] == before["spent"]
    assert float(after["mrcUnpaid"]) > float(before["mrcUnpaid"])
    data = ok(
        api.post(
            "/transaction/processManual",
            json={
                "contact_id": 2,
                "chargeNow": "chargeNow",
                "gateway_id": 1,
                "create_open_order_on_decline": False,
                "offer": {"products": [SUB]},
            },
        )
    )
    assert "order_id" not in data


def test_charge_log_and_new_card_from_payer(msb: SandboxServer, api: httpx.Client) -> None:
    data = ok(
        api.post(
            "/transaction/processManual",
            json={
                "contact_id": 3,
                "chargeNow": "chargeLog",
                "offer": {"products": [{"id": 7, "quantity": 1}]},
            },
        )
    )
    assert list(data) == ["invoice_id"] and isinstance(data["invoice_id"], int)
    assert invoice(api, data["invoice_id"])["status"] == "1"
    err(
        api.post(
            "/transaction/processManual",
            json={
                "contact_id": 3,
                "chargeNow": "chargeNow",
                "gateway_id": 1,
                "offer": {"products": [{"id": 7}]},
            },
        ),
        400,
    )
    msb.clear_requests()
    data = ok(
        api.post(
            "/transaction/processManual",
            json={
                "contact_id": 3,
                "chargeNow": "chargeNow",
                "gateway_id": 1,
                "offer": {"products": [{"id": 7}]},
                "payer": {
                    "ccnumber": "4111111111111111",
                    "code": "123",
                    "expire_month": 4,
                    "expire_year": 2031,
                },
            },
        )
    )
    assert data["result_code"] == 0
    cards = ok(api.get("/CreditCards", params={"condition": cond(("contact_id", "=", 3))}))
    assert [(c["last4"], c["type"], c["status"]) for c in cards] == [("1111", "1", "3")]
    assert "4111111111111111" not in json.dumps(cards)
    log = msb.requests()
    assert "4111111111111111" not in json.dumps(log)
    payer = next(e for e in log if e["path"] == "/transaction/processManual")["body"]["payer"]
    assert payer["ccnumber"].endswith("1111") and payer["code"] == "[redacted]"
    declined = ok(
        api.post(
            "/transaction/processManual",
            json={
                "contact_id": 3,
                "chargeNow": "chargeNow",
                "gateway_id": 1,
                "offer": {"products": [{"id": 7}]},
                "payer": {
                    "ccnumber": "4000000000000002",
                    "code": "123",
                    "expire_month": 4,
                    "expire_year": 2031,
                },
            },
        )
    )
    assert declined["result_code"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {
            "contact_id": 1,
            "chargeNow": "chargeNow",
            "gateway_id": 3,
            "offer": {"products": [KIT]},
        },  # inactive gateway
        {
            "contact_id": 1,
            "chargeNow": "chargeNow",
            "offer": {"products": [KIT]},
        },  # gateway missing
        {"contact_id": 1, "chargeNow": "now", "gateway_id": 1, "offer": {"products": [KIT]}},
        {"contact_id": 1, "chargeNow": "chargeLog", "offer": {"products": []}},
        {"contact_id": 1, "chargeNow": "chargeLog", "offer": {"products": [{"id": 999}]}},
        {
            "contact_id": 1,
            "chargeNow": "chargeLog",
            "offer": {"products": [{"id": 1, "quantity": -1}]},
        },
        {
            "contact_id": 1,
            "chargeNow": "chargeLog",
            "offer": {"products": [{"id": 1}], "taxes": [{"id": 0, "rate": 5}]},
        },
        {
            "contact_id": 1,
            "chargeNow": "chargeLog",
            "trans_date": 1767000000,
            "offer": {"products": [{"id": 1}]},
        },
        {"contact_id": 999999, "chargeNow": "chargeLog", "offer": {"products": [{"id": 1}]}},
        {
            "contact_id": 1,
            "chargeNow": "chargeNow",
            "gateway_id": 1,
            "cc_id": 2,
            "offer": {"products": [{"id": 1}]},
        },
        {"contact_id": 1, "chargeNow": "chargeLog", "offer": "nope"},
    ],
)
def test_process_manual_rejects_bad_input(api: httpx.Client, body: dict) -> None:
    count = ok(api.get("/Transactions/getInfo"))["count"]
    err(api.post("/transaction/processManual", json=body), 400)
    assert ok(api.get("/Transactions/getInfo"))["count"] == count  # nothing was created


def test_request_payment_and_pay_invoice(api: httpx.Client) -> None:
    iid = new_unpaid(api, 1, 12.5)
    inv = invoice(api, iid)
    assert (
        inv["status"] == "0"
        and inv["total"] == "12.50"
        and inv["due_date"] == str(1767000000 + 10 * 86400)
    )
    assert contact(api, 1)["unpaid_invoices"] == "1"
    paid = ok(api.post("/transaction/payInvoice", json={"invoice_id": iid}))
    assert paid["result_code"] == 0 and invoice(api, iid)["status"] == "1"
    msg = err(api.post("/transaction/payInvoice", json={"invoice_id": iid}), 400)
    assert "1 (paid)" in msg
    # contact 2's default card declines: HTTP 400, invoice unchanged
    iid2 = new_unpaid(api, 2)
    assert (
        "declined"
        in err(api.post("/transaction/payInvoice", json={"invoice_id": iid2}), 400).lower()
    )
    assert invoice(api, iid2)["status"] == "0"
    err(
        api.post("/transaction/payInvoice", json={"invoice_id": iid2, "cc_id": 1}), 400
    )  # not contact 2's card
    cardless = int(ok(api.post("/Contacts", json={"firstname": "No", "lastname": "Card"}))["id"])
    iid3 = new_unpaid(api, cardless)
    assert "no default card" in err(
        api.post("/transaction/payInvoice", json={"invoice_id": iid3}), 400
    )
    err(api.post("/transaction/payInvoice", json={"invoice_id": 999999}), 404)
    iid4 = new_unpaid(api, 1)
    ok(api.post("/transaction/payInvoice", json={"invoice_id": iid4, "cc_id": 3}))
    assert invoice(api, iid4)["cc_id"] == "3"


def test_allowed_transitions(api: httpx.Client) -> None:
    # unpaid -> declined -> collections -> paid (markPaid) -> refunded
    i = new_unpaid(api)
    assert "data" not in api.put("/transaction/convertToDecline", data={"id": i}).json()
    assert invoice(api, i)["status"] == "5"
    ok(api.put("/transaction/convertToCollections", data={"id": i}))
    assert invoice(api, i)["status"] == "8"
    assert ok(api.put("/transaction/markPaid", data={"id": i, "type": 3})) == []
    assert invoice(api, i)["status"] == "1"
    assert ok(api.put("/transaction/refund", json={"objectID": 46, "ids": [i]})) == "Refunded"
    assert invoice(api, i)["status"] == "2"
    purchases = ok(api.get("/Purchases", params={"condition": cond(("invoice_id", "=", i))}))
    assert {p["status"] for p in purchases} == {"4"}
    # unpaid -> voided; unpaid -> written off
    v, w = new_unpaid(api), new_unpaid(api)
    assert ok(api.put("/transaction/void", json={"ids": [v]})) == "Voided"
    assert ok(api.put("/transaction/writeOff", json={"ids": [w]})) == 1
    assert (invoice(api, v)["status"], invoice(api, w)["status"]) == ("4", "6")
    # declined -> rerun with a good card -> paid
    r = new_unpaid(api, 1)
    ok(api.put("/transaction/convertToDecline", data={"id": r}))
    assert ok(api.post("/transaction/rerun", json={"ids": [r]})) == 1
    assert invoice(api, r)["status"] == "1"
    # seeded collections invoice 9 (contact 2, declining card): rerun keeps it in collections
    attempts = int(invoice(api, 9)["recharge_attempts"])
    ok(api.post("/transaction/rerun", json={"ids": [9]}))
    inv9 = invoice(api, 9)
    assert inv9["status"] == "8" and int(inv9["recharge_attempts"]) == attempts + 1
    # resend and commission re-run do not change the status
    assert ok(api.post("/transaction/resendInvoice", json={"ids": [1]})) == ""
    assert ok(api.put("/transaction/rerunCommission", json={"ids": [1]})) == "Re-ran commissions"
    assert invoice(api, 1)["status"] == "1"
    # pending (seeded invoice 8) can be voided
    ok(api.put("/transaction/void", json={"ids": [8]}))
    assert invoice(api, 8)["status"] == "4"


@pytest.mark.parametrize(
    ("method", "path", "body", "iid"),
    [
        ("PUT", "/transaction/refund", {"ids": [2]}, 2),  # unpaid cannot be refunded
        ("PUT", "/transaction/void", {"ids": [1]}, 1),  # paid: sandbox convention (README)
        ("PUT", "/transaction/writeOff", {"ids": [1]}, 1),
        ("PUT", "/transaction/markPaid", {"id": 5}, 5),  # voided
        ("POST", "/transaction/rerun", {"ids": [2]}, 2),  # only declined/collections
        ("PUT", "/transaction/convertToDecline", {"id": 1}, 1),
        ("PUT", "/transaction/convertToCollections", {"id": 2}, 2),  # only from declined
        ("POST", "/transaction/resendInvoice", {"ids": [10]}, 10),  # drafts are not sent
        ("PUT", "/transaction/refund", {"ids": [3]}, 3),  # already refunded
        ("POST", "/transaction/payInvoice", {"invoice_id": 7}, 7),  # written off
    ],
)
def test_forbidden_transitions_leave_the_invoice_alone(
    fresh_sandbox: SandboxServer, method: str, path: str, body: dict, iid: int
) -> None:
    with fresh_sandbox.client() as c:
        before = invoice(c, iid)
        kw = (
            {"data": body}
            if path.endswith(("markPaid", "convertToDecline", "convertToCollections"))
            else {"json": body}
        )
        msg = err(c.request(method, path, **kw), 400)
        assert f"status is {before['status']} (" in msg and "only valid for status" in msg
        assert invoice(c, iid) == before


def test_mixed_selection_is_all_or_nothing(api: httpx.Client) -> None:
    a, b = new_unpaid(api), new_unpaid(api)
    ok(api.put("/transaction/convertToDecline", data={"id": b}))
    err(api.put("/transaction/void", json={"ids": [a, b]}), 400)
    assert (invoice(api, a)["status"], invoice(api, b)["status"]) == ("0", "5")
    err(api.put("/transaction/void", json={}), 400)  # no selection
    err(api.put("/transaction/void", json={"objectID": 0, "ids": [a]}), 400)


def test_transition_table_is_data() -> None:
    assert INVOICE_TRANSITIONS["convertToCollections"] == (frozenset({"5"}), "8")
    assert "9" not in INVOICE_TRANSITIONS["resendInvoice"][0]


# the seeded invoice that created order 1 (seed.ANCHORS subscription_order_id)
SUBSCRIPTION_INVOICE = 11


def test_order_offer_read_update_and_delete(api: httpx.Client) -> None:
    got = ok(api.get("/transaction/order", params={"id": SUBSCRIPTION_INVOICE}))
    assert (
        isinstance(got["offer_id"], int)
        and got["order_id"] == "1"
        and got["products"][0]["type"] == "subscription"
    )
    assert got["subTotal"] == "19.00" and isinstance(got["hasTaxes"], bool)
    new = dict(got)
    new["products"] = [
        dict(got["products"][0], price=[{"price": "24.00", "payment_count": "1", "unit": "month"}])
    ]
    new["cc_id"] = 3
    order = ok(api.put("/transaction/order", json={"offer": new}))
    assert (order["id"], order["next_sub"], order["cc_id"]) == ("1", "24.00", "3")
    assert (
        ok(api.get("/transaction/order", params={"id": SUBSCRIPTION_INVOICE}))["subTotal"]
        == "24.00"
    )
    opens = ok(api.get("/OpenOrders", params={"condition": cond(("order_id", "=", 1))}))
    assert opens[0]["payment_amount"] == "24.00"
    err(api.put("/transaction/order", json={"offer": dict(new, offer_id=9999)}), 400)
    err(
        api.put("/transaction/order", json={"offer": dict(new, cc_id=2)}), 400
    )  # card of another contact
    err(api.get("/transaction/order", params={"id": 99999}), 404)
    # an offer-less PUT deletes the order, like upstream
    ok(api.put("/transaction/order", json={"offer": {"order_id": 2, "offer_id": got["offer_id"]}}))
    err(api.get("/Order", params={"id": 2}), 404)
    assert ok(api.get("/OpenOrders", params={"condition": cond(("order_id", "=", 2))})) == []
    assert "has no order" in err(api.get("/transaction/order", params={"id": 12}), 404)


def test_order_offer_id_is_a_transaction_id_not_an_order_id(ro: httpx.Client) -> None:
    """Invoice and order ids overlap: the id must never be read as an order id (wrong customer)."""
    invoices = ok(
        ro.get("/Transactions", params={"condition": cond(("order_id", ">", 0)), "range": 50})
    )
    orders = {o["id"]: o for o in ok(ro.get("/Orders", params={"range": 50}))}
    # seeded: invoice 12 created order 2 (contact 6), and order 12 belongs to another contact
    overlaps = [i for i in invoices if i["id"] in orders and i["order_id"] != i["id"]]
    assert any(orders[i["id"]]["contact_id"] != i["contact_id"] for i in overlaps), overlaps
    for inv in overlaps:
        got = ok(ro.get("/transaction/order", params={"id": inv["id"]}))
        assert got["order_id"] == inv["order_id"]
        assert orders[got["order_id"]]["contact_id"] == inv["contact_id"]
    # paid invoice 1 has no order, although order 1 exists
    assert "1" in orders
    assert "has no order" in err(ro.get("/transaction/order", params={"id": 1}), 404)
    assert "No Invoice" in err(ro.get("/transaction/order", params={"id": 99999}), 404)


def test_delete_order_stops_open_orders(api: httpx.Client) -> None:
    assert ok(api.get("/OpenOrders", params={"condition": cond(("order_id", "=", 3))}))
    body = api.delete("/Order", params={"id": 3}).json()
    assert body == {"code": 0, "account_id": 204817}
    err(api.get("/Order", params={"id": 3}), 404)
    assert ok(api.get("/OpenOrders", params={"condition": cond(("order_id", "=", 3))})) == []
    assert invoice(api, 13)["id"] == "13"  # the invoice stays
    err(api.delete("/Order", params={"id": 3}), 404)


def test_default_credit_card(api: httpx.Client) -> None:
    assert ok(api.put("/CreditCard/default", data={"id": 3})) == {"id": "3", "status": "3"}
    cards = {
        c["id"]: c["status"]
        for c in ok(api.get("/CreditCards", params={"condition": cond(("contact_id", "=", 1))}))
    }
    assert cards["3"] == "3" and cards["1"] == "1"
    assert contact(api, 1)["ccNumber"] == "4444"
    err(api.put("/CreditCard/default", data={"id": 99999}), 404)


def test_seeded_invoice_statuses(ro: httpx.Client) -> None:
    statuses = [invoice(ro, i)["status"] for i in range(1, 11)]
    assert statuses == ["1", "0", "2", "3", "4", "5", "6", "7", "8", "9"]
    cards = ok(ro.get("/CreditCards", params={"ids": "1,2"}))
    assert [c["decline"] for c in cards] == ["0", "1"]


@pytest.mark.parametrize(
    ("path", "envelope"),
    [
        ("/Purchases", "PurchaseListEnvelope"),
        ("/PurchaseHistoryLogs", "PurchaseHistoryLogListEnvelope"),
    ],
)
def test_purchase_lists_answer_as_the_spec_declares(
    ro: httpx.Client, path: str, envelope: str
) -> None:
    declared = spec()["paths"][path]["get"]
    assert {p["$ref"].rsplit("/", 1)[1] for p in declared["parameters"]} >= {
        "Ids", "Start", "Range", "Condition", "ListFields", "Count"
    }  # fmt: skip
    validator = spec_validator({"$ref": f"#/components/schemas/{envelope}"})
    condition = cond(("invoice_id", "=", 11))
    for params in ({"condition": condition}, {"range": 2, "count": "true"}):
        body = ro.get(path, params=params).json()
        validator.validate(body)
    # invoice 11 sold one subscription (product 2) that created order 1
    (line,) = ok(ro.get(path, params={"condition": condition}))
    assert (line["contact_id"], line["product_id"]) == ("1", "2")
    if path == "/Purchases":
        assert (line["order_id"], line["type"], line["status"]) == ("1", "1", "1")
    counted = ro.get(path, params={"range": 1, "count": "true"}).json()
    assert int(counted["count"]) >= 13 and len(counted["data"]) == 1


ACTION_CALLS = {
    "payInvoice": ("POST", "/transaction/payInvoice", lambda i: {"json": {"invoice_id": i}}),
    "refund": ("PUT", "/transaction/refund", lambda i: {"json": {"ids": [i]}}),
    "void": ("PUT", "/transaction/void", lambda i: {"json": {"ids": [i]}}),
    "writeOff": ("PUT", "/transaction/writeOff", lambda i: {"json": {"ids": [i]}}),
    "markPaid": ("PUT", "/transaction/markPaid", lambda i: {"data": {"id": i, "type": 1}}),
    "rerun": ("POST", "/transaction/rerun", lambda i: {"json": {"ids": [i]}}),
    "convertToDecline": ("PUT", "/transaction/convertToDecline", lambda i: {"data": {"id": i}}),
    "convertToCollections": (
        "PUT",
        "/transaction/convertToCollections",
        lambda i: {"data": {"id": i}},
    ),
    "resendInvoice": ("POST", "/transaction/resendInvoice", lambda i: {"json": {"ids": [i]}}),
    "rerunCommission": ("PUT", "/transaction/rerunCommission", lambda i: {"json": {"ids": [i]}}),
}
ALLOWED = [
    (action, status)
    for action, (froms, _) in INVOICE_TRANSITIONS.items()
    for status in sorted(froms)
]


@pytest.mark.parametrize(("action", "status"), ALLOWED)
def test_every_allowed_transition(
    msb: SandboxServer, api: httpx.Client, action: str, status: str
) -> None:
    iid = new_unpaid(api, 1)  # contact 1 has a default card that charges fine
    store = msb.state.store
    with store.transaction():  # test set-up: put the invoice into the "from" status directly
        store.update(46, iid, {"status": status})
    method, path, kw = ACTION_CALLS[action]
    ok(api.request(method, path, **kw(iid)))
    target = INVOICE_TRANSITIONS[action][1]
    expected = target if target is not None else ("1" if action == "rerun" else status)
    assert invoice(api, iid)["status"] == expected


def test_put_order_moves_the_next_payment_date(fresh_sandbox):
    with fresh_sandbox.client() as client:
        offer = client.get("/transaction/order", params={"id": SUBSCRIPTION_INVOICE}).json()["data"]
        offer["payment_next_date"] = 1900000000
        changed = client.put("/transaction/order", json={"offer": offer}).json()["data"]
        assert changed["payment_next_date"] == "1900000000"
        condition = '[{"field":{"field":"order_id"},"op":"=","value":{"value":1}}]'
        opens = client.get("/objects", params={"objectID": 44, "condition": condition}).json()
        assert opens["data"]
        assert all(o["payment_next_date"] == "1900000000" for o in opens["data"])
