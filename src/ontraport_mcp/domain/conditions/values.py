"""What a typed value means for a field of a given type, in the form the API stores.

Separate because value typing is a table of field types and representations, independent of
the syntax a value came in: numbers for ``numeric``/``price``/``parent``/``id``, epoch seconds
for dates (through ``ontraport_mcp.domain.dates``, the parser every date argument uses), option
ids for ``drop`` and ``list`` labels, ``"1"``/``"0"`` for checkboxes, tag ids for ``contact_cat``,
and text as written otherwise.

Representations chosen where the sources disagree or are silent (API.md §1.8 marks them
unconfirmed), made here by ``null_clause``:

* ``IS NULL``      -> ``{"field": {"field": f}, "op": "IS", "value": "NULL"}`` (bare ``"NULL"``,
  as three independent clients send it).
* ``IS NOT NULL``  -> ``{"field": {"field": f}, "op": "<>", "value": {"value": ""}}``. No source
  shows an ``IS NOT`` operator and the SDK validator rejects it, while ``<>`` is accepted. Under
  SQL semantics this is true only for values that are neither NULL nor empty, which is what "has
  a value" means for Ontraport, whose records store unset text as ``""`` and unset dates as 0.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final

from ..dates import DATE_CHOICES, DATE_FORMS_TEXT, date_hint, parse_date
from .fields import FieldInfo, clip, describe_field
from .limits import ConditionError

CHECK_VALUES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "true": "1",
        "yes": "1",
        "on": "1",
        "checked": "1",
        "1": "1",
        "false": "0",
        "no": "0",
        "off": "0",
        "unchecked": "0",
        "0": "0",
    }
)
NUMBER_RE: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
INTEGER_RE: Final = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True, slots=True)
class RawValue:
    """A value as typed, before the field type gives it meaning."""

    text: str
    quoted: bool
    start: int


def typed_value(info: FieldInfo, category: str, raw: RawValue, now: datetime) -> str | int | float:
    """Give a typed value the representation the API stores for this field type."""
    if category == "number":
        number = to_number(raw.text.strip())
        if number is None:
            raise ConditionError(
                f"{describe_field(info)} holds numbers; {clip(raw.text)} is not a number.",
                position=raw.start,
            )
        return number
    if category == "date":
        epoch = parse_date(raw.text, now)
        if epoch is None:
            raise ConditionError(
                f"{clip(raw.text)} is not a date {describe_field(info)} understands."
                f"{date_hint(raw.text)} Use {DATE_FORMS_TEXT}.",
                position=raw.start,
                choices=DATE_CHOICES,
            )
        return epoch
    if category == "check":
        flag = CHECK_VALUES.get(raw.text.strip().casefold())
        if flag is None:
            raise ConditionError(
                f"{describe_field(info)} is a checkbox; use true or false, not {clip(raw.text)}.",
                position=raw.start,
                choices=("true", "false"),
            )
        return flag
    if category in ("drop", "list"):
        return resolve_option(info, raw)
    return raw.text


def member_value(
    info: FieldInfo, category: str, raw: RawValue, tag_ids: Mapping[str, int]
) -> str | int | float:
    """The id to look for inside a ``*/*`` multi-value field (API.md §1.9)."""
    if category == "list":
        return resolve_option(info, raw)
    text = raw.text.strip()
    if INTEGER_RE.fullmatch(text):
        number = to_number(text)
        if number is not None:
            return number
    if info.name == "contact_cat":
        wanted = text.casefold()
        for tag_name, tag_id in tag_ids.items():
            if tag_name.casefold() == wanted:
                return tag_id
        close = difflib.get_close_matches(text, list(tag_ids), n=3, cutoff=0.6)
        hint = f" Known tags like it: {', '.join(close)}." if close else ""
        raise ConditionError(
            f"Tag {clip(text)} cannot be resolved to an id here.{hint} Use the tag id (e.g. "
            "tags contains 12); find it with the manage_tags tool or get_objects on Tags "
            "(object type 14).",
            position=raw.start,
            choices=close,
        )
    raise ConditionError(
        f"{describe_field(info)} holds ids; {clip(text)} is not one. Use the numeric id "
        "(list them with get_objects).",
        position=raw.start,
    )


def null_clause(info: FieldInfo, *, negate: bool) -> dict[str, Any]:
    if negate:
        return {"field": {"field": info.name}, "op": "<>", "value": {"value": ""}}
    return {"field": {"field": info.name}, "op": "IS", "value": "NULL"}


def _id_value(option_id: str) -> str | int:
    """Option ids are numeric strings in meta; send them as numbers like other ids."""
    if INTEGER_RE.fullmatch(option_id) and len(option_id) < 19:
        return int(option_id)
    return option_id


def resolve_option(info: FieldInfo, raw: RawValue) -> str | int | float:
    text = raw.text.strip()
    if text in info.options:
        return _id_value(text)
    wanted = " ".join(text.casefold().split())
    for option_id, label in info.options.items():
        if " ".join(label.casefold().split()) == wanted:
            return _id_value(option_id)
    if not info.options:
        # Meta without options (some system drops): pass the value through unchanged.
        number = to_number(text) if INTEGER_RE.fullmatch(text) else None
        return number if number is not None else text
    labels = list(info.options.values())
    close = difflib.get_close_matches(text, labels, n=3, cutoff=0.5)
    ranked = close + [label for label in labels if label not in close]
    listed = ", ".join(f'"{label}" ({oid})' for oid, label in list(info.options.items())[:12])
    more = ", ..." if len(info.options) > 12 else ""
    hint = " Did you mean: " + ", ".join(f'"{c}"' for c in close) + "?" if close else ""
    raise ConditionError(
        f"{clip(text)} is not an option of {describe_field(info)}.{hint} "
        f"Use an option label or id: {listed}{more}.",
        position=raw.start,
        choices=ranked,
    )


def to_number(text: str) -> int | float | None:
    if not NUMBER_RE.fullmatch(text):
        return None
    try:
        if any(ch in text for ch in ".eE"):
            number = float(text)
            return number if math.isfinite(number) else None
        return int(text)
    except ValueError:  # e.g. more digits than int() accepts from a string
        return None
