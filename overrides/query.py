"""The Query tools: reads composed from the generic API with Ontraport's field knowledge."""

from __future__ import annotations

import json
import time
from typing import Any

from ontraport_mcp.domain.conditions import describe_condition
from ontraport_mcp.domain.records import (
    and_conditions,
    as_int,
    clause,
    collection_info,
    condition_json,
    count,
    get_record,
    ids_param,
    iso,
    list_records,
    resolve_type,
    to_epoch,
)
from ontraport_mcp.errors import InvalidArguments, NotFound, ToolError
from ontraport_mcp.runtime.context import ToolContext
from ontraport_mcp.runtime.policy import allowed_methods, check, rule_for
from ontraport_mcp.runtime.registry import override
from ontraport_mcp.upstream.meta import TypeMeta

from .cleaner import clean

ACCOUNT_COUNTS = (("contacts", 0), ("invoices", 46), ("tasks", 1))
SCAN_LIMIT = 500  # records read at most to compute sums/averages the API does not give


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes")


@override("list_allowed_object_types")
async def list_allowed_object_types(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    meta = await ctx.meta()
    listed = await ctx.custom_tool_names()  # what tools/list really offers (cap, name clashes)
    types_out = []
    for type_id in sorted(meta.types):
        rule = rule_for(type_id)
        if rule is None:
            continue
        custom = type_id >= 10_000
        tools = list(rule.get("tools", []))
        if custom:
            # its own tools when the manifest cap left room for them; else the generic ones
            tools = listed.get(type_id) or ["get_objects", "create_object", "update_object"]
        types_out.append(
            {
                "object_type_id": type_id,
                "name": meta.types[type_id].name,
                "custom": custom,
                "methods": allowed_methods(type_id),
                "tools": tools,
            }
        )
    return {"types": types_out}


def _field_entry(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "alias": str(spec.get("alias") or name),
        "type": str(spec.get("type") or "text"),
        "required": _truthy(spec.get("required")),
        "unique": _truthy(spec.get("unique")),
        "editable": spec.get("editable") is None or _truthy(spec.get("editable")),
    }
    if isinstance(spec.get("options"), dict) and spec["options"]:
        entry["options"] = {str(k): str(v) for k, v in spec["options"].items()}
    if spec.get("parent_object") not in (None, ""):
        entry["parent_object"] = as_int(spec.get("parent_object"))
    return entry


def _type_entry(type_meta: TypeMeta) -> dict[str, Any]:
    fields = [_field_entry(n, dict(type_meta.fields[n])) for n in sorted(type_meta.fields)]
    return {
        "object_type_id": type_meta.type_id,
        "name": type_meta.name,
        "custom": type_meta.custom,
        "fields": fields,
    }


@override("get_object_meta")
async def get_object_meta(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    meta = await ctx.meta()
    if args.get("object_type_id") is None and not args.get("object_type"):
        return {"types": [_type_entry(meta.types[t]) for t in sorted(meta.types) if rule_for(t)]}
    return {"types": [_type_entry(await resolve_type(ctx, args))]}


@override("count_objects")
async def count_objects(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    type_meta = await resolve_type(ctx, args, default=0)
    check(type_meta.type_id, "get", type_meta.name)
    condition = condition_json(type_meta, args.get("condition"))
    info = await collection_info(
        ctx,
        type_meta.type_id,
        condition=condition,
        search=args.get("search"),
        group_id=args.get("group_id"),
    )
    total = as_int(info.get("count")) or 0
    out: dict[str, Any] = {"object_type_id": type_meta.type_id, "count": total}
    sum_fields = list(args.get("sum_fields") or [])
    avg_fields = list(args.get("average_fields") or [])
    if not sum_fields and not avg_fields:
        return out
    for name in {*sum_fields, *avg_fields}:
        spec = type_meta.fields.get(name)
        if spec is None or str(spec.get("type")) not in ("numeric", "price"):
            numeric = sorted(
                n for n, s in type_meta.fields.items() if str(s.get("type")) in ("numeric", "price")
            )
            raise InvalidArguments(
                f"{name!r} is not a numeric or money field of {type_meta.name}.",
                details={"field": "sum_fields", "choices": numeric[:30]},
            )
    raw_sums = info.get("sums")
    api_sums: dict[str, Any] = raw_sums if isinstance(raw_sums, dict) else {}
    sums: dict[str, float] = {}
    notes: list[str] = []
    need_scan = [f for f in {*sum_fields, *avg_fields} if f not in api_sums]
    scanned: dict[str, float] = {f: 0.0 for f in need_scan}
    seen = 0
    if need_scan:
        for start in range(0, min(total, SCAN_LIMIT), 50):
            page = await list_records(
                ctx,
                type_meta.type_id,
                condition=condition,
                search=args.get("search"),
                group_id=args.get("group_id"),
                fields=need_scan,
                start=start,
                range_=50,
            )
            for record in page["records"]:
                seen += 1
                for f in need_scan:
                    try:
                        scanned[f] += float(record.get(f) or 0)
                    except (TypeError, ValueError):
                        pass
            if not page["records"]:
                break
        notes.append(
            f"computed from {seen} of {total} matching records"
            + (" (scan limit reached: figures are partial)" if seen < total else "")
        )
    for f in sum_fields:
        sums[f] = round(float(api_sums[f]) if f in api_sums else scanned[f], 2)
    if api_sums and any(f in api_sums for f in sum_fields):
        notes.insert(
            0, "sums of " + ", ".join(f for f in sum_fields if f in api_sums) + " from the API"
        )
    if sum_fields:
        out["sums"] = sums
    if avg_fields:
        out["averages"] = (
            {
                f: round(
                    (float(api_sums[f]) if f in api_sums else scanned[f])
                    / (total if f in api_sums else max(seen, 1)),
                    2,
                )
                for f in avg_fields
            }
            if total
            else {f: 0.0 for f in avg_fields}
        )
    out["note"] = "; ".join(notes) or "figures from the API"
    return out


@override("build_api_condition")
async def build_api_condition(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    type_meta = await resolve_type(ctx, args, default=0)
    condition = condition_json(type_meta, args["expression"]) or []
    return {
        "object_type_id": type_meta.type_id,
        "condition": condition,
        "condition_json": json.dumps(condition, separators=(",", ":")),
        "description": describe_condition(condition),
    }


@override("get_account_info")
async def get_account_info(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    meta = await ctx.meta()
    unknown: list[str] = []
    out: dict[str, Any] = {"account_id": None, "gateways": [], "users": []}
    try:
        gateways = await ctx.api.list_objects(object_id=70, range_=50)
        out["account_id"] = gateways.account_id
        out["gateways"] = clean(gateways.data) or []
    except ToolError as exc:
        unknown.append(f"gateways: {exc.message}")
    try:
        users = await ctx.api.list_objects(object_id=2, range_=50)
        out["users"] = [
            {
                k: v
                for k, v in u.items()
                if k in ("id", "firstname", "lastname", "email", "role", "timezone")
            }
            for u in (clean(users.data) or [])
            if isinstance(u, dict)
        ]
        out["account_id"] = out["account_id"] or users.account_id
    except ToolError:
        unknown.append("users: the API key cannot read staff users (object type 2)")
    zones = {u.get("timezone") for u in out["users"] if u.get("timezone")}
    if len(zones) == 1:
        out["timezone"] = zones.pop()
    else:
        unknown.append("timezone: Ontraport has no account settings endpoint")
    unknown.append("currency: not exposed by the API (amounts are in the account currency)")
    counts: dict[str, int] = {
        "object_types": len(meta.types),
        "custom_objects": len(meta.custom_types),
    }
    for label, type_id in ACCOUNT_COUNTS:
        if type_id in meta.types:
            try:
                counts[label] = await count(ctx, type_id)
            except ToolError as exc:
                unknown.append(f"{label}: {exc.message}")
    out["object_counts"] = counts
    if out["account_id"] is None:
        unknown.append("account_id: no response carried it")
        out.pop("account_id")
    out["unknown"] = unknown
    return out


async def _list(
    ctx: ToolContext,
    type_id: int,
    args: dict[str, Any],
    *,
    conditions: list[list[Any] | None],
    sort: str = "date",
) -> dict[str, Any]:
    result = await list_records(
        ctx,
        type_id,
        condition=and_conditions(*conditions),
        fields=args.get("fields"),
        start=int(args.get("start") or 0),
        range_=int(args.get("range") or 50),
        sort=sort,
        sort_dir=args.get("sort_dir") or "desc",
        search=args.get("search"),
    )
    add_iso_dates(result["records"])
    return result


DATE_FIELDS = ("date", "dlm", "date_due", "date_assigned", "date_complete", "send_date")


def add_iso_dates(records: list[dict[str, Any]]) -> None:
    """Next to each epoch date the API returns, the same instant as ISO 8601 (UTC)."""
    for record in records:
        for key in DATE_FIELDS:
            if key in record:
                text = iso(record[key])
                if text:
                    record[f"{key}_iso"] = text


def _since_until(
    field: str, args: dict[str, Any], since: str = "since", until: str = "until"
) -> list[Any] | None:
    parts: list[Any] = []
    if args.get(since) is not None:
        parts.append(clause(field, ">=", to_epoch(args[since], argument=since)))
    if args.get(until) is not None:
        if parts:
            parts.append("AND")
        parts.append(clause(field, "<=", to_epoch(args[until], argument=until)))
    return parts or None


def _eq(field: str, value: Any) -> list[Any] | None:
    return None if value is None else [clause(field, "=", value)]


@override("get_groups")
async def get_groups(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    cond: list[Any] | None = None
    if args.get("object_type_id") is not None or args.get("object_type"):
        type_meta = await resolve_type(ctx, args)
        cond = _eq("object_type_id", type_meta.type_id)
    # by name A to Z (the tool has no sort_dir; _list would default to Z to A)
    return await _list(ctx, 3, {**args, "sort_dir": "asc"}, conditions=[cond], sort="name")


@override("get_contact_log")
async def get_contact_log(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return await _list(
        ctx, 4, args, conditions=[_eq("contact_id", args["contact_id"]), _since_until("date", args)]
    )


@override("get_automation_log")
async def get_automation_log(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return await _list(
        ctx,
        100,
        args,
        conditions=[
            _eq("contact_id", args["contact_id"]),
            _eq("campaign_id", args.get("automation_id")),
            _since_until("date", args),
        ],
    )


@override("get_recent_messages")
async def get_recent_messages(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    kinds = {
        "email": "e-mail",
        "template": "Template",
        "sms": "sms",
        "task": "Task",
        "postcard": "Postcard",
    }
    kind = args.get("message_type")
    cond = _eq("type", kinds.get(str(kind).lower(), kind)) if kind else None
    if kind == "email":  # ONTRAmail emails have the type "Template", legacy ones "e-mail"
        cond = [clause("type", "IN", ["e-mail", "Template"])]
    return await _list(ctx, 7, args, conditions=[cond, _since_until("date", args)], sort="date")


@override("get_recent_notes")
async def get_recent_notes(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    conditions = [_eq("contact_id", args.get("contact_id")), _since_until("date", args)]
    if args.get("calls_only"):
        note_meta = (await ctx.meta()).types.get(12)
        if note_meta is not None and "type" not in note_meta.fields:
            raise InvalidArguments(
                "`calls_only` cannot be applied: this account's notes carry no type field that "
                'marks call notes. Use search (e.g. "call") to find them by their text instead.',
                details={"field": "calls_only"},
            )
        conditions.append([clause("type", "=", "call")])
    result = await _list(ctx, 12, args, conditions=conditions)
    await _name_owners(ctx, result["records"])
    return result


async def _name_contacts(ctx: ToolContext, records: list[dict[str, Any]]) -> None:
    """Add ``contact_name`` (one upstream read for the whole page)."""
    ids = sorted({c for r in records if (c := as_int(r.get("contact_id")))})
    if not ids:
        return
    found = await list_records(
        ctx, 0, ids=ids, fields=["firstname", "lastname", "email"], range_=50
    )
    names = {
        as_int(c.get("id")): " ".join(
            str(c.get(k) or "") for k in ("firstname", "lastname")
        ).strip()
        or str(c.get("email") or "")
        for c in found["records"]
    }
    for record in records:
        name = names.get(as_int(record.get("contact_id")))
        if name:
            record["contact_name"] = name


async def _name_owners(ctx: ToolContext, records: list[dict[str, Any]]) -> None:
    """Add ``owner_name`` where the staff users (type 2) are readable; quietly skip otherwise."""
    owners = sorted({o for r in records if (o := as_int(r.get("owner")))})
    if not owners:
        return
    try:
        users = await ctx.api.list_objects(object_id=2, ids=ids_param(owners), range_=50)
    except ToolError:
        return
    names = {
        as_int(u.get("id")): " ".join(
            str(u.get(k) or "") for k in ("firstname", "lastname")
        ).strip()
        for u in (users.data or [])
        if isinstance(u, dict)
    }
    for record in records:
        name = names.get(as_int(record.get("owner")))
        if name:
            record["owner_name"] = name


TASK_STATUS = {"open": 0, "completed": 1, "cancelled": 2}
TASK_STATUS_NAME = {str(v): k for k, v in TASK_STATUS.items()}


@override("get_recent_tasks")
async def get_recent_tasks(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    status = args.get("status")
    conditions = [
        _eq("status", TASK_STATUS[status]) if status else None,
        _eq("owner", args.get("owner_id")),
        _eq("contact_id", args.get("contact_id")),
        _since_until("date_due", args, "due_after", "due_before"),
    ]
    # the schema's default order: soonest due first
    args = {**args, "sort_dir": args.get("sort_dir") or "asc"}
    result = await _list(ctx, 1, args, conditions=conditions, sort="date_due")
    await _name_contacts(ctx, result["records"])
    for record in result["records"]:
        record["status_name"] = TASK_STATUS_NAME.get(str(record.get("status")), "unknown")
        due = iso(record.get("date_due"))
        if due:
            record["date_due_iso"] = due
    await _name_owners(ctx, result["records"])
    return result


@override("get_scheduled_broadcasts")
async def get_scheduled_broadcasts(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    args = {**args, "sort_dir": args.get("sort_dir") or "asc"}
    if args.get("since") is None:  # documented default: sends from now on
        args["since"] = int(time.time())
    return await _list(
        ctx, 23, args, conditions=[_since_until("send_date", args)], sort="send_date"
    )


@override("get_landing_page_url")
async def get_landing_page_url(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    page_id = args.get("id")
    name = args.get("name")
    if page_id is None and not name:
        raise InvalidArguments("Give the landing page `id` or its `name`.")
    if page_id is None:
        found = await list_records(
            ctx, 20, condition=[clause("name", "LIKE", f"%{name}%")], range_=10
        )
        pages = found["records"]
        exact = [p for p in pages if str(p.get("name", "")).lower() == str(name).lower()]
        pages = exact or pages
        if not pages:
            raise NotFound(
                f"No landing page named like {name!r}. List them with get_objects on type 20."
            )
        if len(pages) > 1:
            raise InvalidArguments(
                f"{len(pages)} landing pages match {name!r}; pass `id`.",
                details={"choices": [f"{p.get('id')}: {p.get('name')}" for p in pages]},
            )
        page_id, name = as_int(pages[0].get("id")), pages[0].get("name")
        if page_id is None:  # a listed record without a usable id: nothing to ask for
            raise NotFound(f"Ontraport listed the landing page {name!r} without an id; pass `id`.")
    else:
        page_id = int(page_id)
        record = await get_record(ctx, 20, page_id)
        name = record.get("name")
    result = await ctx.api.get_landing_page_hosted_url(id=page_id)
    return {"id": page_id, "name": name or "", "url": str(result.data)}
