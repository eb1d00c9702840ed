"""openapi/ontraport.yaml: valid OpenAPI 3.1, operationIds and documented errors everywhere."""

from importlib.resources import files

import yaml
from openapi_spec_validator import validate

ERROR_STATUSES = {"400", "401", "403", "404", "422", "429"}


def _spec() -> dict:
    return yaml.safe_load((files("ontraport_mcp.openapi") / "ontraport.yaml").read_text())


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method in ("get", "put", "post", "delete", "patch"):
            if method in item:
                yield path, method, item[method]


def test_spec_validates():
    validate(_spec())


def test_every_operation_has_an_id_and_documented_errors():
    spec = _spec()
    ids = []
    for path, method, op in _operations(spec):
        assert op.get("operationId"), f"{method.upper()} {path} has no operationId"
        ids.append(op["operationId"])
        responses = set(op["responses"])
        missing = ERROR_STATUSES - responses
        assert not missing, f"{op['operationId']} lacks error responses {sorted(missing)}"
        assert responses & {"500", "5XX"}, f"{op['operationId']} lacks a 5xx response"
    assert len(ids) == len(set(ids)), "duplicate operationIds"
    assert len(ids) >= 80


def test_security_requires_both_headers():
    spec = _spec()
    schemes = spec["components"]["securitySchemes"]
    headers = {s["name"] for s in schemes.values() if s["type"] == "apiKey"}
    assert headers == {"Api-Key", "Api-Appid"}
    assert any(set(req) == set(schemes) for req in spec["security"])


def test_schemathesis_loads_every_operation():
    import schemathesis

    schema = schemathesis.openapi.from_path(str(files("ontraport_mcp.openapi") / "ontraport.yaml"))
    ops = [r.ok() for r in schema.get_all_operations()]
    assert len(ops) == sum(1 for _ in _operations(_spec()))
