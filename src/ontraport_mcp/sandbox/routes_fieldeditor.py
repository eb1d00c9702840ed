"""Field editor (API.md §3.1.17): sections and custom fields; changes show up in /objects/meta."""

from __future__ import annotations

import json
import re
from typing import Any

from . import catalog
from .errors import ApiError, bad
from .params import p_json, p_str
from .router import Ctx, Result, Router
from .routes_objects import obj_type
from .store import FieldInfo, TypeInfo

MAX_FIELDS_PER_REQUEST = 50


def _flag(v: Any) -> int:
    return 1 if str(v) == "1" else 0


def _field_out(f: FieldInfo) -> dict[str, Any]:
    return {
        "id": f.field_id,
        "alias": f.alias,
        "field": f.name,
        "type": f.type,
        "required": _flag(f.required),
        "unique": _flag(f.unique),
        "editable": _flag(f.editable),
        "deletable": _flag(f.deletable),
        "options": json.dumps(f.options) if f.options is not None else "",
    }


def _section_out(ti: TypeInfo, sid: int, name: str, description: str | None) -> dict[str, Any]:
    cols: list[list[dict[str, Any]]] = [[], [], []]
    for f in ti.fields.values():
        if f.section_id == sid:
            cols[min(max(f.col, 0), 2)].append(_field_out(f))
    while len(cols) > 1 and not cols[-1]:
        cols.pop()
    return {"id": sid, "name": name, "description": description, "fields": cols}


def _find_section(ctx: Ctx, ti: TypeInfo, name: str) -> tuple[int, str, str | None] | None:
    for sid, sname, desc in ctx.store.sections(ti.id):
        if sname.lower() == name.strip().lower():
            return sid, sname, desc
    return None


def get_fieldeditor(ctx: Ctx) -> Result:
    ti = obj_type(ctx)
    field = p_str(ctx.params, "field")
    section = p_str(ctx.params, "section")
    if field is not None:
        f = ti.fields.get(field)
        if f is None:
            raise ApiError(404, f"No field {field!r} on object type {ti.id}")
        return Result(_field_out(f))
    if section is not None:
        hit = _find_section(ctx, ti, section)
        if hit is None:
            raise ApiError(404, f"No section {section!r} on object type {ti.id}")
        return Result(_section_out(ti, *hit))
    return Result(
        {
            str(sid): _section_out(ti, sid, name, desc)
            for sid, name, desc in ctx.store.sections(ti.id)
        }
    )


def _columns(raw: Any) -> list[list[dict[str, Any]]]:
    if raw is None:
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            raise bad("'fields' must be JSON: [[{field}, ...], [...], [...]]") from None
    if isinstance(raw, dict):
        raw = [list(raw.values())] if all(isinstance(v, dict) for v in raw.values()) else [[raw]]
    if not isinstance(raw, list):
        raise bad("'fields' must be a list of up to 3 columns of field objects")
    if raw and all(isinstance(x, dict) for x in raw):
        raw = [raw]
    if len(raw) > 3:
        raise bad("'fields' may hold at most 3 columns")
    cols: list[list[dict[str, Any]]] = []
    total = 0
    for col in raw:
        if not isinstance(col, list) or not all(isinstance(x, dict) for x in col):
            raise bad("each column in 'fields' must be a list of field objects")
        total += len(col)
        cols.append(col)
    if total > MAX_FIELDS_PER_REQUEST:
        raise bad(f"at most {MAX_FIELDS_PER_REQUEST} fields per request")
    return cols


def _flag_in(spec: dict[str, Any], key: str) -> str:
    v = spec.get(key, 0)
    if v in (1, "1", True, "true"):
        return "1"
    if v in (0, "0", False, "false", None, ""):
        return "0"
    raise bad(f"'{key}' must be 0 or 1")


def _labels(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(
        isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value
    ):
        raise bad(f"options.{what} must be a list of labels")
    return [str(v) for v in value]


def _apply_options(ctx: Ctx, current: dict[str, str] | None, spec: Any) -> dict[str, str]:
    opts = dict(current or {})
    if spec is None or spec == "":
        return opts
    if isinstance(spec, list):
        spec = {"add": spec}
    if not isinstance(spec, dict):
        raise bad('options must be {"add": [...], "remove": [...], "replace": [...]}')
    if "replace" in spec:
        opts = {}
        for label in _labels(spec.get("replace"), "replace"):
            opts[str(ctx.store.next_counter("next_option_id"))] = label
    for label in _labels(spec.get("remove"), "remove"):
        for oid in [k for k, v in opts.items() if v == label or k == label]:
            del opts[oid]
    for label in _labels(spec.get("add"), "add"):
        if label not in opts.values():
            opts[str(ctx.store.next_counter("next_option_id"))] = label
    return opts


def _new_field(ctx: Ctx, ti: TypeInfo, spec: dict[str, Any], sid: int, col: int) -> FieldInfo:
    alias = spec.get("alias")
    if not isinstance(alias, str) or not alias.strip():
        raise bad("every new field needs an 'alias'")
    ftype = spec.get("type")
    if not isinstance(ftype, str) or ftype not in catalog.CREATABLE_FIELD_TYPES:
        raise bad(f"field type must be one of {sorted(catalog.CREATABLE_FIELD_TYPES)}")
    options = _apply_options(ctx, None, spec.get("options")) if ftype in ("drop", "list") else None
    name = f"f{ctx.store.next_counter('next_field_no'):04d}"
    pos = max((f.pos for f in ti.fields.values()), default=0) + 1
    return FieldInfo(
        name=name,
        alias=alias.strip(),
        type=ftype,
        required=_flag_in(spec, "required"),
        unique=_flag_in(spec, "unique"),
        editable="1",
        deletable="1",
        options=options,
        section_id=sid,
        col=col,
        pos=pos,
        field_id=ctx.store.next_counter("next_field_id"),
    )


def post_fieldeditor(ctx: Ctx) -> Result:
    ti = obj_type(ctx)
    name = p_str(ctx.params, "name")
    if name is None:
        raise bad("Missing required parameter 'name' (the section name)")
    cols = _columns(p_json(ctx.params, "fields"))
    description = p_str(ctx.params, "description")
    hit = _find_section(ctx, ti, name)
    sid = hit[0] if hit else ctx.store.add_section(ti.id, name.strip(), description)
    success: dict[str, Any] = {}
    for ci, col in enumerate(cols):
        for spec in col:
            alias = str(spec.get("alias") or "").strip()
            if any(
                f.alias.lower() == alias.lower() for f in ctx.store.types[ti.id].fields.values()
            ):
                raise bad(f"A field with alias {alias!r} already exists on object type {ti.id}")
            info = _new_field(ctx, ctx.store.types[ti.id], spec, sid, ci)
            ctx.store.add_field(ti.id, info)
            success[info.name] = info.alias
    return Result({"success": success, "error": []})


def put_fieldeditor(ctx: Ctx) -> Result:
    ti = obj_type(ctx)
    name = p_str(ctx.params, "name")
    if name is None:
        raise bad("Missing required parameter 'name' (the section name)")
    hit = _find_section(ctx, ti, name)
    if hit is None:
        raise ApiError(404, f"No section {name!r} on object type {ti.id}")
    sid = hit[0]
    cols = _columns(p_json(ctx.params, "fields"))
    success: dict[str, Any] = {}
    for ci, col in enumerate(cols):
        for spec in col:
            current = ctx.store.types[ti.id]
            target: FieldInfo | None = None
            fname = spec.get("field")
            if isinstance(fname, str) and fname in current.fields:
                target = current.fields[fname]
            elif isinstance(spec.get("alias"), str):
                target = next(
                    (
                        f
                        for f in current.fields.values()
                        if f.alias.lower() == spec["alias"].strip().lower()
                    ),
                    None,
                )
            if target is None:
                info = _new_field(ctx, current, spec, sid, ci)
                ctx.store.add_field(ti.id, info)
                success[info.name] = info.alias
                continue
            if not re.fullmatch(r"f\d{4}", target.name):
                raise bad(f"System field {target.name!r} cannot be changed with the field editor")
            new_type = spec.get("type", target.type)
            if new_type != target.type and not (target.type == "text" and new_type == "longtext"):
                raise bad(
                    f"Field {target.name}: type change {target.type} -> {new_type} is not allowed "
                    "(only text -> longtext)"
                )
            if isinstance(spec.get("alias"), str) and spec["alias"].strip():
                target.alias = spec["alias"].strip()
            target.type = new_type
            if "required" in spec:
                target.required = _flag_in(spec, "required")
            if "unique" in spec:
                target.unique = _flag_in(spec, "unique")
            if target.type in ("drop", "list") and "options" in spec:
                target.options = _apply_options(ctx, target.options, spec.get("options"))
            ctx.store.save_field(ti.id, target)
            success[target.name] = target.alias
    description = p_str(ctx.params, "description")
    if description is not None:
        ctx.store.set_section_description(ti.id, sid, description)
        success["description"] = description
    return Result({"success": success})


def delete_fieldeditor(ctx: Ctx) -> Result:
    ti = obj_type(ctx)
    field = p_str(ctx.params, "field")
    section = p_str(ctx.params, "section")
    if field is not None:
        f = ti.fields.get(field)
        if f is None:
            raise ApiError(404, f"No field {field!r} on object type {ti.id}")
        if str(f.deletable) != "1" or not re.fullmatch(r"f\d{4}", field):
            raise bad(f"Field {field!r} is a system field and cannot be deleted")
        ctx.store.remove_field(ti.id, field)
        return Result("Deleted")
    if section is not None:
        hit = _find_section(ctx, ti, section)
        if hit is None:
            raise ApiError(404, f"No section {section!r} on object type {ti.id}")
        if any(f.section_id == hit[0] for f in ti.fields.values()):
            raise bad(f"Section {hit[1]!r} is not empty; delete its fields first")
        ctx.store.remove_section(ti.id, hit[0])
        return Result("Deleted")
    raise bad("Pass 'field' (e.g. f1557) or 'section' (a section name)")


def register(router: Router) -> None:
    router.add("GET", "/objects/fieldeditor", get_fieldeditor)
    router.add("POST", "/objects/fieldeditor", post_fieldeditor)
    router.add("PUT", "/objects/fieldeditor", put_fieldeditor)
    router.add("DELETE", "/objects/fieldeditor", delete_fieldeditor)
    for tid, (_s, plural) in catalog.ALIASES.items():
        if tid == 2:
            continue
        router.add("GET", f"/{plural}/fieldeditor", get_fieldeditor, tid)
        router.add("POST", f"/{plural}/fieldeditor", post_fieldeditor, tid)
        router.add("PUT", f"/{plural}/fieldeditor", put_fieldeditor, tid)
        router.add("DELETE", f"/{plural}/fieldeditor", delete_fieldeditor, tid)
