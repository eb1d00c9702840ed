"""Tag, sequence and automation membership kept in sync with the ``*/*`` fields and join objects.

* tags: ``contact_cat`` on the record  <->  Tag Subscriber (138) rows
* sequences: ``updateSequence``        <->  Sequence Subscriber (8) rows, Sequence.subscribers
* automations: ``updateCampaign``      <->  CampaignBuilder (140) subs/subs_ever, Automation log (100)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .clock import now
from .errors import bad
from .store import Store, TypeInfo

LIST_FIELDS = ("contact_cat", "updateSequence", "updateCampaign")


def parse_list(value: str | None) -> list[str]:
    if not value:
        return []
    return [p for p in value.split("*/*") if p != ""]


def format_list(items: Iterable[Any]) -> str | None:
    parts = [str(i) for i in items]
    if not parts:
        return None
    return "*/*" + "*/*".join(parts) + "*/*"


def require_field(ti: TypeInfo, field: str, what: str) -> None:
    if field not in ti.fields:
        raise bad(f"Object type {ti.id} ({ti.name}) does not support {what}")


def check_ids_exist(store: Store, type_id: int, ids: list[int], what: str) -> None:
    for i in ids:
        if not store.exists(type_id, i):
            raise bad(f"{what} {i} does not exist")


# ---------------------------------------------------------------------------- tags
def set_tags(
    store: Store, ti: TypeInfo, rid: int, add: Iterable[int] = (), remove: Iterable[int] = ()
) -> bool:
    rec = store.get(ti.id, rid)
    if rec is None:
        return False
    current = parse_list(rec.get("contact_cat"))
    new = list(current)
    ts = str(now())
    changed = False
    for t in add:
        if str(t) not in new:
            new.append(str(t))
            store.insert(138, {"object_id": rid, "object_type_id": ti.id, "tag_id": t, "date": ts})
            changed = True
    for t in remove:
        if str(t) in new:
            new.remove(str(t))
            store.delete_where(
                138,
                "CAST(object_id AS INTEGER)=? AND CAST(object_type_id AS INTEGER)=? AND "
                "CAST(tag_id AS INTEGER)=?",
                [rid, ti.id, int(t)],
            )
            changed = True
    if changed:
        vals: dict[str, Any] = {"contact_cat": format_list(new)}
        if "dlm" in ti.fields:
            vals["dlm"] = ts
        store.update(ti.id, rid, vals)
    return changed


def sync_tag_field(store: Store, ti: TypeInfo, rid: int, old: str | None, new: str | None) -> None:
    """A direct write of ``contact_cat`` replaces the set; mirror the difference into 138 rows."""
    o, n = set(parse_list(old)), set(parse_list(new))
    ts = str(now())
    for t in n - o:
        if t.isascii() and t.isdigit():
            store.insert(138, {"object_id": rid, "object_type_id": ti.id, "tag_id": t, "date": ts})
    for t in o - n:
        if t.isascii() and t.isdigit():
            store.delete_where(
                138,
                "CAST(object_id AS INTEGER)=? AND CAST(object_type_id AS INTEGER)=? AND "
                "CAST(tag_id AS INTEGER)=?",
                [rid, ti.id, int(t)],
            )


# ---------------------------------------------------------------------------- sequences
def _refresh_sequence_count(store: Store, seq_id: int) -> None:
    if store.exists(5, seq_id):
        n = store.count(8, "CAST(drip_id AS INTEGER)=?", [seq_id])
        store.update(5, seq_id, {"subscribers": n})


def set_sequences(
    store: Store, ti: TypeInfo, rid: int, add: Iterable[int] = (), remove: Iterable[int] = ()
) -> bool:
    rec = store.get(ti.id, rid)
    if rec is None:
        return False
    current = parse_list(rec.get("updateSequence"))
    new = list(current)
    ts = now()
    touched: set[int] = set()
    for s in add:
        if str(s) not in new:
            new.append(str(s))
            store.insert(
                8,
                {
                    "contact_id": rid,
                    "drip_id": s,
                    "object_type_id": ti.id,
                    "step_num": 1,
                    "subscribe_date": ts,
                    "next_step_date": ts + 86400,
                    "pause": "0",
                },
            )
            touched.add(int(s))
    for s in remove:
        if str(s) in new:
            new.remove(str(s))
            store.delete_where(
                8,
                "CAST(contact_id AS INTEGER)=? AND CAST(object_type_id AS INTEGER)=? AND "
                "CAST(drip_id AS INTEGER)=?",
                [rid, ti.id, int(s)],
            )
            touched.add(int(s))
    if touched:
        vals: dict[str, Any] = {"updateSequence": format_list(new)}
        if "dlm" in ti.fields:
            vals["dlm"] = ts
        store.update(ti.id, rid, vals)
        for s in touched:
            _refresh_sequence_count(store, s)
    return bool(touched)


def sync_sequence_field(
    store: Store, ti: TypeInfo, rid: int, old: str | None, new: str | None
) -> None:
    o, n = set(parse_list(old)), set(parse_list(new))
    ts = now()
    for s in n - o:
        if s.isascii() and s.isdigit():
            store.insert(
                8,
                {
                    "contact_id": rid,
                    "drip_id": s,
                    "object_type_id": ti.id,
                    "step_num": 1,
                    "subscribe_date": ts,
                    "next_step_date": ts + 86400,
                    "pause": "0",
                },
            )
    for s in o - n:
        if s.isascii() and s.isdigit():
            store.delete_where(
                8,
                "CAST(contact_id AS INTEGER)=? AND CAST(object_type_id AS INTEGER)=? AND "
                "CAST(drip_id AS INTEGER)=?",
                [rid, ti.id, int(s)],
            )
    for s in n ^ o:
        if s.isascii() and s.isdigit():
            _refresh_sequence_count(store, int(s))


# ---------------------------------------------------------------------------- automations (140)
def _refresh_campaign_count(store: Store, camp_id: int, added: int = 0) -> None:
    rec = store.get(140, camp_id)
    if rec is None:
        return
    like = f"%*/*{camp_id}*/*%"
    subs = 0
    for tid, ti in store.types.items():
        if "updateCampaign" in ti.fields:
            subs += store.count(tid, "updateCampaign LIKE ?", [like])
    ever = int(rec.get("subs_ever") or 0) + added
    store.update(140, camp_id, {"subs": subs, "subs_ever": max(ever, subs)})


def set_campaigns(
    store: Store, ti: TypeInfo, rid: int, add: Iterable[int] = (), remove: Iterable[int] = ()
) -> bool:
    rec = store.get(ti.id, rid)
    if rec is None:
        return False
    new = parse_list(rec.get("updateCampaign"))
    ts = now()
    added: set[int] = set()
    removed: set[int] = set()
    for c in add:
        if str(c) not in new:
            new.append(str(c))
            added.add(int(c))
    for c in remove:
        if str(c) in new:
            new.remove(str(c))
            removed.add(int(c))
    if not added and not removed:
        return False
    vals: dict[str, Any] = {"updateCampaign": format_list(new)}
    if "dlm" in ti.fields:
        vals["dlm"] = ts
    store.update(ti.id, rid, vals)
    for c in added | removed:
        camp = store.get(140, c) or {}
        verb = "Added to" if c in added else "Removed from"
        store.insert(
            100,
            {
                "contact_id": rid if ti.id == 0 else None,
                "object_type_id": ti.id,
                "object_id": rid,
                "campaign_id": c,
                "description": f"{verb} automation: {camp.get('name') or c}",
                "date": ts,
            },
        )
        _refresh_campaign_count(store, c, 1 if c in added else 0)
    return True


def sync_campaign_field(
    store: Store, ti: TypeInfo, rid: int, old: str | None, new: str | None
) -> None:
    o, n = set(parse_list(old)), set(parse_list(new))
    for c in n ^ o:
        if c.isascii() and c.isdigit():
            _refresh_campaign_count(store, int(c), 1 if c in n else 0)


def purge_record(store: Store, ti: TypeInfo, rids: list[int]) -> None:
    """Remove membership rows of records that are being deleted."""
    if not rids:
        return
    marks = ",".join("?" * len(rids))
    store.delete_where(
        138,
        f"CAST(object_type_id AS INTEGER)=? AND CAST(object_id AS INTEGER) IN ({marks})",
        [ti.id, *rids],
    )
    seqs = [
        r[0]
        for r in store.conn.execute(
            f"SELECT DISTINCT CAST(drip_id AS INTEGER) FROM o_8 WHERE CAST(object_type_id AS INTEGER)=? AND "
            f"CAST(contact_id AS INTEGER) IN ({marks})",
            [ti.id, *rids],
        )
    ]
    store.delete_where(
        8,
        f"CAST(object_type_id AS INTEGER)=? AND CAST(contact_id AS INTEGER) IN ({marks})",
        [ti.id, *rids],
    )
    for s in seqs:
        _refresh_sequence_count(store, s)
