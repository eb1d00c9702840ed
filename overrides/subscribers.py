"""get_subscribers: who is on a tag (GET /objects/tag), a sequence (sequence subscribers, type 8)
or an automation (the records' automation membership)."""

from __future__ import annotations

import json
from typing import Any

from ontraport_mcp.domain.records import (
    MAX_RANGE,
    and_conditions,
    as_int,
    clause,
    count,
    get_record,
    ids_param,
    list_records,
    project,
)
from ontraport_mcp.errors import InvalidArguments, NotFound
from ontraport_mcp.runtime.context import ToolContext
from ontraport_mcp.runtime.policy import check
from ontraport_mcp.runtime.registry import override
from ontraport_mcp.upstream.meta import TypeMeta

from .cleaner import clean

SOURCES = ("tag_id", "tag_name", "sequence_id", "automation_id")


async def _member_type(
    ctx: ToolContext, args: dict[str, Any], own_type: int | None, what: str
) -> TypeMeta:
    """The member type: the one asked for, else the tag's/sequence's/automation's own type."""
    meta = await ctx.meta()
    if args.get("object_type_id") is not None or args.get("object_type"):
        type_meta = meta.require(args.get("object_type_id"), args.get("object_type"))
        if own_type is not None and own_type != type_meta.type_id:
            raise InvalidArguments(
                f"{what} is for object type {own_type}, not {type_meta.name} "
                f"({type_meta.type_id}); it has no {type_meta.name} members. Leave out "
                "object_type_id to list its own records.",
                details={"field": "object_type_id"},
            )
    else:
        type_meta = meta.require(own_type or 0, None)
    check(type_meta.type_id, "get", type_meta.name)
    return type_meta


def _page_out(
    type_meta: TypeMeta,
    records: list[dict[str, Any]],
    start: int,
    range_: int,
    total: int | None,
    source: str,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "object_type_id": type_meta.type_id,
        "records": records,
        "count": len(records),
        "start": start,
        "has_more": (start + len(records) < total) if total is not None else len(records) == range_,
    }
    if total is not None:
        out["total"] = total
    note = f"Members of {source}."
    if out["has_more"]:
        note += f" More records follow: call again with start={start + len(records)}."
    out["note"] = note
    return out


def _list_fields(args: dict[str, Any]) -> str | None:
    """``listFields`` for the caller's ``fields`` (the id always comes back), or None for all."""
    fields = args.get("fields")
    return ",".join(dict.fromkeys(["id", *fields])) if fields else None


async def _tag(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    if args.get("tag_id") is not None:
        found = await ctx.api.list_objects(object_id=14, ids=str(args["tag_id"]))
        tags = [t for t in (clean(found.data) or []) if isinstance(t, dict)]
        if not tags:
            raise NotFound(
                f"No tag with id {args['tag_id']}. List tags with get_objects on type 14.",
                details={"field": "tag_id"},
            )
        return tags[0]
    name = str(args["tag_name"]).strip()
    condition: list[Any] = [clause("tag_name", "=", name)]
    scope = ""
    if args.get("object_type_id") is not None or args.get("object_type"):
        meta = await ctx.meta()
        wanted = meta.require(args.get("object_type_id"), args.get("object_type"))
        condition += ["AND", clause("object_type_id", "=", wanted.type_id)]
        scope = f" for {wanted.name} records (object type {wanted.type_id})"
    found = await ctx.api.list_objects(object_id=14, condition=_json(condition), range_=10)
    tags = [t for t in (clean(found.data) or []) if isinstance(t, dict)]
    if not tags:
        raise NotFound(
            f"No tag named {name!r}{scope}. List tags with get_objects on type 14 "
            "(search by name).",
            details={"field": "tag_name"},
        )
    if len(tags) > 1:
        raise InvalidArguments(
            f"{len(tags)} tags are named {name!r} (for different object types); pass tag_id or "
            "object_type_id.",
            details={
                "field": "tag_name",
                "choices": [
                    f"{t.get('tag_id', t.get('id'))}: object type {t.get('object_type_id')}"
                    for t in tags
                ],
            },
        )
    return tags[0]


def _json(condition: list[Any]) -> str:
    return json.dumps(condition, separators=(",", ":"))


async def _by_tag(
    ctx: ToolContext, args: dict[str, Any], start: int, range_: int
) -> dict[str, Any]:
    tag = await _tag(ctx, args)
    tag_id = as_int(tag.get("tag_id", tag.get("id"))) or 0
    source = f"tag {tag_id} ({tag.get('tag_name')!r})"
    type_meta = await _member_type(ctx, args, as_int(tag.get("object_type_id")) or 0, source)
    result = await ctx.api.list_objects_by_tag(
        object_id=type_meta.type_id,
        tag_id=tag_id,
        list_fields=_list_fields(args),
        start=start,
        range_=range_,
    )
    records = [r for r in (clean(result.data) or []) if isinstance(r, dict)]
    total: int | None = None
    if start == 0 and len(records) < range_:
        total = len(records)
    else:
        counted = await ctx.api.list_objects_by_tag(
            object_id=type_meta.type_id, tag_id=tag_id, count=True
        )
        data = counted.data
        if isinstance(data, dict) and as_int(data.get("count")) is not None:
            total = as_int(data.get("count"))
    return _page_out(type_meta, records, start, range_, total, source)


async def _by_sequence(
    ctx: ToolContext, args: dict[str, Any], start: int, range_: int
) -> dict[str, Any]:
    seq_id = int(args["sequence_id"])
    try:
        sequence = await get_record(ctx, 5, seq_id)
    except NotFound:
        raise NotFound(
            f"No sequence with id {seq_id}. List sequences with get_objects on type 5.",
            details={"field": "sequence_id"},
        ) from None
    source = f"sequence {seq_id} ({sequence.get('name')!r})"
    own = as_int(sequence.get("object_type_id"))
    type_meta = await _member_type(ctx, args, own, source)
    condition = and_conditions(
        [clause("drip_id", "=", seq_id)], [clause("object_type_id", "=", type_meta.type_id)]
    )
    rows = await list_records(
        ctx, 8, condition=condition, start=start, range_=range_, sort="id", sort_dir="asc"
    )
    member_ids = [i for i in (as_int(r.get("contact_id")) for r in rows["records"]) if i]
    records: list[dict[str, Any]] = []
    if member_ids:
        found = await ctx.api.list_objects(
            object_id=type_meta.type_id,
            ids=ids_param(member_ids),
            list_fields=_list_fields(args),
            range_=MAX_RANGE,
        )
        by_id = {as_int(r.get("id")): r for r in (clean(found.data) or []) if isinstance(r, dict)}
        steps = {as_int(r.get("contact_id")): r for r in rows["records"]}
        for member in member_ids:
            record = by_id.get(member)
            if record is None:
                continue
            if not args.get("fields"):
                row = steps[member]
                record = {
                    **record,
                    "sequence_step": as_int(row.get("step_num")),
                    "sequence_paused": str(row.get("pause") or "0") == "1",
                }
            records.append(record)
    total = await count(ctx, 8, condition=condition)
    return _page_out(type_meta, records, start, range_, total, source)


async def _by_automation(
    ctx: ToolContext, args: dict[str, Any], start: int, range_: int
) -> dict[str, Any]:
    automation_id = int(args["automation_id"])
    try:
        automation = await get_record(ctx, 140, automation_id)
    except NotFound:
        raise NotFound(
            f"No automation with id {automation_id}. List automations with get_objects on "
            "type 140.",
            details={"field": "automation_id"},
        ) from None
    source = f"automation {automation_id} ({automation.get('name')!r})"
    type_meta = await _member_type(ctx, args, as_int(automation.get("object_type_id")), source)
    if "updateCampaign" not in type_meta.fields:
        raise InvalidArguments(
            f"{type_meta.name} records cannot be on automations.",
            details={"field": "object_type_id"},
        )
    result = await list_records(
        ctx,
        type_meta.type_id,
        condition=[clause("updateCampaign", "CONTAINS", automation_id)],
        fields=args.get("fields"),
        start=start,
        range_=range_,
        include_total=True,
    )
    return _page_out(type_meta, result["records"], start, range_, result.get("total"), source)


@override("get_subscribers")
async def get_subscribers(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    given = [k for k in SOURCES if args.get(k) not in (None, "")]
    if len(given) != 1:
        raise InvalidArguments(
            "Give exactly one of tag_id, tag_name, sequence_id or automation_id"
            + (f" (got {', '.join(given)})." if given else "."),
            details={"field": "tag_id"},
        )
    start = int(args.get("start") or 0)
    range_ = max(1, min(MAX_RANGE, int(args.get("range") or MAX_RANGE)))
    if given[0] in ("tag_id", "tag_name"):
        out = await _by_tag(ctx, args, start, range_)
    elif given[0] == "sequence_id":
        out = await _by_sequence(ctx, args, start, range_)
    else:
        out = await _by_automation(ctx, args, start, range_)
    if args.get("fields"):
        out["records"] = project(out["records"], list(args["fields"]))
    return out
