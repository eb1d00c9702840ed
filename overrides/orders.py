"""Subscriptions and payment plans (orders, type 52): cancel_subscription and update_order.

update_order reads the order and its offer (``GET /transaction/order``), changes only what was
asked and writes the whole offer back with ``offer_id`` and ``order_id``.  It never sends a PUT
without the offer's products: upstream, an offer-less ``PUT /transaction/order`` deletes the
order.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ontraport_mcp.domain.offers import UNIT_ADVERB, cents, format_money, money, recurring_charge
from ontraport_mcp.domain.records import as_int, get_record, iso, to_epoch
from ontraport_mcp.errors import InvalidArguments, NotFound, Refused
from ontraport_mcp.runtime.context import ToolContext
from ontraport_mcp.runtime.registry import Plan, override

from .cleaner import clean
from .commerce_reads import (
    INVOICE,
    OPEN_ORDER,
    ORDER,
    ORDER_STATUS,
    as_order_offer,
    card_label,
    contact_name,
    id_of,
    nonzero,
    resolve_card,
)

CHANGES = ("price", "quantity", "unit", "cc_id", "payment_next_date")


def order_status(order: dict[str, Any]) -> str:
    code = str(order.get("status") or "0")
    return ORDER_STATUS.get(code, f"status_{code}")


async def load_order(ctx: ToolContext, order_id: int) -> dict[str, Any]:
    try:
        return await get_record(ctx, ORDER, order_id)
    except NotFound:
        raise NotFound(
            f"No order #{order_id} (it may already be cancelled). List subscriptions with "
            "get_objects on type 52 (orders) or 44 (open orders).",
            details={"order_id": order_id},
        ) from None


def _every(order: dict[str, Any]) -> str:
    unit = str(order.get("unit") or "")
    return UNIT_ADVERB.get(unit, f"every {unit}" if unit else "per period")


# ------------------------------------------------------------------------------ cancel
@dataclass(frozen=True, slots=True)
class Cancel:
    order: dict[str, Any]
    order_id: int
    contact_id: int | None
    contact: str

    @property
    def amount(self) -> Decimal:
        try:
            return cents(self.order.get("next_charge") or self.order.get("next_sub") or 0)
        except ValueError:
            return Decimal(0)


async def cancel_setup(ctx: ToolContext, args: dict[str, Any]) -> Cancel:
    order_id = args.get("order_id")
    open_order_id = args.get("open_order_id")
    if order_id is None and open_order_id is None:
        raise InvalidArguments(
            "Say which subscription: give order_id (type 52) or open_order_id (type 44).",
            details={"field": "order_id"},
        )
    if open_order_id is not None:
        try:
            open_order = await get_record(ctx, OPEN_ORDER, int(open_order_id))
        except NotFound:
            raise NotFound(
                f"No open order #{open_order_id}. List them with get_objects on type 44.",
                details={"open_order_id": open_order_id},
            ) from None
        resolved = nonzero(open_order.get("order_id"))
        if resolved is None:
            raise NotFound(f"Open order #{open_order_id} belongs to no order.")
        if order_id is not None and int(order_id) != resolved:
            raise InvalidArguments(
                f"open_order_id {open_order_id} belongs to order #{resolved}, not #{order_id}; "
                "give one of them.",
                details={"field": "open_order_id"},
            )
        order_id = resolved
    target = int(str(order_id))
    order = await load_order(ctx, target)
    contact_id = nonzero(order.get("contact_id"))
    return Cancel(order, target, contact_id, await contact_name(ctx, contact_id))


def _remaining(order: dict[str, Any]) -> str:
    left = as_int(order.get("transactions_remaining")) or 0
    return f" ({left} installment{'s' if left != 1 else ''} left)" if left else ""


async def plan_cancel(ctx: ToolContext, args: dict[str, Any]) -> Plan:
    c = await cancel_setup(ctx, args)
    name = c.order.get("name") or "subscription"
    return Plan(
        summary=f"Cancel {name} (order #{c.order_id}) of {c.contact}: no more charges of "
        f"{format_money(c.amount)} {_every(c.order)}{_remaining(c.order)}; past invoices stay",
        target=f"order:{c.order_id}",
        amount=f"{c.amount:.2f}",
    )


@override("cancel_subscription", plan=plan_cancel)
async def cancel_subscription(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    c = await cancel_setup(ctx, args)
    result = await ctx.api.delete_order(id=c.order_id)
    name = c.order.get("name") or "subscription"
    return {
        "order_id": c.order_id,
        "status_before": order_status(c.order),
        "status_after": "cancelled",
        "amount": money(c.amount),
        "contact_id": c.contact_id,
        "message": f"Cancelled {name} (order #{c.order_id}) of {c.contact}: the "
        f"{format_money(c.amount)} {_every(c.order)} charges stop; past invoices are unchanged.",
        "result": {"response": clean(result.data)},
    }


# ------------------------------------------------------------------------------ update
@dataclass(slots=True)
class OrderChange:
    order_id: int
    order: dict[str, Any]
    contact_id: int | None
    contact: str
    offer: dict[str, Any]
    line_index: int
    before: Decimal
    after: Decimal
    changed: dict[str, Any] = field(default_factory=dict)
    described: list[str] = field(default_factory=list)

    @property
    def line(self) -> dict[str, Any]:
        products: list[dict[str, Any]] = self.offer["products"]
        return products[self.line_index]

    def plan(self) -> Plan:
        name = self.line.get("name") or self.order.get("name") or "subscription"
        return Plan(
            summary=f"Change {name} (order #{self.order_id}) of {self.contact}: "
            + "; ".join(self.described)
            + f". Each future charge: {format_money(self.before)} → {format_money(self.after)}"
            " (past invoices do not change)",
            target=f"order:{self.order_id}|product:{self.line.get('id')}",
            amount=f"{self.after:.2f}",
        )


def _recurring_total(offer: dict[str, Any]) -> Decimal:
    return sum(
        (
            recurring_charge(offer, p)
            for p in offer.get("products") or []
            if isinstance(p, dict) and (p.get("type") or "single") != "single"
        ),
        Decimal(0),
    )


def _price_entry(line: dict[str, Any]) -> dict[str, Any]:
    prices = line.get("price")
    if isinstance(prices, list) and prices and isinstance(prices[0], dict):
        return prices[0]
    entry: dict[str, Any] = {"price": prices if prices is not None else 0}
    line["price"] = [entry]
    return entry


async def _offer_of(ctx: ToolContext, order_id: int) -> Any:
    """The offer of an order.  ``GET /transaction/order`` takes the id of an *invoice* (the
    spec; order and invoice ids overlap), so the invoice that created the order is looked up
    first, and an offer that names another order is never used: writing it back would put one
    customer's offer on another's order."""
    condition = [{"field": {"field": "order_id"}, "op": "=", "value": {"value": order_id}}]
    found = await ctx.api.list_objects(
        object_id=INVOICE,
        condition=json.dumps(condition, separators=(",", ":")),
        sort="id",
        sort_dir="asc",
        range_=1,
    )
    rows = [r for r in (clean(found.data) or []) if isinstance(r, dict)]
    invoice_id = as_int(rows[0].get("id")) if rows else None
    if invoice_id is None:
        return None
    read = await ctx.api.get_order_offer(id=invoice_id)
    offer = clean(read.data)
    named = as_int(offer.get("order_id")) if isinstance(offer, dict) else None
    if named is not None and named != order_id:
        raise Refused(
            f"Refused: the offer read for order #{order_id} (through invoice #{invoice_id}) "
            f"belongs to order #{named}. Nothing was done.",
            details={"order_id": order_id, "invoice_id": invoice_id},
        )
    return offer


async def change_setup(ctx: ToolContext, args: dict[str, Any]) -> OrderChange:
    order_id = int(args["order_id"])
    asked = [k for k in CHANGES if args.get(k) is not None]
    if not asked:
        raise InvalidArguments(
            "Nothing to change: give price, quantity, unit, cc_id or payment_next_date.",
            details={"field": "(arguments)"},
        )
    next_date: int | None = None
    if args.get("payment_next_date") is not None:
        next_date = to_epoch(args["payment_next_date"], argument="payment_next_date")
        if next_date < time.time():
            raise InvalidArguments(
                "payment_next_date is in the past: give a future date.",
                details={"field": "payment_next_date"},
            )
    order = await load_order(ctx, order_id)
    offer = await _offer_of(ctx, order_id)
    products = offer.get("products") if isinstance(offer, dict) else None
    if not isinstance(offer, dict) or not isinstance(products, list) or not products:
        raise Refused(
            f"Refused: the offer of order #{order_id} could not be read, and writing an order "
            "back without its offer deletes it upstream. Nothing was done.",
            details={"order_id": order_id},
        )
    offer = copy.deepcopy(offer)
    products = offer["products"]
    contact_id = nonzero(order.get("contact_id"))
    contact = await contact_name(ctx, contact_id)
    lines = [i for i, p in enumerate(products) if isinstance(p, dict)]
    pid = args.get("product_id")
    if pid is not None:
        picked = [i for i in lines if as_int(products[i].get("id")) == pid]
        if not picked:
            listed = ", ".join(f"{products[i].get('id')} {products[i].get('name')}" for i in lines)
            raise InvalidArguments(
                f"Order #{order_id} has no product {pid}; its lines: {listed}.",
                details={"field": "product_id"},
            )
        index = picked[0]
    elif len(lines) == 1:
        index = lines[0]
    else:
        listed = ", ".join(f"{products[i].get('id')} {products[i].get('name')}" for i in lines)
        raise InvalidArguments(
            f"Order #{order_id} has several product lines; say which with product_id: {listed}.",
            details={
                "field": "product_id",
                "choices": [as_int(products[i].get("id")) for i in lines],
            },
        )
    change = OrderChange(
        order_id, order, contact_id, contact, offer, index, _recurring_total(offer), Decimal(0)
    )
    line = change.line
    price = _price_entry(line)
    if args.get("price") is not None:
        old, new = cents(price.get("price") or 0), cents(args["price"])
        price["price"] = money(new)
        change.changed["price"] = money(new)
        change.described.append(f"price {format_money(old)} → {format_money(new)}")
    if args.get("quantity") is not None:
        old_q, new_q = as_int(line.get("quantity")) or 1, int(args["quantity"])
        line["quantity"] = new_q
        change.changed["quantity"] = new_q
        change.described.append(f"quantity {old_q} → {new_q}")
    if args.get("unit") is not None:
        old_u = price.get("unit") or order.get("unit")
        price["unit"] = args["unit"]
        change.changed["unit"] = args["unit"]
        change.described.append(f"billed every {old_u} → every {args['unit']}")
    if args.get("cc_id") is not None:
        if not contact_id:
            raise Refused(f"Refused: order #{order_id} has no contact. Nothing was done.")
        card = await resolve_card(ctx, contact_id, int(args["cc_id"]), contact)
        offer["cc_id"] = change.changed["cc_id"] = id_of(card, "card")
        change.described.append(f"charged to {card_label(card)}")
    if next_date is not None:
        offer["payment_next_date"] = next_date
        change.changed["payment_next_date"] = iso(next_date)
        change.described.append(f"next charge on {(iso(next_date) or '')[:10]}")
    try:
        line["total"] = money(cents(price.get("price") or 0) * (as_int(line.get("quantity")) or 1))
    except ValueError:
        pass
    offer["order_id"] = order_id
    offer["offer_id"] = as_int(offer.get("offer_id")) or as_int(order.get("offer_id"))
    change.after = _recurring_total(offer)
    return change


async def plan_update_order(ctx: ToolContext, args: dict[str, Any]) -> Plan:
    return (await change_setup(ctx, args)).plan()


@override("update_order", plan=plan_update_order)
async def update_order(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    change = await change_setup(ctx, args)
    offer = change.offer
    if not offer.get("products") or not offer.get("order_id"):  # never an offer-less PUT
        raise Refused("Refused: refusing to write an order without its offer. Nothing was done.")
    result = await ctx.api.update_order_offer(body={"offer": as_order_offer(offer)})
    data = clean(result.data)
    record = data if isinstance(data, dict) else {}
    status_after = order_status(record) if record.get("status") is not None else None
    out: dict[str, Any] = {
        "order_id": change.order_id,
        "status_before": order_status(change.order),
        "amount": money(change.after),
        "contact_id": change.contact_id,
        "changed": change.changed,
        "message": f"Changed order #{change.order_id} of {change.contact}: "
        + "; ".join(change.described)
        + f". Future charges are {format_money(change.after)} {_every(record or change.order)}.",
        "result": record,
    }
    if status_after:
        out["status_after"] = status_after
    return out
