"""Strip Ontraport's bookkeeping fields and envelope from API responses before a model sees them.

Why: every contact carries fields that are useless or misleading to an assistant (import ids,
IP addresses, the internal ``bindex``) or that must be changed through dedicated endpoints
instead of being read and written back (``contact_cat``, ``updateSequence``, ``updateCampaign``
are ``*/*`` id lists, API.md §1.9 and §7.2). Dropping them saves tokens on every list call and
removes the temptation to edit them directly. The ``{"code", "data", "account_id"}`` envelope
(§1.2) carries nothing a tool result needs once the HTTP status has been checked.

This runs on every tool call, so it is written for speed: containers that hold nothing to remove
are returned as they are (shared with the input, not copied), and only the containers on the path
to a removed key are rebuilt. The input is never modified; treat the result as read-only too,
because unchanged parts of it are the input's own objects.
"""

from __future__ import annotations

from typing import Any, Final

from ontraport_mcp.runtime.registry import provides

__all__ = ["NOISE_FIELDS", "clean", "clean_record"]

NOISE_FIELDS: Final[frozenset[str]] = frozenset(
    {
        "system_source",
        "source_location",
        "import_id",
        "bindex",
        "ip_addy",
        "ip_addy_display",
        "contact_cat",
        "updateSequence",
        "updateCampaign",
    }
)
"""Keys removed from every object at any depth (the set a peer Ontraport server strips)."""

_ENVELOPE_KEYS: Final[frozenset[str]] = frozenset({"code", "account_id"})
_SCALARS: Final[frozenset[type]] = frozenset({str, int, float, bool, type(None)})
"""Exact types that can hold no dict; checked by identity because isinstance costs more."""


@provides("clean")
def clean(value: Any) -> Any:
    """Return ``value`` without noise fields and, at the top level, without the API envelope.

    A top-level dict holding both ``code`` and ``account_id`` is the response envelope: it is
    replaced by its cleaned ``data`` (``None`` when the endpoint sent no ``data``, as some writes
    do). Nested dicts are never unwrapped, since a record may legitimately have such keys.
    """
    if type(value) is dict and value.keys() >= _ENVELOPE_KEYS:
        return _clean(value.get("data"))
    return _clean(value)


def clean_record(record: dict[str, Any]) -> dict[str, Any]:
    """Return a new dict of one flat record without noise fields.

    For the common case of a single record whose values are scalars this skips the recursive
    walk; nested values are kept as they are (use ``clean`` for nested data).
    """
    return {key: item for key, item in record.items() if key not in NOISE_FIELDS}


def _clean(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return _clean_dict(value)
    if kind is list:
        return _clean_list(value)
    if kind in _SCALARS:
        return value
    # Rare shapes (not produced by json.loads): dict/list subclasses and tuples.
    if isinstance(value, dict):
        return _clean_dict(value)
    if isinstance(value, list):
        return _clean_list(value)
    if isinstance(value, tuple):
        items = _clean_list(list(value))
        changed = any(new is not old for new, old in zip(items, value, strict=True))
        return tuple(items) if changed else value
    return value


def _clean_dict(source: dict[Any, Any]) -> dict[Any, Any]:
    scalars = _SCALARS
    if scalars.issuperset(map(type, source.values())):
        # A flat record, the usual case (C-level checks, no Python loop over its ~100 fields):
        # drop the noise keys from a copy, or share the input when it has none.
        noise = NOISE_FIELDS.intersection(source)
        if not noise:
            return source
        flat = source.copy()
        for key in noise:
            del flat[key]
        return flat
    if NOISE_FIELDS.isdisjoint(source):
        # Nothing to drop here: copy only if something nested changes.
        result: dict[Any, Any] | None = None
        for key, item in source.items():
            if type(item) in scalars:
                continue
            cleaned = _clean(item)
            if cleaned is not item:
                if result is None:
                    result = dict(source)
                result[key] = cleaned
        return source if result is None else result
    noise_fields = NOISE_FIELDS
    return {
        key: item if type(item) in scalars else _clean(item)
        for key, item in source.items()
        if key not in noise_fields
    }


def _clean_list(source: list[Any]) -> list[Any]:
    scalars = _SCALARS
    result: list[Any] | None = None
    for position, item in enumerate(source):
        if type(item) not in scalars:
            cleaned = _clean(item)
            if cleaned is not item:
                if result is None:
                    result = source[:position]
                result.append(cleaned)
                continue
        if result is not None:
            result.append(item)
    return source if result is None else result
