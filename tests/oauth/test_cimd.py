"""Client ID Metadata Documents: fetched safely, checked, cached; the default policy refuses
an address that is not public."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ontraport_mcp.oauth import CIMDFetcher, public_only
from ontraport_mcp.oauth.clients import ClientError
from ontraport_mcp.sandbox.testing import SandboxServer
from tests.oauth.conftest import oauth_settings
from tests.oauth.flow import (
    REDIRECT,
    HttpsDocs,
    OAuthApp,
    authorize_params,
    consent,
    exchange,
    loopback_too,
    new_verifier,
    redirect_params,
    sandbox_verify,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def docs(tmp_path: Path) -> Iterator[HttpsDocs]:
    with HttpsDocs(tmp_path) as server:
        yield server


def _document(url: str, **extra: object) -> dict[str, object]:
    return {"client_id": url, "client_name": "Doc Client", "redirect_uris": [REDIRECT], **extra}


def _fetcher(docs: HttpsDocs, **options: object) -> CIMDFetcher:
    return CIMDFetcher(policy=loopback_too, verify=docs.ssl_context(), **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "192.0.2.1",
        "255.255.255.255",
    ],
)
def test_default_policy_refuses_non_public_addresses(address: str) -> None:
    assert public_only(ipaddress.ip_address(address)) is False


def test_default_policy_allows_public_addresses() -> None:
    for address in ("8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"):
        assert public_only(ipaddress.ip_address(address)) is True


def test_whole_flow_with_a_cimd_client(
    sandbox: SandboxServer, docs: HttpsDocs, tmp_path: Path
) -> None:
    client_id = docs.publish("/oauth/client.json", {})
    docs.publish("/oauth/client.json", _document(client_id))
    fetcher = _fetcher(docs)
    with (
        OAuthApp(
            oauth_settings(tmp_path),
            tmp_path / "s.sqlite3",
            sandbox_verify(sandbox),
            fetcher=fetcher,
        ) as app,
        httpx.Client(base_url=app.url) as http,
    ):
        verifier = new_verifier()
        params = authorize_params(client_id, verifier, app.url + "/mcp")
        page = http.get("/authorize", params=params)
        assert page.status_code == 200 and "Doc Client" in page.text
        answer = consent(
            http, params, app_id=sandbox.app_id, api_key=sandbox.api_key, access="write"
        )
        code = redirect_params(answer)["code"]
        tokens = exchange(http, client_id, code, verifier, app.url + "/mcp")
        assert tokens.status_code == 200 and tokens.json()["scope"] == "ontraport:write"
    assert fetcher.fetches == 1  # authorize, consent and token: one fetch, then the cache


def test_default_policy_refuses_a_cimd_url_resolving_to_loopback(
    sandbox: SandboxServer, docs: HttpsDocs, tmp_path: Path
) -> None:
    client_id = docs.publish("/oauth/client.json", {})
    docs.publish("/oauth/client.json", _document(client_id))
    with (
        OAuthApp(oauth_settings(tmp_path), tmp_path / "s.sqlite3", sandbox_verify(sandbox)) as app,
        httpx.Client(base_url=app.url) as http,
    ):
        page = http.get(
            "/authorize", params=authorize_params(client_id, new_verifier(), app.url + "/mcp")
        )
        assert page.status_code == 400 and "location" not in page.headers
        assert "non-public address" in page.text
        token = http.post(
            "/token", data={"grant_type": "authorization_code", "client_id": client_id, "code": "x"}
        )
        assert token.status_code == 401 and token.json()["error"] == "invalid_client"
    assert docs.hits == []  # refused before any connection


async def test_document_checks(docs: HttpsDocs) -> None:
    fetcher = _fetcher(docs, max_bytes=2048)
    cases = {
        "/other-id.json": (
            _document("https://elsewhere.example/c.json"),
            200,
            {},
            "another client_id",
        ),
        "/no-redirects.json": ({"client_id": "x"}, 200, {}, "another client_id"),
        "/secret.json": (None, 200, {}, "only public clients"),
        "/http-redirect.json": (None, 200, {}, "redirect URIs are allowed on loopback only"),
        "/moved.json": ({}, 302, {"location": "https://localhost/x"}, "HTTP 302"),
        "/big.json": (None, 200, {}, "too large"),
        "/not-json.json": (b"<html>", 200, {}, "not JSON"),
    }
    for path, (document, status, headers, message) in cases.items():
        url = docs.url(path)
        if document is None and path == "/secret.json":
            document = _document(url, token_endpoint_auth_method="private_key_jwt")
        elif document is None and path == "/http-redirect.json":
            document = _document(url, redirect_uris=["http://example.com/cb"])
        elif document is None and path == "/big.json":
            document = _document(url, client_name="x" * 5000)
        docs.publish(path, document, status, **headers)
        with pytest.raises(ClientError) as refused:
            await fetcher.fetch(url)
        assert refused.value.code == "invalid_client"
        assert message in refused.value.description, path
    for url in ("http://localhost/c.json", "https://localhost/", "https://u:p@localhost/c.json"):
        with pytest.raises(ClientError):
            await fetcher.fetch(url)
    await fetcher.aclose()


async def test_cache_is_bounded_and_expires(docs: HttpsDocs) -> None:
    fetcher = _fetcher(docs, cache_size=2, cache_ttl_s=60)
    urls = [docs.publish(f"/c{n}.json", {}) for n in range(3)]
    for url in urls:
        docs.publish(urlsplit_path(url), _document(url))
    for url in urls:
        await fetcher.fetch(url)
    await fetcher.fetch(urls[2])
    assert fetcher.fetches == 3
    await fetcher.fetch(urls[0])  # evicted (the cache holds two)
    assert fetcher.fetches == 4
    short = _fetcher(docs, cache_ttl_s=0)
    await short.fetch(urls[0])
    await short.fetch(urls[0])
    assert short.fetches == 2
    await fetcher.aclose()
    await short.aclose()


async def test_untrusted_certificate_is_refused(docs: HttpsDocs) -> None:
    url = docs.publish("/c.json", {})
    docs.publish("/c.json", _document(url))
    fetcher = CIMDFetcher(policy=loopback_too)  # the system trust store: not the test CA
    with pytest.raises(ClientError, match="could not be fetched"):
        await fetcher.fetch(url)
    await fetcher.aclose()


def urlsplit_path(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path
