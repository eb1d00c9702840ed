"""Light handshake-era sessions served by any replica (no sticky sessions).

Two real servers on 127.0.0.1 share one state store — the SQLite file of one host (as the
workers of ``serve --workers N`` do), or a real ``redis-server`` (as replicas do).  A light
session opened on one is served by the other, still only for the credential that opened it; a
DELETE on one ends it on the other; an id nobody issued is never stored.
"""

from __future__ import annotations

import json
import secrets
import tempfile
from collections.abc import Iterator

import anyio
import httpx
import pytest

from ontraport_mcp.credentials import Credentials
from ontraport_mcp.sandbox.testing import SandboxServer
from ontraport_mcp.state import open_store
from ontraport_mcp.transport import sessions
from ontraport_mcp.transport.sessions import LightSessionStore
from tests.conftest import server_settings
from tests.redis_server import RedisServer
from tests.server_thread import ServerThread

VERSION = "2025-11-25"
BASE = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": VERSION}
LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": VERSION,
        "capabilities": {},  # no form elicitation: a light session
        "clientInfo": {"name": "replica-test", "version": "1"},
    },
}


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def replicas(
    request: pytest.FixtureRequest, sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerThread, ServerThread]]:
    """Two servers, one store: the same SQLite file (one host) or one redis-server."""
    shared: dict[str, object] = {}
    redis: RedisServer | None = None
    if request.param == "sqlite":
        shared["data_dir"] = tempfile.mkdtemp(prefix="ontraport-mcp-replicas-")
    else:
        redis = RedisServer.start(tmp_path_factory.mktemp("redis"))
        shared["store"] = redis.url
    try:
        with (
            ServerThread(server_settings(sandbox.base_url, **shared)) as first,
            ServerThread(server_settings(sandbox.base_url, **shared)) as second,
        ):
            assert first.app.state.handshake.shared is not None  # build_app wires the store
            yield first, second
    finally:
        if redis is not None:
            redis.stop()


def _open(server: ServerThread, creds: dict[str, str]) -> str:
    opened = httpx.post(server.url, json=INIT, headers={**BASE, **creds}, timeout=30)
    assert opened.status_code == 200, opened.text
    session = opened.headers["mcp-session-id"]
    assert session in server.app.state.tracker.light
    done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    headers = {**BASE, **creds, "Mcp-Session-Id": session}
    assert httpx.post(server.url, json=done, headers=headers, timeout=30).status_code == 202
    return session


def _list(server: ServerThread, creds: dict[str, str], session: str) -> httpx.Response:
    headers = {**BASE, **creds, "Mcp-Session-Id": session}
    return httpx.post(server.url, json=LIST, headers=headers, timeout=30)


def _stored(server: ServerThread, session: str) -> bytes | None:
    """The store's record of ``session``, read through a store of the test's own (the server's
    belongs to the server's event loop)."""

    async def read() -> bytes | None:
        store = open_store(server.settings.store, data_dir=server.settings.data_dir)
        try:
            return await store.get(LightSessionStore.key(session))
        finally:
            await store.aclose()

    return anyio.run(read)


def test_a_light_session_opened_on_one_replica_is_served_by_another(replicas, creds):
    first, second = replicas
    session = _open(first, creds)
    assert session not in second.app.state.tracker.light
    listed = _list(second, creds, session)
    assert listed.status_code == 200, listed.text
    assert listed.headers["mcp-session-id"] == session
    assert '"tools"' in listed.text
    assert session in second.app.state.tracker.light  # cached there from now on
    assert _list(first, creds, session).status_code == 200


def test_the_stored_record_holds_no_credential(replicas, creds):
    first, _second = replicas
    session = _open(first, creds)
    raw = _stored(first, session)
    assert raw is not None
    record = json.loads(raw)
    assert record["protocol"] == VERSION
    assert record["owner"] == Credentials(creds["Api-Appid"], creds["Api-Key"]).digest
    for secret in creds.values():
        assert secret.encode() not in raw


def test_another_credential_is_refused_on_every_replica(replicas, creds):
    first, second = replicas
    session = _open(first, creds)
    other = {"Api-Key": "not-the-key", "Api-Appid": creds["Api-Appid"]}
    for server in (first, second):  # the sandbox has one account: vouch for the other key
        server.mcp.checks.remember(Credentials(other["Api-Appid"], other["Api-Key"]), "accepted")
        assert _list(server, other, session).status_code == 404
    assert _list(second, creds, session).status_code == 200


def test_a_delete_on_one_replica_ends_the_session_on_the_others(replicas, creds, monkeypatch):
    first, second = replicas
    monkeypatch.setattr(sessions, "LIGHT_RECHECK_S", 0.2)
    session = _open(first, creds)
    assert _list(second, creds, session).status_code == 200  # cached on the second
    headers = {**BASE, **creds, "Mcp-Session-Id": session}
    assert httpx.delete(first.url, headers=headers, timeout=30).status_code == 200
    assert _stored(first, session) is None
    anyio.run(anyio.sleep, 0.3)
    assert _list(second, creds, session).status_code == 404
    assert session not in second.app.state.tracker.light


def test_an_id_nobody_issued_is_never_stored(replicas, creds):
    first, second = replicas
    invented = secrets.token_hex(16)  # the shape of an issued id
    for server in (first, second):
        assert _list(server, creds, invented).status_code == 404
    assert _stored(first, invented) is None
    assert invented not in second.app.state.tracker.light


def test_the_store_keeps_the_idle_timeout(replicas):
    first, _second = replicas
    shared = first.app.state.handshake.shared
    assert shared.ttl_s == first.settings.session_idle_timeout_s
    assert 0 < shared.renew_s <= shared.ttl_s / 4
