"""Handlers of the per-account custom-object tools (``get_/create_/update_/search_<name>``).

Arguments arrive under label-derived names with friendly values (option labels, ISO dates,
booleans, lists); they leave as Ontraport field names and wire values (option ids, epoch seconds,
"1"/"0", ``*/*`` lists).  The object type id is fixed by the tool, never taken from the caller.
"""

from __future__ import annotations

from typing import Any

from ontraport_mcp.domain.records import (
    as_int,
    condition_json,
    get_record,
    list_records,
    project,
    to_epoch,
)
from ontraport_mcp.errors import InvalidArguments
from ontraport_mcp.runtime.context import ToolContext
from ontraport_mcp.runtime.manifest import CustomField, writable_fields
from ontraport_mcp.runtime.registry import custom_object
from ontraport_mcp.runtime.toolspec import ToolSpec

from .cleaner import clean


def _option(f: CustomField, value: Any) -> str:
    text = str(value).strip()
    if text in f.options:
        return text
    for option_id, label in f.options.items():
        if label.lower() == text.lower():
            return str(option_id)
    choices = ", ".join(f"{v} ({k})" for k, v in f.options.items())
    raise InvalidArguments(
        f"`{f.prop}`: {value!r} is not an option of {f.alias}. Choose one of: {choices}.",
        details={"field": f.prop, "choices": list(f.options.values())},
    )


def to_wire(f: CustomField, value: Any) -> Any:
    if f.type == "drop":
        return _option(f, value)
    if f.type == "list":
        items = value if isinstance(value, list) else [value]
        ids = [_option(f, v) for v in items]
        return "*/*" + "*/*".join(ids) + "*/*" if ids else ""
    if f.type == "check":
        return "1" if value else "0"
    if f.type in ("fulldate", "timestamp"):
        return str(to_epoch(value, argument=f.prop))
    return value


async def _fields(ctx: ToolContext, spec: ToolSpec) -> dict[str, CustomField]:
    meta = await ctx.meta()
    type_meta = meta.types.get(int(spec.object_type_id or 0))
    if type_meta is None:
        raise InvalidArguments(
            f"The custom object behind {spec.name} no longer exists in this account; call tools/list again."
        )
    return {f.prop: f for f in writable_fields(type_meta)}


async def _body(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    fields = await _fields(ctx, ctx.spec)
    body: dict[str, Any] = {}
    for prop, value in args.items():
        if prop in ("id", "confirmation_token"):
            continue
        f = fields.get(prop)
        if f is None:
            raise InvalidArguments(
                f"Unknown argument {prop!r}.", details={"choices": sorted(fields)}
            )
        body[f.field] = to_wire(f, value)
    if not body:
        raise InvalidArguments(
            "Give at least one field value.", details={"choices": sorted(fields)}
        )
    return body


def labelled(record: dict[str, Any], fields: dict[str, CustomField]) -> dict[str, Any]:
    """The record under the tool's argument names, options as labels (other keys kept)."""
    by_field = {f.field: f for f in fields.values()}
    out: dict[str, Any] = {}
    for key, value in record.items():
        f = by_field.get(key)
        if f is None:
            out[key] = value
            continue
        if f.type == "drop" and value not in (None, "", "0"):
            value = f.options.get(str(value), value)
        elif f.type == "list" and isinstance(value, str):
            value = [f.options.get(i, i) for i in value.split("*/*") if i]
        out[f.prop] = value
    return out


@custom_object("get")
async def _get(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    type_id = int(ctx.spec.object_type_id or 0)
    record = await get_record(ctx, type_id, int(args["id"]))
    fields = await _fields(ctx, ctx.spec)
    wanted = [fields[f].field if f in fields else f for f in args.get("fields") or []]
    return {
        "object_type_id": type_id,
        "id": int(args["id"]),
        "record": labelled(project([record], wanted)[0], fields),
    }


@custom_object("search")
async def _search(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    type_id = int(ctx.spec.object_type_id or 0)
    meta = await ctx.meta()
    fields = await _fields(ctx, ctx.spec)
    wanted = [fields[f].field if f in fields else f for f in args.get("fields") or []]
    sort = args.get("sort")
    result = await list_records(
        ctx,
        type_id,
        condition=condition_json(meta.types[type_id], args.get("condition")),
        search=args.get("search"),
        fields=wanted or None,
        start=int(args.get("start") or 0),
        range_=int(args.get("range") or 50),
        sort=fields[sort].field if sort in fields else sort,
        sort_dir=args.get("sort_dir"),
    )
    result["records"] = [labelled(r, fields) for r in result["records"]]
    return result


@custom_object("create")
async def _create(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    type_id = int(ctx.spec.object_type_id or 0)
    fields = await _body(ctx, args)
    result = await ctx.api.create_object(body={"objectID": type_id}, fields=fields)
    record = clean(result.data) or {}
    return {"object_type_id": type_id, "id": as_int(record.get("id")) or 0, "record": record}


@custom_object("update")
async def _update(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    type_id = int(ctx.spec.object_type_id or 0)
    fields = await _body(ctx, args)
    result = await ctx.api.update_object(
        body={"objectID": type_id, "id": int(args["id"])}, fields=fields
    )
    data = clean(result.data) or {}
    changed = data.get("attrs", data) if isinstance(data, dict) else {}
    return {"object_type_id": type_id, "id": int(args["id"]), "changed": changed}


@custom_object("note")
async def _note(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "omitted": list(ctx.spec.meta.get("omitted", [])),
        "how_to_reach": (
            "Use get_objects / create_object / update_object / count_objects with the "
            "object_type_id, and get_object_meta for the fields."
        ),
    }
