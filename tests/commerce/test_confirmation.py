"""Confirmation of $ tools: the token flow, elicitation on both protocol eras, and the settings."""

from __future__ import annotations

import anyio
import mcp_types as types
import pytest

from tests.commerce.cm_util import (
    ADA,
    BEN,
    OPEN,
    PAID,
    Env,
    ask,
    call_err,
    call_ok,
    confirmed,
    elicitation,
    environment,
)
from tests.server_thread import connect

pytestmark = pytest.mark.anyio


# ------------------------------------------------------------------------------ token flow
async def test_first_call_does_nothing_second_acts_once(env: Env) -> None:
    iid = env.new_invoice(ADA, 42.5)
    env.clear()
    async with connect(env.url, env.headers) as client:
        first = await ask(client, "void_transaction", {"id": iid})
        assert first["summary"] == (
            f"Void invoice #{iid}, $42.50, of Ada Quill (open → voided; it will no longer be owed)"
        )
        assert first["expires_in_s"] == 300
        assert env.writes() == []  # nothing happened yet
        token = first["confirmation_token"]
        done = await call_ok(client, "void_transaction", {"id": iid, "confirmation_token": token})
        assert (done["status"], done["status_after"], done["amount"]) == ("done", "voided", 42.5)
        assert env.writes() == [("PUT", "/transaction/void")]
        # the same call again: the duplicate guard answers with the first result
        dup = await call_ok(client, "void_transaction", {"id": iid, "confirmation_token": token})
        assert dup["status"] == "duplicate" and dup["status_after"] == "voided"
        # past the guard (force), the state rules refuse a second void
        await call_err(
            client, "void_transaction", {"id": iid, "confirmation_token": token, "force": True},
            "refused",
        )  # fmt: skip
    assert env.writes() == [("PUT", "/transaction/void")]
    assert env.invoice(iid)["status"] == "4"


async def test_token_is_single_use(env: Env) -> None:
    iid = env.declined_invoice(BEN, 15)  # Ben's card declines: the invoice stays retryable
    env.clear()
    async with connect(env.url, env.headers) as client:
        first = await confirmed(client, "rerun_transaction", {"id": iid})
        assert first["declined"] is True and first["status_after"] == "declined"
        token = await ask(client, "rerun_transaction", {"id": iid, "force": True})
        args = {"id": iid, "force": True, "confirmation_token": token["confirmation_token"]}
        assert (await call_ok(client, "rerun_transaction", args))["status"] == "done"
        reused = await call_err(client, "rerun_transaction", args, "confirmation_invalid")
        assert "already used" in reused["message"]
    assert env.writes() == [("POST", "/transaction/rerun")] * 2


async def test_token_never_authorises_another_target_amount_or_tool(env: Env) -> None:
    a, b = env.new_invoice(ADA, 10), env.new_invoice(ADA, 10)
    env.clear()
    async with connect(env.url, env.headers) as client:
        token = (await ask(client, "void_transaction", {"id": a}))["confirmation_token"]
        # another target
        wrong = await call_err(
            client, "void_transaction", {"id": b, "confirmation_token": token},
            "confirmation_invalid",
        )  # fmt: skip
        assert "different tool, target, amount or arguments" in wrong["message"]
        # another tool (same arguments)
        token = (await ask(client, "void_transaction", {"id": a}))["confirmation_token"]
        await call_err(
            client, "write_off_transaction", {"id": a, "confirmation_token": token},
            "confirmation_invalid",
        )  # fmt: skip
        # another amount: a token for $500 does not create a $600 invoice
        args = {"contact_id": ADA, "gateway_id": 1,
                "offer": {"products": [{"product_id": 7, "price": 500}]}}  # fmt: skip
        token = (await ask(client, "create_invoice", args))["confirmation_token"]
        more = {**args, "offer": {"products": [{"product_id": 7, "price": 600}]}}
        await call_err(
            client, "create_invoice", {**more, "confirmation_token": token}, "confirmation_invalid"
        )
        # the same amount reached by other arguments still differs (arguments are bound)
        token = (await ask(client, "void_transaction", {"id": a}))["confirmation_token"]
        await call_err(
            client, "refund_transaction", {"id": PAID, "confirmation_token": token},
            "confirmation_invalid",
        )  # fmt: skip
        # an unknown token
        await call_err(
            client, "void_transaction", {"id": a, "confirmation_token": "ct_forged"},
            "confirmation_invalid",
        )  # fmt: skip
    assert env.writes() == []
    assert env.invoice(a)["status"] == env.invoice(b)["status"] == "0"


async def test_token_is_bound_to_the_amount_when_the_record_changes(env: Env) -> None:
    """The plan is recomputed on the confirmed call: a changed amount invalidates the token."""
    args = {"order_id": 3, "price": 31}
    async with connect(env.url, env.headers) as client:
        token = (await ask(client, "update_order", args))["confirmation_token"]
        env.api("PUT", "/transaction/order", json={"offer": {
            **env.api("GET", "/transaction/order", params={"id": 13}),
            "products": [{"id": 6, "quantity": 2, "type": "subscription",
                          "price": [{"price": 29, "unit": "month"}]}]}})  # fmt: skip
        env.clear()
        await call_err(
            client, "update_order", {**args, "confirmation_token": token}, "confirmation_invalid"
        )
    assert env.writes() == []


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_elicitation_accepted_acts_once(env: Env, mode: str) -> None:
    iid = env.new_invoice(ADA, 13)
    seen: list[str] = []
    env.clear()
    async with connect(env.url, env.headers, mode=mode, elicitation_callback=elicitation("accept", seen)) as client:  # fmt: skip
        assert client.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
        # the push needs a back-channel: a full SDK session, never a light one (sessions.py)
        assert not env.srv.app.state.tracker.light
        done = await call_ok(client, "void_transaction", {"id": iid})
    assert done["status"] == "done" and done["status_after"] == "voided"
    assert seen == [
        f"Void invoice #{iid}, $13.00, of Ada Quill (open → voided; it will no longer be owed)"
        "\n\nDo you want this to happen? Nothing is done unless you confirm."
    ]
    assert env.writes() == [("PUT", "/transaction/void")]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
@pytest.mark.parametrize("answer", ["decline", "cancel", "accept-no"])
async def test_elicitation_declined_does_nothing(env: Env, mode: str, answer: str) -> None:
    env.clear()
    async with connect(env.url, env.headers, mode=mode, elicitation_callback=elicitation(answer)) as client:  # fmt: skip
        out = await call_ok(client, "refund_transaction", {"id": PAID})
    assert out["status"] == "declined"
    assert out["summary"] == "Refund invoice #1, $59.54, to Ada Quill"
    assert "nothing was done" in out["message"]
    assert env.writes() == []
    assert env.invoice(PAID)["status"] == "1"


async def test_clients_without_elicitation_get_the_token_flow(env: Env) -> None:
    for mode in ("legacy", "auto"):
        async with connect(env.url, env.headers, mode=mode) as client:
            await ask(client, "refund_transaction", {"id": PAID})
    assert env.invoice(PAID)["status"] == "1"


async def test_the_token_flow_acts_once_over_a_light_session(env: Env) -> None:
    """A 2025-era client without elicitation has a light session (sessions.py): each request
    is its own stateless exchange, and the confirmation still binds and acts once."""
    iid = env.new_invoice(ADA, 21)
    env.clear()
    tracker = env.srv.app.state.tracker
    async with connect(env.url, env.headers, mode="legacy") as client:
        assert len(tracker.light) == 1 and not tracker.manager._server_instances
        done = await confirmed(client, "void_transaction", {"id": iid})
        assert done["status_after"] == "voided"
    assert env.writes() == [("PUT", "/transaction/void")]


async def test_elicitation_client_may_still_use_a_token(env: Env) -> None:
    """A token from a token-flow call is honoured even on a client that could be asked."""
    iid = env.new_invoice(ADA, 14)
    async with connect(env.url, env.headers) as plain:
        token = (await ask(plain, "void_transaction", {"id": iid}))["confirmation_token"]
    env.clear()
    async with connect(env.url, env.headers, elicitation_callback=elicitation("decline")) as client:  # fmt: skip
        done = await call_ok(client, "void_transaction", {"id": iid, "confirmation_token": token})
    assert done["status"] == "done"
    assert env.writes() == [("PUT", "/transaction/void")]


# ------------------------------------------------------------------------------ settings
async def test_confirm_never_acts_at_once_but_still_checks_state() -> None:
    with environment(confirm="never") as e:
        async with connect(e.url, e.headers) as client:
            e.clear()
            done = await call_ok(client, "void_transaction", {"id": OPEN})
            assert done["status"] == "done" and done["status_after"] == "voided"
            assert e.writes() == [("PUT", "/transaction/void")]
            await call_err(client, "void_transaction", {"id": PAID}, "refused")
            assert e.writes() == [("PUT", "/transaction/void")]


async def test_confirm_money_only_still_confirms_money_tools() -> None:
    with environment(confirm="money-only") as e:
        async with connect(e.url, e.headers) as client:
            await ask(client, "refund_transaction", {"id": PAID})
            sent = await call_ok(client, "send_invoice", {"id": OPEN})  # W: never confirmed
            assert sent["status"] == "open"


async def test_summary_shows_target_and_amount_with_two_decimals(env: Env) -> None:
    async with connect(env.url, env.headers) as client:
        done = await confirmed(
            client, "create_invoice",
            {"contact_id": ADA, "gateway_id": 1, "due_in_days": 0,
             "offer": {"products": [{"product_id": 7, "price": 1234.5}]}},
        )  # fmt: skip
    assert done["_summary"].startswith("Create an invoice for Ada Quill, $1,234.50: Gift Card")
    assert done["total"] == 1234.5


async def test_failed_push_elicitation_falls_back_to_the_token(env: Env) -> None:
    async def broken(context: object, params: object) -> types.ErrorData:
        return types.ErrorData(code=types.INTERNAL_ERROR, message="no UI here")

    env.clear()
    async with connect(env.url, env.headers, mode="legacy", elicitation_callback=broken) as client:
        first = await ask(client, "refund_transaction", {"id": PAID})
    assert first["summary"] == "Refund invoice #1, $59.54, to Ada Quill"
    assert env.writes() == []


async def test_an_unanswered_pushed_question_ends_the_call_with_nothing_done() -> None:
    """A pending elicitation once held the call open for ever (the stream kept alive by pings)."""

    async def never(context: object, params: object) -> types.ElicitResult:
        await anyio.sleep(60)  # the user walked away; bounded by the test's own timeout
        return types.ElicitResult(action="cancel")

    with environment(confirmation_ttl_s=1.5) as env:
        async with connect(
            env.url, env.headers, mode="legacy", elicitation_callback=never
        ) as client:
            started = anyio.current_time()
            with anyio.fail_after(20):
                result = await call_ok(client, "refund_transaction", {"id": PAID})
            waited = anyio.current_time() - started
        assert result["status"] == "declined"
        assert "no answer came within 1 s" in result["message"]
        assert "nothing was done" in result["message"]
        assert 1.4 <= waited < 10
        assert env.writes() == []
