"""The OAuth test harness: the routes and the gate under real uvicorn on 127.0.0.1, a ``verify``
that asks the real sandbox, and the steps of a flow as small functions over real HTTP."""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ontraport_mcp.credentials import Credentials
from ontraport_mcp.oauth import ACCESS_SCOPE_KEY, CREDENTIALS_SCOPE_KEY, OAuthServer, Verify
from ontraport_mcp.oauth.clients import CIMDFetcher
from ontraport_mcp.oauth.crypto import pkce_challenge
from ontraport_mcp.sandbox.testing import SandboxServer, free_port
from ontraport_mcp.settings import Settings
from ontraport_mcp.state.sqlite import SQLiteStore

REDIRECT = "http://127.0.0.1:9/callback"
_VERDICTS = {200: "ok", 403: "ok", 401: "refused"}


def sandbox_verify(sandbox: SandboxServer) -> Verify:
    """Ask the sandbox, as the real server asks Ontraport: GET /objects/meta."""

    async def verify(creds: Credentials) -> str:
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                answer = await client.get(
                    f"{sandbox.base_url}/objects/meta", headers=creds.headers()
                )
        except httpx.HTTPError:
            return "unavailable"
        return _VERDICTS.get(answer.status_code, "unavailable")

    return verify


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """The stand-in MCP endpoint: says what the gate handed on."""
    creds = scope.get(CREDENTIALS_SCOPE_KEY)
    headers = dict(scope.get("headers", []))
    body = json.dumps(
        {
            "credentials": creds is not None,
            "account": creds.account_hash if creds is not None else None,
            "access": scope.get(ACCESS_SCOPE_KEY),
            "header_credentials": b"api-key" in headers,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Served:
    """An ASGI app under uvicorn in a thread on 127.0.0.1, started and stopped by its owner."""

    def __init__(self, app: Any, port: int, **config: Any) -> None:
        options = {"log_level": "warning", "lifespan": "off", "interface": "asgi3", **config}
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **options))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("a test server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=5)


class OAuthApp:
    """``OAuthServer`` routes + gate(echo) at /mcp, /v1 and /, in a uvicorn thread."""

    def __init__(
        self,
        settings: Settings,
        store_path: Path,
        verify: Verify,
        *,
        fetcher: CIMDFetcher | None = None,
    ) -> None:
        self.store_path = store_path
        self.store = SQLiteStore(store_path)
        self.oauth = OAuthServer(settings, self.store, verify, fetcher=fetcher)
        gated = self.oauth.gate(echo)

        @contextlib.asynccontextmanager
        async def lifespan(_: Starlette) -> AsyncIterator[None]:
            yield
            await self.oauth.aclose()
            await self.store.aclose()

        routes = [*self.oauth.routes()]
        routes += [Route(path, gated, methods=["GET", "POST"]) for path in ("/mcp", "/v1", "/")]
        self.app = Starlette(routes=routes, lifespan=lifespan)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._served = Served(self.app, self.port, lifespan="on")

    def __enter__(self) -> OAuthApp:
        self._served.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._served.stop()


# ---------------------------------------------------------------------------------- steps
def register(http: httpx.Client, redirect: str = REDIRECT, name: str = "Test Client") -> str:
    answer = http.post("/register", json={"redirect_uris": [redirect], "client_name": name})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["client_id"])


def new_verifier() -> str:
    return secrets.token_urlsafe(48)


def authorize_params(
    client_id: str,
    verifier: str,
    resource: str,
    *,
    redirect: str = REDIRECT,
    scope: str = "ontraport:read ontraport:write ontraport:full",
    state: str = "st-123",
) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect,
        "state": state,
        "code_challenge": pkce_challenge(verifier),
        "code_challenge_method": "S256",
        "resource": resource,
        "scope": scope,
    }


def form_fields(html: str) -> dict[str, str]:
    """The hidden fields of the consent form."""
    found = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    assert "request_id" in found and "csrf_token" in found, html[:500]
    return found


def consent(
    http: httpx.Client,
    params: dict[str, str],
    *,
    app_id: str,
    api_key: str,
    access: str = "read",
) -> httpx.Response:
    page = http.get("/authorize", params=params)
    assert page.status_code == 200, page.text
    return http.post("/authorize", data=approval(form_fields(page.text), app_id, api_key, access))


def approval(fields: dict[str, str], app_id: str, api_key: str, access: str) -> dict[str, str]:
    """The consent form as a person fills it and presses Approve."""
    return {**fields, "app_id": app_id, "api_key": api_key, "access": access, "action": "approve"}


def redirect_params(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code in (302, 303), answer.text
    query = urlsplit(answer.headers["location"]).query
    return {name: values[0] for name, values in parse_qs(query).items()}


def code_for(
    http: httpx.Client,
    sandbox: SandboxServer,
    client_id: str,
    verifier: str,
    resource: str,
    access: str = "read",
) -> str:
    params = authorize_params(client_id, verifier, resource)
    answer = consent(http, params, app_id=sandbox.app_id, api_key=sandbox.api_key, access=access)
    return redirect_params(answer)["code"]


def exchange(
    http: httpx.Client, client_id: str, code: str, verifier: str | None, resource: str, **extra: str
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": client_id,
        "resource": resource,
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    data.update(extra)
    return http.post("/token", data=data)


def refresh(http: httpx.Client, client_id: str, refresh_token: str, **extra: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    data.update(extra)
    return http.post("/token", data=data)


def tokens_for(
    http: httpx.Client, sandbox: SandboxServer, resource: str, access: str = "read"
) -> tuple[str, dict[str, Any]]:
    """A registered client and the token response of a whole flow at ``access``."""
    client_id = register(http)
    verifier = new_verifier()
    code = code_for(http, sandbox, client_id, verifier, resource, access)
    answer = exchange(http, client_id, code, verifier, resource)
    assert answer.status_code == 200, answer.text
    return client_id, answer.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------------------------- CIMD host
class HttpsDocs:
    """An https server on 127.0.0.1 (certificate for ``localhost`` from a local trustme CA)
    that serves whatever ``documents[path]`` holds: ``(status, headers, body)``."""

    def __init__(self, tmp_path: Path) -> None:
        import trustme

        self.ca = trustme.CA()
        cert = self.ca.issue_cert("localhost", "127.0.0.1")
        self.cert_file = tmp_path / "cert.pem"
        self.key_file = tmp_path / "key.pem"
        cert.private_key_and_cert_chain_pem.write_to_path(str(self.cert_file))
        cert.private_key_pem.write_to_path(str(self.key_file))
        self.documents: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.port = free_port()
        self.hits: list[str] = []
        self._served = Served(
            self._app, self.port, ssl_certfile=str(self.cert_file), ssl_keyfile=str(self.key_file)
        )

    def url(self, path: str) -> str:
        return f"https://localhost:{self.port}{path}"

    def ssl_context(self) -> Any:
        import ssl

        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    def publish(self, path: str, document: object, status: int = 200, **headers: str) -> str:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.documents[path] = (status, {"content-type": "application/json", **headers}, body)
        return self.url(path)

    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.hits.append(scope["path"])
        status, headers, body = self.documents.get(scope["path"], (404, {}, b"{}"))
        raw = [(k.encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    def __enter__(self) -> HttpsDocs:
        self._served.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._served.stop()


def loopback_too(address: Any) -> bool:
    """The address policy of the CIMD tests only: the default one, plus loopback."""
    from ontraport_mcp.oauth import public_only

    return bool(address.is_loopback) or public_only(address)
