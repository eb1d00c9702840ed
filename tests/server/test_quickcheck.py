"""The quick argument check (runtime/quickcheck.py) against jsonschema itself.

Its contract is one-sided: ``True`` only where jsonschema's Draft 2020-12 validator accepts the
value.  Hypothesis draws values from every tool's input schema — the 48 static tools and the
custom-object tools of the meta snapshot — mostly valid, with a wrong value, key or type
slipped in at any depth, and the check must never accept what jsonschema refuses.  It must also
accept what real calls send, or the executor gains nothing from it.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from ontraport_mcp.generated.tools import TOOLS
from ontraport_mcp.runtime.manifest import custom_tools, slug
from ontraport_mcp.runtime.quickcheck import compile_check
from ontraport_mcp.upstream.meta import AccountMeta


def _custom_specs() -> list[Any]:
    text = files("ontraport_mcp.openapi").joinpath("objects_meta.json").read_text("utf-8")
    meta = AccountMeta.from_data(json.loads(text)["data"])
    found = [spec for obj in meta.custom_types for spec in custom_tools(obj, slug(obj.name))]
    assert found, "the meta snapshot has custom objects"
    return found


SCHEMAS = {spec.name: spec.input_schema for spec in [*TOOLS, *_custom_specs()]}

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 1, -1, 1.0, 0.0, 50, 51, "", "a", "asc", "0", "1", True, False]),
    st.text(max_size=12),
)
ANY_JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def from_schema(schema: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values shaped by ``schema`` (its keywords are the ones quickcheck knows), where any node
    may instead be an arbitrary JSON value: the near misses a fast check could get wrong."""
    return st.one_of(_shaped(schema, depth), ANY_JSON) if depth else _shaped(schema, depth)


def _shaped(schema: Any, depth: int) -> st.SearchStrategy[Any]:
    if not isinstance(schema, dict) or depth > 6:
        return ANY_JSON
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([from_schema(option, depth + 1) for option in schema["anyOf"]])
    kinds = schema.get("type", ["string", "integer", "object", "array", "boolean", "null"])
    kinds = [kinds] if isinstance(kinds, str) else kinds
    return st.one_of([_of_type(kind, schema, depth) for kind in kinds])


def _of_type(kind: str, schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    low, high = schema.get("minimum"), schema.get("maximum")
    if kind == "integer":
        near = [v for v in (low, high) if isinstance(v, int)]
        edges = [e + d for e in near for d in (-1, 0, 1)]
        ints = st.integers(
            min_value=None if low is None else int(low) - 2,
            max_value=None if high is None else int(high) + 2,
        )
        return st.one_of(
            ints, st.sampled_from(edges or [0]), st.just(float(edges[0] if edges else 1))
        )
    if kind == "number":
        return st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers())
    if kind == "string":
        size = schema.get("maxLength", 20)
        return st.text(min_size=max(0, schema.get("minLength", 0) - 1), max_size=min(size + 1, 40))
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        items = schema.get("items", {})
        lists = st.lists(
            from_schema(items, depth + 1),
            min_size=max(0, schema.get("minItems", 0) - 1),
            max_size=min(schema.get("maxItems", 4) + 1, 6),
        )
        return lists
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        fixed = {k: from_schema(v, depth + 1) for k, v in properties.items() if k in required}
        optional = {
            k: from_schema(v, depth + 1) for k, v in properties.items() if k not in required
        }
        shaped = st.fixed_dictionaries(fixed, optional=optional)
        stray = st.dictionaries(
            st.sampled_from(["x", "extra", *properties][:8]), ANY_JSON, max_size=1
        )
        return st.one_of(shaped, st.tuples(shaped, stray).map(lambda pair: {**pair[0], **pair[1]}))
    return ANY_JSON


def test_every_tool_schema_compiles():
    """Every static and custom-object tool gets the quick path (None would mean: jsonschema
    every time, correct but slow)."""
    missing = [name for name, schema in SCHEMAS.items() if compile_check(schema) is None]
    assert missing == []


@pytest.mark.parametrize("name", sorted(SCHEMAS))
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_check_never_accepts_what_jsonschema_refuses(name, data):
    schema = SCHEMAS[name]
    check = compile_check(schema)
    assert check is not None
    value = data.draw(from_schema(schema))
    if check(value):
        assert Draft202012Validator(schema).is_valid(value), value


@pytest.mark.parametrize(
    "schema, value, verdict",
    [
        # sure: plain values of exactly the types JSON parsing gives
        ({"type": "integer", "minimum": 1, "maximum": 50}, 5, True),
        ({"type": "string", "enum": ["asc", "desc"]}, "asc", True),
        ({"type": "array", "items": {"type": "integer"}, "uniqueItems": True}, [1, 2, 3], True),
        ({"anyOf": [{"type": "integer"}, {"type": "string"}]}, "7 days ago", True),
        ({"type": "object", "properties": {"a": {"type": "integer"}}}, {"b": [1.5]}, True),
        # not sure, left to jsonschema (which accepts): an integral float, 1.0 in [1], bool
        # against a bound, a list of floats for uniqueness
        ({"type": "integer"}, 3.0, False),
        ({"enum": [1]}, 1.0, False),
        ({"minimum": 0}, True, False),
        ({"type": "array", "uniqueItems": True}, [1.5, 2.5], False),
        # invalid
        ({"type": "integer", "maximum": 50}, 51, False),
        ({"type": "integer"}, True, False),
        ({"properties": {"a": {}}, "additionalProperties": False}, {"b": 1}, False),
        ({"type": "object", "required": ["a"]}, {}, False),
        ({"type": "array", "uniqueItems": True}, ["a", "a"], False),
        ({"type": "string", "minLength": 2}, "é", False),
    ],
)
def test_sure_and_not_sure(schema, value, verdict):
    check = compile_check(schema)
    assert check is not None and check(value) is verdict
    if verdict:
        assert Draft202012Validator(schema).is_valid(value)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "patternProperties": {"^a": {}}},
        {"$ref": "#/$defs/x", "$defs": {"x": {}}},
        {"type": "array", "prefixItems": [{}]},
        {"oneOf": [{}, {}]},
        {"type": "integer", "multipleOf": 2},
        {"type": "object", "properties": {"a": {"not": {}}}},
        {"type": "strange"},
    ],
)
def test_a_keyword_it_does_not_know_means_no_quick_check(schema):
    assert compile_check(schema) is None


def minimal(schema: Any) -> Any:
    """The smallest value ``schema`` accepts, built by hand (required keys only)."""
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return minimal(schema["anyOf"][0])
    kind = schema.get("type", "null")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        properties = schema.get("properties", {})
        value = {key: minimal(properties[key]) for key in schema.get("required", [])}
        spare = [key for key in properties if key not in value]
        for i in range(schema.get("minProperties", 0) - len(value)):
            key = spare[i] if i < len(spare) else f"field_{i}"
            value[key] = minimal(properties.get(key, {"type": "string"}))
        return value
    if kind == "array":
        item = minimal(schema.get("items", {}))
        count = schema.get("minItems", 0)
        if isinstance(item, int) and not isinstance(item, bool):
            return [item + i for i in range(count)]
        return [f"{item}{i}" for i in range(count)] if isinstance(item, str) else [item] * count
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "string":
        return "a" * schema.get("minLength", 0)
    return {"boolean": False, "null": None}[kind]


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_a_plain_valid_call_takes_the_quick_path(name):
    """Each tool's smallest valid arguments, and the benchmark's call, are accepted without
    jsonschema: the check is not a wall of "not sure"."""
    schema = SCHEMAS[name]
    args = minimal(schema)
    assert Draft202012Validator(schema).is_valid(args), args
    assert compile_check(schema)(args) is True  # type: ignore[misc]


def test_the_benchmark_call_takes_the_quick_path():
    schema = SCHEMAS["get_objects"]
    for args in ({"object_type_id": 0, "range": 5}, {"object_type_id": 0, "sort_dir": "desc"}):
        assert Draft202012Validator(schema).is_valid(args)
        assert compile_check(schema)(args) is True  # type: ignore[misc]
