"""Tasks (API.md §3.5): assign from a task message, complete (outcomes, task forms), cancel,
reschedule, reopen.  Transitions come from ``tasks_logic.TASK_TRANSITIONS``."""

from __future__ import annotations

import json
from typing import Any

from . import catalog, records
from .clock import DAY, now
from .errors import ApiError, bad
from .params import p_int, p_json, p_str, req_int
from .query import action_selection, selected_ids
from .router import Ctx, Result, Router
from .store import TypeInfo
from .tasks_logic import check


def _task_type(ctx: Ctx) -> TypeInfo:
    return ctx.store.types[1]


def _tasks(ctx: Ctx) -> list[dict[str, Any]]:
    ti = _task_type(ctx)
    sel = action_selection(ctx.store, ti, ctx.params)
    ids = selected_ids(ctx.store, ti, sel, ctx.params)
    if not ids:
        raise ApiError(404, "No tasks match the selection")
    return [ctx.store.get(1, i) or {} for i in ids]


def task_message(ctx: Ctx, mid: int) -> dict[str, Any]:
    msg = ctx.store.get(7, mid)
    if msg is None:
        raise ApiError(404, f"Message {mid} does not exist")
    if str(msg.get("type") or "").lower() != "task":
        raise bad(f"Message {mid} is not a task message (its type is {msg.get('type')!r})")
    return msg


def outcomes_of(ctx: Ctx, mid: int) -> list[dict[str, Any]]:
    return ctx.store.select(66, "CAST(item_id AS INTEGER) = ?", [mid])


def form_fields(msg: dict[str, Any]) -> list[dict[str, Any]]:
    raw = msg.get("task_form")
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        return []
    if isinstance(data, dict):
        data = data.get("fields", [])
    return (
        [f for f in data if isinstance(f, dict) and f.get("field")]
        if isinstance(data, list)
        else []
    )


def assign(ctx: Ctx) -> Result:
    type_id = p_int(ctx.params, "object_type_id")
    if type_id is None:
        type_id = p_int(ctx.params, "objectID", default=0)
    assert type_id is not None
    ti = ctx.store.types.get(type_id)
    if ti is None:
        raise bad(f"Invalid object_type_id {type_id}")
    message = p_json(ctx.params, "message")
    if not isinstance(message, dict):
        raise bad("Missing required parameter 'message' ({\"id\": <task message id>, ...})")
    mid = req_int(message, "id", minimum=1)
    msg = task_message(ctx, mid)
    owner = (
        p_int(message, "task_owner")
        or p_int({"o": msg.get("task_owner")}, "o")
        or p_int({"o": msg.get("owner")}, "o")
        or 1
    )
    if not ctx.store.exists(2, owner):
        raise bad(f"task_owner {owner} is not a user of this account")
    ts = now()
    due = p_int(message, "due_date", minimum=0)
    if due is None:
        days = p_int({"d": msg.get("due_date")}, "d") or 0
        due = ts + days * DAY
    ttype = p_str(message, "type", default="0")
    if ttype not in ("0", "-1"):
        raise bad("message.type must be 0 (normal) or -1 (fulfillment)")
    sel = action_selection(ctx.store, ti, ctx.params)
    targets = selected_ids(ctx.store, ti, sel, ctx.params)
    if not targets:
        raise ApiError(404, f"No {ti.name} records match the selection")
    object_name = catalog.ALIASES.get(ti.id, (ti.name, ti.name + "s"))[1]
    for rid in targets:
        ctx.store.insert(
            1,
            {
                "owner": owner,
                "contact_id": rid,
                "subject": msg.get("subject") or msg.get("alias"),
                "details": msg.get("task_data") or "",
                "status": "0",
                "type": ttype,
                "date_assigned": ts,
                "date_due": due,
                "date_complete": "0",
                "call_outcome_id": "0",
                "item_id": mid,
                "drip_id": "0",
                "step_num": "0",
                "hidden": "0",
                "object_type_id": ti.id,
                "object_name": object_name,
            },
        )
    return Result()


def _outcome_for(ctx: Ctx, task: dict[str, Any], wanted: str | None) -> str:
    mid = int(task.get("item_id") or 0)
    options = outcomes_of(ctx, mid) if mid else []
    if not options:
        return "0"
    names = ", ".join(repr(o["name"]) for o in options)
    if wanted is None:
        raise bad(f"Task {task['id']} needs an outcome: data.outcome must be one of {names}")
    text = wanted[2:] if wanted.startswith(":=") else wanted
    for o in options:
        if (o.get("name") or "").strip().lower() == text.strip().lower() or o["id"] == text.strip():
            return str(o["id"])
    raise bad(f"Unknown outcome {text!r} for task {task['id']}; valid outcomes: {names}")


def complete(ctx: Ctx) -> Result:
    tasks = _tasks(ctx)
    data = p_json(ctx.params, "data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise bad('\'data\' must be an object, e.g. {"outcome": ":=Reached"}')
    outcome = data.get("outcome")
    if outcome is not None and not isinstance(outcome, (str, int)):
        raise bad("data.outcome must be a string")
    ts = now()
    for task in tasks:
        check("complete", task)
        outcome_id = _outcome_for(ctx, task, None if outcome in (None, "") else str(outcome))
        msg = ctx.store.get(7, int(task.get("item_id") or 0)) or {}
        fields = form_fields(msg)
        values: dict[str, Any] = {}
        missing: list[str] = []
        for f in fields:
            name = str(f["field"])
            alias = str(f.get("alias") or name)
            value = data.get(name, data.get(alias))
            if value in (None, "") and str(f.get("required", "1")) in ("1", "true", "True"):
                missing.append(f"{name} ({alias})")
            elif value not in (None, ""):
                values[name] = value
        if missing:
            raise bad(
                f"Task {task['id']} has a task form; missing required field(s): {', '.join(missing)}"
            )
        ctx.store.update(
            1, int(task["id"]), {"status": "1", "date_complete": ts, "call_outcome_id": outcome_id}
        )
        related_type = ctx.store.types.get(int(task.get("object_type_id") or 0))
        rid = int(task.get("contact_id") or 0)
        if values and related_type is not None and ctx.store.exists(related_type.id, rid):
            records.update(ctx.store, related_type, rid, values, check_access=False)
        if int(task.get("object_type_id") or 0) == 0 and rid:
            ctx.store.insert(
                4,
                {
                    "contact_id": rid,
                    "object_type_id": 0,
                    "date": ts,
                    "type": "6",
                    "item_id": task.get("item_id"),
                    "details": f"Task completed: {task.get('subject')}",
                    "owner": task.get("owner"),
                },
            )
    return Result()


def cancel(ctx: Ctx) -> Result:
    tasks = _tasks(ctx)
    for task in tasks:
        check("cancel", task)
    for task in tasks:
        ctx.store.update(1, int(task["id"]), {"status": "2"})
    return Result()


def reopen(ctx: Ctx) -> Result:
    tasks = _tasks(ctx)
    for task in tasks:
        check("reopen", task)
    for task in tasks:
        ctx.store.update(
            1, int(task["id"]), {"status": "0", "date_complete": "0", "call_outcome_id": "0"}
        )
    return Result()


def reschedule(ctx: Ctx) -> Result:
    tid = req_int(ctx.params, "id", minimum=1)
    newtime = req_int(ctx.params, "newtime", minimum=1)
    if newtime > 4102444800:
        raise bad("newtime must be epoch seconds (not milliseconds)")
    task = ctx.store.get(1, tid)
    if task is None:
        raise ApiError(404, f"No Task record with id {tid}")
    check("reschedule", task)
    ctx.store.update(1, tid, {"date_due": newtime})
    return Result()


def register(router: Router) -> None:
    router.add("POST", "/task/assign", assign)
    router.add("POST", "/task/complete", complete)
    router.add("POST", "/task/cancel", cancel)
    router.add("POST", "/task/reschedule", reschedule)
    router.add("POST", "/task/reopen", reopen)
