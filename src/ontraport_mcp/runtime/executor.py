"""One execution path for every tool call.

    arguments ──validate against inputSchema──▶ card-number refusal (commerce) ──▶ duplicate
             guard ($ tools) ──▶ confirmation (D/$ tools: elicitation or token) ──▶ claim ($
             tools) ──▶ handler ──▶ ledger ($) ──▶ size budget ──▶ text + structuredContent
             ──▶ audit line

The duplicate guard and the confirmation tokens live in the shared state store (``state``):
a ``$`` call is claimed there atomically before anything is sent, then settled as done (its
result answers repeats), possibly done (``OutcomeUnknown``) or released (a clean failure).
When the store cannot be reached, D and ``$`` tools that need it answer ``state_unavailable``
(503, nothing done) before anything is sent; reads and plain writes never touch it.

Errors at any step become a tool result with ``isError: true`` whose one text block is the JSON
object ``{code, error, message, retry_after_s?, details?, http_status}`` and which carries no
``structuredContent``: strict clients (the TypeScript SDK, the MCP Inspector) check any
``structuredContent`` against the tool's ``outputSchema``, which describes success only, and
would throw away the message.  A successful result carries its payload twice, as
``structuredContent`` and as the JSON text of its one text block, for clients that show the model
only the content.  An unexpected exception becomes a generic ``internal_error`` whose text says
nothing about the exception (it may hold secrets).
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import mcp_types as types
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from .. import wirejson
from ..errors import QUOTE_CHARS, InvalidArguments, OutcomeUnknown, ToolError, quote
from ..state import StoreUnavailable
from ..state.governor import account_key
from . import confirm, guard
from .audit import audit
from .context import ToolContext
from .quickcheck import Check, compile_check
from .registry import Entry, Plan
from .toolspec import ToolSpec

log = logging.getLogger("ontraport_mcp.runtime.executor")
# Compiled validators by schema object (the validator keeps its schema alive, so the id stays
# unique).  Bounded: every manifest refresh brings new custom-object schemas.
_VALIDATORS: dict[int, tuple[Any, Draft202012Validator, Check | None]] = {}
_MAX_VALIDATORS = 4096
CHARS_PER_TOKEN = 4


def _validator(schema: Any) -> tuple[Draft202012Validator, Check | None]:
    """The schema's validator and its quick check (``quickcheck``), built once per schema."""
    found = _VALIDATORS.get(id(schema))
    if found is not None and found[0] is schema:
        return found[1], found[2]
    if len(_VALIDATORS) >= _MAX_VALIDATORS:  # manifests refresh: drop the oldest half
        for key in list(_VALIDATORS)[: _MAX_VALIDATORS // 2]:
            del _VALIDATORS[key]
    validator = Draft202012Validator(schema)
    check = compile_check(schema)
    _VALIDATORS[id(schema)] = (schema, validator, check)
    return validator, check


MAX_ARGUMENT_DEPTH = 32
"""How deeply arguments may nest (objects and arrays; the arguments object is level 1).  The
deepest real argument, a condition JSON with parenthesised groups, needs about 8; a limit keeps
every later step (validation, audit, the upstream encoder) far from Python's recursion limit."""
MAX_MESSAGE_CHARS = 1_000
"""No error message is longer: errors quote what was sent, they never echo it."""
_INTEGER_TEXT = re.compile(r"[+-]?\d{1,18}")
_NUMBER_TEXT = re.compile(r"[+-]?(\d{1,18}(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?")


def _integral(value: Any) -> Any:
    """An integer from an integral float or a numeric string (agents send ``"12"``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        return int(value)
    return value


def _number(text: str) -> Any:
    """A finite number from numeric text (``"19.95"``), else the text unchanged."""
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) and _NUMBER_TEXT.fullmatch(text.strip()) else text


def _accepts(schema: dict[str, Any], kind: str) -> bool:
    declared = schema.get("type")
    kinds = declared if isinstance(declared, list) else [declared]
    if kind in kinds:
        return True
    return any(isinstance(s, dict) and _accepts(s, kind) for s in schema.get("anyOf", ()))


def coerce_integers(schema: Any, value: Any) -> Any:
    """Make integers of what JSON Schema or an agent counts as one, recursively: ``3.0`` (which
    JSON Schema calls an integer) and numeric strings where the schema wants an integer and not
    a string (``"12"``; a string that may stay a string, such as a date, is left alone)."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, float | str) and _accepts(schema, "integer"):
        if isinstance(value, float) or not _accepts(schema, "string"):
            return _integral(value)
        return value
    if isinstance(value, str) and _accepts(schema, "number") and not _accepts(schema, "string"):
        return _number(value)
    if isinstance(value, list):
        items = schema.get("items")
        return [coerce_integers(items, v) for v in value] if isinstance(items, dict) else value
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        props = schema["properties"]
        return {k: coerce_integers(props.get(k), v) for k, v in value.items()}
    return value


def _lone_surrogate(text: str) -> bool:
    if text.isascii():  # the usual case, without a copy
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _unsound(args: dict[str, Any]) -> InvalidArguments | None:
    """What JSON Schema cannot see and later steps cannot survive, found in one iterative walk
    (so any depth is safe): nesting beyond ``MAX_ARGUMENT_DEPTH``; NaN and infinities (JSON has
    no such numbers, yet Python's parser reads them, and JSON Schema's bounds never reject them:
    every comparison is false); text with a lone UTF-16 surrogate, which no encoder can send."""
    stack: list[tuple[str, Any, int]] = [("", args, 1)]
    while stack:
        path, value, depth = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return InvalidArguments(
                f"Argument `{path}`: NaN and Infinity are not numbers JSON allows; send a finite "
                "number.",
                details={"field": path, "rule": "finite"},
            )
        if isinstance(value, str) and _lone_surrogate(value):
            return InvalidArguments(
                f"Argument `{path}`: the text holds a lone UTF-16 surrogate, which is not a "
                "character; send valid Unicode text.",
                details={"field": path, "rule": "unicode"},
            )
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_ARGUMENT_DEPTH:
            return InvalidArguments(
                f"Argument `{path.split('.')[0]}` nests deeper than {MAX_ARGUMENT_DEPTH} levels "
                "of objects and arrays; no tool takes such values. Send a flatter value.",
                details={"field": path.split(".")[0], "rule": "max_depth"},
            )
        children: Iterable[tuple[Any, Any]] = (
            value.items() if isinstance(value, dict) else enumerate(value)
        )
        for key, child in children:
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _lone_surrogate(key):
                return InvalidArguments(
                    f"Argument `{where}`: the name holds a lone UTF-16 surrogate; send valid "
                    "Unicode text.",
                    details={"field": where, "rule": "unicode"},
                )
            stack.append((where, child, depth + 1))
    return None


def validate_arguments(spec: ToolSpec, args: dict[str, Any]) -> None:
    """Check ``args`` against the input schema (in place: integral floats and numeric strings
    become ints where the schema wants an integer)."""
    if (problem := _unsound(args)) is not None:
        raise problem
    coerced = coerce_integers(spec.input_schema, args)
    validator, quick = _validator(spec.input_schema)
    # the quick check says "surely valid" or "not sure"; jsonschema decides and words the rest
    surely_valid = quick is not None and quick(coerced)
    error: ValidationError | None = (
        None if surely_valid else best_match(validator.iter_errors(coerced))
    )
    if error is None:
        args.clear()
        args.update(coerced)
        return
    where = ".".join(str(p) for p in error.absolute_path) or "(arguments)"
    raise InvalidArguments(
        _explain(error, where), details={"field": where, "rule": str(error.validator)}
    )


def _explain(error: ValidationError, where: str) -> str:
    """The validator's message with the offending value quoted, not repeated whole, and for an
    unknown key the keys that are allowed there."""
    message = error.message
    # jsonschema words its messages with Python reprs (None, True, 'x', ['a']): show JSON
    # (a schema's own words, such as the type name in "is not of type 'integer'", stay)
    values = [error.instance]
    if not isinstance(error.validator_value, str):
        values.append(error.validator_value)
    for value in values:
        shown = repr(value)
        if shown in message:
            message = message.replace(shown, quote(value))
    if error.validator == "additionalProperties" and isinstance(error.schema, dict):
        allowed = ", ".join(sorted(error.schema.get("properties", {}))) or "(none)"
        if not error.absolute_path:
            return f"{message}. Allowed arguments: {allowed}."
        return f"Argument `{where}`: {message}. Allowed keys there: {allowed}."
    if error.validator == "pattern":  # a regex helps no one: say what was expected in words
        expected = error.schema.get("description") if isinstance(error.schema, dict) else None
        hint = f" Expected: {expected}" if expected else " See the tool's description."
        return f"Argument `{where}`: {quote(error.instance)} is not in the expected form.{hint}"
    if error.validator == "required":
        return f"{message}." if not error.absolute_path else f"Argument `{where}`: {message}."
    return f"Argument `{where}`: {message}."


def _needs_confirmation(ctx: ToolContext) -> bool:
    mode = ctx.settings.confirm
    if mode == "never" or not ctx.spec.needs_confirmation:
        return False
    return mode == "always" or ctx.spec.tool_class == "$"


async def _default_plan(ctx: ToolContext, args: dict[str, Any]) -> Plan:
    shown = {k: v for k, v in args.items() if k not in confirm.CONTROL_ARGS}
    target = json.dumps(shown, sort_keys=True, default=str)
    return Plan(summary=f"{ctx.spec.title}: {target}", target=target)


# The read tool that shows whether a write happened, for "outcome unknown" errors (default:
# get_objects, which reads any record by id).
CHECK_WITH: dict[str, str] = {
    **dict.fromkeys(
        ("assign_task", "cancel_task", "complete_task", "reschedule_task"), "get_recent_tasks"
    ),
    **dict.fromkeys(
        (
            "create_invoice",
            "log_offline_purchase",
            "mark_transaction_paid",
            "pay_invoice",
            "process_transaction",
            "update_invoice",
            "void_transaction",
            "write_off_transaction",
            "convert_transaction",
            "send_invoice",
        ),
        "get_invoices",
    ),
    **dict.fromkeys(("refund_transaction", "rerun_transaction"), "get_payments"),
    **dict.fromkeys(("cancel_subscription", "update_order"), "get_purchases"),
    "manage_subscriptions": "get_subscribers",
}

ToolOutcome = types.CallToolResult | types.InputRequiredResult
"""What a call ends with: a result, or (2026-07-28 elicitation) a question for the client."""


async def run_tool(entry: Entry, ctx: ToolContext, args: dict[str, Any]) -> ToolOutcome:
    started = time.perf_counter()
    outcome = "ok"
    running: str | None = None  # the money call's ledger key while this call holds its claim
    duplicates = ctx.services.confirmations.duplicates
    window_s = ctx.settings.duplicate_window_s
    try:
        validate_arguments(entry.spec, args)
        # --- safety gate of the D and $ tools: card numbers, duplicates, confirmation ----------
        if entry.spec.toolset == "commerce":
            guard.refuse_card_numbers(args)
        money_key: str | None = None
        warning: str | None = None
        if entry.spec.tool_class == "$":
            money_key = guard.duplicate_key(
                entry.spec.name, account_key(ctx.credentials.app_id), args
            )
            seen = await duplicates.look(money_key)
            first = None if args.get("force") else duplicates.duplicate_answer(seen, window_s)
            if first is not None:
                outcome = "duplicate"
                return _success(ctx, first)
            # an identical money call whose outcome is unknown: always ask, and say so
            warning = duplicates.warning(seen)
        if warning is not None or _needs_confirmation(ctx):
            gate = await _confirmation_gate(entry, ctx, args, warning)
            if gate is not None:
                outcome = gate.outcome
                return gate.result
        if money_key is not None:
            # claimed before anything is sent: of identical racing calls, one goes on; an
            # identical call that finished while the user was being asked answers instead
            again = bool(args.get("force")) or warning is not None
            first = await duplicates.begin(money_key, window_s, again=again)
            if first is not None:
                outcome = "duplicate"
                return _success(ctx, first)
            running = money_key
        # --- the handler --------------------------------------------------------------------
        result = await entry.handler(ctx, args)
        if ctx.spec.needs_confirmation:
            result.setdefault("status", "done")
        if running is not None:  # settled: whatever happens to the record now
            claimed, running = running, None
            await _settle(duplicates.record(claimed, result, window_s), entry)
        return _success(ctx, result)
    except OutcomeUnknown as exc:
        outcome = f"error:{exc.code}"
        if running is not None:
            await _settle(duplicates.record_unknown(running, window_s), entry)
        return error_result(exc.checked_with(CHECK_WITH.get(entry.spec.name, "get_objects")))
    except StoreUnavailable as exc:
        if running is not None:  # from inside the handler: the call may have been sent
            outcome = "error:internal_error"
            return await _unexpected(entry, ctx, running, exc)
        outcome = "error:state_unavailable"
        return error_result(_state_unavailable(entry))
    except ToolError as exc:
        outcome = f"error:{exc.code}"
        if running is not None:  # a clean failure: nothing was done, a retry may run
            await _settle(duplicates.release(running), entry)
        return error_result(exc)
    except Exception as exc:  # noqa: BLE001 — never let exception text reach a client
        outcome = "error:internal_error"
        return await _unexpected(entry, ctx, running, exc)
    finally:
        ctx.outcome = outcome
        audit(
            schema=entry.spec.input_schema,
            tool=entry.spec.name,
            account=ctx.credentials.account_hash,
            args=args,
            outcome=outcome,
            upstream_status=ctx.last_status,
            upstream_calls=len(ctx.upstream_calls),
            duration_ms=(time.perf_counter() - started) * 1000,
        )


async def _unexpected(
    entry: Entry, ctx: ToolContext, running: str | None, exc: Exception
) -> types.CallToolResult:
    """An exception no step expected: a generic error that says nothing of it (it may hold
    secrets); a claimed money call may have been sent, so it counts as possibly done."""
    log.error("tool %s failed", entry.spec.name, exc_info=exc)
    if running is not None:
        duplicates = ctx.services.confirmations.duplicates
        window_s = ctx.settings.duplicate_window_s
        await _settle(duplicates.record_unknown(running, window_s), entry)
    return error_result(
        ToolError(
            "The server hit an unexpected error; nothing more is known. Try again, "
            "and report it if it persists."
        )
    )


async def _settle(step: Awaitable[None], entry: Entry) -> None:
    """Write how a claimed money call ended.  After the call the answer stands even when the
    store is lost: the claim then stays "running" until it turns stale, when identical calls
    are asked about as possibly done, so nothing is charged twice."""
    try:
        await step
    except StoreUnavailable:
        log.warning("tool %s: the state store could not record how the call ended", entry.spec.name)


def _state_unavailable(entry: Entry) -> ToolError:
    """Fail closed: without the store no confirmation can be held and no duplicate checked."""
    what = "money-moving" if entry.spec.tool_class == "$" else "destructive"
    return ToolError(
        f"The server's state store cannot be reached, so this {what} tool cannot hold a "
        "confirmation or check for a duplicate; nothing was done. Reads still work. Try again "
        "in a minute; if it persists, the operator should check the store (/health).",
        status=503,
        code="state_unavailable",
        retry_after_s=30.0,
    )


@dataclass(frozen=True, slots=True)
class _Gate:
    """The call stops at the confirmation step with this result (nothing was done)."""

    outcome: str
    result: ToolOutcome


async def _confirmation_gate(
    entry: Entry, ctx: ToolContext, args: dict[str, Any], warning: str | None = None
) -> _Gate | None:
    """Ask the user to confirm the plan; None means confirmed (the handler may run).
    ``warning`` goes first in the summary (an identical call may already have happened)."""
    planner = entry.plan or _default_plan
    plan = await planner(ctx, args)
    if warning is not None:
        plan = replace(plan, summary=f"{warning} {plan.summary}")
    fp = confirm.fingerprint(
        entry.spec.name, ctx.credentials.account_hash, args, plan.target, plan.amount
    )
    store = ctx.services.confirmations
    token = args.get("confirmation_token")
    if token:
        _redeemed(await store.redeem(str(token), fp), "confirmation token", _TOKEN_HINT)
        return None
    channel = confirm.elicitation_channel(ctx.request)
    if channel == "modern":
        answer = confirm.confirm_answer(ctx.input_responses)
        if answer is None:
            state = await store.issue(fp, kind="elicitation")
            return _Gate("input_required", confirm.input_required(plan.summary, state))
        state_back = confirm.request_state(ctx.request) or ""
        _redeemed(
            await store.redeem(state_back, fp, kind="elicitation"),
            "confirmation request",
            _ASK_HINT,
        )
        return None if confirm.accepted(answer) else _declined(ctx, plan)
    if channel == "push":
        try:
            pushed = await confirm.push_elicitation(
                ctx.request, plan.summary, ctx.settings.confirmation_ttl_s
            )
        except confirm.ElicitationUnavailable:
            pass  # the client could not be asked: fall back to the token
        else:
            if pushed is None:
                return _declined(ctx, plan, unanswered=True)
            return None if confirm.accepted(pushed) else _declined(ctx, plan)
    return _Gate("confirmation_required", _success(ctx, await _ask(ctx, plan, fp)))


_TOKEN_HINT = "Call the tool again without confirmation_token to get a new summary and token."
_ASK_HINT = "Call the tool again to be asked again."


def _redeemed(failure: str | None, what: str, hint: str) -> None:
    """Refuse a confirmation that did not redeem: ``confirmation_expired`` when it ran out (the
    user took too long: ask again), ``confirmation_invalid`` otherwise."""
    if failure is not None:
        code = "confirmation_expired" if failure == "expired" else "confirmation_invalid"
        raise InvalidArguments(f"The {what} is {failure}; nothing was done. {hint}", code=code)


def _declined(ctx: ToolContext, plan: Plan, *, unanswered: bool = False) -> _Gate:
    message = "The user declined (or cancelled) the confirmation: nothing was done."
    if unanswered:
        waited = int(ctx.settings.confirmation_ttl_s)
        message = f"Not confirmed: no answer came within {waited} s, so nothing was done."
    return _Gate(
        "unanswered" if unanswered else "declined",
        _success(ctx, {"status": "declined", "summary": plan.summary, "message": message}),
    )


async def _ask(ctx: ToolContext, plan: Plan, fp: str) -> dict[str, Any]:
    token = await ctx.services.confirmations.issue(fp)
    return {
        "status": "confirmation_required",
        "summary": plan.summary,
        "confirmation_token": token,
        "expires_in_s": int(ctx.services.confirmations.ttl_s),
        "message": (
            "Nothing has happened yet. Show the summary to the user; if they agree, call the same "
            "tool again with identical arguments plus this confirmation_token."
        ),
    }


def _success(ctx: ToolContext, result: dict[str, Any]) -> types.CallToolResult:
    text = wirejson.dumps(result)
    budget = ctx.settings.result_token_budget * CHARS_PER_TOKEN
    if len(text) > budget and isinstance(result.get("records"), list):
        result, text = _cut(result, budget)
    if len(text) > budget:
        result, text = _shorten_texts(result, budget)
    if len(text) > budget:  # nothing left to shorten: say so rather than overflow the client
        return error_result(
            ToolError(
                f"The result is about {len(text) // CHARS_PER_TOKEN:,} tokens, over this "
                f"server's budget of {ctx.settings.result_token_budget:,}. Ask for less: fewer "
                "`fields`, a smaller `range`, or one record by `id`.",
                status=400,
                code="result_too_large",
            )
        )
    return types.CallToolResult(content=[types.TextContent(text=text)], structured_content=result)


_LONG_TEXT = 2_000


def _shorten_texts(result: dict[str, Any], budget: int) -> tuple[dict[str, Any], str]:
    """Cut the longest texts of a result (notes, message bodies) to ``_LONG_TEXT`` characters,
    longest first, until it fits, and say so.  Iterative: results can be deep."""
    cut = json.loads(wirejson.dumps(result))  # a private copy to edit in place
    found: list[tuple[int, Any, Any]] = []
    stack: list[Any] = [cut]
    while stack:
        node = stack.pop()
        pairs = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in pairs:
            if isinstance(value, str) and len(value) > _LONG_TEXT:
                found.append((len(value), node, key))
            elif isinstance(value, dict | list):
                stack.append(value)
    excess = len(wirejson.dumps(cut)) - budget + 600
    shortened = 0
    for size, node, key in sorted(found, key=lambda f: f[0], reverse=True):
        if excess <= 0:
            break
        node[key] = f"{node[key][:_LONG_TEXT]}… [cut: {size:,} characters in all]"
        excess -= size - _LONG_TEXT
        shortened += 1
    if shortened:
        cut["truncated"] = True
        cut["note"] = (
            f"[truncated: {shortened} long text value(s) cut to {_LONG_TEXT:,} characters to stay "
            "within the size budget] Read one record by id with only the field you need."
        )
    return cut, wirejson.dumps(cut)


def _cut(result: dict[str, Any], budget: int) -> tuple[dict[str, Any], str]:
    """Drop records from the end until the result fits, and say so explicitly."""
    records = list(result["records"])
    total = len(records)
    sizes = [len(wirejson.dumps(r)) + 1 for r in records]
    room = budget - 600 - len(wirejson.dumps({k: v for k, v in result.items() if k != "records"}))
    kept = 0
    used = 0
    for size in sizes:
        if used + size > room:
            break
        used += size
        kept += 1
    cut = dict(result)
    cut["records"] = records[:kept]
    cut["count"] = kept
    cut["truncated"] = True
    cut["has_more"] = True
    cut["note"] = (
        f"[truncated: {kept} of {total} records shown to stay within the size budget] "
        "Ask for fewer fields with `fields`, or a smaller page with `range`, and continue with "
        f"`start` + {kept}."
    )
    return cut, wirejson.dumps(cut)


def error_result(exc: ToolError) -> types.CallToolResult:
    payload = exc.payload()
    if len(payload["message"]) > MAX_MESSAGE_CHARS:
        payload["message"] = payload["message"][: MAX_MESSAGE_CHARS - 1] + "…"
    if "details" in payload:
        payload["details"] = {k: _bounded(v) for k, v in payload["details"].items()}
    return types.CallToolResult(
        content=[types.TextContent(text=wirejson.dumps(payload))], is_error=True
    )


_DETAIL_ITEMS = 20


def _bounded(value: Any) -> Any:
    """A detail of an error kept structured but small: lists keep their first items (and say
    how many more), texts and anything else too long are quoted."""
    if isinstance(value, list) and len(value) > _DETAIL_ITEMS:
        value = [*value[:_DETAIL_ITEMS], f"… {len(value) - _DETAIL_ITEMS} more"]
    if isinstance(value, list) and all(len(wirejson.dumps(v)) <= 4 * QUOTE_CHARS for v in value):
        return value
    return value if len(wirejson.dumps(value)) <= 4 * QUOTE_CHARS else quote(value)


def error_payload(result: types.CallToolResult) -> dict[str, Any] | None:
    """The ``{code, error, message, …}`` object of an error result made here; None on success."""
    if not result.is_error or not result.content:
        return None
    block = result.content[0]
    if not isinstance(block, types.TextContent):
        return None
    try:
        payload = wirejson.loads(block.text)
    except ValueError:  # an error result made elsewhere (the SDK's own), not by error_result
        return None
    return payload if isinstance(payload, dict) else None
