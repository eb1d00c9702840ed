"""Generic objects API (API.md §3.1) and the named aliases (§3.2)."""

from __future__ import annotations

from typing import Any

from . import catalog, records
from .clock import money
from .errors import ApiError, bad
from .params import has, p_bool, p_int, p_str, req_int
from .query import build_selection, list_columns, order_clause, paging
from .router import Ctx, RawJSON, Result, Router
from .store import TypeInfo, q


def obj_type(ctx: Ctx, name: str = "objectID", *, default: int | None = None) -> TypeInfo:
    if ctx.type_id is not None:
        return ctx.store.types[ctx.type_id]
    tid = p_int(ctx.params, name, required=default is None, default=default)
    assert tid is not None
    ti = ctx.store.types.get(tid)
    if ti is None:
        raise bad(f"Invalid {name} {tid}: no such object type")
    return ti


def record_id(ctx: Ctx, name: str = "id") -> int:
    return req_int(ctx.params, name)


def load(ctx: Ctx, ti: TypeInfo, rid: int) -> dict[str, Any]:
    rec = ctx.store.get(ti.id, rid)
    if rec is None:
        raise ApiError(404, f"No {ti.name} record with id {rid}")
    return rec


# ---------------------------------------------------------------------------- reads
def get_one(ctx: Ctx) -> Result:
    ti = obj_type(ctx)
    return Result(load(ctx, ti, record_id(ctx)))


def list_records(
    ctx: Ctx,
    ti: TypeInfo | None = None,
    extra_where: str = "",
    extra_params: list[Any] | None = None,
    *,
    count_as_data: bool = False,
) -> Result:
    ti = ti or obj_type(ctx)
    sel = build_selection(ctx.store, ti, ctx.params)
    where = sel.where
    params = list(sel.params)
    if ti.id == 138 and has(ctx.params, "object_type_id"):
        where = " AND ".join(p for p in (where, "CAST(object_type_id AS INTEGER) = ?") if p)
        params.append(p_int(ctx.params, "object_type_id"))
    if extra_where:
        where = " AND ".join(p for p in (where, extra_where) if p)
        params.extend(extra_params or [])
    order = order_clause(ti, ctx.params)
    start, rng = paging(ctx.params)
    cols = list_columns(ti, ctx.params)
    want_count = p_bool(ctx.params, "count")
    if want_count and count_as_data:  # GET /objects/tag: NET reads data.count instead of records
        return Result({"count": str(ctx.store.count(ti.id, where, params))}, misc=True)
    if cols is None:
        result = Result(
            RawJSON(ctx.store.select_json(ti.id, where, params, order, rng, start)), misc=True
        )
    else:
        result = Result(ctx.store.select(ti.id, where, params, order, rng, start, cols), misc=True)
    if want_count:  # elsewhere: the total next to the page of records
        result.extra["count"] = str(ctx.store.count(ti.id, where, params))
    return result


def get_info(ctx: Ctx) -> Result:
    ti = obj_type(ctx)
    sel = build_selection(ctx.store, ti, ctx.params)
    count = ctx.store.count(ti.id, sel.where, sel.params)
    fields = catalog.DEFAULT_LIST_FIELDS.get(ti.id) or [f for f in list(ti.fields)[:6]]
    data: dict[str, Any] = {
        "listFields": list(fields),
        "listFieldSettings": [],
        "cardViewSettings": [],
        "viewMode": [],
        "count": str(count),
    }
    if ti.id == 46:
        total = ctx.store.scalar(
            "SELECT COALESCE(SUM(CAST(total AS REAL)), 0) FROM o_46"
            + (f" WHERE {sel.where}" if sel.where else ""),
            sel.params,
        )
        data["sums"] = {"total": float(money(float(total or 0)))}
    return Result(data)


def get_meta(ctx: Ctx) -> Result:
    fmt = (p_str(ctx.params, "format") or "byId").strip()
    if fmt.lower() not in ("byid", "byname"):
        raise bad("format must be 'byId' or 'byName'")
    if ctx.type_id is not None:
        types = [ctx.store.types[ctx.type_id]]
    elif has(ctx.params, "objectID"):
        ti = obj_type(ctx)
        if not ti.in_meta:
            raise bad(f"Invalid objectID {ti.id}: no metadata")
        types = [ti]
    else:
        types = [t for t in ctx.store.types.values() if t.in_meta]
    if fmt.lower() == "byname":
        return Result({t.name: t.meta() for t in types})
    return Result({str(t.id): t.meta() for t in types})


def email_field(ti: TypeInfo) -> str:
    if ti.id == 0:
        return "email"
    for name, f in ti.fields.items():
        if f.type == "email" and name != "aff_paypal":
            return name
    raise bad(f"Object type {ti.id} ({ti.name}) has no email field")


def get_by_email(ctx: Ctx) -> Result:
    ti = obj_type(ctx)
    column = email_field(ti)
    email = p_str(ctx.params, "email")
    if email is None:
        raise bad("Missing required parameter 'email'")
    email = email.strip()
    if not records.valid_email(email):
        raise ApiError(404, f"Invalid email address {email[:80]!r}")
    ids = ctx.store.select_ids(ti.id, f"{q(column)} = ? COLLATE NOCASE", [email])
    if not ids:
        raise ApiError(404, f"No {ti.name} record with email {email!r}")
    if p_bool(ctx.params, "all"):
        return Result({"ids": [str(i) for i in ids]})
    return Result({"id": str(ids[0])})


def get_by_unique_id(ctx: Ctx) -> Result:
    ti = obj_type(ctx)
    uid = p_str(ctx.params, "unique_id")
    if uid is None or "unique_id" not in ti.fields:
        raise bad(
            "Missing required parameter 'unique_id'"
            if uid is None
            else f"{ti.name} has no unique_id"
        )
    ids = ctx.store.select_ids(ti.id, "unique_id = ?", [uid])
    if not ids:
        raise ApiError(404, f"No {ti.name} record with unique_id {uid!r}")
    return Result(load(ctx, ti, ids[0]))


# ---------------------------------------------------------------------------- writes
def create(ctx: Ctx) -> Result:
    ti = obj_type(ctx)
    _, data = records.create(ctx.store, ti, _prepared(ti, ctx.params))
    return Result(data)


def update(ctx: Ctx) -> Result:
    ti = obj_type(ctx)
    rid = _select_for_update(ctx, ti)
    attrs = records.update(ctx.store, ti, rid, _prepared(ti, ctx.params))
    return Result({"attrs": attrs})


def _select_for_update(ctx: Ctx, ti: TypeInfo) -> int:
    if has(ctx.params, "id"):
        return record_id(ctx)
    uid = p_str(ctx.params, "unique_id")
    if uid is not None and "unique_id" in ti.fields:
        ids = ctx.store.select_ids(ti.id, "unique_id = ?", [uid])
        if not ids:
            raise ApiError(404, f"No {ti.name} record with unique_id {uid!r}")
        return ids[0]
    raise bad("Missing required parameter 'id' (or 'unique_id')")


def _prepared(ti: TypeInfo, params: dict[str, Any]) -> dict[str, Any]:
    """Type-specific input tweaks before the generic write."""
    if ti.id == 65 and isinstance(params.get("data"), (dict, list)):
        import json

        params = {**params, "data": json.dumps(params["data"])}
    if ti.id == 65 and isinstance(params.get("data"), str) and params["data"].strip():
        from . import commerce

        commerce.validate_offer_json(params["data"])
    return params


def delete_one(ctx: Ctx) -> Result:
    ti = obj_type(ctx)
    rid = record_id(ctx)
    if "delete" not in catalog.access(ti.id):
        raise bad(f"Records of object type {ti.id} ({ti.name}) cannot be deleted")
    load(ctx, ti, rid)
    records.delete(ctx.store, ti, [rid])
    return Result()


def delete_many(ctx: Ctx) -> Result:
    ti = obj_type(ctx)
    if "delete" not in catalog.access(ti.id):
        raise bad(f"Records of object type {ti.id} ({ti.name}) cannot be deleted")
    sel = build_selection(ctx.store, ti, ctx.params)
    ids = ctx.store.select_ids(ti.id, sel.where, sel.params)
    records.delete(ctx.store, ti, ids)
    return Result("Deleted")


def unique_match_field(ti: TypeInfo) -> str | None:
    if ti.id == 0:
        return "email"
    for name, f in ti.fields.items():
        if str(f.unique) == "1" and name != "unique_id":
            return name
    return None


def save_or_update(ctx: Ctx) -> Result:
    ti = obj_type(ctx)
    acc = catalog.access(ti.id)
    if not {"create", "update"} <= acc:
        raise bad(f"saveorupdate is not available for object type {ti.id} ({ti.name})")
    params = _prepared(ti, ctx.params)
    ignore_blanks = p_bool(params, "ignore_blanks")
    match: int | None = None
    uid = p_str(params, "unique_id")
    if uid is not None and "unique_id" in ti.fields:
        ids = ctx.store.select_ids(ti.id, "unique_id = ?", [uid])
        match = ids[0] if ids else None
    if match is None:
        field = unique_match_field(ti)
        if field is not None and has(params, field):
            value = records.normalize(ti, field, params[field])
            if value:
                ids = ctx.store.select_ids(ti.id, f"{q(field)} = ? COLLATE NOCASE", [value])
                match = ids[0] if ids else None
    if match is not None:
        attrs = records.update(ctx.store, ti, match, params, ignore_blanks=ignore_blanks)
        return Result({"attrs": attrs})
    if ignore_blanks:
        params = {k: v for k, v in params.items() if v != ""}
    _, data = records.create(ctx.store, ti, params)
    return Result(data)


def register(router: Router) -> None:
    router.add("GET", "/object", get_one)
    router.add("DELETE", "/object", delete_one)
    router.add("GET", "/objects", list_records)
    router.add("POST", "/objects", create)
    router.add("PUT", "/objects", update)
    router.add("DELETE", "/objects", delete_many)
    router.add("POST", "/objects/saveorupdate", save_or_update)
    router.add("GET", "/objects/meta", get_meta)
    router.add("GET", "/objects/getInfo", get_info)
    router.add("GET", "/object/getByEmail", get_by_email)
    router.add("GET", "/objects/getByEmail", get_by_email)
    router.add("GET", "/object/getByUniqueId", get_by_unique_id)
    plural_types: list[tuple[str, int]] = [(p, t) for t, (_, p) in catalog.ALIASES.items()]
    plural_types += list(catalog.EXTRA_PLURALS.items())
    for tid, (single, _plural) in catalog.ALIASES.items():
        router.add("GET", f"/{single}", get_one, tid)
        if "delete" in catalog.access(tid):
            router.add("DELETE", f"/{single}", delete_one, tid)
    for plural, tid in plural_types:
        acc = catalog.access(tid)
        router.add("GET", f"/{plural}", list_records, tid)
        router.add("GET", f"/{plural}/meta", get_meta, tid)
        router.add("GET", f"/{plural}/getInfo", get_info, tid)
        if "create" in acc:
            router.add("POST", f"/{plural}", create, tid)
        if "update" in acc:
            router.add("PUT", f"/{plural}", update, tid)
        if "delete" in acc:
            router.add("DELETE", f"/{plural}", delete_many, tid)
        if {"create", "update"} <= acc:
            router.add("POST", f"/{plural}/saveorupdate", save_or_update, tid)
