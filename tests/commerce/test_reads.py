"""get_invoices, get_purchases, get_failed_transactions, get_payments: readable, filtered, read-only."""

from __future__ import annotations

import time

import pytest

from tests.commerce.cm_util import (
    ADA,
    BEN,
    COLLECTIONS,
    DECLINED,
    DRAFT,
    OPEN,
    PAID,
    Env,
    call_err,
    call_ok,
)
from tests.server_thread import connect

pytestmark = pytest.mark.anyio


async def test_get_invoices_one_invoice_is_readable(env: Env) -> None:
    env.clear()
    async with connect(env.url, env.headers) as client:
        out = await call_ok(client, "get_invoices", {"id": PAID})
    (inv,) = out["records"]
    assert (out["count"], out["has_more"], out["object_type_id"]) == (1, False, 46)
    assert inv["id"] == PAID and inv["status"] == "paid" and inv["contact_name"] == "Ada Quill"
    assert (inv["subtotal"], inv["tax"], inv["shipping"], inv["total"]) == (49.0, 4.04, 6.5, 59.54)
    assert inv["balance"] == 0.0 and inv["date"].endswith("Z")
    assert inv["line_items"] == [
        {"product_id": 1, "name": "Starter Kit", "quantity": 1, "type": "single",
         "unit_price": 49.0, "total": 49.0}
    ]  # fmt: skip
    assert "offer_data" not in inv
    assert env.writes() == []


async def test_get_invoices_filters_and_paging(env: Env) -> None:
    async with connect(env.url, env.headers) as client:
        drafts = await call_ok(client, "get_invoices", {"status": "draft", "contact_id": ADA})
        assert [r["id"] for r in drafts["records"]] == [DRAFT]
        opens = await call_ok(client, "get_invoices", {"contact_id": ADA, "status": "open"})
        assert OPEN in [r["id"] for r in opens["records"]]
        assert all(r["status"] == "open" and r["balance"] == r["total"] for r in opens["records"])
        page = await call_ok(
            client, "get_invoices", {"range": 5, "sort": "date", "sort_dir": "desc"}
        )
        assert page["count"] == 5 and page["has_more"] is True and "start=5" in page["note"]
        dates = [r["date"] for r in page["records"]]
        assert dates == sorted(dates, reverse=True)
        window = await call_ok(
            client,
            "get_invoices",
            {"since": "2025-11-01", "until": "2025-11-04", "sort": "date"},  # until is exclusive
        )
        assert [r["id"] for r in window["records"]] == [1, 2]  # invoice 3 is dated 2025-11-04
        cond = await call_ok(client, "get_invoices", {"condition": "total > 150", "range": 50})
        assert cond["records"] and all(r["total"] > 150 for r in cond["records"])
        slim = await call_ok(client, "get_invoices", {"id": OPEN, "fields": ["total", "status"]})
        assert slim["records"] == [{"id": OPEN, "total": 120.0, "status": "open"}]
        listed = await call_ok(
            client, "get_invoices", {"contact_id": ADA, "fields": ["balance", "line_items"]}
        )
        assert all(set(r) == {"id", "balance", "line_items"} for r in listed["records"])
        await call_err(client, "get_invoices", {"id": 999999}, "not_found")
        await call_err(client, "get_invoices", {"status": "unknown"}, "invalid_arguments")


async def test_get_purchases(env: Env) -> None:
    async with connect(env.url, env.headers) as client:
        out = await call_ok(client, "get_purchases", {"contact_id": ADA})
        records = out["records"]
        assert records and all(r["contact_id"] == ADA for r in records)
        dates = [r["date"] for r in records]
        assert dates == sorted(dates, reverse=True)  # newest first by default
        sub = next(r for r in records if r["type"] == "subscription")
        assert (sub["name"], sub["status"], sub["order_id"], sub["price"]) == (
            "Pro Membership", "paid", 1, 19.0)  # fmt: skip
        by_product = await call_ok(client, "get_purchases", {"product_id": 1, "range": 50})
        assert by_product["records"] and {r["product_id"] for r in by_product["records"]} == {1}
        oldest = await call_ok(client, "get_purchases", {"contact_id": ADA, "sort_dir": "asc"})
        assert oldest["records"][0]["date"] <= oldest["records"][-1]["date"]


async def test_get_failed_transactions(env: Env) -> None:
    async with connect(env.url, env.headers) as client:
        out = await call_ok(client, "get_failed_transactions", {"range": 50})
        kinds = {r["kind"] for r in out["records"]}
        assert kinds == {"declined", "collections", "overdue"}
        dates = [r["date"] for r in out["records"]]
        assert dates == sorted(dates)  # oldest first
        for r in out["records"]:
            assert r["amount_owed"] > 0
            if r["kind"] == "overdue":
                assert r["status"] == "open" and r["days_overdue"] >= 0
        ben = await call_ok(
            client, "get_failed_transactions", {"contact_id": BEN, "kinds": ["collections"]}
        )
        assert [r["id"] for r in ben["records"]] == [COLLECTIONS]
        declined = await call_ok(
            client, "get_failed_transactions", {"kinds": ["declined"], "contact_id": BEN}
        )
        assert DECLINED in [r["id"] for r in declined["records"]]
        assert all(r["kind"] == "declined" for r in declined["records"])
        overdue = await call_ok(
            client, "get_failed_transactions", {"kinds": ["overdue"], "contact_id": ADA}
        )
        assert [r["id"] for r in overdue["records"]] == [OPEN]  # due 2025-11-17, still open


async def test_get_payments(env: Env) -> None:
    async with connect(env.url, env.headers) as client:
        out = await call_ok(client, "get_payments", {"contact_id": ADA})
        first = next(r for r in out["records"] if r["invoice_id"] == PAID)
        assert (first["amount"], first["status"], first["gateway"]) == (
            59.54, "paid", "Sandbox Stripe")  # fmt: skip
        assert first["card"] == "Visa ending 4242 (card #1)" and first["invoice_status"] == "paid"
        refunded = next(r for r in out["records"] if r["invoice_id"] == 3)
        assert refunded["status"] == "refunded"
        one = await call_ok(client, "get_payments", {"invoice_id": PAID})
        assert [r["invoice_id"] for r in one["records"]] == [PAID]
        since = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
        assert (await call_ok(client, "get_payments", {"since": since}))["records"] == []


async def test_reads_never_write(env: Env) -> None:
    env.clear()
    async with connect(env.url, env.headers, mode="legacy") as client:
        for name in ("get_invoices", "get_purchases", "get_failed_transactions", "get_payments"):
            out = await call_ok(client, name, {"range": 2})
            assert out["count"] <= 2
    assert env.writes() == []
