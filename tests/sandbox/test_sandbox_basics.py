"""Auth, envelope, string scalars, routing and error bodies."""

from __future__ import annotations

import httpx

from ontraport_mcp.sandbox.testing import SandboxServer
from tests.sandbox.sbx_util import err, ok


def test_missing_or_wrong_credentials_are_401(ro_sandbox: SandboxServer) -> None:
    sb = ro_sandbox
    with httpx.Client(base_url=sb.base_url) as c:
        r = c.get("/Contacts")
        err(r, 401)
        assert r.headers["X-Rate-Limit-Limit"]
        err(c.get("/Contacts", headers={"Api-Key": sb.api_key}), 401)
        err(c.get("/Contacts", headers={"Api-Key": "wrong", "Api-Appid": sb.app_id}), 401)
        err(c.get("/Contacts", headers={"Api-Key": sb.api_key, "Api-Appid": "2_AppID_OTHER"}), 401)
        # header names are case-insensitive
        ok(
            c.get(
                "/Contact",
                params={"id": 1},
                headers={"api-key": sb.api_key, "API-APPID": sb.app_id},
            )
        )


def test_envelope_and_string_scalars(ro: httpx.Client) -> None:
    r = ro.get("/Contact", params={"id": 1})
    body = r.json()
    assert r.headers["content-type"].startswith("application/json")
    assert list(body) == ["code", "data", "account_id"]
    rec = body["data"]
    assert rec["id"] == "1" and rec["email"] == "ada.quill@example.com"
    assert all(v is None or isinstance(v, str) for v in rec.values())
    lst = ro.get("/objects", params={"objectID": 0, "range": 3}).json()
    assert lst["misc"] == [] and len(lst["data"]) == 3
    inv = ok(ro.get("/Transaction", params={"id": 1}))
    assert isinstance(inv["total"], str) and "." in inv["total"]
    assert isinstance(inv["date"], str) and inv["date"].isdigit()


def test_delete_single_has_no_data(api: httpx.Client) -> None:
    created = ok(api.post("/Contacts", data={"firstname": "Temp"}))
    body = api.delete("/Contact", params={"id": created["id"]}).json()
    assert body == {"code": 0, "account_id": 204817}
    err(api.get("/Contact", params={"id": created["id"]}), 404)


def test_routing_case_rules(ro: httpx.Client) -> None:
    ok(ro.get("/contacts", params={"range": 1}))  # case-insensitive fallback
    ok(ro.get("/CONTACT", params={"id": 1}))
    ok(ro.get("/order", params={"id": 1}))
    ok(ro.get("/Message", params={"id": 1}))
    err(ro.get("/message", params={"id": 1}), 405)  # /message is the write controller only
    err(ro.get("/MESSAGE", params={"id": 1}), 404)  # no case folding for message/Message
    err(ro.get("/nothing/here"), 404)
    err(ro.post("/Transactions", json={}), 405)


def test_unknown_object_type_and_ids(ro: httpx.Client) -> None:
    assert "objectID" in err(ro.get("/objects", params={"objectID": 9999}), 400)
    err(ro.get("/objects", params={"objectID": "abc"}), 400)
    err(ro.get("/objects"), 400)
    err(ro.get("/object", params={"objectID": 0, "id": 999999}), 404)
    err(ro.get("/object", params={"objectID": 0}), 400)


def test_admin_health_and_unknown_paths(ro_sandbox: SandboxServer) -> None:
    with httpx.Client(base_url=ro_sandbox.root_url) as c:
        assert c.get("/_admin/health").json() == {"status": "ok"}
        err(c.get("/elsewhere"), 404)
