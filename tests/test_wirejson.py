"""wirejson: orjson's speed without losing what the standard library accepted."""

import datetime
import json

import pytest

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
