"""wirejson: orjson's speed without losing what the standard library accepted."""

import datetime
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ontraport_mcp import wirejson


@pytest.mark.parametrize(
    "value",
    [
        {"records": [{"id": "1", "name": "Zoë", "n": 1.5, "ok": True, "none": None}]},
        {"big": 2**70},  # beyond orjson: the standard library writes it
        {1: "non-string keys", "nested": [[], {}]},
        'a string with "quotes" and \n newlines',
    ],
)
def test_dumps_round_trips_to_the_same_value(value):
    text = wirejson.dumps(value)
    assert json.loads(text) == json.loads(json.dumps(value))
    assert ": " not in text and ", " not in text.replace('", "', "")  # compact


def test_dumps_writes_values_json_cannot_hold_with_str():
    moment = datetime.datetime(2026, 11, 21, 3, 0)
    assert json.loads(wirejson.dumps({"at": moment, "s": {1}.__class__})) == {
        "at": "2026-11-21T03:00:00",
        "s": "<class 'set'>",
    }


def test_loads_accepts_bytes_and_refuses_what_is_not_json():
    assert wirejson.loads(b'{"a": [1, "x"]}') == {"a": [1, "x"]}
    # beyond 64 bits orjson reads a float (documented); nothing from Ontraport is that large
    assert wirejson.loads('{"big": 123456789012345678901234567890}')["big"] == pytest.approx(
        1.2345e29, rel=1e-3
    )
    for bad in (b"{nope", b'{"a": NaN}', b"Infinity", b""):
        with pytest.raises(ValueError):
            wirejson.loads(bad)


_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([-0.0, 0.0, 1e308, 5e-324, 2**63, -(2**63) - 1, 2**64, 10**18, 10**19])
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)


def _same(data: bytes) -> None:
    try:
        expected = json.loads(data)
    except (ValueError, RecursionError) as refused:
        with pytest.raises(type(refused)):
            wirejson.loads_request(data)
        return
    got = wirejson.loads_request(data)
    assert repr(got) == repr(expected)  # int vs float, -0.0 and key order too


@settings(max_examples=400, deadline=None)
@given(_VALUES, st.booleans())
def test_loads_request_reads_exactly_what_the_standard_library_reads(value, ascii_only):
    _same(json.dumps(value, ensure_ascii=ascii_only).encode())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40) | st.text(max_size=40).map(str.encode))
def test_loads_request_refuses_what_the_standard_library_refuses(data):
    _same(data)


@pytest.mark.parametrize(
    "data",
    [
        b"[NaN, Infinity, -Infinity]",
        b"[1e400, -1e400]",
        b'["\\ud800", "\\udfff\\ud800"]',
        b"123456789012345678901234567890",
        b'{"id": 9223372036854775808, "n": 18446744073709551616}',
        b'{"a": 1, "a": 2}',
        b'\xef\xbb\xbf{"bom": true}',
        '{"utf16": 1}'.encode("utf-16"),
        b'{"tab": "a\tb"}',
        b"[" * 5000 + b"]" * 5000,
        b"",
        b"{,}",
    ],
)
def test_loads_request_edge_cases(data):
    _same(data)
