"""The validator cache is keyed by schema object and stays bounded across manifest refreshes."""

from ontraport_mcp import executor


def test_validators_are_cached_per_schema_and_bounded():
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    assert executor._validator(schema) is executor._validator(schema)
    for i in range(executor._MAX_VALIDATORS + 10):  # e.g. custom-object tools rebuilt hourly
        fresh = {"type": "object", "properties": {f"f{i}": {"type": "string"}}}
        assert executor._validator(fresh).is_valid({})
    assert len(executor._VALIDATORS) <= executor._MAX_VALIDATORS
