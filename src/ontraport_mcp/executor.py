"""One execution path for every tool call.

    arguments ──validate against inputSchema──▶ card-number refusal (commerce) ──▶ duplicate
             guard ($ tools) ──▶ confirmation (D/$ tools: elicitation or token) ──▶ handler
             ──▶ size budget ──▶ text + structuredContent ──▶ audit line

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
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import mcp_types as types
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from . import confirm, guard, wirejson
from .audit import audit
from .context import ToolContext
from .errors import InvalidArguments, ToolError
from .registry import Entry, Handler, Plan
from .toolspec import ToolSpec

log = logging.getLogger("ontraport_mcp.executor")
# Compiled validators by schema object (the validator keeps its schema alive, so the id stays
# unique).  Bounded: every manifest refresh brings new custom-object schemas.
_VALIDATORS: dict[int, tuple[Any, Draft202012Validator]] = {}
_MAX_VALIDATORS = 4096
CHARS_PER_TOKEN = 4


def _validator(schema: Any) -> Draft202012Validator:
    found = _VALIDATORS.get(id(schema))
    if found is not None and found[0] is schema:
        return found[1]
    if len(_VALIDATORS) >= _MAX_VALIDATORS:  # manifests refresh: drop the oldest half
        for key in list(_VALIDATORS)[: _MAX_VALIDATORS // 2]:
            del _VALIDATORS[key]
    validator = Draft202012Validator(schema)
    _VALIDATORS[id(schema)] = (schema, validator)
    return validator


def _integral(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def coerce_integers(schema: Any, value: Any) -> Any:
    """JSON Schema counts 3.0 as an integer; handlers get a real ``int`` (recursively)."""
    if not isinstance(schema, dict):
        return value
    kind = schema.get("type")
    if kind == "integer":
        return _integral(value)
    if kind == "array" and isinstance(value, list):
        return [coerce_integers(schema.get("items"), v) for v in value]
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        props = schema["properties"]
        return {k: coerce_integers(props.get(k), v) for k, v in value.items()}
    if "anyOf" in schema and isinstance(value, float) and value.is_integer():
        if any(isinstance(s, dict) and s.get("type") == "integer" for s in schema["anyOf"]):
            return int(value)
    return value


def _non_finite(args: dict[str, Any]) -> str | None:
    """Where a NaN or an infinity hides in ``args``: JSON has no such numbers, yet Python's
    parser reads them and JSON Schema's bounds never reject them (every comparison is false).
    Iterative, so arbitrarily deep free-form values cannot exhaust the stack."""
    stack: list[tuple[str, Any]] = [(str(k), v) for k, v in args.items()]
    while stack:
        path, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return path
        children: Iterable[tuple[Any, Any]] = (
            (value.items() if isinstance(value, dict) else enumerate(value))
            if isinstance(value, dict | list)
            else ()
        )
        stack.extend((f"{path}.{k}", v) for k, v in children)
    return None


def validate_arguments(spec: ToolSpec, args: dict[str, Any]) -> None:
    """Check ``args`` against the input schema (in place: integral floats become ints)."""
    if (where := _non_finite(args)) is not None:
        raise InvalidArguments(
            f"Argument `{where}`: NaN and Infinity are not numbers JSON allows; send a finite "
            "number.",
            details={"field": where, "rule": "finite"},
        )
    error: ValidationError | None = best_match(_validator(spec.input_schema).iter_errors(args))
    if error is None:
        coerced = coerce_integers(spec.input_schema, args)
        args.clear()
        args.update(coerced)
        return
    where = ".".join(str(p) for p in error.absolute_path) or "(arguments)"
    if error.validator == "additionalProperties" and not error.absolute_path:
        allowed = ", ".join(sorted(spec.input_schema.get("properties", {})))
        message = f"{error.message}. Allowed arguments: {allowed}."
    elif error.validator == "required":
        message = f"{error.message}."
    else:
        message = f"Argument `{where}`: {error.message}."
    raise InvalidArguments(message, details={"field": where, "rule": str(error.validator)})


def _needs_confirmation(ctx: ToolContext) -> bool:
    mode = ctx.settings.confirm
    if mode == "never" or not ctx.spec.needs_confirmation:
        return False
    return mode == "always" or ctx.spec.tool_class == "$"


async def _default_plan(ctx: ToolContext, args: dict[str, Any]) -> Plan:
    shown = {k: v for k, v in args.items() if k not in confirm.CONTROL_ARGS}
    target = json.dumps(shown, sort_keys=True, default=str)
    return Plan(summary=f"{ctx.spec.title}: {target}", target=target)


ToolOutcome = types.CallToolResult | types.InputRequiredResult
"""What a call ends with: a result, or (2026-07-28 elicitation) a question for the client."""


async def run_tool(entry: Entry, ctx: ToolContext, args: dict[str, Any]) -> ToolOutcome:
    started = time.perf_counter()
    outcome = "ok"
    running: str | None = None
    duplicates = ctx.services.confirmations.duplicates
    try:
        validate_arguments(entry.spec, args)
        # --- safety gate of the D and $ tools: card numbers, duplicates, confirmation ----------
        if entry.spec.toolset == "commerce":
            guard.refuse_card_numbers(args)
        money_key: str | None = None
        if entry.spec.tool_class == "$":
            money_key = guard.duplicate_key(entry.spec.name, ctx.credentials.account_hash, args)
        if (first := _first_result(ctx, money_key, args)) is not None:
            outcome = "duplicate"
            return _success(ctx, first)
        if _needs_confirmation(ctx):
            gate = await _confirmation_gate(entry, ctx, args)
            if gate is not None:
                outcome = gate.outcome
                return gate.result
            # an identical call may have finished while the user was being asked
            if (first := _first_result(ctx, money_key, args)) is not None:
                outcome = "duplicate"
                return _success(ctx, first)
        if money_key is not None:
            duplicates.begin(money_key)
            running = money_key
        # --- the handler --------------------------------------------------------------------
        result = await entry.handler(ctx, args)
        if ctx.spec.needs_confirmation:
            result.setdefault("status", "done")
        if money_key is not None:
            duplicates.record(money_key, result, ctx.settings.duplicate_window_s)
        return _success(ctx, result)
    except ToolError as exc:
        outcome = f"error:{exc.code}"
        return _failure(exc)
    except Exception:  # noqa: BLE001 — never let exception text reach a client
        log.exception("tool %s failed", entry.spec.name)
        outcome = "error:internal_error"
        return _failure(
            ToolError(
                "The server hit an unexpected error; nothing more is known. Try again, "
                "and report it if it persists."
            )
        )
    finally:
        if running is not None:
            duplicates.end(running)
        audit(
            tool=entry.spec.name,
            account=ctx.credentials.account_hash,
            args=args,
            outcome=outcome,
            upstream_status=ctx.last_status,
            upstream_calls=len(ctx.upstream_calls),
            duration_ms=(time.perf_counter() - started) * 1000,
        )


def _first_result(
    ctx: ToolContext, money_key: str | None, args: dict[str, Any]
) -> dict[str, Any] | None:
    """The duplicate guard: the first result of this very money call, unless forced."""
    if money_key is None or args.get("force"):
        return None
    return ctx.services.confirmations.duplicates.lookup(money_key, ctx.settings.duplicate_window_s)


@dataclass(frozen=True, slots=True)
class _Gate:
    """The call stops at the confirmation step with this result (nothing was done)."""

    outcome: str
    result: ToolOutcome


async def _confirmation_gate(entry: Entry, ctx: ToolContext, args: dict[str, Any]) -> _Gate | None:
    """Ask the user to confirm the plan; None means confirmed (the handler may run)."""
    planner = entry.plan or _default_plan
    plan = await planner(ctx, args)
    fp = confirm.fingerprint(
        entry.spec.name, ctx.credentials.account_hash, args, plan.target, plan.amount
    )
    store = ctx.services.confirmations
    token = args.get("confirmation_token")
    if token:
        _redeemed(store.redeem(str(token), fp), "confirmation token", _TOKEN_HINT)
        return None
    channel = confirm.elicitation_channel(ctx.request)
    if channel == "modern":
        answer = confirm.confirm_answer(ctx.input_responses)
        if answer is None:
            state = store.issue(fp, kind="elicitation")
            return _Gate("input_required", confirm.input_required(plan.summary, state))
        state_back = confirm.request_state(ctx.request) or ""
        _redeemed(
            store.redeem(state_back, fp, kind="elicitation"), "confirmation request", _ASK_HINT
        )
        return None if confirm.accepted(answer) else _declined(ctx, plan)
    if channel == "push":
        try:
            pushed = await confirm.push_elicitation(ctx.request, plan.summary)
        except confirm.ElicitationUnavailable:
            pass  # the client could not be asked: fall back to the token
        else:
            return None if confirm.accepted(pushed) else _declined(ctx, plan)
    return _Gate("confirmation_required", _success(ctx, _ask(ctx, plan, fp)))


_TOKEN_HINT = "Call the tool again without confirmation_token to get a new summary and token."
_ASK_HINT = "Call the tool again to be asked again."


def _redeemed(failure: str | None, what: str, hint: str) -> None:
    if failure is not None:
        raise InvalidArguments(
            f"The {what} is {failure}; nothing was done. {hint}", code="confirmation_invalid"
        )


def _declined(ctx: ToolContext, plan: Plan) -> _Gate:
    return _Gate(
        "declined",
        _success(
            ctx,
            {
                "status": "declined",
                "summary": plan.summary,
                "message": "The user declined (or cancelled) the confirmation: nothing was done.",
            },
        ),
    )


def _ask(ctx: ToolContext, plan: Plan, fp: str) -> dict[str, Any]:
    token = ctx.services.confirmations.issue(fp)
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
    return types.CallToolResult(content=[types.TextContent(text=text)], structured_content=result)


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


def _failure(exc: ToolError) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(text=wirejson.dumps(exc.payload()))], is_error=True
    )


def error_payload(result: types.CallToolResult) -> dict[str, Any] | None:
    """The ``{code, error, message, …}`` object of an error result made here; None on success."""
    if not result.is_error or not result.content:
        return None
    block = result.content[0]
    payload = wirejson.loads(block.text) if isinstance(block, types.TextContent) else None
    return payload if isinstance(payload, dict) else None


def binding_handler(spec: ToolSpec) -> Handler:
    """The generic handler of a tool that is exactly one plain endpoint."""
    assert spec.binding is not None
    binding = spec.binding

    async def handle(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
        params = {p.api_name: args[p.argument] for p in binding.params if p.argument in args}
        result = await ctx.call(binding.operation, params=params)
        from .overrides.cleaner import clean

        return {
            **{p.argument: args.get(p.argument) for p in binding.params},
            "result": clean(result.envelope),
        }

    return handle


async def not_implemented(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    raise ToolError(
        f"{ctx.spec.name} is in the catalog but has no implementation yet in this version.",
        status=501,
        code="not_implemented",
    )
