"""A quick, conservative check of tool arguments: "certainly valid", or "ask jsonschema".

Why: every ``tools/call`` validates its arguments against the tool's input schema, and
``jsonschema``'s general machinery (a validator object per nested schema, a generator per
keyword) was about a tenth of the server's CPU per call (``make bench`` profile).  The schemas
of our tools use a small set of keywords, so each one is compiled here, once, into plain Python
closures.

The contract is one-sided, which is what makes it safe:

* ``compile_check(schema)`` returns ``None`` when the schema uses anything outside ``KEYWORDS``
  (or ``ANNOTATIONS``, which assert nothing): such a schema is always checked by ``jsonschema``.
* A compiled check returns ``True`` only when ``jsonschema``'s Draft 2020-12 validator would
  surely accept the value.  ``False`` means "not sure": the caller then runs ``jsonschema``, which
  decides and words the error.  So wherever the two could differ (a float where an integer is
  wanted, ``1`` against ``1.0`` in an enum, a subclass of ``dict``), the check says ``False``.

``tests/server/test_quickcheck.py`` holds the check to this against ``jsonschema`` on every
tool's schema with generated values.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sized
from typing import Any

Check = Callable[[Any], bool]
Compiler = Callable[[Any, Mapping[str, Any]], "Check | None"]
"""A keyword's compiler: (the keyword's value, the whole schema) -> its check, or None."""

ANNOTATIONS = frozenset(
    {
        "$schema",
        "$comment",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",  # an annotation only: the validator is built without a format checker
    }
)
KEYWORDS = frozenset(
    {
        "type",
        "enum",
        "const",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "properties",
        "required",
        "additionalProperties",
        "minProperties",
        "maxProperties",
        "items",
        "minItems",
        "maxItems",
        "uniqueItems",
        "anyOf",
    }
)

# exact types only: a subclass (bool of int, a dict subclass) is left to jsonschema
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),  # an integral float is an integer to jsonschema: "not sure" here
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}
_SCALARS = (str, int, bool, type(None))
"""Types whose equality is the same for Python and for JSON Schema (1 == 1.0 is not)."""


def compile_check(schema: Any) -> Check | None:
    """The quick check of ``schema``, or None when it uses a keyword this module does not know."""
    if schema is True or schema == {}:
        return _always
    if not isinstance(schema, Mapping):
        return None
    unknown = schema.keys() - KEYWORDS - ANNOTATIONS
    if unknown:
        return None
    checks: list[Check] = []
    for keyword in KEYWORDS & schema.keys():
        check = _COMPILERS[keyword](schema[keyword], schema)
        if check is None:
            return None
        if check is not _always:
            checks.append(check)
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    ordered = tuple(sorted(checks, key=_cheap_first))
    return lambda value: all(check(value) for check in ordered)


def _always(value: Any) -> bool:
    return True


def _cheap_first(check: Check) -> int:
    return getattr(check, "cost", 1)


def _costing(cost: int, check: Check) -> Check:
    check.cost = cost  # type: ignore[attr-defined]
    return check


# --- one compiler per keyword ------------------------------------------------------------------


def _type(names: Any, schema: Mapping[str, Any]) -> Check | None:
    listed = [names] if isinstance(names, str) else names
    if not isinstance(listed, list) or not all(name in _TYPES for name in listed):
        return None
    allowed = frozenset(t for name in listed for t in _TYPES[name])
    return _costing(0, lambda value: type(value) in allowed)


def _enum(options: Any, schema: Mapping[str, Any]) -> Check | None:
    if not isinstance(options, list):
        return None
    known = {(type(option), option) for option in options if type(option) in _SCALARS}

    def check(value: Any) -> bool:
        return type(value) in _SCALARS and (type(value), value) in known

    return check


def _const(option: Any, schema: Mapping[str, Any]) -> Check | None:
    return _enum([option], schema)


def _bound(compare: Callable[[Any, Any], bool]) -> Compiler:
    """minimum, maximum and their exclusive forms: they bind numbers only."""

    def compile_bound(limit: Any, schema: Mapping[str, Any]) -> Check | None:
        if type(limit) not in (int, float):
            return None

        def check(value: Any) -> bool:
            kind = type(value)
            if kind is int or kind is float:
                return compare(value, limit)
            return kind is not bool  # a bool is left to jsonschema

        return check

    return compile_bound


def _length(kind: type[Sized], compare: Callable[[int, int], bool]) -> Compiler:
    """min/maxLength (``str``), min/maxItems (``list``), min/maxProperties (``dict``): they bind
    values of that type only."""

    def compile_length(limit: Any, schema: Mapping[str, Any]) -> Check | None:
        if type(limit) is not int:
            return None

        def check(value: Any) -> bool:
            if type(value) is kind:
                return compare(len(value), limit)
            return not isinstance(value, kind)  # a subclass is left to jsonschema

        return check

    return compile_length


def _pattern(expression: Any, schema: Mapping[str, Any]) -> Check | None:
    if not isinstance(expression, str):
        return None
    try:
        search = re.compile(expression).search  # what jsonschema does: re.search
    except re.error:
        return None

    def check(value: Any) -> bool:
        if type(value) is str:
            return search(value) is not None
        return not isinstance(value, str)

    return check


def _properties(properties: Any, schema: Mapping[str, Any]) -> Check | None:
    if not isinstance(properties, Mapping):
        return None
    checks: dict[str, Check] = {}
    for name, sub in properties.items():
        compiled = compile_check(sub)
        if compiled is None:
            return None
        if compiled is not _always:
            checks[name] = compiled
    extra = schema.get("additionalProperties", True)
    if extra is False:
        allowed: frozenset[str] | None = frozenset(properties)
        extra_check: Check | None = None
    else:
        allowed = None
        extra_check = compile_check(extra)
        if extra_check is None:
            return None
        if extra_check is _always:
            extra_check = None

    def check(value: Any) -> bool:
        if type(value) is not dict:
            return not isinstance(value, dict)
        if allowed is not None and not allowed.issuperset(value):
            return False
        for key, item in value.items():
            item_check = checks.get(key)
            if item_check is not None:
                if not item_check(item):
                    return False
            elif extra_check is not None and key not in properties and not extra_check(item):
                return False
        return True

    return _costing(2, check)


def _additional(extra: Any, schema: Mapping[str, Any]) -> Check | None:
    if "properties" in schema:
        return _always  # compiled with the properties
    return _properties({}, {"additionalProperties": extra})


def _required(names: Any, schema: Mapping[str, Any]) -> Check | None:
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        return None
    needed = frozenset(names)

    def check(value: Any) -> bool:
        if type(value) is dict:
            return needed.issubset(value)
        return not isinstance(value, dict)

    return check


def _items(items: Any, schema: Mapping[str, Any]) -> Check | None:
    each = compile_check(items)
    if each is None:
        return None

    def check(value: Any) -> bool:
        if type(value) is list:
            return all(each(item) for item in value)
        return not isinstance(value, list)

    return _costing(2, check)


def _unique(unique: Any, schema: Mapping[str, Any]) -> Check | None:
    if unique is False:
        return _always
    if unique is not True:
        return None

    def check(value: Any) -> bool:
        if type(value) is not list:
            return not isinstance(value, list)
        if not all(type(item) in _SCALARS for item in value):
            return False  # floats, objects, arrays: jsonschema's equality decides
        return len({(type(item), item) for item in value}) == len(value)

    return _costing(2, check)


def _any_of(options: Any, schema: Mapping[str, Any]) -> Check | None:
    if not isinstance(options, list) or not options:
        return None
    checks = [compile_check(option) for option in options]
    if any(check is None for check in checks):
        return None
    compiled: list[Check] = [check for check in checks if check is not None]
    return _costing(3, lambda value: any(check(value) for check in compiled))


_COMPILERS: dict[str, Compiler] = {
    "type": _type,
    "enum": _enum,
    "const": _const,
    "minimum": _bound(operator.ge),
    "maximum": _bound(operator.le),
    "exclusiveMinimum": _bound(operator.gt),
    "exclusiveMaximum": _bound(operator.lt),
    "minLength": _length(str, operator.ge),
    "maxLength": _length(str, operator.le),
    "minItems": _length(list, operator.ge),
    "maxItems": _length(list, operator.le),
    "minProperties": _length(dict, operator.ge),
    "maxProperties": _length(dict, operator.le),
    "pattern": _pattern,
    "properties": _properties,
    "additionalProperties": _additional,
    "required": _required,
    "items": _items,
    "uniqueItems": _unique,
    "anyOf": _any_of,
}
