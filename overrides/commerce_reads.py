"""Commerce reads — get_invoices, get_purchases, get_failed_transactions, get_payments — and the
helpers the commerce write tools share (status names, invoice loading, readable records).

Invoice (46) status codes: the API's 0–7 (API.md §5) plus two codes of the sandbox emulator,
8 = collections and 9 = draft.  Readable names are the ones the tools speak.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any, cast

from ontraport_mcp.domain.offers import api_line_items, cents, money, parse_api_offer
from ontraport_mcp.domain.records import (
    and_conditions,
    as_int,
    clause,
    condition_json,
    get_record,
    ids_param,
    iso,
    list_records,
    to_epoch,
)
from ontraport_mcp.errors import InvalidArguments, NotFound, Refused, UpstreamError
from ontraport_mcp.generated.api import Offer, OrderOffer
from ontraport_mcp.runtime.context import ToolContext
from ontraport_mcp.runtime.guard import PAYMENT_PAGE_ADVICE
from ontraport_mcp.runtime.registry import override

from .cleaner import clean

INVOICE, PURCHASE, PAYMENT, CONTACT, CARD, GATEWAY = 46, 17, 227, 0, 45, 70
ORDER, OPEN_ORDER = 52, 44

INVOICE_STATUS: dict[str, str] = {
    "0": "open",
    "1": "paid",
    "2": "refunded",
    "3": "partially_refunded",
    "4": "voided",
    "5": "declined",
    "6": "written_off",
    "7": "pending",
    "8": "collections",
    "9": "draft",
}
INVOICE_CODE = {name: code for code, name in INVOICE_STATUS.items()}
OWED = frozenset({"open", "declined", "collections", "pending", "draft"})
PURCHASE_STATUS = {"0": "collections", "1": "paid", "2": "declined", "3": "voided",
                   "4": "refunded", "5": "written_off", "7": "pending"}  # fmt: skip
PURCHASE_TYPE = {"0": "one_time", "1": "subscription", "2": "payment_plan", "3": "trial"}
PAYMENT_STATUS = {"0": "pending", "1": "paid", "2": "declined", "3": "refunded", "4": "voided"}
ORDER_STATUS = {"0": "current", "1": "past_due"}
CARD_TYPES = {"1": "Visa", "2": "Mastercard", "3": "American Express", "4": "Discover",
              "5": "PayPal", "6": "Card"}  # fmt: skip
CARD_STATUS = {"1": "active", "2": "expired", "3": "active_default", "4": "expired_default"}
FAILED_KINDS = {"declined": "5", "collections": "8"}


# ------------------------------------------------------------------------------ shared helpers
def id_of(record: dict[str, Any], what: str) -> int:
    """The id of a record Ontraport listed (a card, a gateway), for a request body that needs
    it: a listed record without one is Ontraport's fault, reported as such, never sent as null."""
    found = as_int(record.get("id"))
    if found is None:
        raise UpstreamError(
            f"Ontraport listed a {what} without an id; nothing was done.",
            status=502,
            code="unexpected_response",
        )
    return found


def as_offer(offer: dict[str, Any]) -> Offer:
    """An offer held as plain JSON, as the request bodies type it (``offer`` of processManual,
    requestPayment and PUT /transaction/order).

    The offers sent are built to API.md §4 by ``domain.offers`` (``BuiltOffer.api()``, typed as a
    plain dict there) or are Ontraport's own offer JSON written back with a few keys changed
    (update_order, update_invoice), which may carry keys the spec's ``Offer`` does not list (an
    order's ``payment_next_date``, ``status``...).  Neither can be checked against a ``TypedDict``
    statically, so this is the one place that asserts the type."""
    return cast(Offer, offer)


def as_order_offer(offer: dict[str, Any]) -> OrderOffer:
    """An order's offer as GET /transaction/order returned it, changed, to be written back (the
    body of PUT /transaction/order); untyped JSON for the reason ``as_offer`` gives."""
    return cast(OrderOffer, offer)


def invoice_status(record: dict[str, Any]) -> str:
    code = str(record.get("status"))
    return INVOICE_STATUS.get(code, f"status_{code}")


def amount_of(record: dict[str, Any], key: str = "total") -> Decimal:
    try:
        return cents(record.get(key) or 0)
    except ValueError:
        return Decimal(0)


def nonzero(value: Any) -> int | None:
    number = as_int(value)
    return number if number else None


async def load_invoice(ctx: ToolContext, invoice_id: int) -> dict[str, Any]:
    try:
        return await get_record(ctx, INVOICE, invoice_id)
    except NotFound:
        raise NotFound(
            f"No invoice #{invoice_id}. Find the right id with get_invoices or get_payments.",
            details={"id": invoice_id},
        ) from None


def person(record: dict[str, Any]) -> str:
    name = " ".join(str(record.get(k) or "").strip() for k in ("firstname", "lastname")).strip()
    return name or str(record.get("email") or "").strip()


async def contact_name(ctx: ToolContext, contact_id: int | None) -> str:
    if not contact_id:
        return "an unknown contact"
    try:
        record = await get_record(ctx, CONTACT, contact_id)
    except NotFound:
        return f"contact #{contact_id}"
    return person(record) or f"contact #{contact_id}"


async def invoice_contact(ctx: ToolContext, invoice: dict[str, Any]) -> str:
    name = str(invoice.get("contact_name") or "").strip()
    return name or await contact_name(ctx, as_int(invoice.get("contact_id")))


def card_label(card: dict[str, Any]) -> str:
    kind = CARD_TYPES.get(str(card.get("type")), "Card")
    return f"{kind} ending {card.get('last4') or '????'} (card #{card.get('id')})"


def card_expired(card: dict[str, Any]) -> bool:
    return str(card.get("status")) in ("2", "4")


async def contact_cards(ctx: ToolContext, contact_id: int) -> list[dict[str, Any]]:
    page = await list_records(
        ctx, CARD, condition=[clause("contact_id", "=", contact_id)], range_=50
    )
    return list(page["records"])


def date_clauses(args: dict[str, Any], field: str = "date") -> list[Any] | None:
    parts: list[Any] = []
    if args.get("since") is not None:
        parts.append(clause(field, ">=", to_epoch(args["since"], argument="since")))
    if args.get("until") is not None:
        if parts:
            parts.append("AND")
        parts.append(clause(field, "<", to_epoch(args["until"], argument="until")))
    return parts or None


def _eq(field: str, value: Any) -> list[Any] | None:
    return [clause(field, "=", value)] if value is not None else None


_INVOICE_HIDDEN = frozenset({"offer_data", "hidden", "template_id", "oprid", "form_id", "lp_id",
                             "tax_city", "tax_state", "tax_county", "send_invoice"})  # fmt: skip
_VIEW_SOURCES = {
    "line_items": ["offer_data"],
    "balance": ["status", "total", "total_paid"],
    "status_code": ["status"],
}
_MONEY = ("total", "subtotal", "tax", "shipping", "total_paid")
_DATES = ("date", "due_date", "last_recharge_date", "dlm")
_IDS = ("contact_id", "order_id", "gateway_id", "cc_id")


def invoice_view(record: dict[str, Any]) -> dict[str, Any]:
    """A readable invoice: status name, money as numbers, ISO dates, line items."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key in _INVOICE_HIDDEN:
            continue
        if key == "id":
            out["id"] = as_int(value)
        elif key == "status":
            out["status"] = invoice_status(record)
            out["status_code"] = str(value)
        elif key in _MONEY:
            out[key] = money(amount_of(record, key))
        elif key in _DATES:
            out[key] = iso(value)
        elif key in _IDS:
            out[key] = nonzero(value)
        elif key == "recharge_attempts":
            out[key] = as_int(value) or 0
        elif key == "recharge":
            out[key] = str(value) == "1"
        else:
            out[key] = value
    if "total" in record and "status" in record:
        paid = amount_of(record, "total_paid")
        owed = invoice_status(record) in OWED
        out["balance"] = money(max(amount_of(record) - paid, Decimal(0))) if owed else 0.0
    if "offer_data" in record:
        out["line_items"] = api_line_items(parse_api_offer(record.get("offer_data")))
    return out


# ------------------------------------------------------------------------------ get_invoices
@override("get_invoices")
async def get_invoices(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    fields = args.get("fields")
    if args.get("id") is not None:
        record = invoice_view(await load_invoice(ctx, int(args["id"])))
        if fields:
            record = {k: v for k, v in record.items() if k in {"id", *fields}}
        return {
            "object_type_id": INVOICE,
            "records": [record],
            "count": 1,
            "start": 0,
            "has_more": False,
            "total": 1,
        }
    meta = await ctx.meta()
    type_meta = meta.require(INVOICE, None)
    status = args.get("status")
    condition = and_conditions(
        _eq("contact_id", args.get("contact_id")),
        _eq("status", INVOICE_CODE[status]) if status else None,
        date_clauses(args),
        condition_json(type_meta, args.get("condition")),
    )
    list_fields = None
    if fields:
        wanted = [src for f in fields for src in _VIEW_SOURCES.get(f, [f])]
        list_fields = list(dict.fromkeys(["id", *wanted]))
    page = await list_records(
        ctx,
        INVOICE,
        condition=condition,
        fields=list_fields,
        start=int(args.get("start") or 0),
        range_=int(args.get("range") or 50),
        sort=args.get("sort"),
        sort_dir=args.get("sort_dir"),
    )
    records = [invoice_view(r) for r in page["records"]]
    if fields:
        keep = {"id", *fields}
        records = [{k: v for k, v in r.items() if k in keep} for r in records]
    page["records"] = records
    return page


# ------------------------------------------------------------------------------ get_purchases
def purchase_view(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": as_int(record.get("id")),
        "contact_id": nonzero(record.get("contact_id")),
        "product_id": nonzero(record.get("product_id")),
        "name": record.get("name"),
        "quantity": as_int(record.get("quantity")) or 0,
        "price": money(amount_of(record, "price")),
        "discount": money(amount_of(record, "discount")),
        "total": money(amount_of(record, "total_price")),
        "status": PURCHASE_STATUS.get(str(record.get("status")), f"status_{record.get('status')}"),
        "type": PURCHASE_TYPE.get(str(record.get("type")), f"type_{record.get('type')}"),
        "invoice_id": nonzero(record.get("invoice_id")),
        "order_id": nonzero(record.get("order_id")),
        "date": iso(record.get("date")),
    }
    if record.get("coupon_code_id") not in (None, "", "0"):
        out["coupon_code_id"] = as_int(record.get("coupon_code_id"))
    return out


@override("get_purchases")
async def get_purchases(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    condition = and_conditions(
        _eq("contact_id", args.get("contact_id")),
        _eq("product_id", args.get("product_id")),
        date_clauses(args),
    )
    page = await list_records(
        ctx,
        PURCHASE,
        condition=condition,
        start=int(args.get("start") or 0),
        range_=int(args.get("range") or 50),
        sort="date",
        sort_dir=args.get("sort_dir") or "desc",
    )
    page["records"] = [purchase_view(r) for r in page["records"]]
    return page


# ------------------------------------------------------------------------------ failed
@override("get_failed_transactions")
async def get_failed_transactions(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    kinds = list(args.get("kinds") or ["declined", "collections", "overdue"])
    now = int(time.time())
    groups: list[list[Any]] = []
    codes = [FAILED_KINDS[k] for k in kinds if k in FAILED_KINDS]
    if codes:
        groups.append([clause("status", "IN", codes)])
    if "overdue" in kinds:
        groups.append(
            [
                clause("status", "=", "0"),
                "AND",
                clause("due_date", ">", 0),
                "AND",
                clause("due_date", "<", now),
            ]  # fmt: skip
        )
    extra = and_conditions(_eq("contact_id", args.get("contact_id")), date_clauses(args))
    condition: list[Any] = []
    for group in groups:  # (a AND extra) OR (b AND extra): AND binds tighter than OR
        if condition:
            condition.append("OR")
        condition += and_conditions(group, extra) or group
    page = await list_records(
        ctx,
        INVOICE,
        condition=condition,
        start=int(args.get("start") or 0),
        range_=int(args.get("range") or 50),
        sort="date",
        sort_dir="asc",
    )
    records = []
    for raw in page["records"]:
        view = invoice_view(raw)
        status = view.get("status")
        view["kind"] = "overdue" if status == "open" else status
        view["amount_owed"] = view.get("balance", view.get("total"))
        due = as_int(raw.get("due_date")) or 0
        if due and due < now:
            view["days_overdue"] = (now - due) // 86400
        records.append(view)
    page["records"] = records
    return page


# ------------------------------------------------------------------------------ payments
@override("get_payments")
async def get_payments(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    condition = and_conditions(
        _eq("contact_id", args.get("contact_id")),
        _eq("invoice_id", args.get("invoice_id")),
        date_clauses(args),
    )
    page = await list_records(
        ctx,
        PAYMENT,
        condition=condition,
        start=int(args.get("start") or 0),
        range_=int(args.get("range") or 50),
        sort="date",
        sort_dir=args.get("sort_dir") or "desc",
    )
    rows = page["records"]
    gateways = await _names_by_id(ctx, GATEWAY, {nonzero(r.get("gateway_id")) for r in rows})
    cards = await _names_by_id(ctx, CARD, {nonzero(r.get("cc_id")) for r in rows})
    invoices = await _names_by_id(ctx, INVOICE, {nonzero(r.get("invoice_id")) for r in rows})
    records = []
    for r in rows:
        gid, cid, iid = (nonzero(r.get(k)) for k in ("gateway_id", "cc_id", "invoice_id"))
        view: dict[str, Any] = {
            "id": as_int(r.get("id")),
            "invoice_id": iid,
            "contact_id": nonzero(r.get("contact_id")),
            "amount": money(amount_of(r, "amount")),
            "date": iso(r.get("date")),
            "status": PAYMENT_STATUS.get(str(r.get("status")), f"status_{r.get('status')}"),
            "gateway_id": gid,
            "cc_id": cid,
            "external_txn": r.get("external_txn") or None,
        }
        if gid in gateways:
            view["gateway"] = gateways[gid].get("name")
        if cid in cards:
            view["card"] = card_label(cards[cid])
        if iid in invoices:
            view["invoice_status"] = invoice_status(invoices[iid])
            view["invoice_total"] = money(amount_of(invoices[iid]))
        records.append(view)
    page["records"] = records
    return page


async def _names_by_id(
    ctx: ToolContext, type_id: int, ids: set[int | None]
) -> dict[int | None, dict[str, Any]]:
    wanted = sorted(i for i in ids if i)
    if not wanted:
        return {}
    result = await ctx.api.list_objects(object_id=type_id, ids=ids_param(wanted), range_=50)
    rows = clean(result.data)
    return {
        as_int(row.get("id")): row
        for row in (rows if isinstance(rows, list) else [])
        if isinstance(row, dict)
    }


# ------------------------------------------------------------------------------ cards, gateways
def cards_text(cards: list[dict[str, Any]]) -> str:
    usable = [card_label(c) for c in cards if not card_expired(c)]
    return ", ".join(usable) if usable else "none"


async def resolve_card(
    ctx: ToolContext, contact_id: int, cc_id: int | None, who: str
) -> dict[str, Any]:
    """The card on file a charge uses: ``cc_id`` (must be the contact's) or the default card."""
    cards = await contact_cards(ctx, contact_id)
    if cc_id:
        card = next((c for c in cards if as_int(c.get("id")) == cc_id), None)
        if card is None:
            raise Refused(
                f"Refused: card #{cc_id} is not a card on file of {who} (contact #{contact_id}). "
                f"Their cards: {cards_text(cards)}. {PAYMENT_PAGE_ADVICE} Nothing was done.",
                details={"cc_id": cc_id, "contact_id": contact_id},
            )
    else:
        card = next((c for c in cards if str(c.get("status")) in ("3", "4")), None)
        if card is None:
            raise Refused(
                f"Refused: {who} (contact #{contact_id}) has no default card on file"
                + (f"; other cards: {cards_text(cards)} (pass cc_id)" if cards else "")
                + f". {PAYMENT_PAGE_ADVICE} Nothing was done.",
                details={"contact_id": contact_id},
            )
    if card_expired(card):
        raise Refused(
            f"Refused: {card_label(card)} of {who} is expired. Pick another card with cc_id "
            f"(usable: {cards_text(cards)}). {PAYMENT_PAGE_ADVICE} Nothing was done.",
            details={"cc_id": as_int(card.get("id")), "contact_id": contact_id},
        )
    return card


async def resolve_gateway(ctx: ToolContext, gateway_id: int | None) -> dict[str, Any]:
    """The payment gateway (type 70): ``gateway_id``, or the account's only active one."""
    page = await list_records(ctx, GATEWAY, range_=50)
    gateways = page["records"]
    active = [g for g in gateways if str(g.get("status", "1")) == "1"]
    listed = ", ".join(f"{g.get('id')} {g.get('name')}" for g in active) or "none"
    if gateway_id:
        found = next((g for g in gateways if as_int(g.get("id")) == gateway_id), None)
        if found is None:
            raise InvalidArguments(
                f"Gateway {gateway_id} does not exist. Active gateways: {listed}.",
                details={"field": "gateway_id"},
            )
        if found not in active:
            raise Refused(
                f"Refused: gateway {gateway_id} ({found.get('name')}) is inactive. Active "
                f"gateways: {listed}. Nothing was done.",
                details={"field": "gateway_id"},
            )
        return dict(found)
    if len(active) == 1:
        return dict(active[0])
    if not active:
        raise Refused("Refused: the account has no active payment gateway. Nothing was done.")
    raise InvalidArguments(
        f"The account has {len(active)} active gateways; say which with gateway_id: {listed}.",
        details={"field": "gateway_id", "choices": [as_int(g.get("id")) for g in active]},
    )
