"""Static knowledge about object types: the meta snapshot, aliases, access rules, hidden columns.

The field lists come from the project's own snapshot ``openapi/objects_meta.json`` (read once per
process).  Columns that the sandbox stores but that are not in the meta ("hidden" columns, e.g. a
Group's ``condition`` or a card's ``decline`` flag) are declared in ``HIDDEN_COLUMNS``.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import json
from collections.abc import Mapping
from typing import Any

# Field types whose values are numbers (compared and sorted numerically).
NUMERIC_TYPES = frozenset({"numeric", "price", "timestamp", "fulldate", "parent", "check"})
# Field types searched by the free-text ``search`` parameter.
TEXT_TYPES = frozenset(
    {"text", "longtext", "email", "phone", "sms", "url", "address", "state", "country"}
)
# Multi-value fields stored as ``*/*1*/*2*/*``.
LIST_TYPES = frozenset({"list", "subscription"})
# Types the field editor may create (API.md §3.1.17).
CREATABLE_FIELD_TYPES = frozenset(
    {
        "check",
        "country",
        "fulldate",
        "list",
        "longtext",
        "numeric",
        "price",
        "phone",
        "state",
        "drop",
        "text",
        "email",
        "sms",
        "address",
    }
)

# type id -> (singular alias, plural alias)
ALIASES: dict[int, tuple[str, str]] = {
    0: ("Contact", "Contacts"),
    1: ("Task", "Tasks"),
    2: ("User", "Users"),
    3: ("Group", "Groups"),
    6: ("Rule", "Rules"),
    7: ("Message", "Messages"),
    12: ("Note", "Notes"),
    14: ("Tag", "Tags"),
    16: ("Product", "Products"),
    17: ("Purchase", "Purchases"),
    20: ("LandingPage", "LandingPages"),
    30: ("PurchaseHistoryLog", "PurchaseHistoryLogs"),
    35: ("PartnerProgram", "PartnerPrograms"),
    36: ("Partner", "Partners"),
    38: ("Commission", "Commissions"),
    44: ("OpenOrder", "OpenOrders"),
    45: ("CreditCard", "CreditCards"),
    46: ("Transaction", "Transactions"),
    52: ("Order", "Orders"),
    65: ("Offer", "Offers"),
    138: ("TagSubscriber", "TagSubscribers"),
    140: ("CampaignBuilderItem", "CampaignBuilderItems"),
    149: ("Deal", "Deals"),
    150: ("Company", "Companies"),
}
EXTRA_PLURALS: dict[str, int] = {"Invoices": 46}

# What the generic create/update/delete endpoints may do per type (AE access table). Reads are
# always allowed.  Custom objects (>= 10000) get everything.
FULL = frozenset({"create", "update", "delete"})
ACCESS: dict[int, frozenset[str]] = {
    0: FULL,
    6: FULL,
    12: FULL,
    14: FULL,
    16: FULL,
    149: FULL,
    150: FULL,
    1: frozenset({"update"}),
    3: frozenset({"delete"}),
    7: frozenset({"delete"}),
    52: frozenset({"delete"}),
    65: frozenset({"create", "update"}),
}


def access(type_id: int) -> frozenset[str]:
    if type_id >= 10000:
        return FULL
    return ACCESS.get(type_id, frozenset())


# Primary-key column per type (tags are keyed by ``tag_id`` in API output).
KEY_COLUMN: dict[int, str] = {14: "tag_id"}

# Stored columns that are not part of /objects/meta.  Values are strings or null like any field.
HIDDEN_COLUMNS: dict[int, list[str]] = {
    3: ["condition"],  # JSON condition (API.md §1.8) describing the group's members
    7: [
        "message_body",
        "plaintext",
        "send_from",
        "send_to",
        "task_data",
        "due_date",
        "task_owner",
        "task_form",
        "resource",
        "email_title",
    ],
    45: ["decline"],  # sandbox: "1" = every charge on this card is declined by the gateway
    46: ["due_date", "customer_note", "internal_note", "total_paid", "send_invoice"],
    52: ["orig_month_date", "order_form_json"],
}

# Types that are served but are not in the meta snapshot (read-only).
BUILTIN_TYPES: dict[int, dict[str, Any]] = {
    2: {
        "name": "User",
        "fields": {
            "firstname": {"alias": "First Name", "type": "text"},
            "lastname": {"alias": "Last Name", "type": "text"},
            "email": {"alias": "Email", "type": "email"},
            "role": {"alias": "Role", "type": "text"},
            "date": {"alias": "Date Added", "type": "timestamp"},
        },
    },
}

# Default list-view columns reported by getInfo.
DEFAULT_LIST_FIELDS: dict[int, list[str]] = {
    0: ["firstname", "lastname", "email", "office_phone", "date", "grade", "dla"],
    1: [
        "owner",
        "subject",
        "status",
        "date_assigned",
        "date_due",
        "date_complete",
        "call_outcome_id",
        "contact_id",
    ],
    20: [
        "name",
        "domain",
        "lpsent",
        "unique_lpsent",
        "lpconvert",
        "unique_lpconvert",
        "date",
        "dlm",
    ],
    46: ["date", "contact_name", "status", "total", "offer_data"],
    140: ["name", "state", "date", "dlm", "subs", "subs_ever", "element_num", "todos"],
}

SYSTEM_FIELDS_CUSTOM = [
    ("owner", {"alias": "Owner", "type": "parent", "parent_object": "2", "editable": "1"}),
    ("date", {"alias": "Date Added", "type": "timestamp"}),
    ("dla", {"alias": "Date of Last Activity", "type": "timestamp"}),
    ("dlm", {"alias": "Date Modified", "type": "timestamp"}),
    ("unique_id", {"alias": "Unique ID", "type": "text", "unique": "1"}),
    ("system_source", {"alias": "System Source", "type": "numeric"}),
    ("source_location", {"alias": "Source Location", "type": "text"}),
    ("import_id", {"alias": "Import ID", "type": "numeric"}),
    ("ip_addy_display", {"alias": "IP Address", "type": "text"}),
    ("contact_cat", {"alias": "Tags", "type": "subscription", "editable": "1"}),
    ("updateSequence", {"alias": "Sequences", "type": "subscription", "editable": "1"}),
    ("updateCampaign", {"alias": "Automations", "type": "subscription", "editable": "1"}),
]

SYNTHETIC_NOUNS = [
    "Membership",
    "Course",
    "Event",
    "Ticket",
    "Location",
    "Project",
    "Subscription",
    "Asset",
    "Contract",
    "Lesson",
    "Booking",
    "Invoice Note",
    "Donation",
    "Campaign Site",
    "Warehouse",
    "Shipment",
    "Room",
    "Class",
    "License",
    "Device",
]


@functools.lru_cache(maxsize=1)
def _snapshot_text() -> str:
    ref = importlib.resources.files("ontraport_mcp.openapi") / "objects_meta.json"
    return ref.read_text(encoding="utf-8")


def snapshot() -> dict[str, Any]:
    """The ``data`` map of the meta snapshot (a fresh deep copy)."""
    return copy.deepcopy(json.loads(_snapshot_text())["data"])


def _field(meta: dict[str, Any]) -> dict[str, Any]:
    out = {
        "alias": meta.get("alias", ""),
        "type": meta.get("type", "text"),
        "required": "0",
        "unique": "0",
        "editable": "0",
        "deletable": "0",
    }
    for key in ("required", "unique", "editable", "deletable"):
        if key in meta:
            out[key] = meta[key]
    if "options" in meta:
        out["options"] = meta["options"]
    if "parent_object" in meta:
        out["parent_object"] = meta["parent_object"]
    return out


CUSTOM_TYPES_FROM = 10000  # Ontraport numbers custom object types from 10000 up
SYNTHETIC_OPTIONS_FROM = 9000  # the least option id of a synthetic drop field


def _field_numbers(data: Mapping[str, Any]) -> list[int]:
    """The numbers of every ``f<number>`` field of a meta ``data`` map."""
    return [
        int(name[1:])
        for entry in data.values()
        for name in entry["fields"]
        if name[:1] == "f" and name[1:].isdigit()
    ]


def _option_ids(data: Mapping[str, Any]) -> list[int]:
    return [
        int(option)
        for entry in data.values()
        for meta in entry["fields"].values()
        for option in meta.get("options") or {}
        if str(option).isdigit()
    ]


def first_synthetic_type_id(data: Mapping[str, Any] | None = None) -> int:
    """The id of the first synthetic custom object: above every type of the snapshot, so that
    synthetic types are only ever added (a snapshot refreshed from an account with more custom
    objects keeps every one of them; ``data.update`` would otherwise replace some)."""
    taken = snapshot() if data is None else data
    return max([CUSTOM_TYPES_FROM - 1, *(int(type_id) for type_id in taken)]) + 1


def _round_up_above(numbers: list[int], step: int, least: int = 0) -> int:
    """The first multiple of ``step`` above every number (and at least ``least``)."""
    return max(least, (max(numbers, default=0) // step + 1) * step)


def synthetic_types(count: int, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``count`` extra custom object types in meta shape (deterministic), numbered above every
    type, field and option id of the snapshot ``data`` (default: ``openapi/objects_meta.json``)."""
    taken = snapshot() if data is None else data
    first_type = first_synthetic_type_id(taken)
    first_field_no = _round_up_above(_field_numbers(taken), 100)
    first_option = _round_up_above(_option_ids(taken), 1000, SYNTHETIC_OPTIONS_FROM)
    out: dict[str, Any] = {}
    for i in range(count):
        type_id = first_type + i
        noun = SYNTHETIC_NOUNS[i % len(SYNTHETIC_NOUNS)]
        name = noun.replace(" ", "") + (
            "" if i < len(SYNTHETIC_NOUNS) else str(i // len(SYNTHETIC_NOUNS) + 1)
        )
        base = first_field_no + i * 10
        fields: dict[str, Any] = {
            f"f{base}": _field(
                {
                    "alias": f"{noun} Name",
                    "type": "text",
                    "required": "1",
                    "editable": "1",
                    "deletable": "1",
                }
            ),
            f"f{base + 1}": _field(
                {
                    "alias": "Status",
                    "type": "drop",
                    "editable": "1",
                    "deletable": "1",
                    "options": {
                        str(first_option + i * 10 + 1): "Active",
                        str(first_option + i * 10 + 2): "Inactive",
                    },
                }
            ),
            f"f{base + 2}": _field(
                {"alias": "Amount", "type": "price", "editable": "1", "deletable": "1"}
            ),
            f"f{base + 3}": _field(
                {
                    "alias": "Related Contact",
                    "type": "parent",
                    "editable": "1",
                    "deletable": "1",
                    "parent_object": "0",
                }
            ),
        }
        for fname, meta in SYSTEM_FIELDS_CUSTOM:
            fields[fname] = _field(meta)
        out[str(type_id)] = {"name": name, "fields": fields}
    return out


def initial_meta(custom_objects: int = 0) -> dict[str, Any]:
    """Snapshot plus synthetic custom objects, normalised so every field has all flag keys."""
    data = snapshot()
    data.update(synthetic_types(custom_objects, data))
    out: dict[str, Any] = {}
    for type_id, entry in data.items():
        out[type_id] = {
            "name": entry["name"],
            "fields": {k: _field(v) for k, v in entry["fields"].items()},
        }
    return out
