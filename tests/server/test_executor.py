"""The validator cache is keyed by schema object and stays bounded across manifest refreshes."""

from ontraport_mcp import executor


def test_validators_are_cached_per_schema_and_bounded():
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    assert executor._validator(schema) is executor._validator(schema)
    for i in range(executor._MAX_VALIDATORS + 10):  # e.g. custom-object tools rebuilt hourly
        fresh = {"type": "object", "properties": {f"f{i}": {"type": "string"}}}
        assert executor._validator(fresh).is_valid({})
    assert len(executor._VALIDATORS) <= executor._MAX_VALIDATORS


def test_nan_and_infinity_are_refused_wherever_they_hide():
    """JSON Schema bounds let NaN through (every comparison is false); the executor does not."""
    import math

    import pytest

    from ontraport_mcp.errors import InvalidArguments
    from ontraport_mcp.generated.tools import TOOLS

    spec = next(t for t in TOOLS if t.name == "validate_offer")
    for bad in (math.nan, math.inf, -math.inf):
        args = {"offer": {"products": [{"product_id": 7, "price": bad}]}}
        with pytest.raises(InvalidArguments) as info:
            executor.validate_arguments(spec, args)
        assert info.value.details == {"field": "offer.products.0.price", "rule": "finite"}
    fine = {"offer": {"products": [{"product_id": 7, "price": 19.5}]}}
    executor.validate_arguments(spec, fine)


def test_the_non_finite_scan_survives_any_depth():
    deep: object = float("nan")
    for _ in range(20_000):  # far deeper than the recursion limit
        deep = [deep]
    where = executor._non_finite({"data": {"f1": deep}})
    assert where is not None and where.startswith("data.f1.0.0.")
    assert executor._non_finite({"data": {"f1": [[1.5, "x", None, True]]}}) is None
