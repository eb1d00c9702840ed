"""Collection parameters (API.md §1.7): selection (ids, condition, search, group) and listing (sort, paging)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import conditions
from .errors import ApiError, bad
from .params import has, p_bool, p_int, p_int_list, p_list, p_str
from .store import Store, TypeInfo, q

MAX_RANGE = 50


@dataclass
class Selection:
    where: str
    params: list[Any]
    narrowed: bool  # True when ids, a condition, a search or a group restricts the records

    def sql(self) -> str:
        return self.where


def build_selection(store: Store, ti: TypeInfo, params: dict[str, Any]) -> Selection:
    parts: list[str] = []
    args: list[Any] = []
    narrowed = False
    ids = p_int_list(params, "ids")
    if ids is not None:
        narrowed = True
        if ids:
            parts.append(f"{q(ti.key)} IN ({','.join('?' * len(ids))})")
            args.extend(ids)
        else:
            parts.append("0")
    if has(params, "condition"):
        sql, sp = conditions.compile_condition(ti, params.get("condition"))
        if sql:
            parts.append(f"({sql})")
            args.extend(sp)
            narrowed = True
    search = p_str(params, "search")
    if search is not None:
        narrowed = True
        like = f"%{search}%"
        ors = [f"{q(c)} LIKE ?" for c in ti.text_columns]
        sargs: list[Any] = [like] * len(ors)
        if "firstname" in ti.fields and "lastname" in ti.fields:
            ors.append("(COALESCE(firstname,'') || ' ' || COALESCE(lastname,'')) LIKE ?")
            sargs.append(like)
        if ti.key == "id" and re.fullmatch(r"[0-9]{1,18}", search.strip()):
            ors.append(f"{q(ti.key)} = ?")
            sargs.append(int(search.strip()))
        if p_bool(params, "searchNotes") and ti.id == 0:
            ors.append("id IN (SELECT CAST(contact_id AS INTEGER) FROM o_12 WHERE data LIKE ?)")
            sargs.append(like)
        parts.append("(" + (" OR ".join(ors) if ors else "0") + ")")
        args.extend(sargs)
    group_ids = p_int_list(params, "group_ids")
    group_id = p_int(params, "group_id")
    if group_id is None and group_ids:
        group_id = group_ids[0]
    if group_id is not None and group_id != 0:
        narrowed = True
        sql, sp = group_condition(store, ti, group_id)
        parts.append(f"({sql})")
        args.extend(sp)
    return Selection(" AND ".join(parts), args, narrowed)


def group_condition(store: Store, ti: TypeInfo, group_id: int) -> tuple[str, list[Any]]:
    group = store.get(3, group_id)
    if group is None:
        raise ApiError(404, f"Group {group_id} does not exist")
    if str(group.get("object_type_id") or "0") != str(ti.id):
        raise bad(
            f"Group {group_id} is a group of object type {group.get('object_type_id')}, not {ti.id}"
        )
    raw = group.get("condition")
    if not raw:
        return "1", []
    sql, sp = conditions.compile_condition(ti, raw)
    return (sql or "1"), sp


def action_selection(store: Store, ti: TypeInfo, params: dict[str, Any]) -> Selection:
    """Selection for a bulk action: ids, group_id + performAll=1, or a condition/search is required."""
    group_ids = p_int_list(params, "group_ids") or []
    group = p_int(params, "group_id") or (group_ids[0] if group_ids else None)
    perform_all = p_bool(params, "performAll")
    if group and not perform_all and not has(params, "ids"):
        raise bad("group_id selects records only together with performAll=1 (or with ids)")
    sel = build_selection(store, ti, params)
    if not sel.narrowed:
        raise bad(
            "Select the records to act on: pass ids, group_id with performAll=1, or a condition"
        )
    return sel


def selected_ids(
    store: Store, ti: TypeInfo, sel: Selection, params: dict[str, Any], *, must_exist: bool = True
) -> list[int]:
    ids = store.select_ids(ti.id, sel.where, sel.params)
    wanted = p_int_list(params, "ids")
    if must_exist and wanted:
        missing = sorted(
            set(wanted)
            - set(
                store.select_ids(ti.id, f"{q(ti.key)} IN ({','.join('?' * len(wanted))})", wanted)
            )
        )
        if missing:
            raise ApiError(404, f"No {ti.name} record with id {', '.join(map(str, missing))}")
    return ids


def order_clause(ti: TypeInfo, params: dict[str, Any]) -> str:
    sort = p_str(params, "sort")
    direction = (p_str(params, "sortDir") or "asc").strip().lower()
    if direction not in ("asc", "desc"):
        raise bad("sortDir must be 'asc' or 'desc'")
    d = direction.upper()
    if sort is None:
        return f"{q(ti.key)} {d}" if has(params, "sortDir") else f"{q(ti.key)} ASC"
    column = ti.column(sort)
    if column is None:
        raise bad(f"Cannot sort by unknown field '{sort}' of object type {ti.id} ({ti.name})")
    col = q(column)
    nulls = "DESC" if d == "ASC" else "ASC"  # like MySQL: NULLs first ascending, last descending
    if column in ti.numeric:
        return f"{col} IS NULL {nulls}, CAST({col} AS REAL) {d}, {q(ti.key)} {d}"
    # numeric-aware for text: numbers first (numerically), then text case-insensitively
    return (
        f"{col} IS NULL {nulls}, isnum({col}) DESC, CAST({col} AS REAL) {d}, {col} COLLATE NOCASE {d},"
        f" {q(ti.key)} {d}"
    )


def paging(params: dict[str, Any]) -> tuple[int, int]:
    start = p_int(params, "start", default=0, minimum=0) or 0
    rng = p_int(params, "range", default=MAX_RANGE)
    if rng is None or rng < 1:
        raise bad("range must be between 1 and 50")
    return start, min(rng, MAX_RANGE)


def list_columns(ti: TypeInfo, params: dict[str, Any]) -> list[str] | None:
    fields = p_list(params, "listFields")
    if not fields:
        return None
    cols = [ti.key]
    for f in fields:
        c = ti.column(f)
        if c is not None and c not in cols:
            cols.append(c)
    return cols
