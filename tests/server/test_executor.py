"""Argument checks before any handler runs: the validator cache, the iterative scan (depth, NaN,
lone surrogates), integers from numeric strings, errors that quote rather than echo, the result
budget, and audit lines without customer data."""

import json

import pytest

from ontraport_mcp.errors import InvalidArguments
from ontraport_mcp.generated.tools import TOOLS
from ontraport_mcp.runtime import audit, executor

SPECS = {spec.name: spec for spec in TOOLS}


def test_validators_are_cached_per_schema_and_bounded():
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    validator, check = executor._validator(schema)
    assert executor._validator(schema) == (validator, check) and check is not None
    for i in range(executor._MAX_VALIDATORS + 10):  # e.g. custom-object tools rebuilt hourly
        fresh = {"type": "object", "properties": {f"f{i}": {"type": "string"}}}
        assert executor._validator(fresh)[0].is_valid({})
    assert len(executor._VALIDATORS) <= executor._MAX_VALIDATORS


def test_nan_and_infinity_are_refused_wherever_they_hide():
    """JSON Schema bounds let NaN through (every comparison is false); the executor does not."""
    import math

    spec = SPECS["validate_offer"]
    for bad in (math.nan, math.inf, -math.inf):
        args = {"offer": {"products": [{"product_id": 7, "price": bad}]}}
        with pytest.raises(InvalidArguments) as info:
            executor.validate_arguments(spec, args)
        assert info.value.details == {"field": "offer.products.0.price", "rule": "finite"}
    fine = {"offer": {"products": [{"product_id": 7, "price": 19.5}]}}
    executor.validate_arguments(spec, fine)


def test_the_argument_scan_survives_any_depth():
    deep: object = float("nan")
    for _ in range(20_000):  # far deeper than the recursion limit
        deep = [deep]
    problem = executor._unsound({"data": {"f1": deep}})
    assert problem is not None and problem.details == {"field": "data", "rule": "max_depth"}
    assert str(executor.MAX_ARGUMENT_DEPTH) in problem.message
    assert executor._unsound({"data": {"f1": [[1.5, "x", None, True]]}}) is None


def _refusal(name: str, args: dict) -> InvalidArguments:
    with pytest.raises(InvalidArguments) as info:
        executor.validate_arguments(SPECS[name], args)
    return info.value


def test_nesting_beyond_the_limit_is_refused_at_every_depth():
    for depth in (executor.MAX_ARGUMENT_DEPTH, 500, 100_000):
        deep: object = {}
        for _ in range(depth):
            deep = {"a": deep}
        error = _refusal("saveorupdate_object", {"object_type_id": 0, "data": deep})
        assert error.details == {"field": "data", "rule": "max_depth"}
    fine: object = 1
    for _ in range(executor.MAX_ARGUMENT_DEPTH - 3):
        fine = [fine]
    assert executor._unsound({"condition": fine}) is None


def test_lone_surrogates_in_values_and_keys_are_refused():
    error = _refusal("get_objects", {"object_type_id": 0, "search": "ab\ud800"})
    assert error.details == {"field": "search", "rule": "unicode"}
    error = _refusal("saveorupdate_object", {"object_type_id": 0, "data": {"\udfff": "x"}})
    assert error.details["rule"] == "unicode"
    executor.validate_arguments(SPECS["get_objects"], {"search": "😀 é"})  # real text is fine


def test_integer_arguments_accept_numeric_strings():
    args = {"object_type_id": "0", "id": " 12 ", "range": "5"}
    executor.validate_arguments(SPECS["get_objects"], args)
    assert args == {"object_type_id": 0, "id": 12, "range": 5}
    ids = {"object_type_id": 0, "ids": ["1", 2, "3"]}
    executor.validate_arguments(SPECS["get_objects"], ids)
    assert ids["ids"] == [1, 2, 3]
    error = _refusal("get_objects", {"id": "twelve"})
    assert error.details["field"] == "id"
    # a value that may stay a string (a date: text or Unix seconds) is left as sent
    either = {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert executor.coerce_integers(either, "1700000000") == "1700000000"
    assert executor.coerce_integers({"type": "number"}, "19.5") == 19.5
    assert executor.coerce_integers({"type": "number"}, "nan") == "nan"


def test_a_pattern_error_never_shows_the_regex():
    """No catalog schema has a pattern today (dates went to the date parser); any that comes
    back is explained in words: its description, never the regex."""
    from ontraport_mcp.runtime.toolspec import ToolSpec

    spec = ToolSpec(
        name="t",
        title="T",
        description="",
        tool_class="R",
        toolset="query",
        idempotent=True,
        output_schema={"type": "object"},
        input_schema={
            "type": "object",
            "properties": {
                "code": {"type": "string", "pattern": "^[A-Z]{3}$", "description": "3 capitals"}
            },
        },
    )
    with pytest.raises(InvalidArguments) as info:
        executor.validate_arguments(spec, {"code": "soon-ish"})
    assert info.value.details == {"field": "code", "rule": "pattern"}
    assert "[A-Z]" not in info.value.message and "^" not in info.value.message
    assert info.value.message == (
        'Argument `code`: "soon-ish" is not in the expected form. Expected: 3 capitals'
    )


def test_an_unknown_nested_key_lists_the_keys_allowed_there():
    offer = {"products": [{"product_id": 1, "id": 9}]}
    error = _refusal("validate_offer", {"offer": offer})
    assert error.details["field"] == "offer.products.0"
    assert "'id' was unexpected" in error.message
    assert "Allowed keys there: " in error.message and "product_id" in error.message
    enum = _refusal("get_objects", {"sort_dir": "up"})
    assert enum.message == 'Argument `sort_dir`: "up" is not one of ["asc","desc"].'
    typed = _refusal("get_objects", {"object_type_id": None})
    assert typed.message == "Argument `object_type_id`: null is not of type 'integer'."
    top = _refusal("get_objects", {"colour": "red"})
    assert "Allowed arguments: " in top.message and "object_type_id" in top.message


def test_errors_quote_the_offending_value_instead_of_echoing_it():
    many = _refusal("manage_tags", {"action": "add", "ids": [1], "tag_ids": list(range(100_000))})
    assert many.details["field"] == "tag_ids"
    assert len(many.message) < 400, len(many.message)
    assert "characters)" in many.message  # the excerpt says how much was cut
    huge = _refusal("get_objects", {"search": 7, "sort": "x" * 10_000_000})
    assert len(huge.message) < 400


def test_every_error_result_is_bounded():
    long = InvalidArguments("x" * 50_000, details={"field": "f" * 10_000, "rule": "type"})
    payload = executor.error_payload(executor.error_result(long))
    assert payload is not None
    assert len(payload["message"]) <= executor.MAX_MESSAGE_CHARS
    assert len(json.dumps(payload)) < 2 * executor.MAX_MESSAGE_CHARS
    listed = InvalidArguments("bad", details={"problems": [f"p{i}" for i in range(500)]})
    problems = executor.error_payload(executor.error_result(listed))["details"]["problems"]
    assert problems[:3] == ["p0", "p1", "p2"] and problems[-1] == "… 480 more"


def test_long_texts_are_cut_to_fit_the_result_budget():
    result = {"record": {"id": 1, "notes": "n" * 300_000, "bio": "b" * 5_000}, "other": "ok"}
    cut, text = executor._shorten_texts(result, 100_000)
    assert len(text) <= 100_000
    assert cut["truncated"] is True and "cut to" in cut["note"]
    assert cut["record"]["notes"].endswith("[cut: 300,000 characters in all]")
    assert cut["record"]["bio"] == "b" * 5_000  # only what had to go was cut
    assert result["record"]["notes"] == "n" * 300_000  # the handler's result is not changed


def _audit_line(tmp_path, args: dict, mode: str = "safe") -> dict:
    sink = tmp_path / f"audit-{mode}.log"
    audit.configure(str(sink), mode)  # type: ignore[arg-type]
    try:
        spec = SPECS["saveorupdate_object"]
        audit.audit(schema=spec.input_schema, tool=spec.name, args=args, outcome="ok")
    finally:
        audit.configure("off")
    return json.loads(sink.read_text().splitlines()[-1])


PERSON = {
    "object_type_id": 0,
    "data": {
        "email": "ada.lovelace@example.com",
        "phone": "+1 555 0100 1234",
        "sms_number": 15550100,
        "firstname": "Ada",
        "address": "12 Analytical St",
    },
    "confirmation_token": "ct_secret",
}


def test_the_default_audit_line_holds_no_personal_data(tmp_path):
    line = _audit_line(tmp_path, PERSON)
    text = json.dumps(line)
    for private in ("ada.lovelace", "555", "15550100", "Ada", "Analytical", "ct_secret"):
        assert private not in text, private
    assert line["args"]["object_type_id"] == 0  # ids stay
    assert set(line["args"]["data"]) == {"email", "phone", "sms_number", "firstname", "address"}
    assert line["args"]["data"]["email"] == "<text 24>"


def test_the_full_audit_line_keeps_values_but_never_tokens(tmp_path):
    line = _audit_line(tmp_path, PERSON, "full")
    assert line["args"]["data"]["email"] == "ada.lovelace@example.com"
    assert "ct_secret" not in json.dumps(line)


def test_audit_lines_survive_any_depth_and_any_string(tmp_path):
    deep: object = "x"
    for _ in range(50_000):
        deep = {"a": deep}
    for mode in ("safe", "full"):
        line = _audit_line(tmp_path, {"object_type_id": 0, "data": deep, "k\ud800": "v"}, mode)
        assert line["tool"] == "saveorupdate_object"
