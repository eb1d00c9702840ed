"""Money-moving and state-changing invoice tools: process_transaction, log_offline_purchase,
mark_transaction_paid, rerun_transaction, refund_transaction, void_transaction,
write_off_transaction and convert_transaction — plus ``TRANSITIONS``, the one table of which
invoice states each action may start from (mirroring the sandbox's ``INVOICE_TRANSITIONS``,
API.md §5).  Every rule is checked before the API is called; a refusal states the current
state and what would be valid.  Each tool has a ``plan`` that reads what it acts on and
builds the confirmation summary bound to the exact invoice (or contact, card and gateway) and
amount.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ontraport_mcp.domain.offers import UNIT_ADVERB, BuiltOffer, format_money, money, prepare
from ontraport_mcp.domain.records import as_int, get_record, iso, to_epoch
from ontraport_mcp.errors import InvalidArguments, NotFound, OutcomeUnknown, Refused
from ontraport_mcp.generated.api import OntraportApi, ProcessManualRequest, RefundTransactionsBody
from ontraport_mcp.runtime.context import ToolContext
from ontraport_mcp.runtime.registry import Plan, override

from .cleaner import clean
from .commerce_reads import (
    CONTACT,
    INVOICE,
    INVOICE_STATUS,
    amount_of,
    as_offer,
    card_label,
    contact_cards,
    id_of,
    invoice_contact,
    invoice_status,
    load_invoice,
    nonzero,
    person,
    resolve_card,
    resolve_gateway,
)


# ------------------------------------------------------------------------------ the table
@dataclass(frozen=True, slots=True)
class Transition:
    """Which invoice states an action may start from, and the state it leads to."""

    tool: str
    allowed: frozenset[str]
    after: str | None  # None: unchanged, or depends on a charge
    advice: Mapping[str, str]  # current state -> what to do instead


_NOT_PAID = "It has not been paid, so nothing can be refunded: void_transaction cancels an unsettled invoice, write_off_transaction gives up on the money."
_ALL = frozenset(INVOICE_STATUS.values())
TRANSITIONS: dict[str, Transition] = {
    "payInvoice": Transition(
        "pay_invoice",
        frozenset({"open", "declined", "collections"}),
        "paid",
        {
            "paid": "It is already paid.",
            "draft": "Finalise the draft first with update_invoice (status: open).",
        },
    ),
    "refund": Transition(
        "refund_transaction",
        frozenset({"paid", "partially_refunded"}),
        "refunded",
        {
            "refunded": "It was already refunded.",
            **dict.fromkeys(("open", "declined", "collections", "pending", "draft"), _NOT_PAID),
        },
    ),
    "void": Transition(
        "void_transaction",
        frozenset({"open", "pending", "draft"}),
        "voided",
        {
            "paid": "It has settled: refund_transaction gives the money back.",
            "partially_refunded": "It has settled: refund_transaction refunds the rest.",
            "declined": "write_off_transaction gives up on a declined invoice.",
            "collections": "write_off_transaction gives up on an invoice in collections.",
            "voided": "It is already voided.",
        },
    ),
    "writeOff": Transition(
        "write_off_transaction",
        frozenset({"open", "declined", "collections"}),
        "written_off",
        {
            "paid": "It is paid: nothing is owed (refund_transaction gives money back).",
            "written_off": "It is already written off.",
            "draft": "void_transaction discards a draft.",
            "pending": "void_transaction cancels a pending charge.",
        },
    ),
    "markPaid": Transition(
        "mark_transaction_paid",
        frozenset({"open", "declined", "collections"}),
        "paid",
        {
            "paid": "It is already paid.",
            "draft": "Finalise the draft first with update_invoice (status: open).",
        },
    ),
    "rerun": Transition(
        "rerun_transaction",
        frozenset({"declined", "collections"}),
        None,
        {
            "open": "It has not failed: pay_invoice charges a card on file, send_invoice lets "
            "the customer pay on Ontraport's payment page.",
            "paid": "It is already paid.",
        },
    ),
    "convertToDecline": Transition(
        "convert_transaction",
        frozenset({"open"}),
        "declined",
        {"declined": "It is already declined.", "collections": "It is already in collections."},
    ),
    "convertToCollections": Transition(
        "convert_transaction",
        frozenset({"declined"}),
        "collections",
        {
            "open": "Move it to declined first (to: decline), then to collections.",
            "collections": "It is already in collections.",
        },
    ),
    "resendInvoice": Transition(
        "send_invoice",
        _ALL - {"draft"},
        None,
        {"draft": "Finalise the draft first with update_invoice (status: open), then send it."},
    ),
    "edit": Transition(
        "update_invoice",
        frozenset({"draft", "open"}),
        "open",
        {},
    ),
}


def check_transition(action: str, invoice: dict[str, Any]) -> str:
    """The invoice's readable status when ``action`` may start from it; else Refused."""
    rule = TRANSITIONS[action]
    status = invoice_status(invoice)
    if status in rule.allowed:
        return status
    names = sorted(rule.allowed)
    valid = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    advice = rule.advice.get(status, "")
    raise Refused(
        f"Refused: invoice #{invoice.get('id')} is {status}; {rule.tool} only works on "
        f"invoices that are {valid}. {advice} Nothing was done.".replace("  ", " "),
        details={
            "id": as_int(invoice.get("id")),
            "current_status": status,
            "valid_statuses": sorted(rule.allowed),
        },
    )


@dataclass(frozen=True, slots=True)
class InvoiceState:
    invoice: dict[str, Any]
    id: int
    status: str
    amount: Decimal
    contact_id: int | None
    contact: str

    def plan(self, summary: str, amount: Decimal | None = None) -> Plan:
        value = self.amount if amount is None else amount
        return Plan(summary=summary, target=f"invoice:{self.id}", amount=f"{value:.2f}")

    def result(self, after: dict[str, Any], message: str, data: Any) -> dict[str, Any]:
        return {
            "id": self.id,
            "status_before": self.status,
            "status_after": invoice_status(after),
            "amount": money(self.amount),
            "contact_id": self.contact_id,
            "message": message,
            "result": {"response": data},
        }


async def invoice_state(ctx: ToolContext, invoice_id: int, action: str) -> InvoiceState:
    invoice = await load_invoice(ctx, invoice_id)
    status = check_transition(action, invoice)
    return InvoiceState(
        invoice=invoice,
        id=invoice_id,
        status=status,
        amount=amount_of(invoice),
        contact_id=nonzero(invoice.get("contact_id")),
        contact=await invoice_contact(ctx, invoice),
    )


def selection(invoice_id: int) -> RefundTransactionsBody:
    """One invoice, as the bulk transaction writes select it (refund, void, write off, rerun,
    resend: the spec gives their bodies one shape, so this type fits each of them)."""
    return {"ids": [invoice_id], "objectID": INVOICE}


# ------------------------------------------------------------------------------ refund
async def plan_refund(ctx: ToolContext, args: dict[str, Any]) -> Plan:
    st = await invoice_state(ctx, int(args["id"]), "refund")
    reason = f" (reason: {args['reason']})" if args.get("reason") else ""
    return st.plan(f"Refund invoice #{st.id}, {format_money(st.amount)}, to {st.contact}{reason}")


@override("refund_transaction", plan=plan_refund)
async def refund_transaction(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    st = await invoice_state(ctx, int(args["id"]), "refund")
    result = await ctx.api.refund_transactions(body=selection(st.id))
    after = await load_invoice(ctx, st.id)
    out = st.result(
        after,
        f"Refunded invoice #{st.id}, {format_money(st.amount)}, to {st.contact} "
        f"({st.status} → {invoice_status(after)}).",
        clean(result.data),
    )
    if args.get("reason"):
        out["reason"] = args["reason"]
    return out


# ------------------------------------------------------------------------------ void
async def plan_void(ctx: ToolContext, args: dict[str, Any]) -> Plan:
    st = await invoice_state(ctx, int(args["id"]), "void")
    return st.plan(
        f"Void invoice #{st.id}, {format_money(st.amount)}, of {st.contact} "
        f"({st.status} → voided; it will no longer be owed)"
    )


@override("void_transaction", plan=plan_void)
async def void_transaction(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    st = await invoice_state(ctx, int(args["id"]), "void")
    result = await ctx.api.void_transactions(body=selection(st.id))
    after = await load_invoice(ctx, st.id)
    return st.result(
        after,
        f"Voided invoice #{st.id}, {format_money(st.amount)}, of {st.contact} "
        f"({st.status} → {invoice_status(after)}).",
        clean(result.data),
    )


# ------------------------------------------------------------------------------ write off
async def plan_write_off(ctx: ToolContext, args: dict[str, Any]) -> Plan:
    st = await invoice_state(ctx, int(args["id"]), "writeOff")
    return st.plan(
        f"Write off invoice #{st.id}, {format_money(st.amount)}, owed by {st.contact} "
        f"({st.status} → written_off; no money moves)"
    )


@override("write_off_transaction", plan=plan_write_off)
async def write_off_transaction(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    st = await invoice_state(ctx, int(args["id"]), "writeOff")
    result = await ctx.api.write_off_transactions(body=selection(st.id))
    after = await load_invoice(ctx, st.id)
    return st.result(
        after,
        f"Wrote off invoice #{st.id}, {format_money(st.amount)}, of {st.contact} "
        f"({st.status} → {invoice_status(after)}).",
        clean(result.data),
    )


# ------------------------------------------------------------------------------ mark paid
MARK_PAID_TYPES = {"card": 0, "ach": 1, "card_offline": 2, "check": 3, "other": 4}


def _paid_on(args: dict[str, Any]) -> str | None:
    if args.get("date") is None:
        return None
    when = to_epoch(args["date"], argument="date")
    if when > time.time() + 86400:
        raise InvalidArguments(
            "`date` is in the future: give the day the payment was received.",
            details={"field": "date"},
        )
    return (iso(when) or "")[:10] or None


async def plan_mark_paid(ctx: ToolContext, args: dict[str, Any]) -> Plan:
    paid_on = _paid_on(args)
    st = await invoice_state(ctx, int(args["id"]), "markPaid")
    method = str(args.get("method") or "other").replace("_", " ")
    when = f" on {paid_on}" if paid_on else ""
    return st.plan(
        f"Mark invoice #{st.id}, {format_money(st.amount)}, of {st.contact} as paid by "
        f"{method}{when} ({st.status} → paid; nothing is charged)"
    )


@override("mark_transaction_paid", plan=plan_mark_paid)
async def mark_transaction_paid(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    paid_on = _paid_on(args)
    st = await invoice_state(ctx, int(args["id"]), "markPaid")
    method = str(args.get("method") or "other")
    result = await ctx.api.mark_transaction_paid(
        body={"id": st.id, "type": MARK_PAID_TYPES[method]}
    )
    after = await load_invoice(ctx, st.id)
    note = (
        f" Ontraport's markPaid takes no payment date, so the payment is dated today; "
        f"{paid_on} is kept in this result only."
        if paid_on
        else ""
    )
    out = st.result(
        after,
        f"Marked invoice #{st.id}, {format_money(st.amount)}, of {st.contact} paid by "
        f"{method.replace('_', ' ')} ({st.status} → {invoice_status(after)}); nothing was "
        f"charged.{note}",
        clean(result.data),
    )
    out["method"] = method
    if paid_on:
        out["paid_on"] = paid_on
    return out


# ------------------------------------------------------------------------------ rerun
async def _rerun_card(ctx: ToolContext, st: InvoiceState) -> dict[str, Any]:
    cards = await contact_cards(ctx, st.contact_id) if st.contact_id else []
    cc_id = nonzero(st.invoice.get("cc_id"))
    card = next((c for c in cards if as_int(c.get("id")) == cc_id), None) if cc_id else None
    card = card or next((c for c in cards if str(c.get("status")) in ("3", "4")), None)
    if card is None:
        raise Refused(
            f"Refused: {st.contact} has no card on file to retry invoice #{st.id} on. "
            "send_invoice emails Ontraport's payment page, where the customer can pay with a "
            "new card (raw card numbers are never accepted here). Nothing was done.",
            details={"id": st.id, "contact_id": st.contact_id},
        )
    return card


async def plan_rerun(ctx: ToolContext, args: dict[str, Any]) -> Plan:
    st = await invoice_state(ctx, int(args["id"]), "rerun")
    card = await _rerun_card(ctx, st)
    return Plan(
        summary=f"Retry the charge of invoice #{st.id}, {format_money(st.amount)}, on "
        f"{st.contact}'s {card_label(card)} (now {st.status}; a new charge attempt)",
        target=f"invoice:{st.id}|card:{card.get('id')}",
        amount=f"{st.amount:.2f}",
    )


@override("rerun_transaction", plan=plan_rerun)
async def rerun_transaction(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    st = await invoice_state(ctx, int(args["id"]), "rerun")
    card = await _rerun_card(ctx, st)
    result = await ctx.api.rerun_transactions(body=selection(st.id))
    after = await load_invoice(ctx, st.id)
    declined = invoice_status(after) != "paid"
    outcome = (
        f"was declined again; the invoice stays {invoice_status(after)}"
        if declined
        else "went through; the invoice is paid"
    )
    out = st.result(
        after,
        f"Retried invoice #{st.id}, {format_money(st.amount)}, on {card_label(card)}: the "
        f"charge {outcome}."
        + (" send_invoice lets the customer pay with another card." if declined else ""),
        clean(result.data),
    )
    out["declined"] = declined
    out["recharge_attempts"] = as_int(after.get("recharge_attempts")) or 0
    return out


# ------------------------------------------------------------------------------ convert
# convert_transaction's `to` -> the TRANSITIONS action and the API call that makes it
CONVERSIONS = {
    "collections": ("convertToCollections", OntraportApi.convert_to_collections),
    "decline": ("convertToDecline", OntraportApi.convert_to_decline),
}


async def plan_convert(ctx: ToolContext, args: dict[str, Any]) -> Plan:
    action, _ = CONVERSIONS[args["to"]]
    st = await invoice_state(ctx, int(args["id"]), action)
    after = TRANSITIONS[action].after
    return st.plan(
        f"Move invoice #{st.id}, {format_money(st.amount)}, of {st.contact} from {st.status} "
        f"to {after} (nothing is charged or refunded)"
    )


@override("convert_transaction", plan=plan_convert)
async def convert_transaction(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    action, convert = CONVERSIONS[args["to"]]
    st = await invoice_state(ctx, int(args["id"]), action)
    result = await convert(ctx.api, body={"id": st.id})
    after = await load_invoice(ctx, st.id)
    return st.result(
        after,
        f"Moved invoice #{st.id}, {format_money(st.amount)}, of {st.contact} from {st.status} "
        f"to {invoice_status(after)}.",
        clean(result.data),
    )


# ------------------------------------------------------------------------------ new sales
def schedule_text(built: BuiltOffer) -> str:
    parts = []
    for entry in built.recurring():
        adverb = UNIT_ADVERB.get(entry["unit"], entry["unit"])
        amount = format_money(entry["amount"])
        if entry["count"] is None:
            parts.append(f"then {amount} {adverb} until cancelled ({entry['name']})")
        elif entry["count"]:
            parts.append(f"then {entry['count']} × {amount} {adverb} ({entry['name']})")
    return "; ".join(parts)


async def contact_of(ctx: ToolContext, contact_id: int) -> str:
    try:
        record = await get_record(ctx, CONTACT, contact_id)
    except NotFound:
        raise NotFound(
            f"No contact #{contact_id}. Find the contact with get_objects (type 0).",
            details={"contact_id": contact_id},
        ) from None
    return person(record) or f"contact #{contact_id}"


async def valid_offer(ctx: ToolContext, raw: dict[str, Any]) -> BuiltOffer:
    built = await prepare(ctx, raw)
    built.require_valid()
    return built


@dataclass(frozen=True, slots=True)
class Charge:
    contact_id: int
    contact: str
    offer: BuiltOffer
    gateway: dict[str, Any]
    card: dict[str, Any]

    def plan(self) -> Plan:
        schedule = schedule_text(self.offer)
        return Plan(
            summary=f"Charge {self.contact} {format_money(self.offer.total)} now on "
            f"{card_label(self.card)} through {self.gateway.get('name')}: "
            f"{self.offer.describe()}" + (f"; {schedule}" if schedule else ""),
            target=f"contact:{self.contact_id}|card:{self.card.get('id')}|gateway:"
            f"{self.gateway.get('id')}",
            amount=f"{self.offer.total:.2f}",
        )


async def charge_setup(ctx: ToolContext, args: dict[str, Any]) -> Charge:
    contact_id = int(args["contact_id"])
    contact = await contact_of(ctx, contact_id)
    built = await valid_offer(ctx, args["offer"])
    gateway = await resolve_gateway(ctx, args.get("gateway_id"))
    card = await resolve_card(ctx, contact_id, args.get("cc_id"), contact)
    return Charge(contact_id, contact, built, gateway, card)


async def plan_process(ctx: ToolContext, args: dict[str, Any]) -> Plan:
    return (await charge_setup(ctx, args)).plan()


@override("process_transaction", plan=plan_process)
async def process_transaction(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    charge = await charge_setup(ctx, args)
    body: ProcessManualRequest = {
        "contact_id": charge.contact_id,
        "chargeNow": "chargeNow",
        "offer": as_offer(charge.offer.api()),
        "gateway_id": id_of(charge.gateway, "payment gateway"),
        "cc_id": id_of(charge.card, "card"),
    }
    if args.get("external_order_id"):
        body["external_order_id"] = args["external_order_id"]
    result = await ctx.api.process_manual_transaction(body=body)
    data = clean(result.data)
    data = data if isinstance(data, dict) else {}
    declined = as_int(data.get("result_code")) not in (0, None) or (
        "result_code" not in data and not data.get("invoice_id")
    )
    invoice_id = as_int(data.get("invoice_id") or data.get("transaction_id"))
    total = format_money(charge.offer.total)
    message = (
        f"Declined: {card_label(charge.card)} was not charged "
        f"{total} ({data.get('message') or 'the gateway declined'})."
        + (f" Invoice #{invoice_id} records the decline." if invoice_id else "")
        + " Try another card on file (cc_id) or send_invoice so the customer pays on "
        "Ontraport's payment page."
        if declined
        else f"Charged {charge.contact} {total} on {card_label(charge.card)}"
        + (f"; invoice #{invoice_id}" if invoice_id else "")
        + "."
    )
    out: dict[str, Any] = {
        "declined": declined,
        "total": money(charge.offer.total),
        "status_after": "declined" if declined else "paid",
        "contact_id": charge.contact_id,
        "message": message,
        "result": data,
    }
    if invoice_id:
        out["invoice_id"] = invoice_id
    order_id = as_int(data.get("order_id"))
    if order_id:
        out["order_id"] = order_id
        schedule = schedule_text(charge.offer)
        if schedule and not declined:
            out["message"] += f" Order #{order_id} bills the rest: {schedule}."
    return out


# ------------------------------------------------------------------------------ offline sale
def _sale_date(args: dict[str, Any]) -> int | None:
    if args.get("date") is None:
        return None
    when = to_epoch(args["date"], argument="date")
    if when > time.time() + 86400:
        raise InvalidArguments(
            "`date` is in the future: give the day the sale happened.", details={"field": "date"}
        )
    return when


async def plan_offline(ctx: ToolContext, args: dict[str, Any]) -> Plan:
    contact_id = int(args["contact_id"])
    when = _sale_date(args)
    contact = await contact_of(ctx, contact_id)
    built = await valid_offer(ctx, args["offer"])
    method = str(args.get("method") or "an offline payment").replace("_", " ")
    dated = f", dated {(iso(when) or '')[:10]}" if when else ""
    return Plan(
        summary=f"Record a sale to {contact} already paid by {method}: {built.describe()}, "
        f"{format_money(built.total)}{dated} (a paid invoice; nothing is charged)",
        target=f"contact:{contact_id}",
        amount=f"{built.total:.2f}",
    )


@override("log_offline_purchase", plan=plan_offline)
async def log_offline_purchase(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    contact_id = int(args["contact_id"])
    when = _sale_date(args)
    contact = await contact_of(ctx, contact_id)
    built = await valid_offer(ctx, args["offer"])
    body: ProcessManualRequest = {
        "contact_id": contact_id,
        "chargeNow": "chargeLog",
        "offer": as_offer(built.api()),
    }
    if when is not None:
        body["trans_date"] = when * 1000  # milliseconds (API.md §3.8)
    if args.get("external_order_id"):
        body["external_order_id"] = args["external_order_id"]
    note = " ".join(
        part
        for part in (
            f"Paid offline ({str(args['method']).replace('_', ' ')})."
            if args.get("method")
            else "",
            str(args.get("note") or ""),
        )
        if part
    )
    if note:
        body["internal_note"] = note  # accepted by processManual per PEER (unconfirmed)
    result = await ctx.api.process_manual_transaction(body=body)
    data = clean(result.data)
    data = data if isinstance(data, dict) else {}
    invoice_id = as_int(data.get("invoice_id"))
    if not invoice_id:
        raise OutcomeUnknown(
            f"Ontraport accepted the sale for contact {contact_id} but returned no invoice id."
        )
    invoice = await load_invoice(ctx, invoice_id)
    out: dict[str, Any] = {
        "invoice_id": invoice_id,
        "total": money(amount_of(invoice)),
        "status_after": invoice_status(invoice),
        "contact_id": contact_id,
        "message": f"Recorded invoice #{invoice_id} for {contact}, {format_money(amount_of(invoice))}, "
        f"paid{' by ' + str(args['method']).replace('_', ' ') if args.get('method') else ''}; "
        "nothing was charged.",
        "result": data,
    }
    order_id = nonzero(invoice.get("order_id"))
    if order_id:
        out["order_id"] = order_id
    if when is not None:
        out["date"] = iso(when)
    return out
