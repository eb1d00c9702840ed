"""The task tools: assign from a task message, complete (outcomes, task forms), cancel, reschedule.

Only pending tasks (status 0) can be completed, cancelled or rescheduled: every tool reads the
tasks first and refuses, naming each task's current status, before anything is written.  What
completing a task needs (outcomes, form fields) is worked out by ``task_requirements``, shared
with get_task_form_requirements.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from ontraport_mcp.domain.records import as_int, clause, iso, resolve_type, to_epoch
from ontraport_mcp.errors import InvalidArguments, NotFound, Refused, ToolError
from ontraport_mcp.generated.api import TaskAssignMessage, TaskComplete
from ontraport_mcp.runtime.context import ToolContext
from ontraport_mcp.runtime.policy import check
from ontraport_mcp.runtime.registry import override
from ontraport_mcp.upstream.meta import TypeMeta

from .cleaner import clean
from .manage import PAGE, list_all, plural, record_id, require_existing, short_ids

TASK_TYPE = 1
MESSAGE_TYPE = 7
OUTCOME_TYPE = 66
STATUS_NAME = {"0": "open", "1": "completed", "2": "cancelled"}
MAX_EPOCH = 4_102_444_800  # 2100-01-01: anything larger is milliseconds, not seconds


def status_name(task: dict[str, Any]) -> str:
    return STATUS_NAME.get(str(task.get("status") or "0"), f"unknown ({task.get('status')})")


def _epoch(value: Any, argument: str) -> int:
    seconds = to_epoch(value, argument=argument)
    if seconds > MAX_EPOCH:
        raise InvalidArguments(
            f"`{argument}`: {value} is too large for Unix seconds (is it in milliseconds?). "
            "Give ISO 8601, e.g. 2026-05-09T09:00:00-07:00, or Unix seconds.",
            details={"field": argument},
        )
    if seconds <= 0:
        raise InvalidArguments(
            f"`{argument}` must be a date after 1970.", details={"field": argument}
        )
    return seconds


async def get_task(ctx: ToolContext, task_id: int) -> dict[str, Any]:
    """One task (GET /Task); NotFound with a hint when it does not exist."""
    try:
        result = await ctx.api.get_task(id=task_id)
        task = clean(result.data)
    except NotFound:
        task = None
    if not isinstance(task, dict) or not task:
        raise NotFound(
            f"No task with id {task_id}. Find tasks with get_recent_tasks.",
            details={"field": "id"},
        )
    return task


async def read_tasks(ctx: ToolContext, ids: list[int]) -> list[dict[str, Any]]:
    meta = await ctx.meta()
    return await require_existing(ctx, meta.require(TASK_TYPE, None), ids, what="task")


def require_pending(tasks: list[dict[str, Any]], verb: str) -> None:
    """Refuse (nothing written) when any task is not pending, naming each one's status."""
    blocked = [t for t in tasks if str(t.get("status") or "0") != "0"]
    if not blocked:
        return
    pending = [record_id(t) for t in tasks if str(t.get("status") or "0") == "0"]
    shown = "; ".join(
        f"task {record_id(t)} ({t.get('subject') or 'no subject'}) is {status_name(t)}"
        for t in blocked[:20]
    )
    message = (
        f"Only open (pending) tasks can be {verb}: {shown}. Nothing was changed."
        + (f" Retry with the open ones only: ids {short_ids(pending)}." if pending else "")
        + " A completed or cancelled task can be reopened with update_object on type 1, "
        'data {"status": 0}.'
    )
    raise Refused(
        message,
        details={
            "tasks": [{"id": record_id(t), "status": status_name(t)} for t in blocked],
            "pending_ids": pending,
        },
    )


# ---------------------------------------------------------------------------- task requirements
@dataclass(slots=True)
class FormField:
    name: str
    alias: str
    required: bool
    type: str = "text"
    options: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "alias": self.alias, "type": self.type}
        if self.options:
            out["options"] = dict(self.options)
        return out


@dataclass(slots=True)
class Requirements:
    message_id: int
    message: dict[str, Any] | None
    outcomes: list[dict[str, Any]]  # [{id, name}]
    fields: list[FormField]
    related_type: int
    problems: list[str] = field(default_factory=list)

    @property
    def required(self) -> list[FormField]:
        return [f for f in self.fields if f.required]


def parse_task_form(raw: Any) -> list[dict[str, Any]]:
    """The task message's form definition: a JSON list of {field, alias, required}."""
    data = raw
    if isinstance(raw, str):
        if not raw.strip():
            return []
        try:
            data = json.loads(raw)
        except ValueError:
            return []
    if isinstance(data, dict):
        data = data.get("fields", [])
    if not isinstance(data, list):
        return []
    return [f for f in data if isinstance(f, dict) and f.get("field")]


def _required(value: Any) -> bool:
    return value is None or str(value).strip().lower() in ("1", "true", "yes")


async def task_requirements(
    ctx: ToolContext, tasks: list[dict[str, Any]]
) -> dict[int, Requirements]:
    """What completing each task needs, keyed by task message id (0 = no task message).

    Reads the task messages (type 7, the tasks' item_id) and their outcomes (type 66) in bulk.
    """
    meta = await ctx.meta()
    by_message: dict[int, int] = {}
    for task in tasks:
        by_message.setdefault(
            as_int(task.get("item_id")) or 0, as_int(task.get("object_type_id")) or 0
        )
    message_ids = [m for m in by_message if m]
    messages: dict[int, dict[str, Any]] = {}
    if message_ids:
        for record in await list_all(ctx, MESSAGE_TYPE, ids=message_ids):
            messages[record_id(record)] = record
    outcomes: dict[int, list[dict[str, Any]]] = {m: [] for m in message_ids}
    if message_ids:
        found = await list_all(
            ctx,
            OUTCOME_TYPE,
            condition=[clause("item_id", "IN", message_ids)],
            limit=10 * PAGE,
        )
        for outcome in found:
            mid = as_int(outcome.get("item_id")) or 0
            if mid in outcomes:
                outcomes[mid].append(
                    {"id": record_id(outcome), "name": str(outcome.get("name") or "")}
                )
    out: dict[int, Requirements] = {}
    for mid, related_type in by_message.items():
        message = messages.get(mid)
        related = meta.resolve(related_type, None)
        req = Requirements(mid, message, outcomes.get(mid, []), [], related_type)
        if mid and message is None:
            req.problems.append(
                f"its task message {mid} no longer exists, so its outcomes and form are unknown"
            )
        for entry in parse_task_form((message or {}).get("task_form")):
            name = str(entry["field"])
            spec = dict(related.fields.get(name, {})) if related else {}
            options = spec.get("options")
            req.fields.append(
                FormField(
                    name=name,
                    alias=str(entry.get("alias") or spec.get("alias") or name),
                    required=_required(entry.get("required")),
                    type=str(spec.get("type") or "text"),
                    options={str(k): str(v) for k, v in options.items()}
                    if isinstance(options, dict)
                    else {},
                )
            )
        out[mid] = req
    return out


def describe_requirements(task: dict[str, Any], req: Requirements) -> dict[str, Any]:
    """The get_task_form_requirements result for one task."""
    status = status_name(task)
    notes: list[str] = []
    if status != "open":
        notes.append(
            f"The task is {status}: complete_task only accepts open tasks (reopen it with "
            'update_object on type 1, data {"status": 0}).'
        )
    if not req.message_id:
        notes.append("The task was not made from a task message: it has no outcomes or form.")
    notes += [f"Note: {p}." for p in req.problems]
    if req.outcomes:
        notes.append(
            "complete_task needs `outcome`: one of "
            + ", ".join(repr(o["name"]) for o in req.outcomes)
            + " (name or id)."
        )
    elif req.message_id:
        notes.append("No outcomes are defined: call complete_task without `outcome`.")
    if req.required:
        notes.append(
            "Give the required fields in complete_task's `data`, keyed by field name, e.g. "
            + json.dumps({f.name: "…" for f in req.required})
            + "."
        )
    out: dict[str, Any] = {
        "task_id": record_id(task),
        "status": status,
        "outcomes": list(req.outcomes),
        "required_fields": [f.describe() for f in req.required],
        "notes": " ".join(notes) or "Nothing special: complete_task needs only the task id.",
    }
    optional = [f.describe() for f in req.fields if not f.required]
    if optional:
        out["optional_fields"] = optional
    if req.message_id:
        out["message_id"] = req.message_id
    if req.message:
        out["message_name"] = str(req.message.get("alias") or req.message.get("name") or "")
    out["subject"] = str(task.get("subject") or "")
    return out


# ------------------------------------------------------------------------------- complete_task
def _match_outcome(req: Requirements, wanted: Any, task_id: int) -> dict[str, Any] | None:
    names = ", ".join(repr(o["name"]) for o in req.outcomes)
    if wanted is None:
        if req.outcomes:
            raise InvalidArguments(
                f"Task {task_id} needs an outcome: give `outcome` as one of {names} "
                "(get_task_form_requirements lists them). Nothing was changed.",
                details={"field": "outcome", "choices": [o["name"] for o in req.outcomes]},
            )
        return None
    if not req.outcomes:
        raise InvalidArguments(
            f"Task {task_id} has no outcomes defined"
            + (f" (task message {req.message_id})" if req.message_id else "")
            + f", so outcome {wanted!r} cannot be recorded. Call complete_task without "
            "`outcome`. Nothing was changed.",
            details={"field": "outcome", "choices": []},
        )
    if isinstance(wanted, int):
        found = [o for o in req.outcomes if o["id"] == wanted]
    else:
        text = str(wanted).strip()
        text = text[2:] if text.startswith(":=") else text
        found = [o for o in req.outcomes if o["name"].strip().lower() == text.lower()]
        if not found and text.isdigit():
            found = [o for o in req.outcomes if o["id"] == int(text)]
    if not found:
        raise InvalidArguments(
            f"Outcome {wanted!r} is not one of task {task_id}'s outcomes: {names}. "
            "Nothing was changed.",
            details={"field": "outcome", "choices": [o["name"] for o in req.outcomes]},
        )
    return found[0]


def _form_values(req: Requirements, data: dict[str, Any], task_id: int) -> dict[str, Any]:
    """Validate ``data`` against the task's form; values keyed by field name, option labels
    turned into option ids."""
    index: dict[str, FormField] = {}
    for f in req.fields:
        index[f.name.lower()] = f
        index.setdefault(f.alias.strip().lower(), f)
    unknown = [k for k in data if k.strip().lower() not in index]
    if unknown:
        if req.fields:
            known = ", ".join(f"{f.name} ({f.alias})" for f in req.fields)
            hint = f"Its form fields: {known}."
        else:
            hint = "It has no completion form, so `data` must be left out."
        raise InvalidArguments(
            f"Task {task_id}: unknown form field(s) {', '.join(repr(k) for k in unknown)}. "
            f"{hint} Nothing was changed.",
            details={"field": "data", "choices": [f.name for f in req.fields]},
        )
    values: dict[str, Any] = {}
    for key, value in data.items():
        f = index[key.strip().lower()]
        values[f.name] = _option_value(f, value, task_id)
    missing = [f for f in req.required if values.get(f.name) in (None, "")]
    if missing:
        raise InvalidArguments(
            f"Task {task_id} has a completion form; missing required field(s): "
            + ", ".join(f"{f.name} ({f.alias})" for f in missing)
            + ". Give them in `data`, e.g. "
            + json.dumps({f.name: "…" for f in missing})
            + ". Nothing was changed.",
            details={"field": "data", "missing_fields": [f.describe() for f in missing]},
        )
    return values


def _option_value(f: FormField, value: Any, task_id: int) -> Any:
    if not f.options or f.type not in ("drop", "list") or value in (None, ""):
        return value
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        text = str(item).strip()
        if text in f.options:
            out.append(text)
            continue
        by_label = [k for k, v in f.options.items() if v.strip().lower() == text.lower()]
        if not by_label:
            raise InvalidArguments(
                f"Task {task_id}: {text!r} is not an option of {f.name} ({f.alias}). Options: "
                + ", ".join(f"{k} = {v}" for k, v in f.options.items())
                + ". Nothing was changed.",
                details={"field": f"data.{f.name}", "choices": list(f.options.values())},
            )
        out.append(by_label[0])
    return out if isinstance(value, list) else out[0]


@override("complete_task")
async def complete_task(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    check(TASK_TYPE, "update", "Task")
    ids = [int(i) for i in args["ids"]]
    tasks = await read_tasks(ctx, ids)
    require_pending(tasks, "completed")
    reqs = await task_requirements(ctx, tasks)
    wanted = args.get("outcome")
    data = dict(args.get("data") or {})
    note = str(args.get("note") or "").strip()
    # Work out every task's request before sending anything: all or nothing.
    batches: dict[str, tuple[int, dict[str, Any], list[int]]] = {}
    chosen: dict[int, dict[str, Any] | None] = {}
    for task in tasks:
        tid = record_id(task)
        req = reqs[as_int(task.get("item_id")) or 0]
        outcome = _match_outcome(req, wanted, tid)
        chosen[tid] = outcome
        body_data = _form_values(req, data, tid)
        if outcome is not None:
            body_data["outcome"] = ":=" + outcome["name"]
        type_id = as_int(task.get("object_type_id")) or 0
        key = json.dumps([type_id, body_data], sort_keys=True)
        batches.setdefault(key, (type_id, body_data, []))[2].append(tid)
    for type_id, body_data, batch in batches.values():
        body: TaskComplete = {"object_type_id": type_id, "ids": batch}
        if body_data:
            body["data"] = body_data
        await ctx.api.complete_task(body=body)
    out: dict[str, Any] = {"ids": ids, "status": "completed"}
    outcomes = {o["name"] for o in chosen.values() if o}
    message = f"Completed {len(ids)} task(s): ids {short_ids(ids)}"
    if outcomes:
        message += f", outcome {', '.join(sorted(outcomes))}"
        picked = next(o for o in chosen.values() if o)
        if len(outcomes) == 1:
            out["outcome"] = {"id": picked["id"], "name": picked["name"]}
    message += "."
    if data:
        message += f" Form values saved: {', '.join(sorted(data))}."
    if note:
        note_ids, failed = await _save_notes(ctx, tasks, note, chosen)
        out["note_ids"] = note_ids
        if note_ids:
            message += (
                f" The note was saved on the related record(s) (note ids {short_ids(note_ids)})."
            )
        if failed:
            message += " The note could not be saved for: " + "; ".join(
                f"task {tid} ({reason})" for tid, reason in failed.items()
            )
            message += "."
    message += " Automations waiting on these tasks may continue."
    out["message"] = message
    return out


async def _save_notes(
    ctx: ToolContext,
    tasks: list[dict[str, Any]],
    note: str,
    chosen: dict[int, dict[str, Any] | None],
) -> tuple[list[int], dict[int, str]]:
    """Save the completion note as a Note (type 12) on each task's contact/record.

    Returns the new note ids and, per task, why its note could not be saved."""
    note_ids: list[int] = []
    failed: dict[int, str] = {}
    for task in tasks:
        tid = record_id(task)
        related = as_int(task.get("contact_id")) or 0
        if not related:
            failed[tid] = "the task has no related record"
            continue
        outcome = chosen.get(tid)
        text = f"Task completed: {task.get('subject') or tid}" + (
            f" (outcome: {outcome['name']})" if outcome else ""
        )
        try:
            result = await ctx.api.create_object(
                body={"objectID": 12},
                fields={
                    "contact_id": related,
                    "object_type_id": as_int(task.get("object_type_id")) or 0,
                    "data": f"{text}\n{note}",
                },
            )
        except ToolError as exc:
            failed[tid] = exc.message
            continue
        created = clean(result.data)
        nid = as_int(created.get("id")) if isinstance(created, dict) else None
        if nid:
            note_ids.append(nid)
    return note_ids, failed


# ------------------------------------------------------------------------------ cancel_task
@override("cancel_task")
async def cancel_task(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    check(TASK_TYPE, "update", "Task")
    ids = [int(i) for i in args["ids"]]
    tasks = await read_tasks(ctx, ids)
    require_pending(tasks, "cancelled")
    groups: dict[int, list[int]] = {}
    for task in tasks:
        groups.setdefault(as_int(task.get("object_type_id")) or 0, []).append(record_id(task))
    for type_id, batch in groups.items():
        await ctx.api.cancel_task(body={"objectID": type_id, "ids": batch})
    return {
        "ids": ids,
        "status": "cancelled",
        "message": (
            f"Cancelled {len(ids)} task(s): ids {short_ids(ids)}; no outcome was recorded. "
            'Reopen one with update_object on type 1, data {"status": 0}.'
        ),
    }


# ---------------------------------------------------------------------------- reschedule_task
@override("reschedule_task")
async def reschedule_task(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    check(TASK_TYPE, "update", "Task")
    task_id = int(args["id"])
    newtime = _epoch(args["due_date"], "due_date")
    task = await get_task(ctx, task_id)
    require_pending([task], "rescheduled")
    await ctx.api.reschedule_task(body={"id": task_id, "newtime": newtime})
    before = iso(task.get("date_due"))
    when = iso(newtime) or str(newtime)
    message = f"Task {task_id} ({task.get('subject') or 'no subject'}) is now due {when}"
    message += f" (was {before})." if before else "."
    if newtime < time.time():
        message += " That date is in the past, so the task shows as overdue."
    return {"id": task_id, "date_due": newtime, "date_due_iso": when, "message": message}


# ------------------------------------------------------------------------------ assign_task
async def _task_message(ctx: ToolContext, message_id: int) -> dict[str, Any]:
    try:
        result = await ctx.api.get_message(id=message_id)
    except NotFound:
        result = None
    message = clean(result.data) if result is not None else None
    if not isinstance(message, dict) or not message:
        raise NotFound(
            f"No message with id {message_id}. Find task messages with get_objects on type 7 "
            'and condition "type = Task".',
            details={"field": "message_id"},
        )
    if str(message.get("type") or "").strip().lower() != "task":
        raise InvalidArguments(
            f"Message {message_id} ({message.get('alias') or message.get('name')!r}) is a "
            f"{message.get('type')!r} message, not a task message. Find task messages with "
            'get_objects on type 7 and condition "type = Task".',
            details={"field": "message_id"},
        )
    return message


async def _check_owner(ctx: ToolContext, owner_id: int) -> None:
    try:
        result = await ctx.api.list_objects(object_id=2, ids=str(owner_id), range_=1)
    except ToolError:
        return  # staff users are not readable with this key: let Ontraport judge
    if not [u for u in (result.data or []) if isinstance(u, dict)]:
        raise NotFound(
            f"No user with id {owner_id}. get_account_info lists the account's users.",
            details={"field": "owner_id"},
        )


async def _last_task_id(ctx: ToolContext) -> int:
    result = await ctx.api.list_objects(
        object_id=TASK_TYPE, sort="id", sort_dir="desc", range_=1, list_fields="id"
    )
    rows = [r for r in (result.data or []) if isinstance(r, dict)]
    return record_id(rows[0]) if rows else 0


@override("assign_task")
async def assign_task(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    type_meta: TypeMeta = await resolve_type(ctx, args, default=0)
    check(type_meta.type_id, "get", type_meta.name)
    message_id = int(args["message_id"])
    ids = [int(i) for i in args["ids"]]
    due = _epoch(args["due_date"], "due_date") if args.get("due_date") is not None else None
    owner = int(args["owner_id"]) if args.get("owner_id") is not None else None
    message = await _task_message(ctx, message_id)
    await require_existing(ctx, type_meta, ids, fields=["id"])
    if owner is not None:
        await _check_owner(ctx, owner)
    before = await _last_task_id(ctx)
    spec: TaskAssignMessage = {"id": message_id}
    if due is not None:
        spec["due_date"] = due
    if owner is not None:
        spec["task_owner"] = owner
    await ctx.api.assign_task(
        body={"object_type_id": type_meta.type_id, "message": spec, "ids": ids}
    )
    out: dict[str, Any] = {
        "object_type_id": type_meta.type_id,
        "ids": ids,
        "message_id": message_id,
    }
    created: list[dict[str, Any]] = []
    try:
        created = await list_all(
            ctx,
            TASK_TYPE,
            condition=[
                clause("id", ">", before),
                "AND",
                clause("item_id", "=", message_id),
                "AND",
                clause("contact_id", "IN", ids),
            ],
            fields=["id", "owner", "date_due", "contact_id"],
        )
    except ToolError:
        created = []
    name = message.get("alias") or message.get("name") or message.get("subject")
    text = (
        f"Assigned task {name!r} (message {message_id}) to {plural(type_meta, len(ids))}: "
        f"ids {short_ids(ids)}"
    )
    if created:
        out["task_ids"] = [record_id(t) for t in created]
        owners = {str(t.get("owner")) for t in created}
        dues = {iso(t.get("date_due")) for t in created}
        text += f"; new task ids {short_ids(out['task_ids'])}"
        if len(owners) == 1:
            text += f", assigned to user {owners.pop()}"
        if len(dues) == 1 and (d := dues.pop()):
            out["date_due_iso"] = d
            text += f", due {d}"
    text += ". Repeating the call creates duplicate tasks."
    out["message"] = text
    return out
