"""Generic record writes: value validation, defaults, create/update/delete with their side effects."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from . import catalog, membership, tasks_logic
from .clock import now
from .errors import ApiError, bad
from .store import NUM_RE, Store, TypeInfo, q

EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
PROTECTED = frozenset({"dlm", "unique_id"})
INTEGER_TYPES = frozenset({"parent", "timestamp", "fulldate"})
INT_RE = re.compile(r"^-?[0-9]{1,18}$")
MAX_VALUE_LEN = 65535


def valid_email(value: str) -> bool:
    return len(value) <= 254 and EMAIL_RE.match(value) is not None


def unique_id(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()[:10].upper()


def normalize(ti: TypeInfo, name: str, value: Any) -> str | None:
    """Validate one incoming field value and return its stored (string) form."""
    f = ti.fields[name]
    if value is None:
        return None
    if isinstance(value, dict):
        raise bad(f"Field '{name}' must be a scalar value")
    if isinstance(value, list):
        if f.type not in catalog.LIST_TYPES:
            raise bad(f"Field '{name}' must be a scalar value")
        items = []
        for v in value:
            if isinstance(v, (dict, list)) or v is None:
                raise bad(f"Field '{name}' must be a list of option ids")
            items.append(str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
        value = membership.format_list(items) or ""
    if isinstance(value, bool):
        value = "1" if value else "0"
    if isinstance(value, float):
        value = str(int(value)) if value.is_integer() else repr(value)
    s = str(value)
    if len(s) > MAX_VALUE_LEN:
        raise bad(f"Field '{name}' is too long")
    if s == "":
        return s
    if f.type in catalog.NUMERIC_TYPES:
        if not NUM_RE.match(s):
            raise bad(f"Field '{name}' ({f.alias}) expects a number, got {s[:40]!r}")
        s = s.strip()
        if f.type == "check" and s not in ("0", "1"):
            raise bad(f"Field '{name}' ({f.alias}) expects 0 or 1")
        if (f.type in INTEGER_TYPES or name.endswith("_id")) and not INT_RE.match(s):
            raise bad(f"Field '{name}' ({f.alias}) expects a whole number, got {s[:40]!r}")
    elif f.type == "email":
        if not valid_email(s.strip()):
            raise ApiError(
                422, f"Field '{name}' ({f.alias}) is not a valid email address: {s[:80]!r}"
            )
        s = s.strip()
    elif f.type == "drop" and f.options:
        if s not in f.options:
            raise bad(
                f"Field '{name}' ({f.alias}) must be one of the option ids {sorted(f.options)}"
            )
    elif f.type in catalog.LIST_TYPES:
        items = (
            membership.parse_list(s)
            if "*/*" in s
            else [p.strip() for p in s.split(",") if p.strip()]
        )
        if f.type == "list" and f.options:
            bad_items = [i for i in items if i not in f.options]
            if bad_items:
                raise bad(f"Field '{name}' ({f.alias}) has unknown option ids {bad_items}")
        if f.type == "subscription" and any(not (i.isascii() and i.isdigit()) for i in items):
            raise bad(f"Field '{name}' ({f.alias}) must hold numeric ids")
        s = membership.format_list(items) or ""
    return s


def writable_values(
    ti: TypeInfo, raw: dict[str, Any], *, skip: frozenset[str] = frozenset()
) -> dict[str, str | None]:
    """Keep the known, writable fields of ``raw`` (unknown names are ignored like the real API)."""
    out: dict[str, str | None] = {}
    for name, value in raw.items():
        if (
            name in skip
            or name == ti.key
            or name == "id"
            or name in PROTECTED
            or name not in ti.fields
        ):
            continue
        out[name] = normalize(ti, name, value)
    return out


def check_unique(
    store: Store, ti: TypeInfo, values: dict[str, Any], exclude_id: int | None = None
) -> None:
    for name, value in values.items():
        f = ti.fields.get(name)
        if f is None or str(f.unique) != "1" or name == "unique_id" or value in (None, ""):
            continue
        where = f"{q(name)} = ? COLLATE NOCASE"
        params: list[Any] = [value]
        if ti.id == 14:
            where += " AND COALESCE(object_type_id,'0') = ?"
            params.append(values.get("object_type_id") or "0")
        if exclude_id is not None:
            where += f" AND {q(ti.key)} <> ?"
            params.append(exclude_id)
        if store.count(ti.id, where, params):
            raise bad(f"A {ti.name} with {name} {value!r} already exists")


def create(
    store: Store, ti: TypeInfo, raw: dict[str, Any], *, check_access: bool = True
) -> tuple[int, dict[str, Any]]:
    """Create a record; returns (id, response data: the submitted fields plus id, owner and defaults)."""
    if check_access and "create" not in catalog.access(ti.id):
        raise bad(
            f"Records of object type {ti.id} ({ti.name}) cannot be created through this endpoint"
        )
    values = writable_values(ti, raw)
    missing = [
        n for n, f in ti.fields.items() if str(f.required) == "1" and values.get(n) in (None, "")
    ]
    if missing:
        raise bad(f"Missing required field(s) for {ti.name}: {', '.join(missing)}")
    if ti.id == 14 and values.get("object_type_id") in (None, ""):
        values["object_type_id"] = "0"
    check_unique(store, ti, values)
    ts = str(now())
    defaults: dict[str, Any] = {}
    if "owner" in ti.fields and values.get("owner") in (None, ""):
        defaults["owner"] = "1"
    for name in ("date", "dlm", "dla"):
        if name in ti.fields and values.get(name) in (None, ""):
            defaults[name] = ts
    if (
        "object_type_id" in ti.fields
        and ti.id in (3, 12)
        and values.get("object_type_id") in (None, "")
    ):
        defaults["object_type_id"] = "0"
    record = {**values, **defaults}
    rid = store.insert(ti.id, record)
    if "unique_id" in ti.fields:
        record["unique_id"] = unique_id(f"{ti.id}:{rid}:{ts}")
        store.update(ti.id, rid, {"unique_id": record["unique_id"]})
    if values.get("contact_cat"):
        membership.sync_tag_field(store, ti, rid, None, values["contact_cat"])
    if values.get("updateSequence"):
        membership.sync_sequence_field(store, ti, rid, None, values["updateSequence"])
    if values.get("updateCampaign"):
        membership.sync_campaign_field(store, ti, rid, None, values["updateCampaign"])
    data: dict[str, Any] = dict(values)
    if ti.id == 0:
        data["use_utm_names"] = "false"
    data[ti.key] = str(rid)
    if "owner" in record:
        data["owner"] = record["owner"]
    for k, v in record.items():
        if k not in data and v is not None:
            data[k] = v
    return rid, data


def update(
    store: Store,
    ti: TypeInfo,
    rid: int,
    raw: dict[str, Any],
    *,
    ignore_blanks: bool = False,
    check_access: bool = True,
) -> dict[str, Any]:
    """Apply changed fields; returns the ``attrs`` map (changed fields + dlm + id)."""
    if check_access and "update" not in catalog.access(ti.id):
        raise bad(
            f"Records of object type {ti.id} ({ti.name}) cannot be updated through this endpoint"
        )
    current = store.get(ti.id, rid)
    if current is None:
        raise ApiError(404, f"No {ti.name} record with id {rid}")
    values = writable_values(ti, raw)
    if ignore_blanks:
        values = {k: v for k, v in values.items() if v != ""}
    changed = {k: v for k, v in values.items() if current.get(k) != v}
    check_unique(store, ti, changed, exclude_id=rid)
    if ti.id == 1 and "status" in changed:
        changed.update(tasks_logic.status_change(current, changed["status"]))
    attrs: dict[str, Any] = dict(changed)
    if "dlm" in ti.fields:
        attrs["dlm"] = str(now())
    if changed or "dlm" in attrs:
        store.update(ti.id, rid, attrs)
    if "contact_cat" in changed:
        membership.sync_tag_field(
            store, ti, rid, current.get("contact_cat"), changed["contact_cat"]
        )
    if "updateSequence" in changed:
        membership.sync_sequence_field(
            store, ti, rid, current.get("updateSequence"), changed["updateSequence"]
        )
    if "updateCampaign" in changed:
        membership.sync_campaign_field(
            store, ti, rid, current.get("updateCampaign"), changed["updateCampaign"]
        )
    attrs[ti.key if ti.key != "tag_id" else "id"] = str(rid)
    return attrs


def delete(store: Store, ti: TypeInfo, rids: list[int], *, check_access: bool = True) -> int:
    if check_access and "delete" not in catalog.access(ti.id):
        raise bad(
            f"Records of object type {ti.id} ({ti.name}) cannot be deleted through this endpoint"
        )
    if not rids:
        return 0
    membership.purge_record(store, ti, rids)
    marks = ",".join("?" * len(rids))
    if ti.id == 14:
        for tag_id in rids:
            holders = store.select_ids(138, "CAST(tag_id AS INTEGER)=?", [tag_id])
            for row in store.select(
                138, f"{q('object_id')} IS NOT NULL AND CAST(tag_id AS INTEGER)=?", [tag_id]
            ):
                tti = store.types.get(int(row["object_type_id"] or 0))
                if tti is not None:
                    membership.set_tags(store, tti, int(row["object_id"]), remove=[tag_id])
            store.delete(138, holders)
    if ti.id == 52:
        store.delete_where(44, f"CAST(order_id AS INTEGER) IN ({marks})", rids)
    if ti.id == 7:
        store.delete_where(66, f"CAST(item_id AS INTEGER) IN ({marks})", rids)
    return store.delete(ti.id, rids)
