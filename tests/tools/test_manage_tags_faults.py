"""manage_tags under injected upstream faults: every write that reached the API is reported.

The sandbox's request log is the ground truth: a write logged with status 200 was applied (a
malformed answer is applied too; its caller cannot know, so it must say "may have been applied"),
a write logged with an injected 5xx was not.  Each call's result is checked against it: success
only when every write applied, otherwise a report whose done / may-have-been-applied / not-done
steps match the log one for one, and the contact's tags match what was applied.
"""

from __future__ import annotations

from typing import Any

import pytest

from ontraport_mcp.runtime.executor import error_payload
from ontraport_mcp.sandbox.testing import SandboxServer
from tests.conftest import server_settings
from tests.server_thread import ServerThread, connect
from tests.tools.tools_util import check_output, get_record, make_contact, make_record, writes

pytestmark = pytest.mark.anyio

CALLS = 40


def _tags(sandbox: SandboxServer, contact: int) -> set[str]:
    with sandbox.client() as api:
        raw = get_record(api, 0, contact).get("contact_cat") or ""
    return {p for p in raw.split("*/*") if p}


def _tag_id(sandbox: SandboxServer, name: str) -> int | None:
    with sandbox.client() as api:
        rows = api.get("/objects", params={"objectID": 14, "search": name}).json()["data"]
    ids = [int(r.get("id") or r["tag_id"]) for r in rows if r["tag_name"] == name]
    return ids[0] if ids else None


def _check_report(payload: dict[str, Any], sent: list[dict[str, Any]]) -> dict[str, int]:
    """The failure report against the writes the sandbox logged for the call, one for one."""
    details = payload["details"]
    done, maybe = details["done"], details["may_have_been_applied"]
    not_done = details["not_done"]
    # the done steps are the first writes sent, and each of them was applied
    assert [s["step"] for s in done] == ["create_tag"] * len(done) or done[-1][
        "step"
    ] != "create_tag"
    assert len(sent) in (len(done), len(done) + 1), (sent, payload)
    assert all(w["status"] == 200 for w in sent[: len(done)]), (sent, payload)
    assert details["created_tag_ids"] == [s["tag_id"] for s in done if s["step"] == "create_tag"]
    failing = sent[len(done)] if len(sent) > len(done) else None
    if maybe:  # sent, outcome unknown to the server: the log may say either
        assert failing is not None and len(maybe) == 1, (sent, payload)
    elif failing is not None:  # reported as not done: it must not have been applied
        assert failing["status"] != 200, (failing, payload)
    # what was never sent is reported as not done, and the call as a whole says which is which
    assert len(done) + len(maybe) + len(not_done) >= len(sent)
    assert payload["code"] == ("partially_done" if done else details["upstream_code"])
    for label, steps in (
        ("Done:", done),
        ("May have been applied:", maybe),
        ("Not done:", not_done),
    ):
        assert (label in payload["message"]) == bool(steps), payload["message"]
    return {"done": len(done), "maybe": len(maybe)}


async def test_under_faults_every_applied_write_is_reported(fresh_sandbox: SandboxServer) -> None:
    sandbox = fresh_sandbox
    creds = {"Api-Key": sandbox.api_key, "Api-Appid": sandbox.app_id}
    with sandbox.client() as api:
        contacts = [make_contact(api) for _ in range(CALLS)]
        by_id = make_record(api, 14, tag_name="fault-by-id")
        make_record(api, 14, tag_name="fault-known")
    known = _tag_id(sandbox, "fault-known")
    tally = {"ok": 0, "failed": 0, "partial": 0, "maybe": 0, "nothing_sent": 0}
    with ServerThread(server_settings(sandbox.base_url)) as server:
        async with connect(server.url, creds) as client:
            await client.list_tools()  # meta cached before the faults start
            sandbox.set_faults(
                error_rate=0.2, error_statuses=[500, 502, 503], malformed_rate=0.05, seed=7
            )
            for i, contact in enumerate(contacts):
                new = f"fault-new-{i}"
                args = {
                    "action": "add",
                    "ids": [contact],
                    "tag_ids": [by_id],
                    "tag_names": ["fault-known", new],
                }
                sandbox.clear_requests()
                result = await client.call_tool("manage_tags", args)
                sent = writes(sandbox)
                sandbox.clear_faults()
                created = _tag_id(sandbox, new)
                tags = _tags(sandbox, contact)
                sandbox.set_faults(
                    error_rate=0.2,
                    error_statuses=[500, 502, 503],
                    malformed_rate=0.05,
                    seed=100 + i,
                )
                create = next((w for w in sent if w["path"] == "/objects"), None)
                tagging = next((w for w in sent if w["path"] == "/objects/tag"), None)
                # the log is the truth: the tag exists iff its create applied, the contact is
                # tagged iff the one tagging request applied (all tags at once, or none)
                assert (created is not None) == (create is not None and create["status"] == 200)
                if tagging is not None and tagging["status"] == 200:
                    assert tags == {str(by_id), str(known), str(created)}
                else:
                    assert tags == set()
                if not result.is_error:
                    out = check_output("manage_tags", result)
                    assert [w["status"] for w in sent] == [200, 200]
                    assert out["created_tag_ids"] == [created]
                    tally["ok"] += 1
                    continue
                payload = error_payload(result)
                assert payload is not None
                tally["failed"] += 1
                if "done" not in payload.get("details", {}):
                    # failed before any write (a read ran out of retries): nothing was sent
                    assert sent == [], payload
                    tally["nothing_sent"] += 1
                    continue
                counts = _check_report(payload, sent)
                if payload["details"]["created_tag_ids"]:
                    assert payload["details"]["created_tag_ids"] == [created]
                tally["partial"] += counts["done"] > 0
                tally["maybe"] += counts["maybe"] > 0
            sandbox.clear_faults()
    # the faults hit both kinds of step: some calls ended part-way, some with an unknown outcome
    assert tally["ok"] and tally["partial"] and tally["maybe"], tally
