"""The duplicate guard of the money tools and the raw-card-number refusal."""

from __future__ import annotations

import anyio
import mcp_types as types
import pytest

from ontraport_mcp.runtime.guard import find_card_numbers, refuse_card_numbers
from tests.commerce.cm_util import (
    ADA,
    CARLA,
    Env,
    ask,
    call_err,
    call_ok,
    confirmed,
    environment,
    structured,
)
from tests.server_thread import connect

pytestmark = pytest.mark.anyio

SALE = {"contact_id": ADA, "gateway_id": 1, "offer": {"products": [{"product_id": 4}]}}


async def test_identical_money_call_returns_the_first_result(env: Env) -> None:
    env.clear()
    async with connect(env.url, env.headers) as client:
        first = await confirmed(client, "process_transaction", SALE)
        assert env.writes() == [("POST", "/transaction/processManual")]
        # the same call again, with or without a token: nothing is charged again
        for again in (SALE, {**SALE, "confirmation_token": "ct_whatever"}):
            dup = await call_ok(client, "process_transaction", again)
            assert dup["status"] == "duplicate"
            assert dup["invoice_id"] == first["invoice_id"] and dup["total"] == first["total"]
            assert "force: true" in dup["message"] and dup["duplicate_of"].endswith("Z")
        assert env.writes() == [("POST", "/transaction/processManual")]
        # another session (or era) of the same account is the same caller
        async with connect(env.url, env.headers, mode="legacy") as other:
            assert (await call_ok(other, "process_transaction", SALE))["status"] == "duplicate"
        # force acts again — after a new confirmation
        forced = {**SALE, "force": True}
        second = await confirmed(client, "process_transaction", forced)
        assert second["invoice_id"] != first["invoice_id"]
        assert env.writes() == [("POST", "/transaction/processManual")] * 2
        # different arguments are a different call
        other_sale = {**SALE, "external_order_id": "WEB-2"}
        assert (await ask(client, "process_transaction", other_sale))["status"] == (
            "confirmation_required"
        )


async def test_failed_or_unconfirmed_calls_are_not_remembered(env: Env) -> None:
    async with connect(env.url, env.headers) as client:
        args = {"contact_id": CARLA, "gateway_id": 1, "offer": {"products": [{"product_id": 4}]}}
        await call_err(client, "process_transaction", args, "refused")  # Carla has no card
        await call_err(client, "process_transaction", args, "refused")  # refused again, not dup
        iid = env.new_invoice(ADA, 3)
        await ask(client, "void_transaction", {"id": iid})
        assert (await ask(client, "void_transaction", {"id": iid}))["status"] == (
            "confirmation_required"
        )


async def test_duplicate_window_expires() -> None:
    with environment(duplicate_window_s=0.5, confirm="never") as e:
        async with connect(e.url, e.headers) as client:
            first = await call_ok(client, "process_transaction", SALE)
            assert (await call_ok(client, "process_transaction", SALE))["status"] == "duplicate"
            await anyio.sleep(0.8)
            later = await call_ok(client, "process_transaction", SALE)
            assert later["status"] == "done" and later["invoice_id"] != first["invoice_id"]
        assert e.writes().count(("POST", "/transaction/processManual")) == 2


def test_card_numbers_are_found_anywhere() -> None:
    assert find_card_numbers({"note": "paid with 4111 1111 1111 1111 yesterday"}) == ["note"]
    assert find_card_numbers({"a": {"b": ["x", "5555-5555-5555-4444"]}}) == ["a.b[1]"]
    assert find_card_numbers({"ref": 4242424242424242}) == ["ref"]
    # not cards: short numbers, phone numbers, numbers failing the Luhn check, dates
    assert find_card_numbers({"n": "order 12345, call +1 555 123 4567, 2025-04-18"}) == []
    assert find_card_numbers({"n": "1234 5678 9012 3456"}) == []
    args = {"note": "card 4111111111111111 exp 04/31"}
    with pytest.raises(Exception) as info:
        refuse_card_numbers(args)
    assert "payment page" in str(info.value)
    assert args["note"] == "card [card number removed, ending 1111] exp 04/31"


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("log_offline_purchase", {"contact_id": ADA, "note": "card 4111 1111 1111 1111",
                                  "offer": {"products": [{"product_id": 4}]}}),
        ("process_transaction", {"contact_id": ADA, "external_order_id": "4242424242424242",
                                 "offer": {"products": [{"product_id": 4}]}}),
        ("create_invoice", {"contact_id": ADA, "customer_note": "pay with 5555555555554444",
                            "offer": {"products": [{"product_id": 4}]}}),
        ("refund_transaction", {"id": 1, "reason": "refund to 378282246310005 please"}),
    ],
)  # fmt: skip
async def test_card_numbers_are_refused_before_anything(env: Env, tool: str, args: dict) -> None:
    async with connect(env.url, env.headers) as client:
        await client.list_tools()  # the credential is checked (one meta read) before we count
        env.clear()
        out = await call_err(client, tool, args, "card_number_refused")
    assert "payment page" in out["message"] and "cc_id" in out["message"]
    assert env.sb.requests() == []  # not even a read


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_identical_calls_confirmed_at_the_same_time_act_once(env: Env, mode: str) -> None:
    iid = env.new_invoice(ADA, 23)
    both_asked = anyio.Event()
    asked = 0

    async def slow_yes(context: object, params: object) -> types.ElicitResult:
        nonlocal asked
        asked += 1
        if asked == 2:
            both_asked.set()
        await both_asked.wait()  # both calls wait for the user at the same time
        return types.ElicitResult(action="accept", content={"confirm": True})

    env.clear()
    results: list[types.CallToolResult] = []
    async with connect(env.url, env.headers, mode=mode, elicitation_callback=slow_yes) as client:

        async def pay() -> None:
            results.append(await client.call_tool("pay_invoice", {"id": iid}))

        async with anyio.create_task_group() as tg:
            tg.start_soon(pay)
            tg.start_soon(pay)
    assert asked == 2
    outcomes = sorted(structured(r).get("code") or structured(r)["status"] for r in results)
    assert outcomes in (["done", "duplicate"], ["done", "duplicate_in_flight"])
    assert env.writes() == [("POST", "/transaction/payInvoice")]


async def test_a_sale_whose_outcome_is_unknown_is_asked_again_with_a_warning() -> None:
    """Measured before: after a malformed answer, log_offline_purchase was confirmed again and
    made 2 invoices.  Now the unknown outcome counts as possibly done: the repeat (even with
    force) asks the user, and its summary says the first attempt may have gone through."""
    with environment() as env:
        sale = {"contact_id": ADA, "offer": {"products": [{"product_id": 4}]}, "method": "cash"}
        async with connect(env.url, env.headers) as client:
            token = (await ask(client, "log_offline_purchase", sale))["confirmation_token"]
            env.sb.set_faults(malformed_rate=1.0, paths=["/1/transaction/processManual"])
            lost = await call_err(
                client,
                "log_offline_purchase",
                {**sale, "confirmation_token": token},
                "outcome_unknown",
            )
            env.sb.clear_faults()
            assert "get_invoices" in lost["message"] and "may have happened" in lost["message"]
            assert env.writes() == [("POST", "/transaction/processManual")]
            for again in (sale, {**sale, "force": True}):
                repeat = await call_ok(client, "log_offline_purchase", again)
                assert repeat["status"] == "confirmation_required", repeat
                assert "may already have gone through" in repeat["summary"]
            # nothing more was written until the user confirms the warned summary
            assert env.writes() == [("POST", "/transaction/processManual")]
            done = await call_ok(
                client,
                "log_offline_purchase",
                {**sale, "force": True, "confirmation_token": repeat["confirmation_token"]},
            )
            assert done["status"] == "done"
            assert len(env.writes()) == 2  # the user chose to record it again, knowingly


async def test_an_unknown_outcome_asks_even_when_confirmations_are_off() -> None:
    with environment(confirm="never") as env:
        sale = {"contact_id": ADA, "offer": {"products": [{"product_id": 4}]}, "method": "check"}
        async with connect(env.url, env.headers) as client:
            env.sb.set_faults(error_rate=1.0, error_statuses=[502], paths=["/1/transaction/"])
            await call_err(client, "log_offline_purchase", sale, "outcome_unknown")
            env.sb.clear_faults()
            repeat = await call_ok(client, "log_offline_purchase", sale)
            assert repeat["status"] == "confirmation_required"
            assert "may already have gone through" in repeat["summary"]
            assert env.writes() == [("POST", "/transaction/processManual")]
