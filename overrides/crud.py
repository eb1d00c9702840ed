"""The generic CRUD tools, with the access policy and the delete-all guard."""

from __future__ import annotations

from typing import Any

from ontraport_mcp.domain.records import (
    as_int,
    check_fields,
    condition_json,
    count,
    get_record,
    ids_param,
    list_records,
    project,
    resolve_type,
)
from ontraport_mcp.errors import InvalidArguments, NotFound, Refused, ToolError
from ontraport_mcp.generated.api import ObjectSaveOrUpdate, ObjectUpdate
from ontraport_mcp.runtime.context import ToolContext
from ontraport_mcp.runtime.policy import check
from ontraport_mcp.runtime.registry import Plan, override
from ontraport_mcp.upstream.meta import TypeMeta

from .cleaner import clean


async def _data(ctx: ToolContext, type_meta: TypeMeta, args: dict[str, Any]) -> dict[str, Any]:
    data = args.get("data") or {}
    if not data:
        raise InvalidArguments(
            "`data` must hold at least one field value.", details={"field": "data"}
        )
    bad = sorted(k for k in data if k in ("objectID", "id"))
    if bad:
        raise InvalidArguments(f"`data` must not contain {', '.join(bad)}: pass them as arguments.")
    if type_meta.fields and any(k not in type_meta.fields for k in data):
        # Ontraport drops unknown keys silently; refuse them instead (after one fresh look at the
        # meta, in case the field was added since it was cached).
        ctx.invalidate_meta()
        type_meta = (await ctx.meta()).types.get(type_meta.type_id, type_meta)
        check_fields(type_meta, data, argument="data")
    return {k: _wire(v) for k, v in data.items()}


def _wire(value: Any) -> Any:
    if isinstance(value, bool):
        return "1" if value else "0"
    return value


@override("saveorupdate_object")
async def saveorupdate_object(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    type_meta = await resolve_type(ctx, args, default=0)
    check(type_meta.type_id, "create", type_meta.name)
    fields = await _data(ctx, type_meta, args)
    body: ObjectSaveOrUpdate = {"objectID": type_meta.type_id}
    if args.get("ignore_blanks"):
        body["ignore_blanks"] = True
    result = await ctx.api.save_or_update_object(body=body, fields=fields)
    data = clean(result.data) or {}
    created = not (isinstance(data, dict) and "attrs" in data)
    record = data.get("attrs", data) if isinstance(data, dict) else {}
    return {
        "object_type_id": type_meta.type_id,
        "id": as_int(record.get("id")) or 0,
        "created": created,
        "record": record,
    }


@override("create_object")
async def create_object(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    type_meta = await resolve_type(ctx, args, default=0)
    check(type_meta.type_id, "create", type_meta.name)
    data = await _data(ctx, type_meta, args)
    result = await ctx.api.create_object(body={"objectID": type_meta.type_id}, fields=data)
    record = clean(result.data) or {}
    return {
        "object_type_id": type_meta.type_id,
        "id": as_int(record.get("id")) or 0,
        "record": record,
    }


@override("get_objects")
async def get_objects(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    type_meta = await resolve_type(ctx, args, default=0)
    check(type_meta.type_id, "get", type_meta.name)
    fields = args.get("fields")
    if args.get("id") is not None:
        record = await get_record(ctx, type_meta.type_id, int(args["id"]))
        out: dict[str, Any] = {
            "object_type_id": type_meta.type_id,
            "records": project([record], fields),
            "count": 1,
            "start": 0,
            "has_more": False,
            "total": 1,
        }
    else:
        out = await list_records(
            ctx,
            type_meta.type_id,
            condition=condition_json(type_meta, args.get("condition")),
            ids=args.get("ids"),
            search=args.get("search"),
            search_notes=bool(args.get("search_notes")),
            group_id=args.get("group_id"),
            fields=fields,
            start=int(args.get("start") or 0),
            range_=int(args.get("range") or 50),
            sort=args.get("sort"),
            sort_dir=args.get("sort_dir"),
            include_total=bool(args.get("include_total")),
        )
    if fields and out["records"] and type_meta.fields:
        # a projection naming a field the type lacks would silently return ids only
        seen = {k for r in out["records"] for k in r}
        check_fields(type_meta, fields, argument="fields", also=seen)
    return out


@override("update_object")
async def update_object(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    type_meta = await resolve_type(ctx, args, default=0)
    check(type_meta.type_id, "update", type_meta.name)
    selectors = [k for k in ("id", "unique_id", "email") if args.get(k) not in (None, "")]
    if len(selectors) != 1:
        raise InvalidArguments(
            "Give exactly one of `id`, `unique_id` or `email` to pick the record."
        )
    fields = await _data(ctx, type_meta, args)
    body: ObjectUpdate = {"objectID": type_meta.type_id}
    if "id" in selectors:
        body["id"] = int(args["id"])
    elif "unique_id" in selectors:
        body["unique_id"] = args["unique_id"]
    else:
        found = await ctx.api.get_object_by_email(
            object_id=type_meta.type_id, email=args["email"], all_=1
        )
        ids = (found.data or {}).get("ids") if isinstance(found.data, dict) else None
        ids = ids or (
            [found.data.get("id")] if isinstance(found.data, dict) and found.data.get("id") else []
        )
        if len(ids) != 1:
            raise Refused(
                f"{len(ids)} records have the email {args['email']!r}; pass `id` to pick one.",
                details={"ids": [as_int(i) for i in ids]},
            )
        body["id"] = int(ids[0])
    result = await ctx.api.update_object(body=body, fields=fields)
    data = clean(result.data) or {}
    changed = data.get("attrs", data) if isinstance(data, dict) else {}
    record_id = as_int(changed.get("id")) or as_int(body.get("id")) or 0
    return {"object_type_id": type_meta.type_id, "id": record_id, "changed": changed}


async def _record_label(ctx: ToolContext, type_id: int, record_id: int) -> str:
    try:
        record = await get_record(ctx, type_id, record_id)
    except NotFound:
        raise
    name = " ".join(str(record.get(k) or "") for k in ("firstname", "lastname")).strip()
    name = name or str(record.get("name") or record.get("email") or record.get("tag_name") or "")
    return f"#{record_id}" + (f" ({name})" if name else "")


async def plan_delete_object(ctx: ToolContext, args: dict[str, Any]) -> Plan:
    meta = await ctx.meta()
    type_meta = meta.require(args["object_type_id"], None)
    check(type_meta.type_id, "delete", type_meta.name)
    label = await _record_label(ctx, type_meta.type_id, int(args["id"]))
    return Plan(
        summary=f"Permanently delete {type_meta.name} {label}. This cannot be undone.",
        target=f"{type_meta.type_id}:{args['id']}",
    )


@override("delete_object", plan=plan_delete_object)
async def delete_object(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    meta = await ctx.meta()
    type_meta = meta.require(args["object_type_id"], None)
    check(type_meta.type_id, "delete", type_meta.name)
    await ctx.api.delete_object(object_id=type_meta.type_id, id=int(args["id"]))
    return {"object_type_id": type_meta.type_id, "id": int(args["id"]), "deleted": True}


async def _delete_selection(
    ctx: ToolContext, args: dict[str, Any]
) -> tuple[Any, list[Any] | None, int, int]:
    """Resolve and vet a bulk delete: (type meta, condition, matching count, collection size)."""
    from ontraport_mcp.domain.conditions import is_always_true

    type_meta = await resolve_type(ctx, args, default=0)
    check(type_meta.type_id, "delete", type_meta.name)
    ids = args.get("ids") or []
    condition = condition_json(type_meta, args.get("condition"))
    if not ids and not condition:
        raise Refused(
            "delete_objects needs `ids` or a `condition`: a request without one would delete every "
            f"{type_meta.name} record, which this server never does.",
        )
    if condition is not None and is_always_true(condition):
        raise Refused(
            "That condition matches every record; deleting a whole collection is refused."
        )
    total = await count(ctx, type_meta.type_id)
    matching = await count(ctx, type_meta.type_id, condition=condition, ids=ids or None)
    if matching >= total and total > 0:
        raise Refused(
            f"The selection matches all {total} {type_meta.name} records; deleting a whole "
            "collection is refused. Narrow the condition or pass ids.",
        )
    if matching == 0:
        raise NotFound(
            f"No {type_meta.name} record matches {_selection_text(args, condition)}; "
            "nothing to delete. Check the ids or the condition with get_objects."
        )
    return type_meta, condition, matching, total


def _selection_text(args: dict[str, Any], condition: list[Any] | None) -> str:
    from ontraport_mcp.domain.conditions import describe_condition

    parts = [f"ids {ids_param(args['ids'])}"] if args.get("ids") else []
    if condition:
        parts.append(describe_condition(condition))
    return " and ".join(parts)


async def plan_delete_objects(ctx: ToolContext, args: dict[str, Any]) -> Plan:
    type_meta, condition, matching, _ = await _delete_selection(ctx, args)
    what = _selection_text(args, condition)
    return Plan(
        summary=f"Permanently delete {matching} {type_meta.name} record(s) matching {what}.",
        target=f"{type_meta.type_id}:{what}",
        amount=str(matching),
    )


DELETE_BATCH = 50  # ids per DELETE /objects: the API pages deletes like reads (range <= 50)


@override("delete_objects", plan=plan_delete_objects)
async def delete_objects(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    type_meta, condition, matching, _ = await _delete_selection(ctx, args)
    limit = ctx.settings.bulk_delete_limit
    if matching > limit and ctx.settings.confirm == "never":
        raise Refused(
            f"{matching} records exceed the bulk delete limit of {limit}; with confirmations "
            "switched off the server refuses bulk deletes that large.",
        )
    # Pin the exact records first: what is deleted is what was counted and confirmed — only
    # existing records, matching the ids and the condition together.
    import json

    condition_text = json.dumps(condition, separators=(",", ":")) if condition else None
    selected = ids_param(args["ids"]) if args.get("ids") else None
    ids: list[int] = []
    for start in range(0, matching, 50):
        found = await ctx.api.list_objects(
            object_id=type_meta.type_id,
            condition=condition_text,
            ids=selected,
            list_fields="id",
            range_=50,
            start=start,
        )
        ids += [
            i
            for r in (found.data or [])
            if isinstance(r, dict) and (i := as_int(r.get("id"))) is not None
        ]
    ids = [i for i in dict.fromkeys(ids) if i]
    if not ids:
        return {"object_type_id": type_meta.type_id, "deleted_count": 0, "ids": []}
    done: list[int] = []
    for start in range(0, len(ids), DELETE_BATCH):
        batch = ids[start : start + DELETE_BATCH]
        try:
            await ctx.api.delete_objects(object_id=type_meta.type_id, ids=ids_param(batch))
        except ToolError as exc:
            if done:
                exc.message += f" ({len(done)} of the {len(ids)} records were already deleted.)"
                exc.details = {**exc.details, "deleted_ids": done}
            raise
        done += batch
    return {"object_type_id": type_meta.type_id, "deleted_count": len(done), "ids": done}
