"""Tests for the response cleaner: what it removes, what it unwraps, what it leaves alone."""

from __future__ import annotations

import copy
import json
import time
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ontraport_mcp.overrides.cleaner import NOISE_FIELDS, clean, clean_record

NOISE_VALUES: dict[str, Any] = {
    "system_source": "0",
    "source_location": None,
    "import_id": "0",
    "bindex": "1",
    "ip_addy": "",
    "ip_addy_display": "127.0.0.1",
    "contact_cat": "*/*1*/*2*/*",
    "updateSequence": "*/**/*",
    "updateCampaign": "*/*3*/*",
}


def test_noise_field_set() -> None:
    assert isinstance(NOISE_FIELDS, frozenset)
    assert set(NOISE_VALUES) == NOISE_FIELDS


CASES: list[tuple[str, Any, Any]] = [
    (
        "flat record",
        {"id": "1", "firstname": "Ada", **NOISE_VALUES},
        {"id": "1", "firstname": "Ada"},
    ),
    (
        "envelope with a list of records",
        {
            "code": 0,
            "data": [{"id": "1", "bindex": "3"}, {"id": "2", "contact_cat": ""}],
            "account_id": 187157,
            "misc": [],
        },
        [{"id": "1"}, {"id": "2"}],
    ),
    (
        "envelope with an object",
        {"code": 0, "data": {"id": "8", "ip_addy": "x", "owner": "1"}, "account_id": "50"},
        {"id": "8", "owner": "1"},
    ),
    ("envelope without data", {"code": 0, "account_id": 187157}, None),
    ("envelope with scalar data", {"code": 0, "data": "Deleted", "account_id": 1}, "Deleted"),
    ("envelope with empty list", {"code": 0, "data": [], "account_id": 1}, []),
    (
        "noise at depth",
        {
            "a": [
                {"b": {"c": [{"import_id": "1", "keep": [1, {"bindex": 2, "x": None}]}]}},
                [[{"updateCampaign": "", "y": 1}]],
            ],
            "system_source": {"nested": "whole value goes"},
        },
        {"a": [{"b": {"c": [{"keep": [1, {"x": None}]}]}}, [[{"y": 1}]]]},
    ),
    (
        "envelope keys only matter at the top",
        {"data": {"code": 1, "account_id": 2, "data": 3, "bindex": 4}},
        {"data": {"code": 1, "account_id": 2, "data": 3}},
    ),
    ("code without account_id is not an envelope", {"code": 0, "data": 1}, {"code": 0, "data": 1}),
    (
        "list of mixed values",
        [1, "two", None, True, 2.5, {"bindex": 1}, [], {}],
        [1, "two", None, True, 2.5, {}, [], {}],
    ),
    ("string", "contact_cat", "contact_cat"),
    ("integer", 7, 7),
    ("none", None, None),
    ("noise names as values are kept", {"field": "contact_cat"}, {"field": "contact_cat"}),
    (
        "tuple inside",
        {"t": ({"bindex": 1, "k": 2}, 3)},
        {"t": ({"k": 2}, 3)},
    ),
]


@pytest.mark.parametrize(("label", "given", "expected"), CASES, ids=[c[0] for c in CASES])
def test_clean(label: str, given: Any, expected: Any) -> None:
    snapshot = copy.deepcopy(given)
    assert clean(given) == expected
    assert given == snapshot, "input must not be mutated"


def test_unchanged_containers_are_shared_not_copied() -> None:
    untouched = {"id": "1", "tags": ["a", "b"]}
    touched = {"id": "2", "bindex": "9"}
    payload = [untouched, touched]
    result = clean(payload)
    assert result == [{"id": "1", "tags": ["a", "b"]}, {"id": "2"}]
    assert result is not payload
    assert result[0] is untouched
    clean_payload = {"a": [1, 2], "b": {"c": 3}}
    assert clean(clean_payload) is clean_payload


def test_nested_change_copies_only_the_path() -> None:
    sibling = {"x": [1, 2, 3]}
    payload = {"keep": sibling, "change": {"deep": {"bindex": 1, "v": 2}}}
    result = clean(payload)
    assert result == {"keep": {"x": [1, 2, 3]}, "change": {"deep": {"v": 2}}}
    assert result["keep"] is sibling
    assert payload["change"] == {"deep": {"bindex": 1, "v": 2}}


def test_dict_subclass_is_cleaned() -> None:
    ordered = OrderedDict([("a", 1), ("bindex", 2)])
    assert clean(ordered) == {"a": 1}
    assert ordered == OrderedDict([("a", 1), ("bindex", 2)])


def test_non_string_keys_are_kept() -> None:
    assert clean({1: "a", None: "b", "bindex": 0}) == {1: "a", None: "b"}


def test_clean_record() -> None:
    record = {"id": "5", "email": "ada@example.com", **NOISE_VALUES, "nested": {"bindex": 1}}
    snapshot = copy.deepcopy(record)
    result = clean_record(record)
    assert result == {"id": "5", "email": "ada@example.com", "nested": {"bindex": 1}}
    assert result is not record
    assert record == snapshot
    plain = {"id": "6"}
    assert clean_record(plain) == {"id": "6"}
    assert clean_record(plain) is not plain


def _contact(index: int) -> dict[str, Any]:
    record: dict[str, Any] = {f"f{1500 + n}": str(index * 100 + n) for n in range(70)}
    record.update({"id": str(index), "firstname": "Ada", "lastname": "Lovelace", "owner": "1"})
    record.update(NOISE_VALUES)
    return record


def test_clean_is_fast_on_a_contact_page() -> None:
    payload: dict[str, Any] = {
        "code": 0,
        "data": [_contact(i) for i in range(50)],
        "account_id": 1,
        "misc": [],
    }
    assert len(payload["data"][0]) >= 80
    snapshot = json.dumps(payload)
    best = float("inf")
    for _ in range(30):
        started = time.perf_counter()
        result = clean(payload)
        best = min(best, time.perf_counter() - started)
    assert len(result) == 50
    assert not NOISE_FIELDS & result[0].keys()
    assert json.dumps(payload) == snapshot
    # Measured at roughly 0.3-0.4 ms; the bound leaves room for slow CI machines.
    assert best < 0.005


def _reference(value: Any, top: bool = True) -> Any:
    """The cleaner's contract in its plainest form (no sharing, no fast paths)."""
    if top and isinstance(value, dict) and value.keys() >= {"code", "account_id"}:
        return _reference(value.get("data"), top=False)
    if isinstance(value, dict):
        return {k: _reference(v, False) for k, v in value.items() if k not in NOISE_FIELDS}
    if isinstance(value, list):
        return [_reference(v, False) for v in value]
    return value


_KEYS = st.sampled_from([*sorted(NOISE_FIELDS), "id", "firstname", "f1500", "data", "code"])
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=6),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_clean_matches_the_plain_reference_key_order_included(value: Any) -> None:
    snapshot = copy.deepcopy(value)
    cleaned = clean(value)
    expected = _reference(value)
    assert cleaned == expected
    assert json.dumps(cleaned) == json.dumps(expected)  # the same keys in the same order
    assert value == snapshot, "input must not be mutated"
