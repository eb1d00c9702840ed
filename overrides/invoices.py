"""Invoice tools: create_invoice, update_invoice, pay_invoice, send_invoice.

The API has no draft state and no way to edit an invoice in place: ``requestPayment`` creates an
unpaid (open) invoice, the generic objects API does not write invoices, and only the status
actions of ``/transaction/*`` change one.  So:

* ``create_invoice`` always creates an open invoice, payable at once, so it offers no other
  status; the summary the user confirms says so, with the contact and amount.  ``send`` only
  decides whether it is emailed now.
* ``update_invoice`` edits by replacement: a new open invoice with the changes is created
  (``requestPayment``, not emailed) under a new id and the old one is voided — both only after
  the user confirmed a summary saying exactly that, with both amounts.  Drafts (status 9, made in
  Ontraport itself) can only be replaced together with ``status: open``.
"""

from __future__ import annotations

import math
import time
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ontraport_mcp.domain.offers import (
    BuiltOffer,
    api_line_items,
    format_money,
    money,
    parse_api_offer,
)
from ontraport_mcp.domain.records import as_int, iso, to_epoch
from ontraport_mcp.errors import (
    InvalidArguments,
    OutcomeUnknown,
    Refused,
    ToolError,
    UpstreamError,
)
from ontraport_mcp.generated.api import PayInvoiceRequest, PaymentRequest
from ontraport_mcp.runtime.context import ToolContext
from ontraport_mcp.runtime.registry import Plan, override

from .cleaner import clean
from .commerce_reads import (
    amount_of,
    as_offer,
    card_label,
    id_of,
    invoice_status,
    load_invoice,
    nonzero,
    resolve_card,
    resolve_gateway,
)
from .transactions import contact_of, invoice_state, selection, valid_offer

DAY = 86400


def _day(epoch: int) -> str:
    return (iso(epoch) or "")[:10]


def _due_on(due: int, now: float) -> int:
    """Whole days from today until ``due`` (0 = due on receipt)."""
    return max(0, math.ceil((due - now) / DAY))


# ------------------------------------------------------------------------------ create
@dataclass(frozen=True, slots=True)
class NewInvoice:
    contact_id: int
    contact: str
    offer: BuiltOffer
    gateway: dict[str, Any]
    due_in_days: int
    send: bool

    def plan(self) -> Plan:
        due = (
            "due on receipt"
            if not self.due_in_days
            else f"due {_day(int(time.time()) + self.due_in_days * DAY)}"
        )
        delivery = "emailed to the contact now" if self.send else "not emailed"
        return Plan(
            summary=f"Create an invoice for {self.contact}, {format_money(self.offer.total)}: "
            f"{self.offer.describe()}; {due}; {delivery}. {live_and_payable(self.contact)}; "
            "nothing is charged now",
            target=f"contact:{self.contact_id}|gateway:{self.gateway.get('id')}",
            amount=f"{self.offer.total:.2f}",
        )


def live_and_payable(contact: str, subject: str = "The invoice") -> str:
    """What every invoice this server creates is, said in the summary the user confirms."""
    return (
        f"{subject} is live as soon as it is created: open and payable by {contact} on "
        "Ontraport's payment page (Ontraport has no draft invoices)"
    )


async def new_invoice(ctx: ToolContext, args: dict[str, Any]) -> NewInvoice:
    send = bool(args.get("send"))
    contact_id = int(args["contact_id"])
    contact = await contact_of(ctx, contact_id)
    built = await valid_offer(ctx, args["offer"])
    gateway = await resolve_gateway(ctx, args.get("gateway_id"))
    return NewInvoice(contact_id, contact, built, gateway, int(args.get("due_in_days") or 0), send)


def _add_notes(body: PaymentRequest, values: Mapping[str, Any]) -> None:
    """The optional texts of a requestPayment, each sent only when it has a value (written out
    key by key, so the type checker checks each against the spec)."""
    if values.get("customer_note"):
        body["customer_note"] = values["customer_note"]
    if values.get("internal_note"):
        body["internal_note"] = values["internal_note"]
    if values.get("external_order_id"):
        body["external_order_id"] = values["external_order_id"]


async def plan_create(ctx: ToolContext, args: dict[str, Any]) -> Plan:
    return (await new_invoice(ctx, args)).plan()


@override("create_invoice", plan=plan_create)
async def create_invoice(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    new = await new_invoice(ctx, args)
    body: PaymentRequest = {
        "contact_id": new.contact_id,
        "chargeNow": "requestPayment",
        "offer": as_offer(new.offer.api()),
        "gateway_id": id_of(new.gateway, "payment gateway"),
        "send_invoice": new.send,
        "due_on": new.due_in_days,
    }
    _add_notes(body, args)
    result = await ctx.api.request_payment(body=body)
    data = clean(result.data)
    invoice_id = as_int(data.get("invoice_id")) if isinstance(data, dict) else None
    if not invoice_id:
        raise OutcomeUnknown(
            f"Ontraport accepted the invoice for contact {new.contact_id} but returned no id."
        )
    invoice = await load_invoice(ctx, invoice_id)
    status = invoice_status(invoice)
    message = (
        f"Created invoice #{invoice_id} for {new.contact}, {format_money(amount_of(invoice))}; "
        f"it is {status}, payable on Ontraport's payment page"
        + (
            "; emailed to the contact."
            if new.send
            else "; not emailed (send_invoice emails it; update_invoice changes it)."
        )
    )
    out: dict[str, Any] = {
        "invoice_id": invoice_id,
        "total": money(amount_of(invoice)),
        "status_after": status,
        "sent": new.send,
        "contact_id": new.contact_id,
        "due_date": iso(invoice.get("due_date")),
        "message": message,
        "result": data,
    }
    order_id = nonzero(invoice.get("order_id"))
    if order_id:
        out["order_id"] = order_id
    return out


# ------------------------------------------------------------------------------ update
_EDITS = ("offer", "due_date", "customer_note", "internal_note")


@dataclass(slots=True)
class Edit:
    """What update_invoice will do to one invoice (computed the same way for plan and act)."""

    id: int
    status: str
    contact_id: int | None
    contact: str
    old_total: Decimal
    new_total: Decimal
    noop: bool
    body: PaymentRequest | None = None  # requestPayment of the replacement (None: no change)
    changed: dict[str, Any] = field(default_factory=dict)
    offer_text: str = ""

    def plan(self) -> Plan:
        if self.noop:
            summary = f"Invoice #{self.id} of {self.contact} is already open: nothing will change"
        else:
            what = ", ".join(
                f"{k.replace('_', ' ')} {v}"
                for k, v in self.changed.items()
                if k not in ("offer", "status")
            )
            offer = f" ({self.offer_text})" if self.offer_text else ""
            summary = (
                f"Replace {self.status} invoice #{self.id} of {self.contact} "
                f"({format_money(self.old_total)}): Ontraport cannot edit an invoice in place, so "
                f"#{self.id} will be voided and a new invoice for "
                f"{format_money(self.new_total)}{offer} created under a new id"
                + (f"; {what}" if what else "")
                + f". {live_and_payable(self.contact, 'The new invoice')}; "
                "nothing is emailed"
            )
        return Plan(summary=summary, target=f"invoice:{self.id}", amount=f"{self.new_total:.2f}")


async def edit_of(ctx: ToolContext, args: dict[str, Any]) -> Edit:
    invoice_id = int(args["id"])
    promote = args.get("status") == "open"
    edits = [k for k in _EDITS if args.get(k) is not None]
    if not edits and not promote:
        raise InvalidArguments(
            "Nothing to change: give offer, due_date, customer_note, internal_note or "
            "status: open.",
            details={"field": "(arguments)"},
        )
    now = time.time()
    due: int | None = None
    if args.get("due_date") is not None:
        due = to_epoch(args["due_date"], argument="due_date")
        if due < now - DAY:
            raise InvalidArguments(
                f"due_date {_day(due)} is in the past: give today or a later date.",
                details={"field": "due_date"},
            )
    built = await valid_offer(ctx, args["offer"]) if args.get("offer") is not None else None
    st = await invoice_state(ctx, invoice_id, "edit")
    edit = Edit(
        st.id,
        st.status,
        st.contact_id,
        st.contact,
        st.amount,
        built.total if built else st.amount,
        noop=st.status == "open" and not edits,
    )
    if edit.noop:
        return edit
    if st.status == "draft" and not promote:
        raise Refused(
            f"Refused: invoice #{st.id} is a draft, and Ontraport's API cannot edit a draft in "
            "place. Pass status: open as well to replace it with an open invoice carrying your "
            "changes (the draft is voided), or edit the draft in Ontraport. Nothing was done.",
            details={"id": st.id, "current_status": "draft", "valid": ["status: open"]},
        )
    if not st.contact_id:
        raise Refused(
            f"Refused: invoice #{st.id} has no contact, so a replacement would bill no one. "
            "Nothing was done.",
            details={"id": st.id},
        )
    inv = st.invoice
    if built is not None:
        offer = built.api()
        edit.offer_text = built.describe()
        edit.changed["offer"] = api_line_items(offer)
    else:
        offer = parse_api_offer(inv.get("offer_data"))
        if not offer.get("products"):
            raise Refused(
                f"Refused: invoice #{st.id} has no readable line items to carry over; give the "
                "new offer. Nothing was done.",
                details={"id": st.id},
            )
    old_due = as_int(inv.get("due_date")) or 0
    due_on = _due_on(due if due is not None else old_due, now) if (due or old_due) else 0
    body: PaymentRequest = {
        "contact_id": st.contact_id,
        "chargeNow": "requestPayment",
        "offer": as_offer(offer),
    }
    gateway = nonzero(inv.get("gateway_id"))
    if gateway:
        body["gateway_id"] = gateway
    body["send_invoice"] = False
    body["due_on"] = due_on
    _add_notes(body, ChainMap(args, inv))  # a note given now wins over the invoice's own
    if due is not None:
        edit.changed["due_date"] = _day(due)
    for key in ("customer_note", "internal_note"):
        if args.get(key) is not None:
            edit.changed[key] = args[key]
    if st.status == "draft":
        edit.changed["status"] = "open"
    edit.body = body
    return edit


async def plan_update(ctx: ToolContext, args: dict[str, Any]) -> Plan:
    return (await edit_of(ctx, args)).plan()


@override("update_invoice", plan=plan_update)
async def update_invoice(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    edit = await edit_of(ctx, args)
    base: dict[str, Any] = {
        "status_before": edit.status,
        "contact_id": edit.contact_id,
    }
    if edit.noop or edit.body is None:
        return {
            **base,
            "id": edit.id,
            "status_after": edit.status,
            "amount": money(edit.old_total),
            "changed": {},
            "message": f"Invoice #{edit.id} is already open; nothing was changed. Email it with "
            "send_invoice.",
        }
    created = await ctx.api.request_payment(body=edit.body)
    data = clean(created.data)
    new_id = as_int(data.get("invoice_id")) if isinstance(data, dict) else None
    if not new_id:
        raise OutcomeUnknown(
            f"Ontraport returned no id for the replacement of invoice #{edit.id} (#{edit.id} "
            "was not voided; a replacement may exist)."
        )
    try:
        voided = await ctx.api.void_transactions(body=selection(edit.id))
    except ToolError as exc:
        raise ToolError(
            f"Created the replacement invoice #{new_id} but could not void the old invoice "
            f"#{edit.id} ({exc.message}). Both are open now: void #{edit.id} with "
            "void_transaction (or void the new one) so the customer is not billed twice.",
            status=exc.status,
            code="partially_done",
            details={"new_invoice_id": new_id, "old_invoice_id": edit.id},
        ) from None
    invoice = await load_invoice(ctx, new_id)
    return {
        **base,
        "id": new_id,
        "replaced_id": edit.id,
        "status_after": invoice_status(invoice),
        "amount": money(amount_of(invoice)),
        "due_date": iso(invoice.get("due_date")),
        "changed": edit.changed,
        "message": f"Invoice #{edit.id} ({edit.status}, {format_money(edit.old_total)}) was "
        f"replaced by open invoice #{new_id} for {format_money(amount_of(invoice))} and voided. "
        "Nothing was emailed: send_invoice emails the new one.",
        "result": {"created": data, "voided": clean(voided.data)},
    }


# ------------------------------------------------------------------------------ pay
async def _pay_setup(ctx: ToolContext, args: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    st = await invoice_state(ctx, int(args["id"]), "payInvoice")
    if not st.contact_id:
        raise Refused(f"Refused: invoice #{st.id} has no contact to charge. Nothing was done.")
    card = await resolve_card(ctx, st.contact_id, args.get("cc_id"), st.contact)
    return st, card


async def plan_pay(ctx: ToolContext, args: dict[str, Any]) -> Plan:
    st, card = await _pay_setup(ctx, args)
    return Plan(
        summary=f"Charge {st.contact} {format_money(st.amount)} on {card_label(card)} to pay "
        f"invoice #{st.id} (now {st.status})",
        target=f"invoice:{st.id}|card:{card.get('id')}",
        amount=f"{st.amount:.2f}",
    )


@override("pay_invoice", plan=plan_pay)
async def pay_invoice(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    st, card = await _pay_setup(ctx, args)
    body: PayInvoiceRequest = {"invoice_id": st.id, "cc_id": id_of(card, "card")}
    try:
        result = await ctx.api.pay_invoice(body=body)
    except UpstreamError as exc:
        # a decline is reported as an HTTP 400 naming it (not as a result): not an error here
        if exc.status in (400, 402) and "declin" in exc.message.lower():
            after = await load_invoice(ctx, st.id)
            out = st.result(
                after,
                f"Declined: {card_label(card)} was not charged {format_money(st.amount)}; "
                f"invoice #{st.id} stays {invoice_status(after)}. Try another card on file "
                "(cc_id), or send_invoice so the customer pays on Ontraport's payment page.",
                {"error": exc.message},
            )
            return {**out, "declined": True}
        raise
    after = await load_invoice(ctx, st.id)
    data = clean(result.data)
    declined = invoice_status(after) != "paid"
    out = st.result(
        after,
        (
            f"Charged {st.contact} {format_money(st.amount)} on {card_label(card)}; invoice "
            f"#{st.id} is paid."
        )
        if not declined
        else f"The charge did not go through; invoice #{st.id} is {invoice_status(after)}.",
        data,
    )
    return {**out, "declined": declined, "cc_id": as_int(card.get("id"))}


# ------------------------------------------------------------------------------ send
@override("send_invoice")
async def send_invoice(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    st = await invoice_state(ctx, int(args["id"]), "resendInvoice")
    await ctx.api.resend_invoice(body=selection(st.id))
    return {
        "id": st.id,
        "status": st.status,
        "contact_id": st.contact_id,
        "amount": money(st.amount),
        "message": f"Emailed invoice #{st.id} ({st.status}, {format_money(st.amount)}) to "
        f"{st.contact}, with the link to Ontraport's payment page.",
    }
