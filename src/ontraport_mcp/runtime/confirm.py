"""Confirmation: nothing destructive or money-moving happens without the user's yes.

Every D and ``$`` tool (``settings.confirm``: ``always`` = both, ``money-only`` = ``$`` only,
``never`` = neither) first builds a *plan* — a one-line summary bound to the exact target and
amount, e.g. "Refund invoice #1234, $299.00, to John Smith" — and then asks the user in the
best way the client allows:

* **2026-07-28 clients that declared the elicitation capability**: the call returns an
  ``InputRequiredResult`` holding a form (one boolean, ``confirm``) and a ``request_state``; the
  client asks the user and retries the same call with ``input_responses`` and the state.
* **2025-era sessions whose client declared elicitation**: the server pushes
  ``elicitation/create`` on the call's own stream and waits for the answer.
* **Everyone else** (or when pushing fails): the first call returns ``confirmation_required``
  with the summary and a short-lived ``confirmation_token``; the same tool called again with
  identical arguments plus that token acts once.

Decline or cancel ends the call with ``status: "declined"`` and nothing done; so does a pushed
question left unanswered for ``settings.confirmation_ttl_s`` (default 5 minutes).  Tokens and
request states are single-use, expire (``settings.confirmation_ttl_s``) and are bound to the
tool, the account, the exact arguments (minus the control arguments) and the plan's target and
amount: any difference means they do not match.  A request state can only answer an
elicitation round, and a confirmation token only a token round, so neither can stand in for the
other.

``Confirmations`` keeps pending tokens and request states in the shared state store
(``state.Store``) under ``confirm:`` + the SHA-256 of the token, so a dump of the store cannot
redeem one; a token issued by one replica is redeemed by any other (or after a restart, with the
SQLite store), exactly once (``take`` is atomic).  The store's expiry sweeps them.  It also
carries the money duplicate guard (``guard.DuplicateGuard``) on the same store.  A store that
cannot be reached raises ``StoreUnavailable``; the executor then refuses the tool, nothing done.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from typing import Any, Literal

import anyio
import mcp_types as types
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..state import Store
from .guard import CONTROL_ARGS, DuplicateGuard

__all__ = [
    "CONFIRM_KEY",
    "CONTROL_ARGS",
    "Confirmations",
    "ElicitationUnavailable",
    "accepted",
    "confirm_answer",
    "elicitation_channel",
    "fingerprint",
    "input_required",
    "push_elicitation",
    "request_state",
    "supports_form_elicitation",
]

log = logging.getLogger("ontraport_mcp.runtime.confirm")
TokenKind = Literal["token", "elicitation"]
Channel = Literal["modern", "push"]
CONFIRM_KEY = "confirm"
CONFIRM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        CONFIRM_KEY: {
            "type": "boolean",
            "title": "Confirm",
            "description": "Yes to go ahead; no (or cancel) and nothing happens.",
        }
    },
    "required": [CONFIRM_KEY],
}


def fingerprint(
    tool: str, account: str, args: dict[str, Any], target: str, amount: str | None
) -> str:
    payload = {k: v for k, v in args.items() if k not in CONTROL_ARGS}
    blob = json.dumps([tool, account, payload, target, amount], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


TOKEN_PREFIX = "confirm:"
EXPIRED_GRACE_S = 600.0
"""How long past its lifetime a token is kept, so redeeming it says "expired" rather than
"unknown" (the store deletes it then)."""
MAX_TOKEN_CHARS = 256
"""Longer is no token of ours: answered without asking the store."""
_PREFIXES: dict[TokenKind, str] = {"token": "ct_", "elicitation": "cs_"}


def token_key(token: str) -> str:
    """The store key of a token: a digest, never the token itself."""
    return TOKEN_PREFIX + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class Confirmations:
    """Pending confirmation tokens on the shared store (plus the money duplicate guard)."""

    def __init__(self, store: Store, ttl_s: float = 300.0, *, running_stale_s: float = 120.0):
        self.store = store
        self.ttl_s = ttl_s
        self.duplicates = DuplicateGuard(store, running_stale_s=running_stale_s)

    async def issue(self, fp: str, kind: TokenKind = "token") -> str:
        """A new single-use token for the plan with fingerprint ``fp``."""
        token = _PREFIXES[kind] + secrets.token_urlsafe(18)
        pending = {"fp": fp, "kind": kind, "expires_at": time.time() + self.ttl_s}
        await self.store.put(
            token_key(token), json.dumps(pending).encode(), ttl_s=self.ttl_s + EXPIRED_GRACE_S
        )
        return token

    async def redeem(self, token: str, fp: str, kind: TokenKind = "token") -> str | None:
        """Consume the token if it matches; return None on success, else why it failed.  A
        token of the wrong kind or for another plan is left as it is (the caller may still use
        it for its own call); the consuming step is ``take``, so only one redemption wins."""
        if not token.startswith(_PREFIXES[kind]) or len(token) > MAX_TOKEN_CHARS:
            return "unknown or already used"
        key = token_key(token)
        pending = _pending(await self.store.get(key))
        if pending is None or pending.get("kind") != kind:
            return "unknown or already used"
        if time.time() > pending["expires_at"]:
            await self.store.delete(key)
            return "expired"
        if not secrets.compare_digest(str(pending.get("fp")), fp):
            return "issued for a different tool, target, amount or arguments"
        if await self.store.take(key) is None:  # another replica redeemed it a moment ago
            return "unknown or already used"
        return None


def _pending(raw: bytes | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        pending = json.loads(raw)
        pending["expires_at"] = float(pending["expires_at"])
    except (ValueError, TypeError, KeyError):
        return None
    return pending if isinstance(pending, dict) else None


# ------------------------------------------------------------------------------ elicitation
def _client_capabilities(request: Any) -> types.ClientCapabilities | None:
    session = getattr(request, "session", None)
    caps = getattr(session, "client_capabilities", None) if session is not None else None
    if isinstance(caps, types.ClientCapabilities):
        return caps
    meta = getattr(request, "meta", None)  # 2026-07-28: also in the request's _meta envelope
    raw = meta.get(types.CLIENT_CAPABILITIES_META_KEY) if isinstance(meta, dict) else None
    if isinstance(raw, dict):
        try:
            return types.ClientCapabilities.model_validate(raw)
        except ValueError:
            return None
    return None


def supports_form_elicitation(caps: types.ClientCapabilities | None) -> bool:
    """Whether a client with these capabilities can be asked to confirm by a form."""
    if caps is None or caps.elicitation is None:
        return False
    elicitation = caps.elicitation
    # form mode is the default when a client names no mode at all
    return elicitation.form is not None or elicitation.url is None


def elicitation_channel(request: Any) -> Channel | None:
    """How this call can ask the user directly, or None (then the token flow is used)."""
    if request is None:
        return None
    if not supports_form_elicitation(_client_capabilities(request)):
        return None
    if getattr(request, "protocol_version", None) in MODERN_PROTOCOL_VERSIONS:
        return "modern"
    session = getattr(request, "session", None)
    if session is not None and getattr(session, "can_send_request", False):
        return "push"
    return None


def request_state(request: Any) -> str | None:
    """The ``requestState`` a 2026-07-28 client echoed on its retry."""
    params = getattr(request, "params", None)
    if not isinstance(params, dict):
        try:
            params = dict(params or {})
        except (TypeError, ValueError):
            return None
    state = params.get("requestState", params.get("request_state"))
    return state if isinstance(state, str) else None


def confirm_answer(input_responses: dict[str, Any] | None) -> Any:
    """The client's answer to our confirmation form (a 2026-07-28 retry), or None."""
    if not input_responses:
        return None
    return input_responses.get(CONFIRM_KEY)


def accepted(answer: Any) -> bool:
    """True only for an explicit accept with ``confirm: true``."""
    action: Any
    content: Any
    if isinstance(answer, types.ElicitResult):
        action, content = answer.action, answer.content
    elif isinstance(answer, dict):
        action, content = answer.get("action"), answer.get("content")
    else:
        return False
    return action == "accept" and isinstance(content, dict) and content.get(CONFIRM_KEY) is True


def input_required(summary: str, state: str) -> types.InputRequiredResult:
    form = types.ElicitRequestFormParams(message=_prompt(summary), requested_schema=CONFIRM_SCHEMA)
    return types.InputRequiredResult(
        input_requests={CONFIRM_KEY: types.ElicitRequest(params=form)}, request_state=state
    )


class ElicitationUnavailable(Exception):
    """Pushing the question failed; the caller falls back to the token flow."""


async def push_elicitation(
    request: Any, summary: str, timeout_s: float
) -> types.ElicitResult | None:
    """2025 era: ask on this call's own stream and wait for the user's answer — at most
    ``timeout_s`` (the confirmation lifetime): None then, and the call ends with nothing done.
    Without the bound an unanswered question held the call and its stream open for ever."""
    try:
        with anyio.move_on_after(timeout_s):
            answer = await request.session.elicit_form(
                _prompt(summary), CONFIRM_SCHEMA, related_request_id=request.request_id
            )
            if not isinstance(answer, types.ElicitResult):
                raise ElicitationUnavailable
            return answer
        return None
    except ElicitationUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 — any failure here means "could not ask"
        log.info(
            "elicitation failed (%s); falling back to a confirmation token", type(exc).__name__
        )
        raise ElicitationUnavailable from None


def _prompt(summary: str) -> str:
    return f"{summary}\n\nDo you want this to happen? Nothing is done unless you confirm."
