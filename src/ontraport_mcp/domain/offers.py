"""The typed offer builder: the catalog's ``offer`` argument → the API's offer JSON + totals.

Shared by create_invoice, process_transaction, log_offline_purchase, update_invoice and
validate_offer (update_order edits the API offer it reads back, with ``recurring_charge``)::

    spec = OfferSpec.parse(args["offer"])           # typed lines, tax ids, shipping id
    catalog = await load_catalog(ctx, spec)         # products (16), taxes (63), shipping (64)
    built = build(spec, catalog)                    # every problem at once + totals + API JSON
    built.require_valid()                           # or read built.problems

Money is ``Decimal`` rounded half-up to cents, as the API and the sandbox do.  Semantics
(API.md §4): a ``single`` line charges ``price × quantity`` once; a ``subscription`` charges the
same every ``unit`` until cancelled; a ``payment_plan`` charges ``payment_count`` installments
every ``unit``.  The first charge of a subscription or plan with a trial is the trial price; a
setup fee is added to the first charge.  Taxes apply to taxable lines (plus shipping when the
tax says so); shipping is charged when at least one line is shipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from ..errors import InvalidArguments
from ..runtime.context import ToolContext
from ..runtime.registry import clean

LineType = Literal["single", "subscription", "payment_plan"]
Severity = Literal["error", "warning"]
UNITS = ("day", "week", "month", "quarter", "year")
UNIT_ADVERB = {"day": "daily", "week": "weekly", "month": "monthly", "quarter": "quarterly",
               "year": "yearly"}  # fmt: skip
LINE_TYPES: tuple[LineType, ...] = ("single", "subscription", "payment_plan")
MAX_AMOUNT = Decimal("10000000")
MAX_QUANTITY = 9999
MAX_PAYMENTS = 1000
CENT = Decimal("0.01")
MAX_NUMBER = Decimal("1e12")  # beyond any real amount; keeps cent arithmetic exact
PRODUCTS, TAXES, SHIPPING = 16, 63, 64


def cents(value: Any) -> Decimal:
    """Round half-up to cents; ValueError when ``value`` is not a number."""
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    if abs(number) >= MAX_NUMBER:
        raise ValueError(f"amount out of range: {value!r}")
    return number.quantize(CENT, rounding=ROUND_HALF_UP)


def money(value: Decimal) -> float:
    """A cents amount as a JSON number."""
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))


def format_money(value: Any) -> str:
    """``$1,234.50`` (the summaries' amount format: always two decimals)."""
    amount = cents(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


# ------------------------------------------------------------------------------ problems
@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str
    severity: Severity = "error"

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "message": self.message, "severity": self.severity}


# ------------------------------------------------------------------------------ input
@dataclass(frozen=True, slots=True)
class LineSpec:
    """One product line as the caller gave it (the catalog's offer input)."""

    product_id: int
    quantity: int = 1
    price: Decimal | None = None
    type: LineType = "single"
    unit: str | None = None
    payment_count: int | None = None
    trial_days: int | None = None
    trial_price: Decimal | None = None
    setup_fee: Decimal | None = None
    taxable: bool | None = None
    shipped: bool | None = None


@dataclass(frozen=True, slots=True)
class OfferSpec:
    lines: tuple[LineSpec, ...]
    tax_ids: tuple[int, ...] = ()
    shipping_id: int | None = None
    send_recurring_invoice: bool = False
    problems: tuple[Problem, ...] = ()  # shape problems found while parsing

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> OfferSpec:
        """Typed view of the ``offer`` argument; never raises (problems are collected)."""
        problems: list[Problem] = []
        lines: list[LineSpec] = []
        items = raw.get("products")
        if not isinstance(items, list) or not items:
            problems.append(Problem("products", "An offer needs at least one product line."))
            items = []
        for i, item in enumerate(items):
            line = _parse_line(item, f"products[{i}]", problems)
            if line is not None:
                lines.append(line)
        tax_ids: list[int] = []
        for j, tid in enumerate(raw.get("tax_ids") or []):
            if isinstance(tid, int) and not isinstance(tid, bool) and tid >= 1:
                if tid in tax_ids:
                    problems.append(Problem(f"tax_ids[{j}]", f"Tax {tid} is listed twice."))
                else:
                    tax_ids.append(tid)
            else:
                problems.append(Problem(f"tax_ids[{j}]", "A tax id is a positive integer."))
        shipping_id = raw.get("shipping_id")
        if shipping_id is not None and (
            not isinstance(shipping_id, int) or isinstance(shipping_id, bool) or shipping_id < 1
        ):
            problems.append(Problem("shipping_id", "A shipping method id is a positive integer."))
            shipping_id = None
        return cls(
            lines=tuple(lines),
            tax_ids=tuple(tax_ids),
            shipping_id=shipping_id,
            send_recurring_invoice=bool(raw.get("send_recurring_invoice", False)),
            problems=tuple(problems),
        )

    @property
    def product_ids(self) -> list[int]:
        return list(dict.fromkeys(line.product_id for line in self.lines))


def _parse_line(item: Any, path: str, problems: list[Problem]) -> LineSpec | None:
    if not isinstance(item, Mapping):
        problems.append(Problem(path, "A product line is an object with product_id."))
        return None
    pid = item.get("product_id")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid < 1:
        problems.append(Problem(f"{path}.product_id", "product_id must be a product id (>= 1)."))
        return None

    def number(key: str) -> Decimal | None:
        value = item.get(key)
        if value is None:
            return None
        try:
            amount = cents(value) if not isinstance(value, bool) else None
        except ValueError:
            amount = None
        if amount is None or amount < 0:
            problems.append(Problem(f"{path}.{key}", f"{key} must be an amount of 0 or more."))
            return None
        return amount

    def integer(key: str) -> int | None:
        value = item.get(key)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(Problem(f"{path}.{key}", f"{key} must be a whole number."))
            return None
        return value

    raw_type = item.get("type") or "single"
    line_type: LineType = "single"
    for known in LINE_TYPES:
        if raw_type == known:
            line_type = known
    if raw_type not in LINE_TYPES:
        problems.append(
            Problem(f"{path}.type", "type must be single, subscription or payment_plan.")
        )
    unit = item.get("unit")
    if unit is not None and unit not in UNITS:
        problems.append(Problem(f"{path}.unit", f"unit must be one of {', '.join(UNITS)}."))
        unit = None
    quantity = integer("quantity")
    return LineSpec(
        product_id=pid,
        quantity=1 if quantity is None else quantity,
        price=number("price"),
        type=line_type,
        unit=unit,
        payment_count=integer("payment_count"),
        trial_days=integer("trial_days"),
        trial_price=number("trial_price"),
        setup_fee=number("setup_fee"),
        taxable=None if item.get("taxable") is None else bool(item.get("taxable")),
        shipped=None if item.get("shipped") is None else bool(item.get("shipped")),
    )


# ------------------------------------------------------------------------------ catalog
@dataclass(frozen=True, slots=True)
class Catalog:
    """The account's records an offer refers to, by id (missing ids are simply absent)."""

    products: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    taxes: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    shipping: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)


async def _records_by_id(ctx: ToolContext, type_id: int, ids: Iterable[int]) -> dict[int, Any]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    result = await ctx.api.list_objects(
        object_id=type_id, ids=",".join(str(i) for i in wanted), range_=min(50, len(wanted))
    )
    rows = clean(result.data)
    out: dict[int, Any] = {}
    for row in rows if isinstance(rows, list) else []:
        try:
            out[int(str(row.get("id")))] = row
        except (TypeError, ValueError, AttributeError):
            continue
    return {i: out[i] for i in wanted if i in out}


async def load_catalog(ctx: ToolContext, spec: OfferSpec) -> Catalog:
    """Read the products, taxes and shipping method the offer names (one list call each)."""
    return Catalog(
        products=await _records_by_id(ctx, PRODUCTS, spec.product_ids),
        taxes=await _records_by_id(ctx, TAXES, spec.tax_ids),
        shipping=await _records_by_id(
            ctx, SHIPPING, [spec.shipping_id] if spec.shipping_id else []
        ),
    )


# ------------------------------------------------------------------------------ result
@dataclass(frozen=True, slots=True)
class Line:
    product_id: int
    name: str
    quantity: int
    unit_price: Decimal
    type: LineType
    unit: str
    payment_count: int
    trial_days: int
    trial_price: Decimal
    setup_fee: Decimal
    taxable: bool
    shipped: bool

    @property
    def first_charge(self) -> Decimal:
        each = self.trial_price if self.type != "single" and self.trial_days else self.unit_price
        return cents(each * self.quantity) + self.setup_fee

    @property
    def per_period(self) -> Decimal:
        return cents(self.unit_price * self.quantity)

    def label(self) -> str:
        text = self.name or f"product {self.product_id}"
        if self.quantity != 1:
            text += f" ×{self.quantity}"
        if self.type == "subscription":
            text += f" ({format_money(self.per_period)} {UNIT_ADVERB[self.unit]})"
        elif self.type == "payment_plan":
            text += f" ({self.payment_count} × {format_money(self.per_period)} {UNIT_ADVERB[self.unit]})"
        return text

    def api(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "id": self.product_id,
            "name": self.name,
            "quantity": self.quantity,
            "type": self.type,
            "price": [
                {
                    "price": money(self.unit_price),
                    "payment_count": self.payment_count,
                    "unit": self.unit,
                    "id": 0,
                }
            ],
            "total": money(self.first_charge),
            "shipping": self.shipped,
            "tax": self.taxable,
        }
        if self.trial_days and self.type != "single":
            entry.update(
                trial_period_unit="day",
                trial_period_count=self.trial_days,
                trial_price=money(self.trial_price),
            )
        if self.setup_fee:
            entry.update(setup_fee=money(self.setup_fee), setup_fee_when="immediately")
        return entry


@dataclass(frozen=True, slots=True)
class TaxLine:
    tax_id: int
    name: str
    rate: Decimal
    tax_shipping: bool
    amount: Decimal


@dataclass(frozen=True, slots=True)
class BuiltOffer:
    lines: tuple[Line, ...]
    taxes: tuple[TaxLine, ...]
    shipping: tuple[int, str, Decimal] | None  # (id, name, price)
    subtotal: Decimal
    tax: Decimal
    shipping_amount: Decimal
    send_recurring_invoice: bool
    problems: tuple[Problem, ...]

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax + self.shipping_amount

    @property
    def valid(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    @property
    def recurring_lines(self) -> list[Line]:
        return [line for line in self.lines if line.type != "single"]

    def recurring(self) -> list[dict[str, Any]]:
        """Future charges per subscription or plan line (after the first charge)."""
        out = []
        for line in self.recurring_lines:
            tax = sum(
                (cents(line.per_period * t.rate / 100) for t in self.taxes if line.taxable),
                Decimal(0),
            )
            amount = line.per_period + tax
            entry: dict[str, Any] = {
                "product_id": line.product_id,
                "name": line.name,
                "type": line.type,
                "amount": money(amount),
                "unit": line.unit,
                "count": line.payment_count - 1 if line.type == "payment_plan" else None,
                "starts_after": (
                    f"{line.trial_days} day trial" if line.trial_days else f"1 {line.unit}"
                ),
            }
            if line.type == "payment_plan":
                entry["plan_total"] = money(line.first_charge + amount * (line.payment_count - 1))
            out.append(entry)
        return out

    def totals(self) -> dict[str, Any]:
        return {
            "subtotal": money(self.subtotal),
            "tax": money(self.tax),
            "shipping": money(self.shipping_amount),
            "total": money(self.total),
            "first_charge": money(self.total),
            "recurring": self.recurring(),
        }

    def api(self) -> dict[str, Any]:
        """The offer JSON of API.md §4 (for processManual, requestPayment and orders)."""
        ship = self.shipping
        return {
            "products": [line.api() for line in self.lines],
            "taxes": [
                {
                    "id": t.tax_id,
                    "rate": float(t.rate),
                    "name": t.name,
                    "taxShipping": t.tax_shipping,
                }
                for t in self.taxes
            ],
            "hasTaxes": bool(self.taxes),
            "shipping": [{"id": ship[0], "name": ship[1], "price": money(ship[2])}]
            if ship
            else None,
            "hasShipping": ship is not None,
            "shipping_charge_reoccurring_orders": False,
            "send_recurring_invoice": self.send_recurring_invoice,
            "subTotal": money(self.subtotal),
            "grandTotal": money(self.total),
        }

    def describe(self) -> str:
        """ "Starter Kit ×2, Pro Membership ($19.00 monthly)" (+ tax and shipping)."""
        text = ", ".join(line.label() for line in self.lines)
        extras = []
        if self.tax:
            extras.append(f"tax {format_money(self.tax)}")
        if self.shipping_amount:
            extras.append(f"shipping {format_money(self.shipping_amount)}")
        return text + (f" + {' + '.join(extras)}" if extras else "")

    def require_valid(self, argument: str = "offer") -> None:
        errors = [p for p in self.problems if p.severity == "error"]
        if errors:
            listed = "; ".join(f"{argument}.{p.path}: {p.message}" for p in errors[:10])
            raise InvalidArguments(
                f"The offer has {len(errors)} problem(s): {listed}. Nothing was done; "
                "validate_offer checks an offer and shows its totals.",
                details={"problems": [p.as_dict() for p in self.problems]},
            )


# ------------------------------------------------------------------------------ build
def build(spec: OfferSpec, catalog: Catalog) -> BuiltOffer:
    """Check every line against the catalog and compute the totals; collect every problem."""
    problems = list(spec.problems)
    lines: list[Line] = []
    seen: dict[tuple[int, str], int] = {}
    for i, ls in enumerate(spec.lines):
        line = _build_line(i, ls, catalog, problems)
        if line is None:
            continue
        key = (line.product_id, line.type)
        if key in seen:
            problems.append(
                Problem(
                    f"products[{i}]",
                    f"Product {line.product_id} appears twice (also products[{seen[key]}]); "
                    "use one line with a quantity instead.",
                    "warning",
                )
            )
        seen.setdefault(key, i)
        lines.append(line)

    ship: tuple[int, str, Decimal] | None = None
    if spec.shipping_id is not None:
        method = catalog.shipping.get(spec.shipping_id)
        if method is None:
            problems.append(
                Problem(
                    "shipping_id",
                    f"Shipping method {spec.shipping_id} does not exist (get_objects on type 64 "
                    "lists them).",
                )
            )
        else:
            try:
                price = cents(method.get("price") or 0)
            except ValueError:
                price = Decimal(0)
                problems.append(Problem("shipping_id", "The shipping method has no valid price."))
            ship = (spec.shipping_id, str(method.get("name") or ""), price)
    any_shipped = any(line.shipped for line in lines)
    if ship is not None and not any_shipped and lines:
        problems.append(
            Problem(
                "shipping_id",
                "No line is shipped (shipped: true), so no shipping will be charged.",
                "warning",
            )
        )
    if any_shipped and spec.shipping_id is None:
        problems.append(
            Problem(
                "shipping_id",
                "A line is shipped but the offer has no shipping_id: shipping is free.",
                "warning",
            )
        )
    subtotal = sum((line.first_charge for line in lines), Decimal(0))
    taxable_base = sum((line.first_charge for line in lines if line.taxable), Decimal(0))
    shipping_amount = ship[2] if ship is not None and any_shipped else Decimal(0)

    taxes: list[TaxLine] = []
    for j, tid in enumerate(spec.tax_ids):
        rec = catalog.taxes.get(tid)
        if rec is None:
            problems.append(
                Problem(
                    f"tax_ids[{j}]",
                    f"Tax {tid} does not exist (get_objects on type 63 lists the taxes).",
                )
            )
            continue
        try:
            rate = Decimal(str(rec.get("rate") or 0))
        except InvalidOperation:
            rate = Decimal(-1)
        if not rate.is_finite() or not Decimal(0) <= rate <= Decimal(100):
            problems.append(Problem(f"tax_ids[{j}]", f"Tax {tid} has an invalid rate."))
            continue
        tax_shipping = _truthy(rec.get("tax_shipping"))
        base = taxable_base + (shipping_amount if tax_shipping else Decimal(0))
        taxes.append(
            TaxLine(tid, str(rec.get("name") or ""), rate, tax_shipping, cents(base * rate / 100))
        )
    if spec.tax_ids and lines and not any(line.taxable for line in lines):
        problems.append(
            Problem(
                "tax_ids",
                "No line is taxable (taxable: true), so the taxes add nothing.",
                "warning",
            )
        )
    if not spec.tax_ids and any(ls.taxable for ls in spec.lines):
        problems.append(
            Problem("tax_ids", "A line is taxable but the offer has no tax_ids: no tax.", "warning")
        )
    tax_total = sum((t.amount for t in taxes), Decimal(0))
    built = BuiltOffer(
        lines=tuple(lines),
        taxes=tuple(taxes),
        shipping=ship,
        subtotal=subtotal,
        tax=tax_total,
        shipping_amount=shipping_amount,
        send_recurring_invoice=spec.send_recurring_invoice,
        problems=(),
    )
    problems += _check_totals(built)
    return BuiltOffer(**{**_fields(built), "problems": tuple(problems)})


def _fields(built: BuiltOffer) -> dict[str, Any]:
    return {name: getattr(built, name) for name in BuiltOffer.__dataclass_fields__}


def _check_totals(built: BuiltOffer) -> list[Problem]:
    problems: list[Problem] = []
    line_sum = sum((line.first_charge for line in built.lines), Decimal(0))
    tax_sum = sum((t.amount for t in built.taxes), Decimal(0))
    if line_sum != built.subtotal or tax_sum != built.tax:
        problems.append(Problem("totals", "The line totals do not add up to the subtotal."))
    if built.total > MAX_AMOUNT:
        problems.append(
            Problem(
                "totals",
                f"The total {format_money(built.total)} is above the API's maximum of "
                f"{format_money(MAX_AMOUNT)}: split the sale.",
            )
        )
    if built.lines and built.total == 0 and not any(line.trial_days for line in built.lines):
        problems.append(Problem("totals", "The first charge is $0.00.", "warning"))
    return problems


def _build_line(i: int, ls: LineSpec, catalog: Catalog, problems: list[Problem]) -> Line | None:
    path = f"products[{i}]"
    before = len(problems)
    product = catalog.products.get(ls.product_id)
    if product is None:
        problems.append(
            Problem(
                f"{path}.product_id",
                f"Product {ls.product_id} does not exist (get_objects on type 16 lists the "
                "products).",
            )
        )
    elif _truthy(product.get("deleted")):
        problems.append(Problem(f"{path}.product_id", f"Product {ls.product_id} is deleted."))
    if not 1 <= ls.quantity <= MAX_QUANTITY:
        problems.append(
            Problem(f"{path}.quantity", f"quantity must be between 1 and {MAX_QUANTITY}.")
        )
    price = ls.price
    if price is None and product is not None:
        try:
            price = cents(product.get("price"))
        except ValueError:
            problems.append(
                Problem(
                    f"{path}.price",
                    f"Product {ls.product_id} has no price in the catalog: give price.",
                )
            )
    recurring = ls.type != "single"
    if recurring and ls.unit is None:
        problems.append(
            Problem(
                f"{path}.unit",
                f"A {ls.type} needs unit (day, week, month, quarter or year): how often it "
                "charges.",
            )
        )
    if not recurring and ls.unit is not None:
        problems.append(
            Problem(
                f"{path}.unit",
                "unit only applies to subscription or payment_plan lines; remove it or "
                "change type.",
            )
        )
    if ls.type == "payment_plan":
        if ls.payment_count is None:
            problems.append(
                Problem(
                    f"{path}.payment_count",
                    "A payment_plan needs payment_count (number of installments, 2 or more).",
                )
            )
        elif not 2 <= ls.payment_count <= MAX_PAYMENTS:
            problems.append(
                Problem(
                    f"{path}.payment_count",
                    f"payment_count must be between 2 and {MAX_PAYMENTS}.",
                )
            )
    elif ls.payment_count is not None:
        problems.append(
            Problem(
                f"{path}.payment_count",
                "payment_count only applies to payment_plan lines (a subscription repeats "
                "until cancelled; a single line charges once).",
            )
        )
    if not recurring:
        for key, value in (
            ("trial_days", ls.trial_days),
            ("trial_price", ls.trial_price),
            ("setup_fee", ls.setup_fee),
        ):
            if value:
                problems.append(
                    Problem(
                        f"{path}.{key}",
                        f"{key} only applies to subscription or payment_plan lines.",
                    )
                )
    if ls.trial_days is not None and ls.trial_days < 0:
        problems.append(Problem(f"{path}.trial_days", "trial_days must be 0 or more."))
    if ls.trial_price is not None and not ls.trial_days and recurring:
        problems.append(
            Problem(f"{path}.trial_price", "trial_price needs trial_days (the trial length).")
        )
    if price is not None and price * ls.quantity > MAX_AMOUNT:
        problems.append(
            Problem(f"{path}.price", f"price × quantity is above {format_money(MAX_AMOUNT)}.")
        )
    if len(problems) > before or product is None or price is None:
        return None
    taxable = ls.taxable if ls.taxable is not None else _truthy(product.get("taxable"))
    return Line(
        product_id=ls.product_id,
        name=str(product.get("name") or ""),
        quantity=ls.quantity,
        unit_price=price,
        type=ls.type,
        unit=ls.unit or "month",
        payment_count=ls.payment_count or 1,
        trial_days=(ls.trial_days or 0) if recurring else 0,
        trial_price=(ls.trial_price or Decimal(0)) if recurring and ls.trial_days else Decimal(0),
        setup_fee=(ls.setup_fee or Decimal(0)) if recurring else Decimal(0),
        taxable=taxable,
        shipped=bool(ls.shipped),
    )


async def prepare(ctx: ToolContext, raw: Mapping[str, Any]) -> BuiltOffer:
    """Parse, read the catalog and build in one step."""
    spec = OfferSpec.parse(raw)
    return build(spec, await load_catalog(ctx, spec))


# ------------------------------------------------------------------------------ API offers
def parse_api_offer(value: Any) -> dict[str, Any]:
    """An offer JSON as stored (string in ``offer_data``) or returned (object); {} if unusable."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def api_line_items(offer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Readable line items of an API offer (for invoice and order reads)."""
    items = []
    for product in offer.get("products") or []:
        if not isinstance(product, Mapping):
            continue
        price = _first_price(product)
        entry: dict[str, Any] = {
            "product_id": _int(product.get("id")),
            "name": product.get("name"),
            "quantity": _int(product.get("quantity")) or 1,
            "type": product.get("type") or "single",
            "unit_price": _num(price.get("price")),
            "total": _num(product.get("total")),
        }
        if entry["type"] != "single":
            entry["unit"] = price.get("unit")
        if entry["type"] == "payment_plan":
            entry["payment_count"] = _int(price.get("payment_count"))
        items.append(entry)
    return items


def recurring_charge(offer: Mapping[str, Any], product: Mapping[str, Any]) -> Decimal:
    """One future charge of a recurring line of an API offer: price × quantity + its taxes
    (+ shipping when the offer charges shipping on recurring orders)."""
    price = _first_price(product)
    sub = cents(cents(price.get("price") or 0) * (_int(product.get("quantity")) or 1))
    tax = Decimal(0)
    if _truthy(product.get("tax")):
        for t in offer.get("taxes") or []:
            if isinstance(t, Mapping):
                tax += cents(sub * Decimal(str(t.get("rate") or 0)) / 100)
    ship = Decimal(0)
    shipping = offer.get("shipping")
    if (
        _truthy(offer.get("shipping_charge_reoccurring_orders"))
        and _truthy(product.get("shipping"))
        and isinstance(shipping, list)
        and shipping
        and isinstance(shipping[0], Mapping)
    ):
        ship = cents(shipping[0].get("price") or 0)
    return sub + tax + ship


def _first_price(product: Mapping[str, Any]) -> Mapping[str, Any]:
    prices = product.get("price")
    if isinstance(prices, list) and prices and isinstance(prices[0], Mapping):
        return prices[0]
    if isinstance(prices, Mapping):
        return prices
    return {"price": prices} if prices is not None else {}


def _int(value: Any) -> int | None:
    try:
        return int(float(str(value)))
    except (TypeError, ValueError):
        return None


def _num(value: Any) -> float | None:
    try:
        return money(cents(value))
    except ValueError:
        return None
