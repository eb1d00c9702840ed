"""Messages (``POST/PUT /message``, API.md §3.7) and landing-page hosted URLs (§3.14)."""

from __future__ import annotations

import json
from typing import Any

from .clock import now
from .errors import ApiError, bad
from .params import has, p_int, p_json, p_list, p_str, req_int
from .records import normalize
from .router import Ctx, Result, Router

TYPE_NAMES = {
    "template": "Template",
    "email": "e-mail",
    "e-mail": "e-mail",
    "sms": "sms",
    "task": "Task",
}
META_FIELDS = (
    "alias",
    "subject",
    "object_type_id",
    "owner",
    "from",
    "send_out_name",
    "reply_to_email",
    "transactional_email",
)
HIDDEN_FIELDS = (
    "message_body",
    "plaintext",
    "send_from",
    "send_to",
    "task_data",
    "due_date",
    "task_owner",
    "resource",
    "email_title",
)


def _type(ctx: Ctx, required: bool) -> str | None:
    raw = p_str(ctx.params, "type")
    if raw is None:
        if required:
            raise bad("Missing required parameter 'type' (template, email, sms or task)")
        return None
    canonical = TYPE_NAMES.get(raw.strip().lower())
    if canonical is None:
        raise bad(f"Message type must be one of template, email, sms, task; got {raw!r}")
    return canonical


def _task_form(ctx: Ctx, object_type_id: int) -> str | None:
    if not has(ctx.params, "task_form"):
        return None
    raw = (
        p_json(ctx.params, "task_form")
        if isinstance(ctx.params.get("task_form"), str)
        and ctx.params["task_form"].strip().startswith(("[", "{"))
        else ctx.params.get("task_form")
    )
    if isinstance(raw, str):
        raw = [x.strip() for x in raw.split(",") if x.strip()]
    if isinstance(raw, dict):
        raw = raw.get("fields", [])
    if not isinstance(raw, list):
        raise bad(
            'task_form must be a list of field names or {"fields": [{"field": "f1550", "required": 1}]}'
        )
    ti = ctx.store.types.get(object_type_id)
    out = []
    for item in raw:
        spec = {"field": item} if isinstance(item, str) else item
        if not isinstance(spec, dict) or not isinstance(spec.get("field"), str):
            raise bad("each task_form entry needs a 'field' name")
        name = spec["field"]
        if ti is None or name not in ti.fields:
            raise bad(f"task_form field {name!r} is not a field of object type {object_type_id}")
        required = "0" if str(spec.get("required", "1")) in ("0", "false", "False") else "1"
        out.append({"field": name, "alias": ti.fields[name].alias, "required": required})
    return json.dumps(out)


def _values(ctx: Ctx) -> dict[str, Any]:
    ti = ctx.store.types[7]
    values: dict[str, Any] = {}
    for name in META_FIELDS:
        if name in ctx.params:
            values[name] = normalize(ti, name, ctx.params[name])
    if "name" in ctx.params and "alias" not in values:
        values["alias"] = p_str(ctx.params, "name")
    for name in HIDDEN_FIELDS:
        if name in ctx.params:
            v = ctx.params[name]
            if isinstance(v, (dict, list)):
                v = json.dumps(v)
            values[name] = None if v is None else str(v)
    if "task_owner" in values and values["task_owner"] not in (None, ""):
        owner = p_int(values, "task_owner")
        if owner is None or not ctx.store.exists(2, owner):
            raise bad(f"task_owner {values['task_owner']!r} is not a user of this account")
    return values


def _add_outcomes(ctx: Ctx, mid: int) -> None:
    names = p_list(ctx.params, "outcomes")
    if not names:
        return
    existing = {
        (o.get("name") or "").lower()
        for o in ctx.store.select(66, "CAST(item_id AS INTEGER)=?", [mid])
    }
    for n in names:
        if n.lower() not in existing:
            ctx.store.insert(66, {"name": n, "item_id": mid, "date": now()})
            existing.add(n.lower())


def create_message(ctx: Ctx) -> Result:
    mtype = _type(ctx, True)
    values = _values(ctx)
    values["type"] = mtype
    if not values.get("alias"):
        values["alias"] = values.get("subject") or f"Untitled {mtype}"
    otype = p_int(ctx.params, "object_type_id", default=0) or 0
    if otype not in ctx.store.types:
        raise bad(f"Invalid object_type_id {otype}")
    values["object_type_id"] = str(otype)
    values.setdefault("owner", "1")
    if mtype == "Task":
        form = _task_form(ctx, otype)
        if form is not None:
            values["task_form"] = form
    elif has(ctx.params, "task_form") or has(ctx.params, "outcomes"):
        raise bad("task_form and outcomes only apply to task messages")
    ts = now()
    values.update({"date": ts, "dlm": ts, "last_save": ts, "spam_score": "0", "mcsent": "0"})
    mid = ctx.store.insert(7, values)
    if mtype == "Task":
        _add_outcomes(ctx, mid)
    return Result({"id": mid, "date": str(ts)})


def update_message(ctx: Ctx) -> Result:
    mid = req_int(ctx.params, "id", minimum=1)
    current = ctx.store.get(7, mid)
    if current is None:
        raise ApiError(404, f"No Message record with id {mid}")
    mtype = _type(ctx, False)
    values = _values(ctx)
    if mtype is not None:
        values["type"] = mtype
    final_type = mtype or current.get("type")
    otype = p_int({"o": values.get("object_type_id", current.get("object_type_id"))}, "o") or 0
    if final_type == "Task":
        form = _task_form(ctx, otype)
        if form is not None:
            values["task_form"] = form
    elif has(ctx.params, "task_form") or has(ctx.params, "outcomes"):
        raise bad("task_form and outcomes only apply to task messages")
    ts = now()
    values.update({"dlm": ts, "last_save": ts})
    ctx.store.update(7, mid, values)
    if final_type == "Task":
        _add_outcomes(ctx, mid)
    return Result({"id": str(mid), "date": str(ts)})


def hosted_url(ctx: Ctx) -> Result:
    lid = req_int(ctx.params, "id")
    page = ctx.store.get(20, lid)
    if page is None:
        raise ApiError(404, f"No LandingPage record with id {lid}")
    return Result(f"http://{ctx.config.hosted_domain}/{page.get('uri_id') or lid}")


def register(router: Router) -> None:
    router.add("POST", "/message", create_message)
    router.add("PUT", "/message", update_message)
    router.add("POST", "/Messages", create_message)
    router.add("PUT", "/Messages", update_message)
    router.add("GET", "/landingPage/getHostedURL", hosted_url)
