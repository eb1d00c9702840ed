"""The typed offer builder (ontraport_mcp.domain.offers) and validate_offer."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ontraport_mcp.domain.offers import Catalog, OfferSpec, build, format_money, recurring_charge
from tests.commerce.cm_util import Env, call_err, call_ok
from tests.server_thread import connect

pytestmark = pytest.mark.anyio

CATALOG = Catalog(
    products={
        1: {"id": "1", "name": "Starter Kit", "price": "49.00", "taxable": "1"},
        2: {"id": "2", "name": "Pro Membership", "price": "19.00", "taxable": "0"},
        3: {"id": "3", "name": "Coaching Package", "price": "300.00", "taxable": "1"},
        9: {"id": "9", "name": "Old thing", "price": "5.00", "deleted": "1"},
        10: {"id": "10", "name": "No price", "price": ""},
    },
    taxes={
        1: {"id": "1", "name": "Sales Tax", "rate": "8.25", "tax_shipping": "0"},
        2: {"id": "2", "name": "VAT", "rate": "20", "tax_shipping": "1"},
    },  # fmt: skip
    shipping={1: {"id": "1", "name": "Ground", "price": "6.50"}},
)


def built(offer: dict) -> object:
    return build(OfferSpec.parse(offer), CATALOG)


def test_totals_match_the_api_arithmetic() -> None:
    b = build(
        OfferSpec.parse(
            {
                "products": [
                    {"product_id": 1, "quantity": 2, "shipped": True},
                    {"product_id": 2, "type": "subscription", "unit": "month"},
                    {"product_id": 3, "type": "payment_plan", "price": 100, "payment_count": 3,
                     "unit": "month", "setup_fee": 25},
                ],
                "tax_ids": [1],
                "shipping_id": 1,
            }
        ),
        CATALOG,
    )  # fmt: skip
    assert b.valid and b.problems == ()
    # lines: 98 (taxable) + 19 (not taxable) + 100 + 25 setup (taxable) = 242
    assert b.subtotal == Decimal("242.00")
    assert b.tax == Decimal("18.40")  # 8.25 % of the taxable 98 + 125 = 223 -> 18.3975
    totals = b.totals()
    assert totals["total"] == 266.90 == totals["first_charge"]
    assert totals["recurring"] == [
        {"product_id": 2, "name": "Pro Membership", "type": "subscription", "amount": 19.0,
         "unit": "month", "count": None, "starts_after": "1 month"},
        {"product_id": 3, "name": "Coaching Package", "type": "payment_plan", "amount": 108.25,
         "unit": "month", "count": 2, "starts_after": "1 month", "plan_total": 341.5},
    ]  # fmt: skip
    api = b.api()
    assert api["products"][2] == {
        "id": 3, "name": "Coaching Package", "quantity": 1, "type": "payment_plan",
        "price": [{"price": 100.0, "payment_count": 3, "unit": "month", "id": 0}],
        "total": 125.0, "shipping": False, "tax": True, "setup_fee": 25.0,
        "setup_fee_when": "immediately",
    }  # fmt: skip
    assert api["taxes"] == [{"id": 1, "rate": 8.25, "name": "Sales Tax", "taxShipping": False}]
    assert api["shipping"] == [{"id": 1, "name": "Ground", "price": 6.5}]
    assert (api["hasTaxes"], api["hasShipping"], api["grandTotal"]) == (True, True, 266.9)


def test_trials_and_tax_on_shipping() -> None:
    b = build(
        OfferSpec.parse(
            {
                "products": [
                    {"product_id": 2, "type": "subscription", "unit": "month", "trial_days": 14,
                     "trial_price": 1, "taxable": True, "shipped": True},
                ],
                "tax_ids": [2],
                "shipping_id": 1,
            }
        ),
        CATALOG,
    )  # fmt: skip
    assert b.valid
    # first charge: trial price 1.00 + shipping 6.50, VAT 20% on both (tax_shipping) = 1.50
    assert (b.subtotal, b.shipping_amount, b.tax, b.total) == (
        Decimal("1.00"), Decimal("6.50"), Decimal("1.50"), Decimal("9.00"))  # fmt: skip
    line = b.api()["products"][0]
    assert (line["trial_period_unit"], line["trial_period_count"], line["trial_price"]) == (
        "day", 14, 1.0)  # fmt: skip
    assert b.recurring()[0]["amount"] == 22.8 and b.recurring()[0]["starts_after"] == "14 day trial"


def test_every_problem_is_reported_at_once() -> None:
    b = build(
        OfferSpec.parse(
            {
                "products": [
                    {"product_id": 404},
                    {"product_id": 2, "type": "subscription"},
                    {"product_id": 3, "type": "payment_plan", "unit": "month"},
                    {"product_id": 1, "payment_count": 3, "unit": "week", "trial_days": 3},
                    {"product_id": 9},
                    {"product_id": 10},
                    {"product_id": 1, "quantity": 10000},
                    {"product_id": 2, "type": "subscription", "unit": "year", "trial_price": 5},
                ],
                "tax_ids": [1, 99],
                "shipping_id": 7,
            }
        ),
        CATALOG,
    )  # fmt: skip
    paths = {(p.path, p.severity) for p in b.problems}
    assert paths >= {
        ("products[0].product_id", "error"),
        ("products[1].unit", "error"),
        ("products[2].payment_count", "error"),
        ("products[3].payment_count", "error"),
        ("products[3].unit", "error"),
        ("products[3].trial_days", "error"),
        ("products[4].product_id", "error"),
        ("products[5].price", "error"),
        ("products[6].quantity", "error"),
        ("products[7].trial_price", "error"),
        ("tax_ids[1]", "error"),
        ("shipping_id", "error"),
    }
    assert not b.valid
    with pytest.raises(Exception) as info:
        b.require_valid()
    assert "problem(s)" in str(info.value)


def test_warnings_do_not_invalidate() -> None:
    b = built({"products": [{"product_id": 2, "shipped": True}, {"product_id": 2}], "tax_ids": [1]})
    assert b.valid  # type: ignore[attr-defined]
    messages = " ".join(p.message for p in b.problems)  # type: ignore[attr-defined]
    assert "no shipping_id" in messages and "No line is taxable" in messages
    assert "appears twice" in messages


def test_limits() -> None:
    b = built({"products": [{"product_id": 1, "price": 9_999_999, "quantity": 2}]})
    assert not b.valid  # type: ignore[attr-defined]
    assert format_money(Decimal("1234.5")) == "$1,234.50" and format_money(0) == "$0.00"


def test_recurring_charge_of_an_api_offer() -> None:
    offer = {
        "taxes": [{"id": "1", "rate": 10}],
        "shipping": [{"id": "1", "price": "5.00"}],
        "shipping_charge_reoccurring_orders": True,
    }
    line = {"quantity": "2", "tax": True, "shipping": True, "price": [{"price": "9.99"}]}
    assert recurring_charge(offer, line) == Decimal("19.98") + Decimal("2.00") + Decimal("5.00")


async def test_validate_offer_end_to_end(env: Env) -> None:
    env.clear()
    async with connect(env.url, env.headers) as client:
        ok = await call_ok(
            client,
            "validate_offer",
            {"offer": {"products": [{"product_id": 3, "type": "payment_plan", "price": 100,
                                     "payment_count": 3, "unit": "month"}], "tax_ids": [2]}},
        )  # fmt: skip
        assert ok["valid"] is True and ok["problems"] == []
        assert ok["totals"]["first_charge"] == 100.0 + 20.0  # product 3 is taxable, VAT 20 %
        assert ok["totals"]["recurring"][0]["count"] == 2
        assert ok["offer"]["products"][0]["name"] == "Coaching Package"
        bad = await call_ok(
            client,
            "validate_offer",
            {"offer": {"products": [{"product_id": 999}, {"product_id": 2, "type": "payment_plan",
                                     "unit": "month"}], "tax_ids": [77], "shipping_id": 88}},
        )  # fmt: skip
        assert bad["valid"] is False
        assert {p["path"] for p in bad["problems"]} >= {
            "products[0].product_id", "products[1].payment_count", "tax_ids[0]", "shipping_id"}  # fmt: skip
        await call_err(client, "validate_offer", {"offer": {"products": []}}, "invalid_arguments")
    assert env.writes() == []
