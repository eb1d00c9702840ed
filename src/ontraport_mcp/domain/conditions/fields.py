"""Field names: the table built from ``/objects/meta`` and the lookup of what a person types.

Separate because both the readable parser and the JSON validator resolve field names the same
way, and because it is the one stage that knows the object type's meta: exact API names win,
then aliases, then the everyday synonyms of ``FIELD_SYNONYMS``; an unknown name is answered with
the closest known ones. The field type decides how a value is read (see ``values``), through the
category of ``CATEGORY_BY_TYPE``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from ...errors import excerpt
from .limits import ConditionError

FIELD_SYNONYMS: Final[Mapping[str, str]] = MappingProxyType(
    {
        # Everyday words for contact fields whose meta label is different or missing. A synonym
        # applies only when its target field exists in the type's meta and no real field name or
        # alias already claims the same words.
        "lifetime value": "spent",
        "ltv": "spent",
        "total spent": "spent",
        "tags": "contact_cat",
        "tag": "contact_cat",
        "created": "date",
        "created at": "date",
        "date created": "date",
        "date added": "date",
        "last modified": "dlm",
        "modified": "dlm",
        "updated": "dlm",
        "last updated": "dlm",
        "last activity": "dla",
    }
)
"""Human notion -> API field name, kept as data so it can grow without touching the parser."""
CATEGORY_BY_TYPE: Final[Mapping[str, str]] = MappingProxyType(
    {
        "numeric": "number",
        "price": "number",
        "parent": "number",
        "timestamp": "date",
        "fulldate": "date",
        "check": "check",
        "drop": "drop",
        "list": "list",
        "subscription": "subscription",
    }
)
_KEY_SEPARATORS_RE: Final = re.compile(r"[\s_\-]+")


@dataclass(frozen=True)
class FieldInfo:
    """What the parser needs to know about one field of an object type.

    ``options`` maps option id -> label for ``drop`` and ``list`` fields; it is how labels typed
    by a person become the ids the API stores.
    """

    name: str
    alias: str = ""
    type: str = "text"
    options: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


ID_FIELD: Final = FieldInfo(name="id", alias="ID", type="numeric")
"""Every record has an ``id`` although ``/objects/meta`` does not list it."""


class FieldTable(dict[str, FieldInfo]):
    """A plain field dict that also remembers the object type name, for error messages."""

    object_name: str = ""


def fields_from_meta(type_meta: Mapping[str, Any]) -> dict[str, FieldInfo]:
    """Build the field table for one type from its ``/objects/meta`` entry.

    The entry is ``{"name": "Contact", "fields": {"firstname": {"alias": ..., "type": ...}}}``
    (API.md §3.1.8). Real meta is loose (flags as strings, ints or null; ``options`` absent or
    holding merge markup), so anything unexpected is skipped rather than trusted. ``id`` is added
    because every record has one and conditions on it are common, yet meta omits it.
    """
    table = FieldTable()
    name = type_meta.get("name")
    table.object_name = name if isinstance(name, str) else ""
    raw_fields = type_meta.get("fields")
    if isinstance(raw_fields, Mapping):
        for field_name, spec in raw_fields.items():
            if not isinstance(field_name, str) or not isinstance(spec, Mapping):
                continue
            alias = spec.get("alias")
            field_type = spec.get("type")
            raw_options = spec.get("options")
            options: dict[str, str] = {}
            if isinstance(raw_options, Mapping):
                options = {
                    str(key): str(label)
                    for key, label in raw_options.items()
                    if isinstance(label, str | int | float)
                }
            table[field_name] = FieldInfo(
                name=field_name,
                alias=alias if isinstance(alias, str) else "",
                type=field_type if isinstance(field_type, str) else "text",
                options=MappingProxyType(options),
            )
    table.setdefault("id", ID_FIELD)
    return table


def field_key(text: str) -> str:
    """Comparison key for field names: case, spaces, underscores and hyphens do not matter."""
    return _KEY_SEPARATORS_RE.sub("", text.casefold())


def plural(name: str) -> str:
    """'Contact' -> 'Contacts', 'Property' -> 'Properties': only for friendlier messages."""
    if not name or name.endswith("s"):
        return name
    if name.endswith("y") and len(name) > 1 and name[-2].lower() not in "aeiou":
        return name[:-1] + "ies"
    return name + "s"


class FieldIndex:
    """Lookup from anything a person may call a field to its ``FieldInfo``.

    Exact API names win, then comparison keys of names, aliases and synonyms in that order, so a
    synonym can never hide a real field and an alias never hides a real name.
    """

    def __init__(self, fields: Mapping[str, FieldInfo]) -> None:
        self.fields = fields
        object_name = getattr(fields, "object_name", "")
        self.object_label = plural(object_name) if isinstance(object_name, str) else ""
        self.by_key: dict[str, FieldInfo] = {}
        self.display: dict[str, tuple[str, str]] = {}
        infos = list(fields.values())
        for info in infos:
            self._add(info.name, info)
        if "id" not in fields:
            self._add("id", ID_FIELD)
        for info in infos:
            if info.alias:
                self._add(info.alias, info)
        for words, target in FIELD_SYNONYMS.items():
            target_info = fields.get(target)
            if target_info is not None:
                self._add(words, target_info)
        # No run of words longer than these can name a field; field_ref stops scanning there.
        self.longest_key = max(map(len, self.by_key), default=0)
        self.longest_name = max(map(len, [*fields, "id"]))

    def _add(self, label: str, info: FieldInfo) -> None:
        key = field_key(label)
        if key and key not in self.by_key:
            self.by_key[key] = info
            self.display[key] = (label, info.name)

    def lookup(self, text: str) -> FieldInfo | None:
        return self.lookup_span(text, 0, len(text), field_key(text))

    def lookup_span(self, text: str, start: int, end: int, key: str) -> FieldInfo | None:
        """``lookup(text[start:end])`` when ``key`` is already that span's comparison key.

        The span is only copied when it is short enough to be an exact name, so a caller trying
        ever longer spans of one long text does constant work per try.
        """
        if end - start <= self.longest_name:
            span = text[start:end]
            exact = self.fields.get(span)
            if exact is not None:
                return exact
            if span == "id":
                return ID_FIELD
        return self.by_key.get(key)

    def unknown(self, text: str, position: int | None) -> ConditionError:
        """An error naming the closest fields, so the caller can retry without a meta lookup."""
        key = field_key(text)
        close: list[str] = []
        # difflib's ratio cannot reach the 0.6 cutoff for a key over 7/3 times the longest known
        # key, so skipping it changes nothing except that a huge name costs no quadratic work.
        if len(key) <= 3 * self.longest_key:
            close = difflib.get_close_matches(key, list(self.by_key), n=8, cutoff=0.6)
        names: list[str] = []
        shown: list[str] = []
        for key in close:
            label, name = self.display[key]
            if name in names:
                continue
            names.append(name)
            shown.append(f'"{label}"' if label == name else f'"{label}" ({name})')
            if len(names) == 3:
                break
        where = f" for {self.object_label}" if self.object_label else ""
        hint = f" Did you mean: {', '.join(shown)}?" if shown else ""
        return ConditionError(
            f"Unknown field {clip(text)}{where}.{hint} Use get_object_meta to list fields.",
            position=position,
            choices=names,
        )


def describe_field(info: FieldInfo) -> str:
    return f"{info.alias} ({info.name})" if info.alias and info.alias != info.name else info.name


def clip(text: str) -> str:
    """``text`` cut short and in double quotes, as messages show values."""
    return f'"{excerpt(text)}"'


def category_of(info: FieldInfo) -> str:
    return CATEGORY_BY_TYPE.get(info.type, "text")
