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

``Confirmations`` also carries the process's duplicate guard (``guard.DuplicateGuard``): both are
the in-memory safety ledger of one server process (a multi-worker deployment pins sessions or
uses one worker).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import mcp_types as types
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

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

log = logging.getLogger("ontraport_mcp.confirm")
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


@dataclass(slots=True)
class _Pending:
    fingerprint: str
    expires_at: float
    kind: TokenKind


class Confirmations:
    """In-process token store (plus the duplicate guard of the money tools)."""

    def __init__(self, ttl_s: float = 300.0, max_pending: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_pending = max_pending
        self._pending: dict[str, _Pending] = {}
        self.duplicates = DuplicateGuard()

    def issue(self, fp: str, kind: TokenKind = "token") -> str:
        self._sweep()
        if len(self._pending) >= self.max_pending:
            oldest = min(self._pending, key=lambda k: self._pending[k].expires_at)
            self._pending.pop(oldest)
        prefix = "ct_" if kind == "token" else "cs_"
        token = prefix + secrets.token_urlsafe(18)
        self._pending[token] = _Pending(fp, time.monotonic() + self.ttl_s, kind)
        return token

    def redeem(self, token: str, fp: str, kind: TokenKind = "token") -> str | None:
        """Consume the token if it matches; return None on success, else why it failed."""
        pending = self._pending.get(token)
        if pending is None or pending.kind != kind:
            return "unknown or already used"
        if time.monotonic() > pending.expires_at:
            self._pending.pop(token, None)
            return "expired"
        if not secrets.compare_digest(pending.fingerprint, fp):
            return "issued for a different tool, target, amount or arguments"
        self._pending.pop(token, None)
        return None

    def _sweep(self) -> None:
        now = time.monotonic()
        for token in [t for t, p in self._pending.items() if p.expires_at < now]:
            self._pending.pop(token, None)


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
