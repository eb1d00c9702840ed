"""Three replicas on one Redis behind a round-robin proxy: no money call is lost or done twice.

Every replica is a real ``ontraport-mcp serve`` process (its own ``--data-dir``, the same
``--store redis://…`` and ``ONTRAPORT_REQUEST_STATE_KEYS``) in front of one sandbox; the proxy
sends each request to the next replica in turn, like a load balancer without sticky sessions.
Invoices are counted through the sandbox's own API.  Skips with a clear message when no
``redis-server`` binary exists; every process is stopped by its own PID.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ontraport_mcp.sandbox.config import SandboxConfig
from ontraport_mcp.sandbox.testing import SandboxServer
from ontraport_mcp.state.redis import RedisStore
from tests.redis_server import RedisServer
from tests.scale.proxy import ProxyThread
from tests.scale.replicas import ELICITING, REQUEST_STATE_KEY, Replica, call_tool, payload

REPLICAS = 3
ADA = 1  # the seeded contact with a card on file that charges
CHARGE = "process_transaction"
MANUAL = ("POST", "/transaction/processManual")  # as the request log names it


def sale(quantity: int) -> dict[str, Any]:
    """A card charge for Ada; the quantity makes each test's purchase its own."""
    return {
        "contact_id": ADA,
        "gateway_id": 1,
        "offer": {"products": [{"product_id": 4, "quantity": quantity}]},
    }


@dataclass
class Cluster:
    redis: RedisServer
    sandbox: SandboxServer
    replicas: list[Replica]
    proxy: ProxyThread
    http: httpx.Client

    def call(self, name: str, args: dict[str, Any], url: str | None = None) -> dict[str, Any]:
        """A tool call through the proxy (or straight to ``url``): its result object."""
        return payload(call_tool(self.http, url or self.proxy.url, name, args))

    def invoices(self) -> int:
        """How many invoices the sandbox holds, read through its API."""
        with self.sandbox.client() as api:
            info = api.get("/objects/getInfo", params={"objectID": 46}).json()
        return int(info["data"]["count"])

    def charges_sent(self) -> int:
        """Charges the replicas sent the sandbox since the last ``clear_requests``."""
        return sum((r["method"], r["path"]) == MANUAL for r in self.sandbox.requests())


def _stop_all(replicas: list[Replica]) -> None:
    for replica in replicas:
        replica.stop()


@contextmanager
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with ExitStack() as stack:
        redis = stack.enter_context(RedisServer.start(tmp_path / "redis"))
        config = SandboxConfig(db=":memory:", rate_limit=1_000_000)
        sandbox = stack.enter_context(SandboxServer(config))
        replicas: list[Replica] = []
        stack.callback(_stop_all, replicas)
        for i in range(REPLICAS):
            replicas.append(
                Replica.start(
                    tmp_path / f"replica-{i}",
                    store=redis.url,
                    upstream=sandbox.base_url,
                    env={"ONTRAPORT_REQUEST_STATE_KEYS": REQUEST_STATE_KEY},
                )
            )
        proxy = stack.enter_context(ProxyThread([replica.url for replica in replicas]))
        http = stack.enter_context(httpx.Client(headers=dict(sandbox.headers), timeout=60))
        yield Cluster(redis, sandbox, replicas, proxy, http)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One cluster for the tests that leave every process running."""
    with cluster(tmp_path_factory.mktemp("replicas")) as running:
        yield running


def test_a_confirmation_issued_by_one_replica_is_redeemed_by_another(shared: Cluster) -> None:
    before = shared.invoices()
    rounds = 2 * REPLICAS
    for quantity in range(1, rounds + 1):
        served = len(shared.proxy.served)
        asked = shared.call(CHARGE, sale(quantity))
        assert asked["status"] == "confirmation_required", asked
        token = asked["confirmation_token"]
        done = shared.call(CHARGE, {**sale(quantity), "confirmation_token": token})
        assert done["status"] == "done", done
        issuer, redeemer = (s.backend for s in shared.proxy.served[served:])
        assert issuer != redeemer  # really two replicas
        # single use on every replica: the token is spent, and the guard answers a repeat
        again = shared.call(CHARGE, {**sale(quantity), "confirmation_token": token})
        assert again["status"] == "duplicate" and again["invoice_id"] == done["invoice_id"]
    assert shared.invoices() == before + rounds


def test_a_form_confirmation_round_is_answered_by_another_replica(shared: Cluster) -> None:
    """2026-07-28 input_required: the sealed request state verifies on any replica (shared
    keys, one audience), and our own state behind it is redeemed from Redis."""
    before = shared.invoices()
    first = call_tool(shared.http, shared.proxy.url, CHARGE, sale(50), capabilities=ELICITING)
    assert first.get("resultType") == "input_required" and first["requestState"], first
    yes = {"confirm": {"action": "accept", "content": {"confirm": True}}}
    extra = {"inputResponses": yes, "requestState": first["requestState"]}
    done = payload(
        call_tool(
            shared.http, shared.proxy.url, CHARGE, sale(50), capabilities=ELICITING, extra=extra
        )
    )
    assert done["status"] == "done", done
    assert shared.proxy.served[-1].backend != shared.proxy.served[-2].backend
    # the state was single use: a replay (on yet another replica) is refused, nothing done
    replay = call_tool(
        shared.http, shared.proxy.url, CHARGE, sale(50), capabilities=ELICITING, extra=extra
    )
    assert "rpc_error" in replay or payload(replay).get("status") == "duplicate", replay
    assert shared.invoices() == before + 1


def _race(cluster_: Cluster, calls: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Send the calls at the same moment (one thread each, released by a barrier)."""
    barrier = threading.Barrier(len(calls))
    results: list[dict[str, Any]] = [{} for _ in calls]

    def one(index: int, url: str, args: dict[str, Any]) -> None:
        with httpx.Client(headers=dict(cluster_.sandbox.headers), timeout=60) as http:
            barrier.wait(timeout=10)
            results[index] = payload(call_tool(http, url, CHARGE, args))

    threads = [
        threading.Thread(target=one, args=(i, url, args)) for i, (url, args) in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_the_same_purchase_on_two_replicas_at_once_makes_one_invoice(shared: Cluster) -> None:
    """Tokens are issued first (one per replica), then both confirmations race; the charge
    takes a moment upstream, so the second arrives while the first is in flight."""
    shared.sandbox.set_faults(latency_ms=300, paths=["/1/transaction/processManual"])
    try:
        for quantity in (60, 61, 62):
            one, two = shared.replicas[0].url, shared.replicas[1].url
            tokens = [shared.call(CHARGE, sale(quantity), url)["confirmation_token"] for url in (one, two)]  # fmt: skip
            before = shared.invoices()
            shared.sandbox.clear_requests()
            results = _race(
                shared,
                [(url, {**sale(quantity), "confirmation_token": token}) for url, token in zip((one, two), tokens, strict=True)],
            )  # fmt: skip
            outcomes = sorted(str(r.get("status") or r.get("code")) for r in results)
            assert outcomes in (["done", "duplicate"], ["done", "duplicate_in_flight"]), results
            assert shared.charges_sent() == 1
            assert shared.invoices() == before + 1
    finally:
        shared.sandbox.clear_faults()


def test_a_killed_replica_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        before = c.invoices()
        # 1. a confirmation issued by a replica that then crashes is redeemed by another
        victim = c.replicas[0]
        asked = c.call(CHARGE, sale(70), victim.url)
        victim.kill()
        done = c.call(CHARGE, {**sale(70), "confirmation_token": asked["confirmation_token"]})
        assert done["status"] == "done", done
        assert c.invoices() == before + 1
        # 2. a replica crashes while its charge is in flight upstream: the charge lands (the
        # sandbox got it), and the same call sent again elsewhere does not charge a second time
        c.sandbox.set_faults(latency_ms=3000, paths=["/1/transaction/processManual"])
        crashing = c.replicas[1]
        token = c.call(CHARGE, sale(71), crashing.url)["confirmation_token"]
        c.sandbox.clear_requests()
        confirmed = {**sale(71), "confirmation_token": token}
        sent = threading.Thread(
            target=lambda: _swallow(lambda: c.call(CHARGE, confirmed, crashing.url)), daemon=True
        )
        sent.start()
        _wait_for(lambda: "running" in ledger(c.redis))  # claimed: the charge is on its way
        time.sleep(0.5)  # …and inside the sandbox, which answers after 3 s
        crashing.kill()
        sent.join(timeout=30)
        _wait_for(lambda: c.charges_sent() == 1)  # the sandbox finished it all the same
        c.sandbox.clear_faults()
        # the same call again, through the proxy to a live replica: asked, then refused while
        # the crashed call's claim stands (it may have gone through), nothing sent
        repeat = c.call(CHARGE, sale(71))
        assert repeat["status"] == "confirmation_required", repeat
        refused = c.call(CHARGE, {**sale(71), "confirmation_token": repeat["confirmation_token"]})
        assert refused["code"] == "duplicate_in_flight", refused
        assert "nothing was done" in refused["message"]
        assert c.charges_sent() == 1
        _wait_for(lambda: c.invoices() == before + 2)
        assert c.invoices() == before + 2


def test_without_redis_money_tools_refuse_and_reads_go_on(tmp_path: Path) -> None:
    with cluster(tmp_path) as c:
        asked = c.call(CHARGE, sale(80))
        assert asked["status"] == "confirmation_required"
        c.redis.stop()
        c.sandbox.clear_requests()
        for _ in range(REPLICAS):  # every replica refuses the same way
            refused = c.call(CHARGE, {**sale(80), "confirmation_token": asked["confirmation_token"]})  # fmt: skip
            assert refused["code"] == "state_unavailable" and refused["http_status"] == 503
            assert "nothing was done" in refused["message"]
        destructive = c.call("void_transaction", {"id": 2})
        assert destructive["code"] == "state_unavailable", destructive
        assert c.charges_sent() == 0
        assert not [r for r in c.sandbox.requests() if r["method"] != "GET"]  # nothing written
        for _ in range(REPLICAS):
            read = c.call("get_invoices", {"contact_id": ADA})
            assert "code" not in read, read
        health = httpx.get(c.proxy.url + "/health", timeout=10)
        assert health.status_code == 503 and health.json()["store"]["ok"] is False


def ledger(redis: RedisServer) -> str:
    """The phases of the money ledger in Redis, read with the server's own store."""

    async def read() -> str:
        store = RedisStore(redis.url)
        try:
            return " ".join(json.loads(v)["phase"] for _, v in await store.scan("dup:"))
        finally:
            await store.aclose()

    return asyncio.run(read())


def _swallow(step: Any) -> None:
    """Run a call whose replica is killed under it (its connection then breaks)."""
    try:
        step()
    except (httpx.HTTPError, AssertionError):
        pass


def _wait_for(condition: Any, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)
