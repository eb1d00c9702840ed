"""``/transaction/*``, orders and the default card (API.md §3.8–3.13)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from . import commerce as cm
from .clock import DAY, now
from .errors import ApiError, bad
from .params import has, p_bool, p_int, p_json, p_str, req_int
from .query import action_selection, selected_ids
from .router import Ctx, Result, Router


def _contact(ctx: Ctx) -> dict[str, Any]:
    cid = req_int(ctx.params, "contact_id", minimum=1)
    contact = ctx.store.get(0, cid)
    if contact is None:
        raise bad(f"contact_id {cid}: contact does not exist")
    return contact


def _trans_date(ctx: Ctx) -> int:
    ms = p_int(ctx.params, "trans_date", minimum=0)
    if ms is None:
        return now()
    if ms < 100_000_000_000:
        raise bad("trans_date is in milliseconds since the epoch (e.g. 1718000000000)")
    return ms // 1000


def _gateway(ctx: Ctx, required: bool) -> int:
    gid = p_int(ctx.params, "gateway_id", required=required, minimum=0) or 0
    if gid:
        gw = ctx.store.get(70, gid)
        if gw is None:
            raise bad(f"gateway_id {gid}: gateway does not exist")
        if str(gw.get("status")) != "1":
            raise bad(f"gateway_id {gid}: gateway is inactive")
    elif required:
        raise bad("gateway_id is required for chargeNow")
    return gid


def _billing(ctx: Ctx) -> dict[str, Any]:
    b = p_json(ctx.params, "billing_address")
    if b is None:
        return {}
    if not isinstance(b, dict):
        raise bad("billing_address must be an object")
    return {
        k: str(v)
        for k, v in b.items()
        if isinstance(v, (str, int, float)) and not isinstance(v, bool)
    }


def _template(ctx: Ctx) -> int:
    t = p_int(ctx.params, "invoice_template", default=1)
    assert t is not None
    if t == 0 or t < -1:
        raise bad(
            "invoice_template must be a template id (1 = default) or -1 to suppress the invoice email"
        )
    return t


# ---------------------------------------------------------------------------- processManual
def process_manual(ctx: Ctx) -> Result:
    mode = p_str(ctx.params, "chargeNow")
    if mode not in ("chargeNow", "chargeLog"):
        raise bad(
            "chargeNow must be the string 'chargeNow' (charge a card) or 'chargeLog' (record only)"
            + (
                "; use /transaction/requestPayment for requestPayment"
                if mode == "requestPayment"
                else ""
            )
        )
    contact = _contact(ctx)
    if not has(ctx.params, "offer"):
        raise bad("Missing required parameter 'offer'")
    offer, totals = cm.normalize_offer(ctx.store, p_json(ctx.params, "offer"))
    date = _trans_date(ctx)
    template = _template(ctx)
    external = p_str(ctx.params, "external_order_id")
    billing = _billing(ctx)
    cid = int(contact["id"])
    if mode == "chargeLog":
        gid = _gateway(ctx, False)
        iid = cm.create_invoice(
            ctx.store,
            contact,
            offer,
            totals,
            cm.PAID,
            gateway_id=gid,
            date=date,
            external_order_id=external,
            template=template,
        )
        inv = ctx.store.get(46, iid) or {}
        cm.record_payment(ctx.store, inv, totals.total, gateway_id=gid, cc_id=0, external_txn="")
        cm.create_orders(ctx.store, iid, contact, offer, cc_id=0, gateway_id=gid, date=date)
        cm.refresh_contact(ctx.store, cid)
        return Result({"invoice_id": iid})
    gid = _gateway(ctx, True)
    payer = p_json(ctx.params, "payer")
    card: dict[str, Any] | None
    if payer not in (None, "", {}):
        card = cm.add_card(ctx.store, contact, payer, billing)
    else:
        card = cm.card_for(ctx.store, cid, p_int(ctx.params, "cc_id", minimum=1))
    if card is None:
        raise bad(f"Contact {cid} has no card on file; pass cc_id or payer")
    ok, message = cm.charge(card) if totals.total > 0 else (True, "Success")
    status = cm.PAID if ok else cm.DECLINED
    iid = cm.create_invoice(
        ctx.store,
        contact,
        offer,
        totals,
        status,
        gateway_id=gid,
        cc_id=card["id"],
        date=date,
        external_order_id=external,
        template=template,
    )
    inv = ctx.store.get(46, iid) or {}
    txn = ""
    order_ids: list[int] = []
    if ok:
        txn = cm.next_txn(ctx.store) if totals.total > 0 else ""
        cm.record_payment(
            ctx.store, inv, totals.total, gateway_id=gid, cc_id=card["id"], external_txn=txn
        )
        order_ids = cm.create_orders(
            ctx.store, iid, contact, offer, cc_id=card["id"], gateway_id=gid, date=date
        )
    elif p_bool(ctx.params, "create_open_order_on_decline", True):
        order_ids = cm.create_orders(
            ctx.store,
            iid,
            contact,
            offer,
            cc_id=card["id"],
            gateway_id=gid,
            past_due=True,
            date=date,
        )
    cm.note_charge(ctx.store, cid, card, totals.total, ok, iid)
    cm.refresh_contact(ctx.store, cid)
    data: dict[str, Any] = {
        "result_code": 0 if ok else 1,
        "transaction_id": iid,
        "external_txn": txn,
        "message": message,
        "invoice_id": iid,
    }
    if order_ids:
        data["order_id"] = order_ids[0]
    return Result(data)


def request_payment(ctx: Ctx) -> Result:
    mode = p_str(ctx.params, "chargeNow", default="requestPayment")
    if mode != "requestPayment":
        raise bad("chargeNow must be 'requestPayment' on this endpoint (or omitted)")
    contact = _contact(ctx)
    if not has(ctx.params, "offer"):
        raise bad("Missing required parameter 'offer'")
    offer, totals = cm.normalize_offer(ctx.store, p_json(ctx.params, "offer"))
    gid = _gateway(ctx, False)
    date = _trans_date(ctx)
    due_on = p_int(ctx.params, "due_on", default=0, minimum=0, maximum=3650) or 0
    to_field = p_str(ctx.params, "to_field", default="email")
    if to_field not in ctx.store.types[0].fields:
        raise bad(f"to_field {to_field!r} is not a contact field")
    send = p_bool(ctx.params, "send_invoice", False)
    extra = {
        "due_date": date + due_on * DAY,
        "customer_note": p_str(ctx.params, "customer_note"),
        "internal_note": p_str(ctx.params, "internal_note"),
        "send_invoice": "1" if send else "0",
    }
    iid = cm.create_invoice(
        ctx.store,
        contact,
        offer,
        totals,
        cm.UNPAID,
        gateway_id=gid,
        date=date,
        external_order_id=p_str(ctx.params, "external_order_id"),
        template=_template(ctx),
        extra=extra,
    )
    cm.refresh_contact(ctx.store, contact["id"])
    return Result({"invoice_id": iid})


# ---------------------------------------------------------------------------- paying
def _charge_invoice(ctx: Ctx, inv: dict[str, Any], card: dict[str, Any]) -> tuple[bool, str, str]:
    ok, message = cm.charge(card)
    amount = Decimal(str(inv.get("total") or 0))
    txn = ""
    if ok:
        txn = cm.next_txn(ctx.store)
        cm.record_payment(
            ctx.store,
            inv,
            amount,
            gateway_id=inv.get("gateway_id"),
            cc_id=card["id"],
            external_txn=txn,
        )
        ctx.store.update(46, int(inv["id"]), {"cc_id": card["id"]})
        cm.set_invoice_status(ctx.store, inv, cm.PAID, "Payment received")
        cm.activate_orders(ctx.store, ctx.store.get(46, int(inv["id"])) or inv)
    cm.note_charge(ctx.store, inv.get("contact_id"), card, amount, ok, int(inv["id"]))
    return ok, message, txn


def pay_invoice(ctx: Ctx) -> Result:
    iid = req_int(ctx.params, "invoice_id", minimum=1)
    inv = cm.load_invoice(ctx.store, iid)
    cm.check_transition("payInvoice", inv)
    cid = int(inv.get("contact_id") or 0)
    card = cm.card_for(ctx.store, cid, p_int(ctx.params, "cc_id", minimum=1))
    if card is None:
        raise bad(f"Contact {cid} has no default card on file; pass cc_id")
    ok, message, txn = _charge_invoice(ctx, inv, card)
    if not ok:
        raise bad(
            f"Payment of invoice {iid} failed: {message}. The invoice stays {cm.describe(inv['status'])}"
        )
    cm.refresh_contact(ctx.store, cid)
    return Result(
        {
            "result_code": 0,
            "transaction_id": iid,
            "external_txn": txn,
            "message": message,
            "invoice_id": iid,
        }
    )


# ---------------------------------------------------------------------------- bulk invoice actions
def _invoices(ctx: Ctx, *, single: bool = False) -> list[dict[str, Any]]:
    oid = p_int(ctx.params, "objectID", default=46)
    if oid != 46:
        raise bad("objectID must be 46 (transactions) on /transaction endpoints")
    ti = ctx.store.types[46]
    if single or (has(ctx.params, "id") and not has(ctx.params, "ids")):
        if has(ctx.params, "id"):
            return [cm.load_invoice(ctx.store, req_int(ctx.params, "id"))]
        if not has(ctx.params, "ids"):
            raise bad("Missing required parameter 'id'")
    sel = action_selection(ctx.store, ti, ctx.params)
    ids = selected_ids(ctx.store, ti, sel, ctx.params)
    if not ids:
        raise ApiError(404, "No transactions match the selection")
    return [ctx.store.get(46, i) or {} for i in ids]


def _transition(
    ctx: Ctx, action: str, *, single: bool = False, note: str = ""
) -> list[dict[str, Any]]:
    invoices = _invoices(ctx, single=single)
    for inv in invoices:
        cm.check_transition(action, inv)
    target = cm.INVOICE_TRANSITIONS[action][1]
    if target is not None:
        for inv in invoices:
            cm.set_invoice_status(ctx.store, inv, target, note)
    return invoices


def _refresh(ctx: Ctx, invoices: list[dict[str, Any]]) -> None:
    for cid in {inv.get("contact_id") for inv in invoices}:
        cm.refresh_contact(ctx.store, cid)


def refund(ctx: Ctx) -> Result:
    invoices = _transition(ctx, "refund", note="Refunded")
    for inv in invoices:
        ctx.store.update_where(
            227, {"status": "3"}, "CAST(invoice_id AS INTEGER)=? AND status='1'", [int(inv["id"])]
        )
    _refresh(ctx, invoices)
    return Result("Refunded")


def void(ctx: Ctx) -> Result:
    _refresh(ctx, _transition(ctx, "void", note="Voided"))
    return Result("Voided")


def write_off(ctx: Ctx) -> Result:
    _refresh(ctx, _transition(ctx, "writeOff", note="Written off"))
    return Result(1)


def mark_paid(ctx: Ctx) -> Result:
    ptype = p_int(ctx.params, "type", default=0)
    if ptype not in (0, 1, 2, 3, 4):
        raise bad("type must be 0 (card), 1 (ACH), 2 (card offline), 3 (check) or 4 (other)")
    invoices = _transition(ctx, "markPaid", single=not has(ctx.params, "ids"), note="Marked paid")
    for inv in invoices:
        cm.record_payment(
            ctx.store,
            inv,
            inv.get("total"),
            gateway_id=0,
            cc_id=0,
            external_txn=f"manual-type-{ptype}",
        )
        cm.activate_orders(ctx.store, ctx.store.get(46, int(inv["id"])) or inv)
    _refresh(ctx, invoices)
    return Result([])


def convert_to_decline(ctx: Ctx) -> Result:
    _refresh(
        ctx,
        _transition(ctx, "convertToDecline", single=not has(ctx.params, "ids"), note="Declined"),
    )
    return Result()


def convert_to_collections(ctx: Ctx) -> Result:
    _refresh(
        ctx,
        _transition(
            ctx, "convertToCollections", single=not has(ctx.params, "ids"), note="Collections"
        ),
    )
    return Result()


def rerun(ctx: Ctx) -> Result:
    invoices = _invoices(ctx)
    for inv in invoices:
        cm.check_transition("rerun", inv)
    for inv in invoices:
        cid = int(inv.get("contact_id") or 0)
        card = None
        if str(inv.get("cc_id") or "0") != "0":
            card = ctx.store.get(45, int(inv["cc_id"]))
        card = card or cm.card_for(ctx.store, cid, None)
        attempts = int(inv.get("recharge_attempts") or 0) + 1
        ctx.store.update(
            46, int(inv["id"]), {"recharge_attempts": attempts, "last_recharge_date": now()}
        )
        if card is not None:
            _charge_invoice(ctx, ctx.store.get(46, int(inv["id"])) or inv, card)
    _refresh(ctx, invoices)
    return Result(1)


def rerun_commission(ctx: Ctx) -> Result:
    _transition(ctx, "rerunCommission")
    return Result("Re-ran commissions")


def resend_invoice(ctx: Ctx) -> Result:
    for inv in _transition(ctx, "resendInvoice"):
        ctx.store.insert(
            4,
            {
                "contact_id": inv.get("contact_id"),
                "object_type_id": 0,
                "date": now(),
                "type": "1",
                "item_id": "0",
                "details": f"Invoice {inv['id']} re-sent",
                "owner": "1",
            },
        )
    return Result("")


# ---------------------------------------------------------------------------- orders
def _order_of_invoice(ctx: Ctx, iid: int) -> dict[str, Any]:
    """The order created by invoice ``iid``: ``GET /transaction/order`` takes a transaction id.

    Order ids and invoice ids are separate sequences that overlap, so the id is never tried as an
    order id: that would answer another customer's order (openapi/ontraport.yaml, get_order_offer).
    """
    inv = cm.load_invoice(ctx.store, iid)
    order_id = int(inv.get("order_id") or 0)
    order = ctx.store.get(52, order_id) if order_id > 0 else None
    if order is None:
        raise ApiError(
            404,
            f"Transaction {iid} has no order (it has no subscription or payment plan, or its order "
            "was deleted); id is a transaction (invoice) id, not an order id",
        )
    return order


def _order_offer(ctx: Ctx, order: dict[str, Any]) -> dict[str, Any]:
    offer_rec = ctx.store.get(65, int(order.get("offer_id") or 0)) or {}
    try:
        offer = json.loads(offer_rec.get("data") or "{}")
    except ValueError:
        offer = {}
    return offer if isinstance(offer, dict) else {}


def get_order(ctx: Ctx) -> Result:
    order = _order_of_invoice(ctx, req_int(ctx.params, "id", minimum=1))
    offer = _order_offer(ctx, order)
    offer.pop("name", None)
    offer.update(
        {
            "subTotal": order.get("next_sub") or "0.00",
            "grandTotal": order.get("next_charge") or "0.00",
            "invoice_template": "1",
            "cc_id": order.get("cc_id") or "0",
            "offer_id": int(order.get("offer_id") or 0),
            "order_id": order["id"],
            "payment_next_date": order.get("payment_next_date") or "0",
            "status": order.get("status") or "0",
            "gateway_id": order.get("gateway_id") or "0",
            "affiliate_id": order.get("affiliate") or "0",
        }
    )
    offer.setdefault("delay", "0")
    offer.setdefault("send_recurring_invoice", "0")
    return Result(offer)


def update_order(ctx: Ctx) -> Result:
    raw = p_json(ctx.params, "offer")
    if raw not in (None, "", {}) and not isinstance(raw, dict):
        raise bad("offer must be an object")
    raw = raw or {}
    oid = p_int(raw, "order_id") or p_int(ctx.params, "order_id") or p_int(ctx.params, "id")
    if not oid:
        raise bad("offer.order_id is required")
    order = ctx.store.get(52, oid)
    if order is None:
        raise ApiError(404, f"No Order with id {oid}")
    if not raw.get("products"):
        # Upstream: a PUT without offer data deletes the order (and its open orders).
        from . import records

        records.delete(ctx.store, ctx.store.types[52], [oid], check_access=False)
        return Result(order)  # the order as it was before it was deleted
    offer_id = p_int(raw, "offer_id")
    if offer_id is not None and str(offer_id) != str(order.get("offer_id")):
        raise bad(
            f"offer.offer_id {offer_id} does not belong to order {oid} (its offer is {order.get('offer_id')})"
        )
    offer, _totals = cm.normalize_offer(
        ctx.store, {k: v for k, v in raw.items() if k not in ("offer_id", "order_id")}
    )
    recurring = [p for p in offer["products"] if p["type"] != "single"]
    if not recurring:
        raise bad("An order's offer needs at least one subscription or payment_plan product")
    cid = int(order.get("contact_id") or 0)
    cc_id = p_int(raw, "cc_id") or p_int(ctx.params, "cc_id")
    vals: dict[str, Any] = {}
    if cc_id:
        cm.card_for(ctx.store, cid, cc_id)
        vals["cc_id"] = cc_id
    gid = p_int(raw, "gateway_id")
    if gid:
        if ctx.store.get(70, gid) is None:
            raise bad(f"gateway_id {gid}: gateway does not exist")
        vals["gateway_id"] = gid
    sub = tax = ship = Decimal(0)
    for p in recurring:
        s, t, h = cm.recurring_amounts(offer, p)
        sub, tax, ship = sub + s, tax + t, ship + h
    first = recurring[0]
    offer.update({"subTotal": cm.money(sub), "grandTotal": cm.money(sub + tax + ship)})
    vals.update(
        {
            "name": first["name"],
            "unit": first["price"][0]["unit"],
            "next_sub": cm.money(sub),
            "tax": cm.money(tax),
            "shipping": cm.money(ship),
            "next_charge": cm.money(sub + tax + ship),
            "dlm": now(),
        }
    )
    next_date = p_int(raw, "payment_next_date")
    if next_date is not None:
        if next_date <= 0:
            raise bad("offer.payment_next_date must be a Unix time in seconds")
        vals["payment_next_date"] = str(next_date)
    if first["type"] == "payment_plan":
        made = int(order.get("transactions") or 0)
        vals["transactions_remaining"] = max(int(first["price"][0]["payment_count"]) - made, 0)
    ctx.store.update(52, oid, vals)
    ctx.store.update(65, int(order.get("offer_id") or 0), {"data": json.dumps(offer)})
    ctx.store.update_where(
        44,
        {
            "payment_amount": cm.money(sub + tax + ship),
            "unit": vals["unit"],
            "product_id": first["id"],
            **(
                {"payment_next_date": vals["payment_next_date"]}
                if "payment_next_date" in vals
                else {}
            ),
        },
        "CAST(order_id AS INTEGER)=?",
        [oid],
    )
    return Result(ctx.store.get(52, oid))


def set_default_card(ctx: Ctx) -> Result:
    cid = req_int(ctx.params, "id", minimum=1)
    card = ctx.store.get(45, cid)
    if card is None:
        raise ApiError(404, f"No CreditCard with id {cid}")
    contact_id = int(card.get("contact_id") or 0)
    for other in ctx.store.select(45, "CAST(contact_id AS INTEGER)=? AND id<>?", [contact_id, cid]):
        if other.get("status") in ("3", "4"):
            ctx.store.update(
                45, int(other["id"]), {"status": "1" if other["status"] == "3" else "2"}
            )
    status = "4" if card.get("status") in ("2", "4") else "3"
    ctx.store.update(45, cid, {"status": status})
    if ctx.store.exists(0, contact_id):
        ctx.store.update(
            0,
            contact_id,
            {
                "ccNumber": card.get("last4"),
                "ccType": card.get("type"),
                "ccExpirationYear": card.get("exp_year"),
                "dlm": now(),
            },
        )
    return Result({"id": str(cid), "status": status})


def register(router: Router) -> None:
    router.add("POST", "/transaction/processManual", process_manual)
    router.add("POST", "/transaction/requestPayment", request_payment)
    router.add("POST", "/transaction/payInvoice", pay_invoice)
    router.add("PUT", "/transaction/refund", refund)
    router.add("PUT", "/transaction/void", void)
    router.add("PUT", "/transaction/writeOff", write_off)
    router.add("PUT", "/transaction/markPaid", mark_paid)
    router.add("POST", "/transaction/rerun", rerun)
    router.add("PUT", "/transaction/rerunCommission", rerun_commission)
    router.add("POST", "/transaction/resendInvoice", resend_invoice)
    router.add("PUT", "/transaction/convertToDecline", convert_to_decline)
    router.add("PUT", "/transaction/convertToCollections", convert_to_collections)
    router.add("GET", "/transaction/order", get_order)
    router.add("PUT", "/transaction/order", update_order)
    router.add("PUT", "/CreditCard/default", set_default_card)
