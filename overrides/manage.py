"""The Manage tools for membership and links: tags, automations/sequences, relationship fields,
and pausing whole automations, sequences and rules.

Every bulk write acts on explicit record ids.  A ``group_id`` or ``condition`` is resolved to ids
first (counted, refused above ``SELECTION_LIMIT``), so no request ever carries a selection that
could mean "every record" upstream.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from ontraport_mcp.domain.conditions import describe_condition
from ontraport_mcp.domain.records import (
    as_int,
    clause,
    condition_json,
    count,
    get_record,
    ids_param,
    require_selection,
    resolve_type,
)
from ontraport_mcp.errors import InvalidArguments, NotFound, Refused, ToolError, UpstreamError
from ontraport_mcp.generated.api import AddTagsBody, PauseObjectsBody, UnpauseObjectsBody
from ontraport_mcp.runtime.context import ToolContext
from ontraport_mcp.runtime.policy import Method, check
from ontraport_mcp.runtime.registry import override
from ontraport_mcp.upstream.meta import TypeMeta
from ontraport_mcp.upstream.operation import UpstreamResult

from .cleaner import clean

SELECTION_LIMIT = 500  # records a group/condition may select for one bulk write
PAGE = 50  # the API's maximum page size


# ------------------------------------------------------------------------------- shared helpers
def plural(type_meta: TypeMeta, n: int) -> str:
    """ "1 Contact record" / "3 Contact records"."""
    return f"{n} {type_meta.name} record{'' if n == 1 else 's'}"


def short_ids(ids: list[int], limit: int = 20) -> str:
    return short_list([str(i) for i in ids], limit)


def short_list(items: list[str], limit: int = 20) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", … ({len(items) - limit} more)" if len(items) > limit else "")


async def list_all(
    ctx: ToolContext,
    type_id: int,
    *,
    ids: list[int] | None = None,
    condition: list[Any] | None = None,
    group_id: int | None = None,
    fields: list[str] | None = None,
    limit: int = SELECTION_LIMIT,
) -> list[dict[str, Any]]:
    """Records of a bounded selection, paged 50 at a time (ids are read in chunks of 50)."""
    out: list[dict[str, Any]] = []
    list_fields = ",".join(dict.fromkeys(["id", *fields])) if fields else None
    if ids is not None:
        for start in range(0, len(ids), PAGE):
            chunk = ids[start : start + PAGE]
            result = await ctx.api.list_objects(
                object_id=type_id, ids=ids_param(chunk), list_fields=list_fields, range_=PAGE
            )
            out += [r for r in (clean(result.data) or []) if isinstance(r, dict)]
        return out
    condition_text = json.dumps(condition, separators=(",", ":")) if condition else None
    start = 0
    while len(out) <= limit:
        result = await ctx.api.list_objects(
            object_id=type_id,
            condition=condition_text,
            group_id=group_id,
            list_fields=list_fields,
            range_=PAGE,
            start=start,
        )
        page = [r for r in (clean(result.data) or []) if isinstance(r, dict)]
        out += page
        if len(page) < PAGE:
            break
        start += PAGE
    return out


def record_id(record: dict[str, Any]) -> int:
    return as_int(record.get("id", record.get("tag_id"))) or 0


async def require_existing(
    ctx: ToolContext,
    type_meta: TypeMeta,
    ids: list[int],
    *,
    what: str | None = None,
    fields: list[str] | None = None,
) -> list[dict[str, Any]]:
    """The records with these ids (in the given order); NotFound naming every missing id."""
    records = await list_all(ctx, type_meta.type_id, ids=ids, fields=fields)
    by_id = {record_id(r): r for r in records}
    missing = [i for i in ids if i not in by_id]
    if missing:
        label = what or f"{type_meta.name} record"
        raise NotFound(
            f"No {label} with id {short_ids(missing)} (object type {type_meta.type_id}). "
            "Nothing was changed; check the ids (get_objects lists records).",
            details={"missing_ids": missing, "object_type_id": type_meta.type_id},
        )
    return [by_id[i] for i in ids]


@dataclass(frozen=True, slots=True)
class Selection:
    type_meta: TypeMeta
    ids: list[int]
    source: str  # what the caller selected, for messages


async def resolve_selection(
    ctx: ToolContext,
    args: dict[str, Any],
    *,
    tool: str,
    what: str,
    method: Method = "update",
    needs_field: tuple[str, str] | None = None,
) -> Selection:
    """Resolve ``ids`` / ``group_id`` / ``condition`` to the ids of at most 500 existing records.

    ``needs_field`` = (field name, label): the type must carry that field (e.g. contact_cat for
    tags).  A group without an explicit object type selects records of the group's own type.
    """
    require_selection(args, what=what)
    ids: list[int] = [int(i) for i in args.get("ids") or []]
    group_id = args.get("group_id")
    raw_condition = args.get("condition")
    if ids and (group_id is not None or raw_condition):
        raise InvalidArguments(
            "Give either `ids`, or a `group_id` and/or a `condition` — not ids together with "
            "them: it would be unclear which records are meant.",
            details={"field": "ids"},
        )
    explicit_type = args.get("object_type_id") is not None or bool(args.get("object_type"))
    group: dict[str, Any] | None = None
    if group_id is not None:
        try:
            group = await get_record(ctx, 3, int(group_id))
        except NotFound:
            raise NotFound(
                f"No group with id {group_id}. List saved groups with get_groups.",
                details={"field": "group_id"},
            ) from None
    if group is not None and not explicit_type:
        meta = await ctx.meta()
        type_meta = meta.require(as_int(group.get("object_type_id")) or 0, None)
    else:
        type_meta = await resolve_type(ctx, args, default=0)
    check(type_meta.type_id, method, type_meta.name)
    if needs_field is not None and needs_field[0] not in type_meta.fields:
        raise InvalidArguments(
            f"{type_meta.name} records (object type {type_meta.type_id}) have no {needs_field[1]}.",
            details={"field": "object_type_id"},
        )
    if group is not None:
        group_type = as_int(group.get("object_type_id")) or 0
        if group_type != type_meta.type_id:
            raise InvalidArguments(
                f"Group {group_id} ({group.get('name')!r}) is a group of object type {group_type}, "
                f"not of {type_meta.name} ({type_meta.type_id}). Drop object_type_id to act on its "
                "own records, or pick a group of this type (get_groups).",
                details={"field": "group_id"},
            )
    if ids:
        await require_existing(ctx, type_meta, ids, fields=["id"])
        return Selection(type_meta, ids, f"ids {short_ids(ids)}")
    condition = condition_json(type_meta, raw_condition)
    parts = []
    if group is not None:
        parts.append(f"group {group_id} {str(group.get('name') or '')!r}")
    if condition:
        parts.append(f"condition {describe_condition(condition)}")
    source = " and ".join(parts)
    total = await count(
        ctx,
        type_meta.type_id,
        condition=condition,
        group_id=int(group_id) if group_id is not None else None,
    )
    if total > SELECTION_LIMIT:
        raise Refused(
            f"The {source} selects {total} {type_meta.name} records; {tool} acts on at most "
            f"{SELECTION_LIMIT} records per call. Nothing was changed. Narrow the condition, or "
            'work in batches: page through the ids with get_objects (fields ["id"]) and pass '
            "them as `ids`.",
            details={"count": total, "limit": SELECTION_LIMIT},
        )
    if total == 0:
        return Selection(type_meta, [], source)
    records = await list_all(
        ctx,
        type_meta.type_id,
        condition=condition,
        group_id=int(group_id) if group_id is not None else None,
        fields=["id"],
    )
    found = [i for i in dict.fromkeys(record_id(r) for r in records) if i]
    if len(found) > SELECTION_LIMIT:
        raise Refused(
            f"The {source} now selects more than {SELECTION_LIMIT} {type_meta.name} records; "
            "nothing was changed. Narrow it or pass ids.",
            details={"limit": SELECTION_LIMIT},
        )
    return Selection(type_meta, found, source)


# ------------------------------------------------------------------------------------ manage_tags
async def _tags_by_id(
    ctx: ToolContext, type_meta: TypeMeta, tag_ids: list[int]
) -> dict[int, dict[str, Any]]:
    tags = await list_all(ctx, 14, ids=tag_ids)
    by_id = {record_id(t): t for t in tags}
    missing = [t for t in tag_ids if t not in by_id]
    if missing:
        raise NotFound(
            f"No tag with id {short_ids(missing)}. Nothing was changed. Use tag_names to add tags "
            "by name (missing ones are created), or list tags with get_objects on type 14.",
            details={"field": "tag_ids", "missing_ids": missing},
        )
    wrong = [
        f"{t} ({by_id[t].get('tag_name')!r} is a tag of object type "
        f"{as_int(by_id[t].get('object_type_id')) or 0})"
        for t in tag_ids
        if (as_int(by_id[t].get("object_type_id")) or 0) != type_meta.type_id
    ]
    if wrong:
        raise InvalidArguments(
            f"Tag(s) {', '.join(wrong)} cannot be used on {type_meta.name} records "
            f"(object type {type_meta.type_id}). Nothing was changed.",
            details={"field": "tag_ids"},
        )
    return by_id


async def _tags_by_name(
    ctx: ToolContext, type_meta: TypeMeta, names: list[str]
) -> dict[str, dict[str, Any]]:
    """Existing tags of this type with these names, keyed by lower-cased name."""
    condition = [
        clause("tag_name", "IN", names),
        "AND",
        clause("object_type_id", "=", type_meta.type_id),
    ]
    found = await list_all(ctx, 14, condition=condition, limit=len(names) + PAGE)
    return {str(t.get("tag_name") or "").lower(): t for t in found}


def _may_have_applied(exc: ToolError) -> bool:
    """Whether a failed write may still have taken effect upstream.

    A 4xx or 429 answer is a refusal and an unreachable server never saw the request: nothing
    happened.  A 5xx, a timeout, a broken connection or an unreadable answer means the request
    reached Ontraport and its outcome is unknown."""
    return exc.status >= 500 and exc.code != "upstream_unreachable"


class TagWrites:
    """The writes of one manage_tags call, in order, and what became of each: a failure part-way
    is reported as exactly what was done, what may have been, and what was never sent."""

    def __init__(self, steps: list[dict[str, Any]]) -> None:
        self.pending = steps
        self.done: list[dict[str, Any]] = []

    async def run(self, call: Awaitable[UpstreamResult]) -> UpstreamResult:
        """Send the next step's request (``call``: the typed API call, not yet awaited); on
        failure raise the report of the whole call."""
        step = self.pending.pop(0)
        try:
            result = await call
        except ToolError as exc:
            raise self._failure(exc, step) from None
        self.done.append(step)
        return result

    def created_tag_ids(self) -> list[int]:
        return [int(s["tag_id"]) for s in self.done if s["step"] == "create_tag" and s["tag_id"]]

    def stop(self, reason: str) -> ToolError:
        """The report when a step succeeded but its answer lacks what the next steps need."""
        error = UpstreamError(reason, status=502, code="unexpected_response")
        return self._failure(error, None)

    def _failure(self, exc: ToolError, failing: dict[str, Any] | None) -> ToolError:
        unknown = failing is not None and _may_have_applied(exc)
        maybe = [failing] if failing is not None and unknown else []
        not_done = ([failing] if failing is not None and not unknown else []) + self.pending
        reason = exc.message.rstrip(".") + "."
        parts = [
            f"Ontraport failed to {failing['description']}: {reason}"
            if failing is not None
            else reason
        ]
        for label, steps in (("Done", self.done), ("May have been applied", maybe)):
            if steps:
                parts.append(f"{label}: " + "; ".join(s["description"] for s in steps) + ".")
        if not_done:
            parts.append("Not done: " + "; ".join(s["description"] for s in not_done) + ".")
        parts.append(
            "Calling manage_tags again with the same arguments is safe: tags that exist are "
            "reused and tagging a record twice changes nothing."
        )
        return UpstreamError(
            " ".join(parts),
            status=exc.status,
            code="partially_done" if self.done else exc.code,
            retry_after_s=exc.retry_after_s,
            details={
                "done": _brief(self.done),
                "may_have_been_applied": _brief(maybe),
                "not_done": _brief(not_done),
                "created_tag_ids": self.created_tag_ids(),
                "upstream_code": exc.code,
            },
        )


def _brief(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Steps without their prose (the message has it): details values must stay short."""
    return [{k: v for k, v in step.items() if k != "description"} for step in steps]


TAG_WORDS = {"add": ("add", "Added", "to"), "remove": ("remove", "Removed", "from")}


def _unique_names(names: list[str]) -> list[str]:
    """Each name once, ignoring case (Ontraport matches tag names without case)."""
    return list({n.lower(): n for n in names[::-1]}.values())[::-1]


@override("manage_tags")
async def manage_tags(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    """Tag or untag with exactly one tagging request (PUT or DELETE /objects/tag, by id).

    Names are resolved to ids first; adding creates each missing tag beforehand (its response
    gives the new id), so the records get all the tags or none, and a failure part-way says which
    writes happened.  (The by-name endpoints would need a second tagging request whenever ids
    are given too, and do not say which tags they created.)"""
    action = args["action"]
    tag_ids: list[int] = [int(t) for t in args.get("tag_ids") or []]
    names: list[str] = [str(n).strip() for n in args.get("tag_names") or []]
    if not tag_ids and not names:
        raise InvalidArguments(
            "Say which tags to " + action + ": give `tag_ids` or `tag_names` (or both).",
            details={"field": "tag_ids"},
        )
    if any(not n for n in names):
        raise InvalidArguments("Tag names must not be blank.", details={"field": "tag_names"})
    selection = await resolve_selection(
        ctx,
        args,
        tool="manage_tags",
        what="tag" if action == "add" else "untag",
        needs_field=("contact_cat", "tags"),
    )
    type_meta, ids = selection.type_meta, selection.ids
    type_id = type_meta.type_id
    by_id = await _tags_by_id(ctx, type_meta, tag_ids) if tag_ids else {}
    existing = await _tags_by_name(ctx, type_meta, names) if names else {}
    unknown = _unique_names([n for n in names if n.lower() not in existing])
    used = list(tag_ids) + [record_id(existing[n.lower()]) for n in names if n.lower() in existing]
    labels = [repr(str(by_id[t].get("tag_name"))) for t in tag_ids] + [repr(n) for n in names]
    out: dict[str, Any] = {
        "object_type_id": type_id,
        "action": action,
        "ids": ids,
        "tag_ids": list(dict.fromkeys(i for i in used if i)),
        "tag_names": [str(by_id[t].get("tag_name")) for t in tag_ids] + names,
        "created_tag_ids": [],
    }
    if not ids:
        out["message"] = (
            f"No {type_meta.name} records match the {selection.source}; nothing was changed."
        )
        return out
    creating = unknown if action == "add" else []
    records = f"{plural(type_meta, len(ids))} ({selection.source})"
    verb, past, prep = TAG_WORDS[action]
    tagging: dict[str, Any] = {
        "step": f"{action}_tags",
        "description": f"{verb} tag(s) {short_list(labels, 5)} {prep} {records}",
    }
    steps: list[dict[str, Any]] = [
        {"step": "create_tag", "tag_name": n, "description": f"create tag {n!r}"} for n in creating
    ]
    writes = TagWrites([*steps, tagging] if out["tag_ids"] or creating else steps)
    for step in steps:
        created = await writes.run(
            ctx.api.create_object(
                body={"objectID": 14},
                fields={"tag_name": step["tag_name"], "object_type_id": type_id},
            )
        )
        data = clean(created.data)
        step["tag_id"] = record_id(data) if isinstance(data, dict) else 0
        step["description"] = f"created tag {step['tag_name']!r} (id {step['tag_id'] or '?'})"
        if not step["tag_id"]:
            raise writes.stop(f"Ontraport created tag {step['tag_name']!r} but sent no id.")
    created_ids = writes.created_tag_ids()
    out["tag_ids"] = list(dict.fromkeys([*out["tag_ids"], *created_ids]))
    out["created_tag_ids"] = created_ids
    if writes.pending:
        tagging["tag_ids"] = out["tag_ids"]
        if action == "add":
            body: AddTagsBody = {"objectID": type_id, "add_list": out["tag_ids"], "ids": ids}
            await writes.run(ctx.api.add_tags(body=body))
        else:
            await writes.run(
                ctx.api.remove_tags(
                    object_id=type_id,
                    remove_list=ids_param(out["tag_ids"]),
                    ids=ids_param(ids),
                )
            )
        message = f"{past} tag(s) {short_list(labels)} {prep} {records}."
    else:
        message = "Nothing was changed."
    if created_ids:
        out["created_tags"] = creating
        new = ", ".join(f"{n!r} (id {i})" for n, i in zip(creating, created_ids, strict=True))
        message += f" New tag(s) created: {new}."
    elif action == "remove" and unknown:
        out["unknown_tags"] = unknown
        message += (
            f" No tag is named {', '.join(repr(n) for n in unknown)}; those names were ignored."
        )
    if out["tag_ids"]:
        message += (
            " Ontraport processes tagging asynchronously, so a read straight away may not show it "
            "yet; tag-triggered automations may run."
        )
    out["message"] = message
    return out


# --------------------------------------------------------------------------- manage_subscriptions
SUB_TYPES = {"Campaign": (140, "automation"), "Sequence": (5, "sequence")}


@override("manage_subscriptions")
async def manage_subscriptions(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    action = args["action"]
    sub_type = args["sub_type"]
    target_type, label = SUB_TYPES[sub_type]
    sub_ids = [int(i) for i in args["subscription_ids"]]
    selection = await resolve_selection(
        ctx,
        args,
        tool="manage_subscriptions",
        what="enrol" if action == "add" else "remove",
        needs_field=(
            ("updateCampaign", "automations")
            if sub_type == "Campaign"
            else ("updateSequence", "sequences")
        ),
    )
    type_meta, ids = selection.type_meta, selection.ids
    meta = await ctx.meta()
    targets = await require_existing(ctx, meta.require(target_type, None), sub_ids, what=label)
    wrong = [
        f"{record_id(t)} ({t.get('name')!r}, for object type {as_int(t.get('object_type_id')) or 0})"
        for t in targets
        if t.get("object_type_id") not in (None, "")
        and (as_int(t.get("object_type_id")) or 0) != type_meta.type_id
    ]
    if wrong:
        raise InvalidArguments(
            f"The {label}(s) {', '.join(wrong)} do not run on {type_meta.name} records "
            f"(object type {type_meta.type_id}). Nothing was changed.",
            details={"field": "subscription_ids"},
        )
    out: dict[str, Any] = {
        "object_type_id": type_meta.type_id,
        "action": action,
        "sub_type": sub_type,
        "ids": ids,
        "subscription_ids": sub_ids,
    }
    names = ", ".join(f"{record_id(t)} ({t.get('name')})" for t in targets)
    if not ids:
        out["message"] = (
            f"No {type_meta.name} records match the {selection.source}; nothing was changed."
        )
        return out
    if action == "add":
        await ctx.api.subscribe(
            body={
                "objectID": type_meta.type_id,
                "add_list": sub_ids,
                "ids": ids,
                "sub_type": sub_type,
            },
        )
        message = (
            f"Enrolled {plural(type_meta, len(ids))} ({selection.source}) in {label}(s) {names}. "
            "Their steps (emails, SMS, tasks) start for each record; Ontraport processes "
            "subscriptions asynchronously."
        )
        paused = [str(record_id(t)) for t in targets if str(t.get("pause") or "0") == "1"]
        if paused:
            message += (
                f" Note: {label}(s) {', '.join(paused)} are paused, so nothing runs until they "
                "are resumed (pause_unpause_objects)."
            )
    else:
        await ctx.api.unsubscribe(
            object_id=type_meta.type_id,
            remove_list=ids_param(sub_ids),
            ids=ids_param(ids),
            sub_type=sub_type,
        )
        message = (
            f"Removed {plural(type_meta, len(ids))} ({selection.source}) from {label}(s) "
            f"{names}. Future steps stop; steps already run are not undone."
        )
    out["message"] = message
    return out


# -------------------------------------------------------------------------- manage_relationships
def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes")


def _relationship_field(
    type_meta: TypeMeta, related: TypeMeta, wanted: str | None
) -> tuple[str, dict[str, Any]]:
    """The parent-type field of ``type_meta`` that points at ``related`` (validated)."""
    parents = {
        name: dict(spec)
        for name, spec in type_meta.fields.items()
        if str(spec.get("type")) == "parent"
    }

    def describe(name: str, spec: dict[str, Any]) -> str:
        return f"{name} ({spec.get('alias') or name} → type {spec.get('parent_object')})"

    if wanted:
        key = wanted.strip().lower()
        match = [n for n in type_meta.fields if n.lower() == key] or [
            n
            for n, spec in type_meta.fields.items()
            if str(spec.get("alias") or "").strip().lower() == key
        ]
        if not match:
            raise InvalidArguments(
                f"{type_meta.name} has no field {wanted!r}. Its relationship fields: "
                + (", ".join(describe(n, s) for n, s in parents.items()) or "none"),
                details={"field": "field", "choices": sorted(parents)},
            )
        if len(match) > 1:
            raise InvalidArguments(
                f"Several {type_meta.name} fields are labelled {wanted!r}: {', '.join(match)}; "
                "pass the field name.",
                details={"field": "field", "choices": match},
            )
        name = match[0]
        spec = dict(type_meta.fields[name])
        if name not in parents:
            raise InvalidArguments(
                f"{name} ({spec.get('alias') or name}) of {type_meta.name} is a "
                f"{spec.get('type')} field, not a relationship field. Relationship fields: "
                + (", ".join(describe(n, s) for n, s in parents.items()) or "none"),
                details={"field": "field", "choices": sorted(parents)},
            )
        if as_int(spec.get("parent_object")) != related.type_id:
            raise InvalidArguments(
                f"{name} ({spec.get('alias') or name}) of {type_meta.name} points at object type "
                f"{spec.get('parent_object')}, not at {related.name} ({related.type_id}).",
                details={"field": "field"},
            )
        return name, spec
    candidates = {
        n: s for n, s in parents.items() if as_int(s.get("parent_object")) == related.type_id
    }
    if not candidates:
        raise InvalidArguments(
            f"{type_meta.name} (type {type_meta.type_id}) has no relationship field pointing at "
            f"{related.name} (type {related.type_id}). Its relationship fields: "
            + (", ".join(describe(n, s) for n, s in parents.items()) or "none")
            + ". get_object_meta shows every field.",
            details={"field": "related_object_type_id", "choices": sorted(parents)},
        )
    if len(candidates) > 1:
        raise InvalidArguments(
            f"{type_meta.name} has {len(candidates)} fields pointing at {related.name}: "
            + ", ".join(describe(n, s) for n, s in candidates.items())
            + ". Pass `field` to pick one.",
            details={"field": "field", "choices": sorted(candidates)},
        )
    name = next(iter(candidates))
    return name, candidates[name]


@override("manage_relationships")
async def manage_relationships(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    type_meta = await resolve_type(ctx, args, default=0)
    check(type_meta.type_id, "update", type_meta.name)
    meta = await ctx.meta()
    related = meta.resolve(int(args["related_object_type_id"]), None)
    if related is None:
        raise InvalidArguments(
            f"Unknown related object type {args['related_object_type_id']}. "
            "list_allowed_object_types lists the types of this account.",
            details={"field": "related_object_type_id"},
        )
    action = args["action"]
    related_id = args.get("related_id")
    if action == "link" and related_id is None:
        raise InvalidArguments(
            "Give `related_id`: the id of the record to link to.", details={"field": "related_id"}
        )
    field, spec = _relationship_field(type_meta, related, args.get("field"))
    if spec.get("editable") is not None and not _truthy(spec.get("editable")):
        raise InvalidArguments(
            f"{field} ({spec.get('alias') or field}) of {type_meta.name} is maintained by "
            "Ontraport and cannot be written.",
            details={"field": "field"},
        )
    record_id_ = int(args["id"])
    record = await get_record(ctx, type_meta.type_id, record_id_)
    current = as_int(record.get(field)) or 0
    alias = spec.get("alias") or field
    if related_id is not None:
        try:
            await get_record(ctx, related.type_id, int(related_id))
        except NotFound:
            raise NotFound(
                f"No {related.name} record with id {related_id} (object type "
                f"{related.type_id}). Nothing was changed.",
                details={"field": "related_id"},
            ) from None
    out: dict[str, Any] = {
        "object_type_id": type_meta.type_id,
        "id": record_id_,
        "field": field,
        "related_object_type_id": related.type_id,
        "action": action,
        "previous_related_id": current,
    }
    if action == "unlink":
        if related_id is not None and current != int(related_id):
            raise Refused(
                f"{type_meta.name} {record_id_}'s {alias} ({field}) points at "
                f"{'nothing' if not current else f'{related.name} {current}'}, not at "
                f"{related.name} {related_id}; nothing was changed.",
                details={"current_related_id": current},
            )
        new_value = 0
    else:
        new_value = int(related_id or 0)
    await ctx.api.update_object(
        body={"objectID": type_meta.type_id, "id": record_id_}, fields={field: new_value}
    )
    out["related_id"] = new_value
    if action == "link":
        out["message"] = (
            f"Linked {type_meta.name} {record_id_} to {related.name} {new_value} through "
            f"{alias} ({field})"
            + (f"; it pointed at {related.name} {current} before." if current else ".")
        )
    else:
        out["message"] = f"Cleared {alias} ({field}) of {type_meta.name} {record_id_}" + (
            f" (it pointed at {related.name} {current})." if current else "; it was not set."
        )
    return out


# ------------------------------------------------------------------------- pause_unpause_objects
PAUSABLE = {140: "automation", 5: "sequence", 6: "rule", 8: "sequence subscriber"}
PAUSE_ALIASES = {
    "automation": 140,
    "automations": 140,
    "campaign": 140,
    "campaigns": 140,
    "campaignbuilder": 140,
    "campaignbuilderitem": 140,
    "campaignbuilderitems": 140,
    "sequencesubscriber": 8,
    "sequencesubscribers": 8,
}


def _pause_type(meta: Any, args: dict[str, Any]) -> TypeMeta:
    type_id = args.get("object_type_id")
    name = args.get("object_type")
    if type_id is None and name:
        key = "".join(ch for ch in str(name).lower() if ch.isalnum())
        type_id = PAUSE_ALIASES.get(key)
        if type_id is not None:
            return meta.require(type_id, None)  # type: ignore[no-any-return]
    if type_id is None and not name:
        raise InvalidArguments(
            "Give `object_type_id`: 140 automations, 5 sequences or 6 rules.",
            details={"field": "object_type_id"},
        )
    type_meta: TypeMeta = meta.require(type_id, None if type_id is not None else name)
    if type_meta.type_id not in PAUSABLE:
        raise InvalidArguments(
            f"{type_meta.name} (type {type_meta.type_id}) cannot be paused. "
            "pause_unpause_objects pauses automations (140), sequences (5) and rules (6); to stop "
            "one contact's automation use manage_subscriptions.",
            details={"field": "object_type_id"},
        )
    return type_meta


def _accepted_ids(body_type: object) -> dict[int, Any]:
    """objectID -> the value as the spec's enum has it, for one pause/unpause body type.

    Read from the generated ``TypedDict`` (the field is ``Required[Literal[...]]``), so the spec
    stays the one source of truth; the values are the ``Literal``'s own, which is what lets the
    type checker accept them in the body."""
    hint = typing.get_type_hints(body_type)["objectID"]  # Required[...] is stripped here
    return {int(value): value for value in typing.get_args(hint)}


PAUSE_IDS = {"pause": _accepted_ids(PauseObjectsBody), "unpause": _accepted_ids(UnpauseObjectsBody)}


def _pause_supported(type_id: int) -> bool:
    """Whether the API can both pause and resume this type (the spec documents its objectID)."""
    return all(type_id in accepted for accepted in PAUSE_IDS.values())


@override("pause_unpause_objects")
async def pause_unpause_objects(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    meta = await ctx.meta()
    type_meta = _pause_type(meta, args)
    type_id = type_meta.type_id
    label = PAUSABLE[type_id]
    action = args["action"]
    ids = [int(i) for i in args["ids"]]
    if not _pause_supported(type_id):
        raise Refused(
            f"This server cannot {action} {label}s (object type {type_id}) yet: Ontraport "
            "documents /objects/pause and /objects/unpause for sequences (5), rules (6) and "
            "sequence subscribers (8) only. Nothing was changed. Pause the automation in "
            "Ontraport's Campaign Builder, or take contacts out with manage_subscriptions.",
            details={"object_type_id": type_id},
        )
    records = await require_existing(ctx, type_meta, ids, what=label)
    want = "1" if action == "pause" else "0"
    already = [record_id(r) for r in records if str(r.get("pause") or "0") == want]
    object_id = PAUSE_IDS[action][type_id]
    if action == "pause":
        await ctx.api.pause_objects(body={"objectID": object_id, "ids": ids})
    else:
        await ctx.api.unpause_objects(body={"objectID": object_id, "ids": ids})
    names = ", ".join(f"{record_id(r)} ({r.get('name') or label})" for r in records)
    verb = "Paused" if action == "pause" else "Resumed"
    message = f"{verb} {len(ids)} {label}(s): {names}."
    if already:
        state = "paused" if action == "pause" else "running"
        message += f" Already {state} before the call: {short_ids(already)}."
    message += (
        " Paused items keep their members but run no steps until resumed."
        if action == "pause"
        else " They continue with their next steps."
    )
    return {"object_type_id": type_id, "action": action, "ids": ids, "message": message}
