"""Retries and error mapping of the upstream layer (narrow unit tests with a mock transport)."""

import httpx
import pytest

from ontraport_mcp.credentials import Credentials
from ontraport_mcp.errors import (
    NotFound,
    OutcomeUnknown,
    RateLimited,
    UpstreamError,
    UpstreamUnavailable,
)
from ontraport_mcp.generated.api import OPERATIONS
from ontraport_mcp.upstream.client import Upstream

pytestmark = pytest.mark.anyio
CREDS = Credentials(app_id="2_AppID_secret", api_key="key-very-secret")
OK = {"code": 0, "data": [], "account_id": 1}


def _upstream(handler, **kw) -> tuple[Upstream, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(len(seen), request)

    return Upstream("http://upstream.test/1", transport=httpx.MockTransport(record), **kw), seen


async def test_reads_are_retried_on_5xx_then_succeed():
    up, seen = _upstream(
        lambda n, r: httpx.Response(503) if n < 3 else httpx.Response(200, json=OK)
    )
    result = await up.call(OPERATIONS["list_objects"], CREDS, {"objectID": 0})
    assert result.status == 200 and len(seen) == 3
    assert seen[0].headers["Api-Key"] == "key-very-secret"
    assert [str(r.url) for r in seen] == ["http://upstream.test/1/objects?objectID=0"] * 3


async def test_reads_give_up_after_three_attempts():
    up, seen = _upstream(lambda n, r: httpx.Response(500, json={"message": "boom"}))
    with pytest.raises(UpstreamUnavailable) as info:
        await up.call(OPERATIONS["list_objects"], CREDS, {"objectID": 0})
    assert len(seen) == 3 and info.value.status == 500


async def test_writes_are_never_retried_and_a_5xx_leaves_the_outcome_unknown():
    up, seen = _upstream(lambda n, r: httpx.Response(503))
    with pytest.raises(OutcomeUnknown) as info:
        await up.call(OPERATIONS["create_object"], CREDS, {}, {"objectID": 0, "firstname": "A"})
    assert len(seen) == 1 and "503" in info.value.message
    assert (seen[0].method, seen[0].url.path) == ("POST", "/1/objects")
    assert seen[0].content == b'{"objectID":0,"firstname":"A"}'


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(lambda n, r: httpx.Response(200, content=b'{"code": 0, "da'), id="malformed"),
        pytest.param(lambda n, r: httpx.Response(502, text="<html>bad gateway"), id="5xx"),
    ],
)
async def test_a_write_with_no_trustworthy_answer_is_outcome_unknown(answer):
    up, seen = _upstream(answer)
    with pytest.raises(OutcomeUnknown) as info:
        await up.call(OPERATIONS["refund_transactions"], CREDS, {}, {"ids": "1"})
    assert len(seen) == 1
    assert "try again" not in info.value.message.lower()
    checked = info.value.checked_with("get_payments")
    assert "check with get_payments before retrying" in checked.message
    assert checked.details["check_with"] == "get_payments"


async def test_write_timeout_says_it_may_have_happened():
    def timeout(n, r):
        raise httpx.ReadTimeout("slow", request=r)

    up, seen = _upstream(timeout)
    with pytest.raises(OutcomeUnknown) as info:
        await up.call(OPERATIONS["refund_transactions"], CREDS, {}, {"ids": "1"})
    assert len(seen) == 1 and info.value.status == 504
    assert "may have happened" in info.value.checked_with("get_payments").message


async def test_a_write_that_never_left_says_nothing_happened():
    def refused(n, r):
        raise httpx.ConnectError("refused", request=r)

    up, _ = _upstream(refused)
    with pytest.raises(UpstreamUnavailable) as info:
        await up.call(OPERATIONS["refund_transactions"], CREDS, {}, {"ids": "1"})
    assert "nothing was sent" in info.value.message


async def test_the_429_message_states_the_budget_the_response_gives():
    headers = {"X-Rate-Limit-Limit": "60", "X-Rate-Limit-Reset": "12", "Retry-After": "12"}
    up, _ = _upstream(lambda n, r: httpx.Response(429, headers=headers))
    with pytest.raises(RateLimited) as info:
        await up.call(OPERATIONS["list_objects"], CREDS, {"objectID": 0})
    assert "60 requests" in info.value.message and "12 s" in info.value.message
    assert "180" not in info.value.message
    up, _ = _upstream(lambda n, r: httpx.Response(429, headers={"Retry-After": "3"}))
    with pytest.raises(RateLimited) as info:
        await up.call(OPERATIONS["list_objects"], CREDS, {"objectID": 0})
    assert "180" not in info.value.message  # no budget stated: none invented


async def test_429_returns_at_once_with_retry_after():
    up, seen = _upstream(lambda n, r: httpx.Response(429, headers={"Retry-After": "17"}))
    with pytest.raises(RateLimited) as info:
        await up.call(OPERATIONS["list_objects"], CREDS, {"objectID": 0})
    assert len(seen) == 1 and info.value.retry_after_s == 17.0
    payload = info.value.payload()
    assert payload["code"] == "rate_limited" and payload["retry_after_s"] == 17.0


async def test_429_falls_back_to_rate_limit_reset():
    up, _ = _upstream(lambda n, r: httpx.Response(429, headers={"X-Rate-Limit-Reset": "42"}))
    with pytest.raises(RateLimited) as info:
        await up.call(OPERATIONS["list_objects"], CREDS, {"objectID": 0})
    assert info.value.retry_after_s == 42.0


@pytest.mark.parametrize(
    ("status", "cls", "code"),
    [
        (400, UpstreamError, "bad_request"),
        (401, UpstreamError, "unauthorized"),
        (403, UpstreamError, "forbidden"),
        (404, NotFound, "not_found"),
        (422, UpstreamError, "unprocessable"),
    ],
)
async def test_status_mapping(status, cls, code):
    up, seen = _upstream(lambda n, r: httpx.Response(status, json={"message": "nope"}))
    with pytest.raises(cls) as info:
        await up.call(OPERATIONS["get_object"], CREDS, {"objectID": 0, "id": 1})
    assert info.value.code == code and info.value.status == status and len(seen) == 1
    assert "nope" in info.value.message


async def test_echoed_credentials_are_redacted_from_errors():
    body = {"message": "bad key key-very-secret for 2_AppID_secret"}
    up, _ = _upstream(lambda n, r: httpx.Response(401, json=body))
    with pytest.raises(UpstreamError) as info:
        await up.call(OPERATIONS["get_object"], CREDS, {"objectID": 0, "id": 1})
    assert "key-very-secret" not in info.value.message
    assert "2_AppID_secret" not in info.value.message
    assert "[redacted]" in info.value.message


async def test_malformed_json_on_a_read_is_retried_then_reported():
    up, seen = _upstream(lambda n, r: httpx.Response(200, content=b"{not json"))
    with pytest.raises(UpstreamUnavailable) as info:
        await up.call(OPERATIONS["list_objects"], CREDS, {"objectID": 0})
    assert info.value.code == "upstream_bad_response" and len(seen) == 3


def test_credentials_repr_hides_secrets():
    assert "secret" not in repr(CREDS)
    assert CREDS.account_hash in repr(CREDS)
