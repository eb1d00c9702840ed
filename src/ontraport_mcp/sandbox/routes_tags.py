"""Tags, sequences, automations (subscribe) and pause/unpause (API.md §3.1.11–3.1.16, §3.4)."""

from __future__ import annotations

from typing import Any

from . import membership
from .clock import now
from .errors import bad
from .params import p_int, p_int_list, p_list, p_str
from .query import action_selection, selected_ids
from .router import Ctx, Result, Router
from .routes_objects import list_records, obj_type
from .store import TypeInfo

TAG_MSG = "The tag is now being processed."
SUB_MSG = "The subscription is now being processed."
PAUSABLE = {5: "Sequence", 6: "Rule", 8: "Sequence subscriber", 140: "Automation"}


def _id_list(ctx: Ctx, name: str) -> list[int]:
    items = p_int_list(ctx.params, name)
    if not items:
        raise bad(f"Missing required parameter '{name}' (a list of ids)")
    return items


def _targets(ctx: Ctx, ti: TypeInfo) -> list[int]:
    sel = action_selection(ctx.store, ti, ctx.params)
    return selected_ids(ctx.store, ti, sel, ctx.params)


def _check_tags(ctx: Ctx, ti: TypeInfo, tag_ids: list[int]) -> None:
    for t in tag_ids:
        tag = ctx.store.get(14, t)
        if tag is None:
            raise bad(f"Tag {t} does not exist")
        if str(tag.get("object_type_id") or "0") != str(ti.id):
            raise bad(f"Tag {t} belongs to object type {tag.get('object_type_id')}, not {ti.id}")


# ---------------------------------------------------------------------------- tags by id
def records_by_tag(ctx: Ctx) -> Result:
    ti = obj_type(ctx)
    membership.require_field(ti, "contact_cat", "tags")
    tag_id = p_int(ctx.params, "tag_id")
    if tag_id is None:
        name = p_str(ctx.params, "tag_name")
        if name is None:
            raise bad("Pass 'tag_id' or 'tag_name'")
        ids = ctx.store.select_ids(
            14,
            "tag_name = ? COLLATE NOCASE AND COALESCE(object_type_id,'0') = ?",
            [name, str(ti.id)],
        )
        tag_id = ids[0] if ids else -1
    return list_records(
        ctx, ti, "instr(contact_cat, ?) > 0", [f"*/*{tag_id}*/*"], count_as_data=True
    )


def add_tags(ctx: Ctx) -> Result:
    ti = obj_type(ctx)
    membership.require_field(ti, "contact_cat", "tags")
    tags = _id_list(ctx, "add_list")
    _check_tags(ctx, ti, tags)
    for rid in _targets(ctx, ti):
        membership.set_tags(ctx.store, ti, rid, add=tags)
    return Result(TAG_MSG)


def remove_tags(ctx: Ctx) -> Result:
    ti = obj_type(ctx)
    membership.require_field(ti, "contact_cat", "tags")
    tags = _id_list(ctx, "remove_list")
    for rid in _targets(ctx, ti):
        membership.set_tags(ctx.store, ti, rid, remove=tags)
    return Result(TAG_MSG)


# ---------------------------------------------------------------------------- tags by name
def _names(ctx: Ctx, key: str) -> list[str]:
    names = p_list(ctx.params, key)
    if not names:
        raise bad(f"Missing required parameter '{key}' (a list of tag names)")
    for n in names:
        if len(n) > 255:
            raise bad("Tag names are limited to 255 characters")
    return names


def _tag_id(ctx: Ctx, ti: TypeInfo, name: str) -> int | None:
    ids = ctx.store.select_ids(
        14, "tag_name = ? COLLATE NOCASE AND COALESCE(object_type_id,'0') = ?", [name, str(ti.id)]
    )
    return ids[0] if ids else None


def add_tags_by_name(ctx: Ctx) -> Result:
    ti = obj_type(ctx)
    membership.require_field(ti, "contact_cat", "tags")
    names = _names(ctx, "add_names")
    targets = _targets(ctx, ti)
    tag_ids = []
    for name in names:
        tid = _tag_id(ctx, ti, name)
        if tid is None:
            tid = ctx.store.insert(14, {"tag_name": name, "object_type_id": ti.id, "group_id": "0"})
        tag_ids.append(tid)
    for rid in targets:
        membership.set_tags(ctx.store, ti, rid, add=tag_ids)
    return Result(TAG_MSG)


def remove_tags_by_name(ctx: Ctx) -> Result:
    ti = obj_type(ctx)
    membership.require_field(ti, "contact_cat", "tags")
    names = _names(ctx, "remove_names")
    tag_ids = [t for t in (_tag_id(ctx, ti, n) for n in names) if t is not None]
    targets = _targets(ctx, ti)
    for rid in targets:
        membership.set_tags(ctx.store, ti, rid, remove=tag_ids)
    return Result(TAG_MSG)


# ---------------------------------------------------------------------------- sequences / automations
def _check_exist(ctx: Ctx, type_id: int, ids: list[int], what: str) -> None:
    for i in ids:
        if not ctx.store.exists(type_id, i):
            raise bad(f"{what} {i} does not exist")


def _sub_type(ctx: Ctx) -> str:
    raw = (p_str(ctx.params, "sub_type") or "Campaign").strip().lower()
    if raw not in ("campaign", "sequence"):
        raise bad("sub_type must be 'Campaign' (automations, object 140) or 'Sequence' (object 5)")
    return raw


def _subscribe(ctx: Ctx, kind: str, adding: bool) -> Result:
    ti = obj_type(ctx)
    field = "updateSequence" if kind == "sequence" else "updateCampaign"
    membership.require_field(ti, field, "sequences" if kind == "sequence" else "automations")
    ids = _id_list(ctx, "add_list" if adding else "remove_list")
    if adding:
        _check_exist(
            ctx,
            5 if kind == "sequence" else 140,
            ids,
            "Sequence" if kind == "sequence" else "Automation",
        )
    setter = membership.set_sequences if kind == "sequence" else membership.set_campaigns
    for rid in _targets(ctx, ti):
        if adding:
            setter(ctx.store, ti, rid, add=ids)
        else:
            setter(ctx.store, ti, rid, remove=ids)
    return Result(SUB_MSG)


def add_sequences(ctx: Ctx) -> Result:
    return _subscribe(ctx, "sequence", True)


def remove_sequences(ctx: Ctx) -> Result:
    return _subscribe(ctx, "sequence", False)


def subscribe(ctx: Ctx) -> Result:
    return _subscribe(ctx, _sub_type(ctx), True)


def unsubscribe(ctx: Ctx) -> Result:
    return _subscribe(ctx, _sub_type(ctx), False)


# ---------------------------------------------------------------------------- pause
def _pause(ctx: Ctx, value: str) -> Result:
    ti = obj_type(ctx)
    if ti.id not in PAUSABLE:
        raise bad(
            f"objectID must be one of {sorted(PAUSABLE)} (sequences, rules, sequence subscribers, "
            f"automations); got {ti.id}"
        )
    ids = _targets(ctx, ti)
    vals: dict[str, Any] = {"pause": value}
    if "dlm" in ti.fields:
        vals["dlm"] = now()
    for rid in ids:
        ctx.store.update(ti.id, rid, vals)
    return Result()


def pause(ctx: Ctx) -> Result:
    return _pause(ctx, "1")


def unpause(ctx: Ctx) -> Result:
    return _pause(ctx, "0")


def register(router: Router) -> None:
    router.add("GET", "/objects/tag", records_by_tag)
    router.add("PUT", "/objects/tag", add_tags)
    router.add("DELETE", "/objects/tag", remove_tags)
    router.add("PUT", "/objects/tagByName", add_tags_by_name)
    router.add("DELETE", "/objects/tagByName", remove_tags_by_name)
    router.add("PUT", "/objects/sequence", add_sequences)
    router.add("DELETE", "/objects/sequence", remove_sequences)
    router.add("PUT", "/objects/subscribe", subscribe)
    router.add("DELETE", "/objects/subscribe", unsubscribe)
    router.add("POST", "/objects/pause", pause)
    router.add("POST", "/objects/unpause", unpause)
