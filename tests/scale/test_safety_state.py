"""Confirmation tokens and the money duplicate guard on each state store (SQLite, Redis): single
use under races, bound to their plan, hashed at rest, and "possibly done" after a crash.

These replace the in-memory unit tests of the old ledger (``test_token_is_bound_to_the_account``,
``test_guard_memory_is_bounded``): the store's expiry is now the bound.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ontraport_mcp.credentials import Credentials
from ontraport_mcp.errors import Refused
from ontraport_mcp.runtime.confirm import Confirmations, fingerprint
from ontraport_mcp.runtime.guard import DuplicateGuard, Ledger, duplicate_key
from ontraport_mcp.state import Store
from ontraport_mcp.state.governor import account_key
from tests.state.conftest import BACKENDS, open_backend, redis_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.anyio
RACERS = 20


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    backend = open_backend(request.param, request, tmp_path)
    try:
        yield backend
    finally:
        await backend.aclose()


def _fp(account: str) -> str:
    return fingerprint("refund_transaction", account, {"id": 5}, "invoice:5", "10.00")


async def test_a_token_is_bound_to_its_plan_and_used_once(store: Store) -> None:
    confirmations = Confirmations(store, ttl_s=60)
    mine, theirs = _fp("account-a"), _fp("account-b")
    token = await confirmations.issue(mine)
    assert await confirmations.redeem(token, theirs) == (
        "issued for a different tool, target, amount or arguments"
    )
    assert await confirmations.redeem(token, mine) is None  # a mismatch did not spend it
    assert await confirmations.redeem(token, mine) == "unknown or already used"
    # an elicitation state is not a confirmation token, and the other way round
    state = await confirmations.issue(mine, kind="elicitation")
    assert await confirmations.redeem(state, mine) == "unknown or already used"
    assert await confirmations.redeem(state, mine, kind="elicitation") is None


async def test_tokens_are_stored_hashed(store: Store) -> None:
    confirmations = Confirmations(store, ttl_s=60)
    token = await confirmations.issue(_fp("a"))
    stored = await store.scan("confirm:")
    assert len(stored) == 1
    key, value = stored[0]
    assert token not in key and token.encode() not in value  # a dump cannot redeem it
    assert json.loads(value)["kind"] == "token"


async def test_an_expired_token_says_so(store: Store) -> None:
    confirmations = Confirmations(store, ttl_s=0.2)
    token = await confirmations.issue(_fp("a"))
    await asyncio.sleep(0.4)
    assert await confirmations.redeem(token, _fp("a")) == "expired"
    assert await confirmations.redeem(token, _fp("a")) == "unknown or already used"


async def test_racing_redemptions_act_once(store: Store) -> None:
    """Replicas racing on one token: ``take`` lets exactly one through."""
    confirmations = Confirmations(store, ttl_s=60)
    token = await confirmations.issue(_fp("a"))
    answers = await asyncio.gather(*(confirmations.redeem(token, _fp("a")) for _ in range(RACERS)))
    assert answers.count(None) == 1
    assert set(answers) == {None, "unknown or already used"}


async def test_racing_identical_money_calls_claim_once(store: Store) -> None:
    guard = DuplicateGuard(store)
    key = duplicate_key("process_transaction", "acct", {"contact_id": 1})

    async def begin() -> str:
        try:
            first = await guard.begin(key, 600, again=False)
        except Refused as refused:
            return refused.code
        return "claimed" if first is None else "duplicate"

    outcomes = await asyncio.gather(*(begin() for _ in range(RACERS)))
    assert outcomes.count("claimed") == 1
    assert set(outcomes) == {"claimed", "duplicate_in_flight"}


async def test_the_ledger_after_success_unknown_and_clean_failure(store: Store) -> None:
    guard = DuplicateGuard(store)
    key = duplicate_key("process_transaction", "acct", {"contact_id": 1})
    # a clean failure releases the claim: a retry runs
    assert await guard.begin(key, 600, again=False) is None
    await guard.release(key)
    assert await guard.begin(key, 600, again=False) is None
    # success: a repeat answers with the first result, force claims again
    await guard.record(key, {"invoice_id": 7, "message": "Charged."}, 600)
    seen = await guard.look(key)
    answer = guard.duplicate_answer(seen, 600)
    assert answer is not None and answer["status"] == "duplicate" and answer["invoice_id"] == 7
    assert "Charged." in answer["message"] and "force: true" in answer["message"]
    repeat = await guard.begin(key, 600, again=False)  # the claim step answers the same way
    assert repeat is not None and (repeat["status"], repeat["invoice_id"]) == ("duplicate", 7)
    assert await guard.begin(key, 600, again=True) is None
    # unknown: no duplicate answer, a warning instead; only a warned confirmation claims it
    await guard.record_unknown(key, 600)
    seen = await guard.look(key)
    assert guard.duplicate_answer(seen, 600) is None
    assert "may already have gone through" in (guard.warning(seen) or "")
    with pytest.raises(Refused, match="may already have gone through"):
        await guard.begin(key, 600, again=False)
    assert await guard.begin(key, 600, again=True) is None


async def test_a_claim_left_running_by_a_dead_process_counts_as_possibly_done(
    store: Store,
) -> None:
    guard = DuplicateGuard(store, running_stale_s=0.2)
    key = duplicate_key("process_transaction", "acct", {"contact_id": 1})
    assert await guard.begin(key, 600, again=False) is None
    with pytest.raises(Refused, match="still running"):
        await guard.begin(key, 600, again=False)
    await asyncio.sleep(0.3)  # the process that claimed it never settled it
    seen = await guard.look(key)
    assert seen is not None and seen.phase == "unknown" and guard.warning(seen)
    # a record that cannot be read is treated the same way (the safe side)
    assert Ledger.decode(b"not json").phase == "unknown"


async def test_every_key_of_one_account_shares_the_guard() -> None:
    """The ledger key is the account's (the App ID's digest), never the credential's."""
    one = Credentials(app_id="2_AppID", api_key="first-key")
    two = Credentials(app_id="2_AppID", api_key="second-key")
    other = Credentials(app_id="3_AppID", api_key="first-key")
    keys = {
        duplicate_key("process_transaction", account_key(c.app_id), {"contact_id": 1})
        for c in (one, two)
    }
    assert len(keys) == 1 and one.account_hash != two.account_hash
    assert (
        duplicate_key("process_transaction", account_key(other.app_id), {"contact_id": 1})
        not in keys
    )
