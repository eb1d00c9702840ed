"""Shared reading and writing helpers for the hand-written tools (type resolution, conditions,
paging, value conversion).  Tools in ``overrides/`` compose these; none of them talks HTTP."""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from ..errors import InvalidArguments, NotFound, excerpt
from ..runtime.context import ToolContext
from ..runtime.registry import clean
from ..upstream.meta import TypeMeta
from .conditions import (
    MAX_CLAUSES,
    ConditionError,
    FieldInfo,
    fields_from_meta,
    join_conjunctions,
    normalize_condition,
)
from .dates import DATE_CHOICES, DATE_FORMS_TEXT, date_hint, parse_date

MAX_RANGE = 50


async def resolve_type(
    ctx: ToolContext, args: Mapping[str, Any], *, default: int | None = None
) -> TypeMeta:
    """The object type named by ``object_type_id`` or ``object_type`` (or the default)."""
    meta = await ctx.meta()
    type_id = args.get("object_type_id")
    name = args.get("object_type")
    if type_id is None and not name and default is not None:
        type_id = default
    found = meta.require(type_id, name)
    if type_id is not None and name:
        # both given: they must agree (require() alone would silently go by the id)
        by_name = meta.resolve(None, name)
        if by_name is None or by_name.type_id != found.type_id:
            raise InvalidArguments(
                f"`object_type_id` {type_id} is {found.name}, but `object_type` {name!r} "
                f"{'is ' + by_name.name if by_name else 'names no known type'}; give one of them.",
                details={"field": "object_type"},
            )
    return found


def fields_of(type_meta: TypeMeta) -> dict[str, FieldInfo]:
    return fields_from_meta({"name": type_meta.name, "fields": type_meta.fields})


def condition_json(type_meta: TypeMeta, condition: Any) -> list[Any] | None:
    """Validate/translate a condition (readable string, JSON list or JSON text) for a type."""
    if condition is None or condition == "" or condition == []:
        return None
    try:
        return normalize_condition(condition, fields_of(type_meta))
    except ConditionError as exc:
        details: dict[str, Any] = {"field": "condition"}
        if getattr(exc, "choices", None):
            details["choices"] = list(exc.choices)[:20]
        if getattr(exc, "position", None) is not None:
            details["position"] = exc.position
        raise InvalidArguments(
            str(exc.message if hasattr(exc, "message") else exc), details=details
        ) from None


def check_fields(
    type_meta: TypeMeta, names: Iterable[str], *, argument: str, also: Iterable[str] = ()
) -> None:
    """Refuse field names the type does not have (``also``: names known from elsewhere, e.g. the
    keys of returned records), naming the closest real fields so the caller can retry."""
    known = {"id", *type_meta.fields, *also}
    unknown = [n for n in dict.fromkeys(names) if n not in known]
    if not unknown:
        return
    aliases = {str(s.get("alias") or "").casefold(): n for n, s in type_meta.fields.items()}
    choices: list[str] = []
    for name in unknown:
        close = difflib.get_close_matches(name, list(type_meta.fields), n=3, cutoff=0.6)
        close += [
            aliases[a]
            for a in difflib.get_close_matches(name.casefold(), list(aliases), n=3, cutoff=0.6)
        ]
        choices += [c for c in dict.fromkeys(close) if c not in choices]
    hint = f" Did you mean: {', '.join(choices)}?" if choices else ""
    raise InvalidArguments(
        f"`{argument}`: {type_meta.name} has no field {', '.join(map(repr, unknown))}.{hint} "
        "Use get_object_meta for the field names.",
        details={"field": argument, "unknown": unknown, "choices": choices},
    )


def and_conditions(*parts: list[Any] | None) -> list[Any] | None:
    """AND together flat conditions, keeping the result flat.

    The API reads a flat list with AND binding tighter than OR, so each part is an OR of
    AND-groups; the conjunction is the OR of every combination of one group per part
    (distribution), refused past ``MAX_CLAUSES`` clauses like the parser's own rewrite."""
    present = [p for p in parts if p]
    if not present:
        return None
    combos: list[list[Any]] = [[]]
    for part in present:
        combos = [combo + group for combo in combos for group in _split_or(part)]
        if sum(len(c) for c in combos) > MAX_CLAUSES:
            raise InvalidArguments(
                f"The filters combine into more than {MAX_CLAUSES} clauses; simplify the "
                "condition (fewer OR alternatives).",
                details={"field": "condition"},
            )
    return join_conjunctions(combos)


def _split_or(cond: list[Any]) -> list[list[Any]]:
    """``[a, "AND", b, "OR", c]`` -> ``[[a, b], [c]]``."""
    groups: list[list[Any]] = [[]]
    for item in cond:
        if item == "OR":
            groups.append([])
        elif item != "AND":
            groups[-1].append(item)
    return [g for g in groups if g]


def clause(field: str, op: str, value: Any) -> dict[str, Any]:
    if op in ("IN", "NOT IN"):
        return {
            "field": {"field": field},
            "op": op,
            "value": {"list": [{"value": v} for v in value]},
        }
    return {"field": {"field": field}, "op": op, "value": {"value": value}}


def to_epoch(value: Any, *, argument: str, now: datetime | None = None) -> int:
    """Unix seconds from a date argument, read exactly as a date in a condition is.

    A JSON number is Unix seconds; text is any form ``dates.parse_date`` accepts (``today``,
    ``7 days ago``, ``in 2 weeks``, ISO 8601, Unix seconds), so ``since: "7 days ago"`` means what
    ``date >= 7 days ago`` means. ``now`` fixes the moment relative words count from (tests).
    """
    epoch: int | None = None
    if isinstance(value, float) and math.isfinite(value):
        epoch = parse_date(str(int(value)), now)
    elif isinstance(value, int) and not isinstance(value, bool):
        epoch = parse_date(str(value), now)
    elif isinstance(value, str):
        epoch = parse_date(value, now)
    if epoch is None:
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        raise InvalidArguments(
            f"`{argument}`: {excerpt(shown)!r} is not a date.{date_hint(shown)} Use "
            f"{DATE_FORMS_TEXT}.",
            details={"field": argument, "choices": list(DATE_CHOICES)},
        )
    return epoch


def iso(epoch: Any) -> str | None:
    try:
        seconds = int(float(str(epoch)))
        if seconds <= 0:
            return None
        return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
    except (TypeError, ValueError, OverflowError, OSError):  # not a number, or beyond year 9999
        return None


def as_int(value: Any) -> int | None:
    try:
        return int(float(str(value)))
    except (TypeError, ValueError):
        return None


def ids_param(ids: Iterable[int]) -> str:
    return ",".join(str(int(i)) for i in ids)


def project(records: list[dict[str, Any]], fields: list[str] | None) -> list[dict[str, Any]]:
    if not fields:
        return records
    keep = {"id", *fields}
    return [{k: v for k, v in r.items() if k in keep} for r in records]


# a sort direction as the API's type spells it (the tools' schemas allow only these two)
_SORT_DIRECTIONS: Mapping[str, Literal["asc", "desc"]] = {"asc": "asc", "desc": "desc"}


async def get_record(ctx: ToolContext, type_id: int, record_id: int) -> dict[str, Any]:
    """One record, cleaned; NotFound when it does not exist."""
    result = await ctx.api.get_object(object_id=type_id, id=record_id)
    data = clean(result.data)
    if not isinstance(data, dict) or not data:
        raise NotFound(
            f"No record {record_id} of object type {type_id}. Check the id with get_objects."
        )
    return data


async def list_records(
    ctx: ToolContext,
    type_id: int,
    *,
    condition: list[Any] | None = None,
    ids: list[int] | None = None,
    search: str | None = None,
    search_notes: bool = False,
    group_id: int | None = None,
    fields: list[str] | None = None,
    start: int = 0,
    range_: int = MAX_RANGE,
    sort: str | None = None,
    sort_dir: str | None = None,
    include_total: bool = False,
) -> dict[str, Any]:
    """One page of records in the list shape every list tool returns."""
    range_ = max(1, min(MAX_RANGE, int(range_)))
    result = await ctx.api.list_objects(
        object_id=type_id,
        start=start,
        range_=range_,
        condition=json.dumps(condition, separators=(",", ":")) if condition else None,
        ids=ids_param(ids) if ids else None,
        search=search or None,
        search_notes=True if search and search_notes else None,
        group_id=group_id,
        list_fields=",".join(dict.fromkeys(["id", *fields])) if fields else None,
        sort=sort or None,
        sort_dir=_SORT_DIRECTIONS[sort_dir or "asc"] if sort else None,
    )
    data = clean(result.data)
    records = [r for r in (data if isinstance(data, list) else []) if isinstance(r, dict)]
    out: dict[str, Any] = {
        "object_type_id": type_id,
        "records": records,
        "count": len(records),
        "start": start,
        "has_more": len(records) == range_,
    }
    if include_total:
        total = await count(
            ctx, type_id, condition=condition, search=search, group_id=group_id, ids=ids
        )
        out["total"] = total
        out["has_more"] = start + len(records) < total
    if out["has_more"]:
        out["note"] = f"More records may follow: call again with start={start + len(records)}."
    return out


async def count(
    ctx: ToolContext,
    type_id: int,
    *,
    condition: list[Any] | None = None,
    search: str | None = None,
    group_id: int | None = None,
    ids: list[int] | None = None,
) -> int:
    info = await collection_info(
        ctx, type_id, condition=condition, search=search, group_id=group_id, ids=ids
    )
    return as_int(info.get("count")) or 0


async def collection_info(
    ctx: ToolContext,
    type_id: int,
    *,
    condition: list[Any] | None = None,
    search: str | None = None,
    group_id: int | None = None,
    ids: list[int] | None = None,
) -> dict[str, Any]:
    result = await ctx.api.get_objects_info(
        object_id=type_id,
        condition=json.dumps(condition, separators=(",", ":")) if condition else None,
        search=search or None,
        group_id=group_id,
        ids=ids_param(ids) if ids else None,
    )
    data = result.data
    return data if isinstance(data, dict) else {}


def require_selection(args: Mapping[str, Any], *, what: str) -> None:
    if not args.get("ids") and args.get("group_id") is None and not args.get("condition"):
        raise InvalidArguments(
            f"Say which records to {what}: give `ids`, a `group_id` or a `condition`. "
            "Nothing is ever applied to every record implicitly.",
            details={"field": "ids"},
        )
