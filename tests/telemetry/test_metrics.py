"""/metrics over real HTTP: counters that move after calls, bounded labels, the bearer token,
and no credential in the exposition or in the JSON log lines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ontraport_mcp.runtime import audit
from ontraport_mcp.sandbox.testing import SandboxServer
from ontraport_mcp.telemetry.logs import configure_logging
from ontraport_mcp.telemetry.metrics import outcome_labels, status_label, tool_label
from tests.conftest import server_settings
from tests.server_thread import ServerThread

from .conftest import (
    Instrumented,
    close_session,
    facade_call,
    modern_call,
    open_full_session,
    running,
    tool_result,
)

READ = {"object_type_id": 0, "range": 2}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(root: str, **headers: str) -> Samples:
    reply = httpx.get(root + "/metrics", headers=headers, timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def changes(before: Samples, after: Samples, name: str) -> list[tuple[dict[str, str], float]]:
    """The series of ``name`` that moved, with their labels and by how much."""
    return [
        (dict(labels), after[(n, labels)] - before.get((n, labels), 0.0))
        for n, labels in after
        if n == name and after[(n, labels)] != before.get((n, labels), 0.0)
    ]


CALLS = "ontraport_mcp_tool_calls_total"
UPSTREAM = "ontraport_mcp_upstream_requests_total"


def test_counters_move_after_a_call(instrumented: Instrumented, creds):
    root = instrumented.server.root
    modern_call(instrumented.server, creds, "get_objects", READ)  # reads the account's meta once
    before = scrape(root)
    modern_call(instrumented.server, creds, "get_objects", READ)
    after = scrape(root)
    ok = {"tool": "get_objects", "tool_class": "R", "outcome": "ok", "error_code": "none"}
    assert moved(before, after, CALLS, **ok) == 1
    histogram = "ontraport_mcp_tool_call_duration_seconds"
    assert moved(before, after, histogram + "_count", tool="get_objects") == 1
    assert moved(before, after, histogram + "_sum", tool="get_objects") > 0
    ((labels, delta),) = changes(before, after, UPSTREAM)
    assert delta == 1 and labels["status"] == "200" and labels["operation"]


def test_an_error_is_counted_with_its_code(instrumented: Instrumented, creds):
    root = instrumented.server.root
    before = scrape(root)
    modern_call(instrumented.server, creds, "get_objects", {"object_type_id": 0, "range": 99})
    after = scrape(root)
    labels = {"tool": "get_objects", "tool_class": "R", "outcome": "error"}
    assert moved(before, after, CALLS, **labels, error_code="invalid_arguments") == 1


def test_upstream_429_and_our_rate_limited_are_counted(creds, sandbox: SandboxServer):
    """On a server of its own: Ontraport's 429 tightens the account's budget on this server."""
    with running(sandbox) as instrumented:
        modern_call(instrumented.server, creds, "get_objects", READ)  # reads the account's meta
        root = instrumented.server.root
        before = scrape(root)
        sandbox.set_faults(force_429=True)
        try:
            reply = modern_call(instrumented.server, creds, "get_objects", READ)
        finally:
            sandbox.clear_faults()
        assert tool_result(reply)["isError"] is True
        after = scrape(root)
    assert moved(before, after, "ontraport_mcp_rate_limited_total", source="upstream") == 1
    assert moved(before, after, "ontraport_mcp_rate_limited_total", source="server") == 1
    labels = {"tool": "get_objects", "tool_class": "R", "outcome": "error"}
    assert moved(before, after, CALLS, **labels, error_code="rate_limited") == 1
    assert [(labels["status"], delta) for labels, delta in changes(before, after, UPSTREAM)] == [
        ("429", 1)
    ]


def test_confirmations_asked_and_refused_tokens(instrumented: Instrumented, creds):
    """Asked: a delete without a token.  A wrong token and an expired one (ttl 1 s here) are
    refused; without a code of its own an expiry counts as ``invalid`` (see the report)."""
    root = instrumented.server.root
    event = "ontraport_mcp_confirmations_total"
    before = scrape(root)
    args = {"object_type_id": 0, "id": 1}
    asked = tool_result(modern_call(instrumented.server, creds, "delete_object", args))
    assert "structuredContent" in asked, asked
    token = asked["structuredContent"]["confirmation_token"]
    wrong = {**args, "confirmation_token": "ct_not-a-token"}
    assert tool_result(modern_call(instrumented.server, creds, "delete_object", wrong))["isError"]
    import time

    time.sleep(1.2)
    late = {**args, "confirmation_token": token}
    assert tool_result(modern_call(instrumented.server, creds, "delete_object", late))["isError"]
    after = scrape(root)
    assert moved(before, after, event, event="asked") == 1
    refused = moved(before, after, event, event="invalid") + moved(
        before, after, event, event="expired"
    )
    assert refused == 2
    assert moved(before, after, event, event="confirmed") == 0


def test_a_confirmed_delete_counts_as_confirmed(instrumented: Instrumented, creds, sandbox):
    root = instrumented.server.root
    event = "ontraport_mcp_confirmations_total"
    with sandbox.client() as api:
        made = api.post("/objects", json={"objectID": 0, "firstname": "Gone"}).json()
    record = int(made["data"]["id"])
    args = {"object_type_id": 0, "id": record}
    before = scrape(root)
    asked = tool_result(modern_call(instrumented.server, creds, "delete_object", args))
    token = asked["structuredContent"]["confirmation_token"]
    done = modern_call(
        instrumented.server, creds, "delete_object", {**args, "confirmation_token": token}
    )
    assert tool_result(done).get("isError") is not True
    after = scrape(root)
    assert moved(before, after, event, event="asked") == 1
    assert moved(before, after, event, event="confirmed") == 1
    text = httpx.get(root + "/metrics", timeout=30).text
    assert f'"{record}"' not in text  # no record id in any label


def test_open_sessions_is_read_at_scrape_time(instrumented: Instrumented, creds):
    root = instrumented.server.root
    before = value(scrape(root), "ontraport_mcp_open_sessions")
    session = open_full_session(instrumented.server, creds)
    try:
        assert value(scrape(root), "ontraport_mcp_open_sessions") == before + 1
    finally:
        close_session(instrumented.server, session, creds)


def test_no_credential_in_metrics_or_json_logs(
    instrumented: Instrumented, creds, sandbox, tmp_path
):
    audit_file = tmp_path / "audit.log"
    stream = io.StringIO()
    root_logger = logging.getLogger()
    level = root_logger.level
    configure_logging("DEBUG", "json", stream)
    audit.configure(str(audit_file), "full", fmt="json")
    try:
        modern_call(instrumented.server, creds, "get_objects", READ)
        refused = {"Api-Key": "wrong-secret-key", "Api-Appid": "2_AppID_wrong"}
        assert facade_call(instrumented.server, refused, "get_objects", READ).status_code == 401
        modern_call(instrumented.server, creds, "get_objects", {"object_type_id": 0, "range": 99})
    finally:
        audit.configure("off")
        for handler in list(root_logger.handlers):
            if getattr(handler, "_ontraport_mcp", False):
                root_logger.removeHandler(handler)
        root_logger.setLevel(level)
    logged = stream.getvalue().splitlines() + audit_file.read_text().splitlines()
    assert logged, "the calls wrote no log line at all"
    for line in logged:
        entry = json.loads(line)  # every line one JSON object
        assert {"time", "level", "logger", "message"} <= set(entry)
    exposition = httpx.get(instrumented.server.root + "/metrics", timeout=30).text
    for secret in (sandbox.api_key, sandbox.app_id, "wrong-secret-key", "2_AppID_wrong"):
        assert secret not in exposition
        assert all(secret not in line for line in logged)


@pytest.fixture(scope="module")
def guarded(sandbox: SandboxServer) -> Iterator[ServerThread]:
    with ServerThread(server_settings(sandbox.base_url, metrics_token="scrape-secret")) as server:
        yield server


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong",
        "Bearer scrape-secre",
        "Basic scrape-secret",
        "scrape-secret",
        "Bearer  x",
    ],
)
def test_the_token_guards_the_endpoint(guarded: ServerThread, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    reply = httpx.get(guarded.root + "/metrics", headers=headers, timeout=30)
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"].startswith("Bearer")
    assert reply.json()["code"] == "unauthorized"
    assert "scrape-secret" not in reply.text


def test_the_token_opens_the_endpoint(guarded: ServerThread):
    scrape(guarded.root, Authorization="Bearer scrape-secret")


# --- the label rules -----------------------------------------------------------------------------

CATALOG = frozenset({"get_objects", "delete_object"})


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("get_objects", "get_objects"),
        ("get_acme_widgets", "custom:get"),
        ("search_jane_doe_clients", "custom:search"),
        ("create_x", "custom:create"),
        ("update_x", "custom:update"),
        ("_manifest_note", "custom:other"),
        ("anything else", "custom:other"),
    ],
)
def test_tool_label(name, label):
    assert tool_label(name, CATALOG) == label


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (200, "200"),
        (429, "429"),
        (0, "no_answer"),
        (None, "no_answer"),
        (418, "4xx"),
        (599, "5xx"),
        (302, "3xx"),
        (999, "other"),
    ],
)
def test_status_label(status, label):
    assert status_label(status) == label


@pytest.mark.parametrize(
    ("outcome", "labels"),
    [
        ("ok", ("ok", "none")),
        ("duplicate", ("duplicate", "none")),
        ("confirmation_required", ("confirmation_required", "none")),
        ("input_required", ("input_required", "none")),
        ("declined", ("declined", "none")),
        ("unanswered", ("declined", "none")),
        ("error:rate_limited", ("error", "rate_limited")),
        ("error:a customer's email@example.com", ("error", "other")),
        ("something new", ("error", "other")),
    ],
)
def test_outcome_labels(outcome, labels):
    assert outcome_labels(outcome) == labels


def test_the_tally_matches_prometheus_clients_own_counter_and_histogram():
    """The hot path keeps plain numbers (metrics._Family); scraped, they read exactly as
    prometheus_client's Counter and Histogram fed the same values, bucket bounds included."""
    from prometheus_client import CollectorRegistry, Counter, Histogram

    from ontraport_mcp.telemetry.metrics import LATENCY_BUCKETS, _Family

    registry = CollectorRegistry()
    counter = Counter("c", "doc", ("a",), registry=registry)
    histogram = Histogram("h", "doc", ("t",), buckets=LATENCY_BUCKETS, registry=registry)
    ours_counter = _Family("c", "doc", ("a",))
    ours_histogram = _Family("h", "doc", ("t",), buckets=LATENCY_BUCKETS)
    durations = [0.0, 0.005, 0.0050001, 0.3, 1.0, 119.0, 120.0, 500.0] + list(LATENCY_BUCKETS)
    for i, seconds in enumerate(durations):
        label = "x" if i % 3 else "y"
        counter.labels(label).inc()
        ours_counter.inc((label,))
        histogram.labels(label).observe(seconds)
        ours_histogram.observe((label,), seconds)

    def samples(families: Iterable[Any]) -> set[tuple[str, frozenset[Any], float]]:
        return {
            (s.name, frozenset(s.labels.items()), round(s.value, 9))
            for family in families
            for s in family.samples
            if not s.name.endswith("_created")
        }

    theirs = samples(registry.collect())
    assert theirs == samples([ours_counter.family(), ours_histogram.family()])
    assert len(theirs) == 2 + 2 * (len(LATENCY_BUCKETS) + 3)
