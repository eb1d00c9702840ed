"""Commerce model: offers and totals (API.md §4), the invoice state machine (§5, as data), charging
cards on file, recurring orders, and the contact's commerce summary fields.

Invoice (46) status codes: the NET enum 0–7 plus two sandbox conventions (not in the meta snapshot):
``8`` = collections and ``9`` = draft.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .clock import UNIT_SECONDS, cents, money, now
from .errors import ApiError, bad
from .store import Store

UNPAID, PAID, REFUNDED, PARTIAL, VOIDED, DECLINED, WRITTEN_OFF, PENDING, COLLECTIONS, DRAFT = (
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
)
STATUS_NAMES = {
    UNPAID: "unpaid",
    PAID: "paid",
    REFUNDED: "refunded",
    PARTIAL: "partially refunded",
    VOIDED: "voided",
    DECLINED: "declined",
    WRITTEN_OFF: "written off",
    PENDING: "pending",
    COLLECTIONS: "collections",
    DRAFT: "draft",
}

# action -> (statuses it may start from, resulting status; None = status unchanged / depends on a charge)
INVOICE_TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "payInvoice": (frozenset({UNPAID, DECLINED, COLLECTIONS}), PAID),
    "refund": (frozenset({PAID, PARTIAL}), REFUNDED),
    "void": (frozenset({UNPAID, PENDING, DRAFT}), VOIDED),
    "writeOff": (frozenset({UNPAID, DECLINED, COLLECTIONS}), WRITTEN_OFF),
    "markPaid": (frozenset({UNPAID, DECLINED, COLLECTIONS}), PAID),
    "rerun": (frozenset({DECLINED, COLLECTIONS}), None),
    "convertToDecline": (frozenset({UNPAID}), DECLINED),
    "convertToCollections": (frozenset({DECLINED}), COLLECTIONS),
    "resendInvoice": (frozenset(set(STATUS_NAMES) - {DRAFT}), None),
    "rerunCommission": (frozenset({PAID, PARTIAL}), None),
}

# Purchase (17) status that mirrors each invoice status.
PURCHASE_STATUS = {
    UNPAID: "7",
    PAID: "1",
    REFUNDED: "4",
    PARTIAL: "1",
    VOIDED: "3",
    DECLINED: "2",
    WRITTEN_OFF: "5",
    PENDING: "7",
    COLLECTIONS: "0",
    DRAFT: "7",
}
PRODUCT_TYPES = {
    "single": "single",
    "one_time": "single",
    "onetime": "single",
    "digital": "single",
    "subscription": "subscription",
    "payment_plan": "payment_plan",
}
PURCHASE_TYPE = {"single": "0", "subscription": "1", "payment_plan": "2"}
# Raw card numbers / tokens that the sandbox gateway declines (like common gateway test numbers).
DECLINING_NUMBERS = frozenset({"4000000000000002", "4000000000009995", "4000000000000069"})
DECLINING_TOKENS = frozenset({"tok_chargeDeclined", "tok_visa_chargeDeclined"})
MAX_AMOUNT = 10_000_000.0


def describe(status: Any) -> str:
    s = str(status)
    return f"{s} ({STATUS_NAMES.get(s, 'unknown')})"


def check_transition(action: str, invoice: dict[str, Any]) -> None:
    allowed, _ = INVOICE_TRANSITIONS[action]
    status = str(invoice.get("status"))
    if status not in allowed:
        valid = ", ".join(describe(s) for s in sorted(allowed))
        raise bad(
            f"Invoice {invoice['id']} cannot be processed by {action}: its status is {describe(status)}; "
            f"{action} is only valid for status {valid}"
        )


# ---------------------------------------------------------------------------- offers
@dataclass
class Totals:
    subtotal: Decimal
    tax: Decimal
    shipping: Decimal

    @property
    def total(self) -> Decimal:
        return cents(self.subtotal + self.tax + self.shipping)


def _num(value: Any, what: str, *, minimum: float = 0.0, maximum: float = MAX_AMOUNT) -> float:
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        raise bad(f"{what} must be a number")
    try:
        f = float(str(value).strip())
    except ValueError:
        raise bad(f"{what} must be a number, got {str(value)[:40]!r}") from None
    if not math.isfinite(f) or f < minimum or f > maximum:
        raise bad(f"{what} must be between {minimum:g} and {maximum:g}")
    return f


def _int(value: Any, what: str, *, minimum: int = 0, maximum: int = 10_000) -> int:
    f = _num(value, what, minimum=minimum, maximum=maximum)
    if not float(f).is_integer():
        raise bad(f"{what} must be an integer")
    return int(f)


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def parse_offer(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            raise bad("offer must be a JSON object") from None
    if not isinstance(raw, dict):
        raise bad("offer must be an object with a 'products' array")
    return raw


def validate_offer_json(text: str) -> None:
    """Offer (65) ``data`` must be an offer JSON string with products."""
    offer = parse_offer(text)
    products = offer.get("products")
    if (
        not isinstance(products, list)
        or not products
        or not all(isinstance(p, dict) for p in products)
    ):
        raise bad("Offer data must be offer JSON with a non-empty 'products' array of objects")


def normalize_offer(store: Store, raw: Any) -> tuple[dict[str, Any], Totals]:
    offer = parse_offer(raw)
    products = offer.get("products")
    if not isinstance(products, list) or not products:
        raise bad("offer.products must be a non-empty array")
    if len(products) > 50:
        raise bad("offer.products may hold at most 50 entries")
    out_products: list[dict[str, Any]] = []
    subtotal = Decimal(0)
    taxable_base = Decimal(0)
    any_shipped = False
    for i, p in enumerate(products):
        if not isinstance(p, dict):
            raise bad(f"offer.products[{i}] must be an object")
        pid = _int(p.get("id"), f"offer.products[{i}].id", minimum=1, maximum=2**31)
        prod = store.get(16, pid)
        if prod is None:
            raise bad(f"offer.products[{i}].id: product {pid} does not exist")
        qty = _int(p.get("quantity", 1), f"offer.products[{i}].quantity", minimum=1)
        ptype_raw = str(p.get("type") or "single").strip().lower()
        ptype = PRODUCT_TYPES.get(ptype_raw)
        if ptype is None:
            raise bad(f"offer.products[{i}].type must be single, subscription or payment_plan")
        prices = p.get("price")
        if prices is None or prices == "" or prices == []:
            prices = [{"price": prod.get("price") or "0"}]
        elif not isinstance(prices, list):
            prices = [{"price": prices}] if not isinstance(prices, dict) else [prices]
        first = prices[0]
        if not isinstance(first, dict):
            first = {"price": first}
        unit_price = _num(
            first.get("price", prod.get("price") or 0), f"offer.products[{i}].price[0].price"
        )
        count = _int(
            first.get("payment_count", 1),
            f"offer.products[{i}].price[0].payment_count",
            minimum=1,
            maximum=1000,
        )
        unit = str(first.get("unit") or "month").lower()
        if unit not in UNIT_SECONDS:
            raise bad(f"offer.products[{i}].price[0].unit must be one of {sorted(UNIT_SECONDS)}")
        if ptype == "payment_plan" and count < 2:
            raise bad(f"offer.products[{i}]: a payment_plan needs price[0].payment_count >= 2")
        trial_count = _int(
            p.get("trial_period_count", 0) or 0, f"offer.products[{i}].trial_period_count"
        )
        trial_price = _num(p.get("trial_price", 0) or 0, f"offer.products[{i}].trial_price")
        setup_fee = _num(p.get("setup_fee", 0) or 0, f"offer.products[{i}].setup_fee")
        first_charge = (
            cents(trial_price if ptype != "single" and trial_count > 0 else unit_price) * qty
        )
        if setup_fee and str(p.get("setup_fee_when") or "immediately") == "immediately":
            first_charge += cents(setup_fee)
        shipped = _bool(p.get("shipping", False))
        taxed = _bool(p.get("tax", p.get("taxable", False)))
        any_shipped = any_shipped or shipped
        subtotal += first_charge
        if taxed:
            taxable_base += first_charge
        uid = hashlib.md5(f"{pid}:{i}:{unit_price}:{qty}".encode()).hexdigest()
        entry: dict[str, Any] = {
            "quantity": str(qty),
            "minQuantity": "1",
            "maxQuantity": "99",
            "total": money(first_charge),
            "shipping": shipped,
            "tax": taxed,
            "price": [
                {
                    "price": money(unit_price),
                    "payment_count": str(count),
                    "unit": unit,
                    "id": str(first.get("id") or int(uid[:10], 16)),
                }
            ],
            "type": ptype,
            "quantityEditable": False,
            "index": str(i),
            "name": prod.get("name") or "",
            "id": str(pid),
            "uid": f"{uid[:8]}-{uid[8:12]}-{uid[12:16]}-{uid[16:20]}-{uid[20:32]}",
            "product_type": None,
        }
        if trial_count:
            entry.update(
                {
                    "trial_period_count": str(trial_count),
                    "trial_price": money(trial_price),
                    "trial_period_unit": str(p.get("trial_period_unit") or "day"),
                }
            )
        if setup_fee:
            entry.update(
                {
                    "setup_fee": money(setup_fee),
                    "setup_fee_when": str(p.get("setup_fee_when") or "immediately"),
                }
            )
        out_products.append(entry)

    shipping_in = offer.get("shipping")
    ship_entry: dict[str, Any] | None = None
    if isinstance(shipping_in, list) and shipping_in:
        shipping_in = shipping_in[0]
    if isinstance(shipping_in, dict) and shipping_in:
        sid = _int(shipping_in.get("id"), "offer.shipping.id", minimum=1, maximum=2**31)
        method = store.get(64, sid)
        if method is None:
            raise bad(f"offer.shipping.id: shipping method {sid} does not exist")
        price = _num(shipping_in.get("price", method.get("price") or 0), "offer.shipping.price")
        ship_entry = {
            "id": str(sid),
            "name": shipping_in.get("name") or method.get("name"),
            "price": money(price),
        }
    elif shipping_in not in (None, [], {}, "", False):
        raise bad('offer.shipping must be [{"id", "name", "price"}] or null')
    shipping_amount = Decimal(ship_entry["price"]) if ship_entry and any_shipped else Decimal(0)

    taxes_in = offer.get("taxes") or []
    if not isinstance(taxes_in, list):
        raise bad("offer.taxes must be an array")
    taxes_out: list[dict[str, Any]] = []
    tax_total = Decimal(0)
    for j, t in enumerate(taxes_in):
        if not isinstance(t, dict):
            raise bad(f"offer.taxes[{j}] must be an object")
        tid = _int(t.get("id"), f"offer.taxes[{j}].id", minimum=1, maximum=2**31)
        rec = store.get(63, tid)
        if rec is None:
            raise bad(f"offer.taxes[{j}].id: tax {tid} does not exist")
        rate = _num(t.get("rate", rec.get("rate") or 0), f"offer.taxes[{j}].rate", maximum=100)
        tax_ship = _bool(t.get("taxShipping", rec.get("tax_shipping") == "1"))
        amount = cents(
            (taxable_base + (shipping_amount if tax_ship else Decimal(0)))
            * Decimal(str(rate))
            / 100
        )
        tax_total += amount
        taxes_out.append(
            {
                "id": str(tid),
                "rate": rate,
                "name": t.get("name") or rec.get("name"),
                "taxShipping": tax_ship,
                "taxTotal": money(amount),
            }
        )
    totals = Totals(cents(subtotal), cents(tax_total), cents(shipping_amount))
    recurring_ship = offer.get(
        "shipping_charge_reoccurring_orders", offer.get("shipping_charge_recurring_orders", False)
    )
    out = {
        "products": out_products,
        "taxes": taxes_out,
        "hasTaxes": bool(taxes_out),
        "shipping": [ship_entry] if ship_entry else None,
        "hasShipping": ship_entry is not None,
        "shipping_charge_reoccurring_orders": _bool(recurring_ship),
        "send_recurring_invoice": "1" if _bool(offer.get("send_recurring_invoice", False)) else "0",
        "delay": str(offer.get("delay") or "0"),
        "subTotal": money(totals.subtotal),
        "grandTotal": money(totals.total),
        "ccExpirationDate": "",
        "paypalValid": False,
        "offerCoupon": False,
        "coupon": None,
        "resorted": None,
    }
    if isinstance(offer.get("name"), str):
        out["name"] = offer["name"]
    return out, totals


def recurring_amounts(
    offer: dict[str, Any], product: dict[str, Any]
) -> tuple[Decimal, Decimal, Decimal]:
    """(subtotal, tax, shipping) of one future charge of a recurring product."""
    sub = cents(product["price"][0]["price"]) * int(product["quantity"])
    tax = Decimal(0)
    if product.get("tax"):
        for t in offer.get("taxes") or []:
            tax += cents(sub * Decimal(str(t.get("rate") or 0)) / 100)
    ship = Decimal(0)
    if (
        offer.get("shipping_charge_reoccurring_orders")
        and offer.get("shipping")
        and product.get("shipping")
    ):
        ship = cents(offer["shipping"][0]["price"])
    return cents(sub), cents(tax), cents(ship)


# ---------------------------------------------------------------------------- cards and charges
def card_type(number: str) -> str:
    if number.startswith("4"):
        return "1"
    if number[:2] in ("51", "52", "53", "54", "55") or number[:1] == "2":
        return "2"
    if number[:2] in ("34", "37"):
        return "3"
    if number.startswith("6"):
        return "4"
    return "6"


def card_for(store: Store, contact_id: int, cc_id: int | None) -> dict[str, Any] | None:
    if cc_id:
        card = store.get(45, cc_id)
        if card is None or str(card.get("contact_id")) != str(contact_id):
            raise bad(f"Credit card {cc_id} does not exist for contact {contact_id}")
        return card
    rows = store.select(
        45, "CAST(contact_id AS INTEGER)=? AND status IN ('3','4')", [contact_id], limit=1
    )
    return rows[0] if rows else None


def add_card(
    store: Store, contact: dict[str, Any], payer: Any, billing: dict[str, Any]
) -> dict[str, Any]:
    """Store a new card from ``payer``; only last4/type/expiry are kept (never the number or CVV)."""
    if not isinstance(payer, dict):
        raise bad(
            "payer must be an object {ccnumber, code, expire_month, expire_year} or {cctoken}"
        )
    token = payer.get("cctoken")
    number = str(payer.get("ccnumber") or "").replace(" ", "").replace("-", "")
    if token:
        last4, ctype = "4242", "1"
        declines = str(token) in DECLINING_TOKENS
    else:
        if not (number.isascii() and number.isdigit()) or not 12 <= len(number) <= 19:
            raise bad("payer.ccnumber must be 12-19 digits")
        last4, ctype = number[-4:], card_type(number)
        declines = number in DECLINING_NUMBERS
    month = _int(payer.get("expire_month"), "payer.expire_month", minimum=1, maximum=12)
    year = _int(payer.get("expire_year"), "payer.expire_year", minimum=2000, maximum=2100)
    has_default = (
        store.count(45, "CAST(contact_id AS INTEGER)=? AND status IN ('3','4')", [contact["id"]])
        > 0
    )
    values = {
        "contact_id": contact["id"],
        "firstname": contact.get("firstname"),
        "lastname": contact.get("lastname"),
        "last4": last4,
        "type": ctype,
        "exp_month": month,
        "exp_year": year,
        "address": billing.get("address") or contact.get("address"),
        "address2": billing.get("address2"),
        "city": billing.get("city") or contact.get("city"),
        "state": billing.get("state") or contact.get("state"),
        "zip": billing.get("zip") or contact.get("zip"),
        "country": billing.get("country") or contact.get("country"),
        "status": "1" if has_default else "3",
        "recent_sale": "0",
        "invoice_id": "0",
        "decline": "1" if declines else "0",
    }
    cid = store.insert(45, values)
    return store.get(45, cid) or {}


def charge(card: dict[str, Any]) -> tuple[bool, str]:
    if str(card.get("decline")) == "1":
        return False, "Declined: the card issuer declined the charge (sandbox test card)"
    if str(card.get("status")) in ("2", "4"):
        return False, "Declined: the card is expired"
    return True, "Success"


def next_txn(store: Store) -> str:
    return f"sbx_txn_{store.next_counter('next_txn'):06d}"


# ---------------------------------------------------------------------------- invoices
def create_invoice(
    store: Store,
    contact: dict[str, Any],
    offer: dict[str, Any],
    totals: Totals,
    status: str,
    *,
    gateway_id: Any = 0,
    cc_id: Any = 0,
    date: int | None = None,
    external_order_id: Any = None,
    template: Any = 1,
    extra: dict[str, Any] | None = None,
    dlm: int | None = None,
) -> int:
    ts = date or now()
    name = (
        " ".join(x for x in (contact.get("firstname"), contact.get("lastname")) if x)
        or contact.get("email")
        or ""
    )
    values: dict[str, Any] = {
        "date": ts,
        "contact_id": contact["id"],
        "contact_name": name,
        "status": status,
        "total": money(totals.total),
        "subtotal": money(totals.subtotal),
        "tax": money(totals.tax),
        "tax_city": "0.00",
        "tax_state": money(totals.tax),
        "tax_county": "0.00",
        "shipping": money(totals.shipping),
        "order_id": "0",
        "form_id": "0",
        "lp_id": "0",
        "cc_id": cc_id or "0",
        "gateway_id": gateway_id or "0",
        "template_id": template,
        "external_order_id": external_order_id,
        "oprid": "0",
        "offer_data": json.dumps(offer),
        "zip": contact.get("zip"),
        "city": contact.get("city"),
        "state": contact.get("state"),
        "county": None,
        "recharge": "0",
        "recharge_attempts": "0",
        "last_recharge_date": "0",
        "hidden": "0",
        "dlm": dlm or now(),
        "total_paid": money(totals.total) if status == PAID else "0.00",
    }
    values.update(extra or {})
    iid = store.insert(46, values)
    for p in offer["products"]:
        line = p["total"]
        store.insert(
            17,
            {
                "contact_id": contact["id"],
                "product_id": p["id"],
                "invoice_id": iid,
                "order_id": "0",
                "subscription_id": "0",
                "package_id": "0",
                "affiliate_id": "0",
                "oprid": "0",
                "owner": "1",
                "name": p["name"],
                "description": p["name"],
                "price": p["price"][0]["price"],
                "quantity": p["quantity"],
                "discount": "0.00",
                "total_price": money(line),
                "coupon_id": "0",
                "coupon_code_id": "0",
                "type": "3" if p.get("trial_period_count") else PURCHASE_TYPE[p["type"]],
                "status": PURCHASE_STATUS[status],
                "level1": "0.00",
                "level2": "0.00",
                "date": ts,
                "dlm": dlm or ts,
            },
        )
    return iid


def set_invoice_status(store: Store, invoice: dict[str, Any], status: str, note: str = "") -> None:
    iid = int(invoice["id"])
    ts = now()
    vals: dict[str, Any] = {"status": status, "dlm": ts}
    if status == PAID:
        vals["total_paid"] = invoice.get("total")
    store.update(46, iid, vals)
    store.update_where(
        17, {"status": PURCHASE_STATUS[status], "dlm": ts}, "CAST(invoice_id AS INTEGER)=?", [iid]
    )
    for purchase in store.select(17, "CAST(invoice_id AS INTEGER)=?", [iid]):
        store.insert(
            30,
            {
                "purchase_id": purchase["id"],
                "contact_id": invoice.get("contact_id"),
                "invoice_id": iid,
                "product_id": purchase.get("product_id"),
                "status": PURCHASE_STATUS[status],
                "amount": purchase.get("total_price"),
                "description": note or f"Invoice {STATUS_NAMES.get(status, status)}",
                "date": ts,
            },
        )


def record_payment(
    store: Store,
    invoice: dict[str, Any],
    amount: Any,
    *,
    gateway_id: Any,
    cc_id: Any,
    external_txn: str,
    date: int | None = None,
    status: str = "1",
) -> int:
    return store.insert(
        227,
        {
            "invoice_id": invoice["id"],
            "contact_id": invoice.get("contact_id"),
            "amount": money(amount or 0),
            "status": status,
            "gateway_id": gateway_id or "0",
            "cc_id": cc_id or "0",
            "external_txn": external_txn,
            "date": date or now(),
        },
    )


def note_charge(
    store: Store,
    contact_id: Any,
    card: dict[str, Any] | None,
    amount: Decimal | float,
    ok: bool,
    invoice_id: int,
) -> None:
    vals: dict[str, Any] = {
        "mrcAmount": money(amount),
        "mrcResult": "0" if ok else "1",
        "dlm": now(),
    }
    if card:
        vals.update(
            {
                "ccNumber": card.get("last4"),
                "ccType": card.get("type"),
                "ccExpirationMonth": str(int(card.get("exp_month") or 0) or "") or None,
                "ccExpirationYear": card.get("exp_year"),
            }
        )
        store.update(45, int(card["id"]), {"recent_sale": now(), "invoice_id": invoice_id})
    store.update(0, int(contact_id), vals)


def refresh_contact(store: Store, contact_id: Any) -> None:
    """Recompute the contact's commerce summary fields from its invoices."""
    cid = int(contact_id or 0)
    if not cid or not store.exists(0, cid):
        return
    spent = (
        store.scalar(
            "SELECT COALESCE(SUM(CAST(total AS REAL)),0) FROM o_46 WHERE CAST(contact_id AS INTEGER)=? "
            "AND status IN ('1','3')",
            [cid],
        )
        or 0
    )
    unpaid = (
        store.scalar(
            "SELECT COALESCE(SUM(CAST(total AS REAL)),0) FROM o_46 WHERE CAST(contact_id AS INTEGER)=? "
            "AND status IN ('0','5','8')",
            [cid],
        )
        or 0
    )
    last = store.select(
        46, "CAST(contact_id AS INTEGER)=? AND status <> '9'", [cid], order="id DESC", limit=1
    )
    vals: dict[str, Any] = {
        "spent": money(spent),
        "mrcUnpaid": money(unpaid),
        "unpaid_invoices": "1" if unpaid else "0",
    }
    if last:
        vals["mriInvoiceNum"] = last[0]["id"]
        vals["mriInvoiceTotal"] = last[0]["total"]
    store.update(0, cid, vals)


# ---------------------------------------------------------------------------- recurring orders
def create_orders(
    store: Store,
    invoice_id: int,
    contact: dict[str, Any],
    offer: dict[str, Any],
    *,
    cc_id: Any,
    gateway_id: Any,
    past_due: bool = False,
    date: int | None = None,
) -> list[int]:
    ts = date or now()
    order_ids: list[int] = []
    for p in offer["products"]:
        if p["type"] == "single":
            continue
        count = int(p["price"][0]["payment_count"])
        remaining = count - 1 if p["type"] == "payment_plan" else 0
        if p["type"] == "payment_plan" and remaining <= 0:
            continue
        unit = p["price"][0]["unit"]
        if p.get("trial_period_count"):
            trial_unit = p.get("trial_period_unit") or "day"
            next_date = ts + int(p["trial_period_count"]) * UNIT_SECONDS.get(
                trial_unit, UNIT_SECONDS["day"]
            )
        else:
            next_date = ts + UNIT_SECONDS[unit]
        single_offer = {**offer, "products": [p]}
        sub, tax, ship = recurring_amounts(offer, p)
        single_offer.update({"subTotal": money(sub), "grandTotal": money(sub + tax + ship)})
        offer_id = store.insert(
            65,
            {
                "name": f"{p['name']} - {contact.get('firstname') or ''} "
                f"{contact.get('lastname') or ''}".strip(),
                "public": "0",
                "data": json.dumps(single_offer),
                "referenced": "1",
                "owner": "1",
            },
        )
        oid = store.insert(
            52,
            {
                "contact_id": contact["id"],
                "offer_id": offer_id,
                "name": p["name"],
                "cc_id": cc_id or "0",
                "gateway_id": gateway_id or "0",
                "affiliate": "0",
                "payment_next_date": next_date,
                "unit": unit,
                "count": "1",
                "next_sub": money(sub),
                "tax": money(tax),
                "shipping": money(ship),
                "next_charge": money(sub + tax + ship),
                "transactions": "1",
                "transactions_remaining": str(remaining),
                "charged": p["total"],
                "status": "1" if past_due else "0",
                "shipping_address": contact.get("address"),
                "shipping_city": contact.get("city"),
                "shipping_state": contact.get("state"),
                "shipping_zip": contact.get("zip"),
                "shipping_country": contact.get("country"),
                "cancellation_date": "0",
                "hidden": "0",
                "dlm": ts,
                "orig_month_date": ts,
            },
        )
        store.insert(
            44,
            {
                "contact_id": contact["id"],
                "order_id": oid,
                "product_id": p["id"],
                "type": "0" if p["type"] == "subscription" else "1",
                "payment_amount": money(sub + tax + ship),
                "payment_next_date": next_date,
                "payment_made": "1",
                "payment_remaining": str(remaining),
                "unit": unit,
                "billing_status": "past_due" if past_due else "current",
                "date": ts,
            },
        )
        store.update_where(
            17,
            {"order_id": oid},
            "CAST(invoice_id AS INTEGER)=? AND CAST(product_id AS INTEGER)=?",
            [invoice_id, int(p["id"])],
        )
        order_ids.append(oid)
    if order_ids:
        store.update(46, invoice_id, {"order_id": order_ids[0]})
    return order_ids


def activate_orders(store: Store, invoice: dict[str, Any]) -> None:
    """First payment of an invoice with recurring products: create its orders (once)."""
    if str(invoice.get("order_id") or "0") not in ("0", ""):
        store.update_where(52, {"status": "0"}, "id=?", [int(invoice["order_id"])])
        store.update_where(
            44,
            {"billing_status": "current"},
            "CAST(order_id AS INTEGER)=?",
            [int(invoice["order_id"])],
        )
        return
    try:
        offer = json.loads(invoice.get("offer_data") or "{}")
    except ValueError:
        return
    if not isinstance(offer, dict) or not isinstance(offer.get("products"), list):
        return
    contact = store.get(0, int(invoice.get("contact_id") or 0))
    if contact is None:
        return
    create_orders(
        store,
        int(invoice["id"]),
        contact,
        offer,
        cc_id=invoice.get("cc_id"),
        gateway_id=invoice.get("gateway_id"),
    )


def load_invoice(store: Store, iid: int) -> dict[str, Any]:
    inv = store.get(46, iid)
    if inv is None:
        raise ApiError(404, f"No Invoice (transaction) with id {iid}")
    return inv
