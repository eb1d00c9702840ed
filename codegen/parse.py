"""Step 1 — parse: read the three hand-kept inputs and check that they are well formed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .problems import Problems

HTTP_METHODS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True, slots=True)
class Source:
    """One input file: where it is, its parsed content and a short content hash."""

    path: Path
    rel: str
    data: Any
    sha: str


@dataclass(frozen=True, slots=True)
class Inputs:
    spec: Source  # openapi/ontraport.yaml
    meta: Source  # openapi/objects_meta.json
    catalog: Source  # openapi/tools.yaml


def _load(root: Path, rel: str, problems: Problems) -> Source:
    path = root / rel
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()[:12]
    try:
        data = json.loads(raw) if rel.endswith(".json") else yaml.safe_load(raw)
    except (ValueError, yaml.YAMLError) as exc:
        problems.error(rel, f"cannot parse: {exc}")
        data = {}
    return Source(path=path, rel=rel, data=data, sha=sha)


def load_inputs(root: Path, problems: Problems) -> Inputs:
    inputs = Inputs(
        spec=_load(root, "openapi/ontraport.yaml", problems),
        meta=_load(root, "openapi/objects_meta.json", problems),
        catalog=_load(root, "openapi/tools.yaml", problems),
    )
    check_spec(inputs.spec, problems)
    check_meta(inputs.meta, problems)
    return inputs


def check_spec(spec: Source, problems: Problems) -> None:
    """The spec must be valid OpenAPI 3.1 with an operationId on every operation."""
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    try:
        validate(spec.data)
    except OpenAPIValidationError as exc:
        problems.error(spec.rel, f"not valid OpenAPI: {exc.message}")
        return
    seen: set[str] = set()
    for path, method, op in iter_operations(spec.data):
        where = f"{spec.rel}: {method.upper()} {path}"
        op_id = op.get("operationId")
        if not op_id:
            problems.error(where, "operation without operationId")
        elif op_id in seen:
            problems.error(where, f"duplicate operationId {op_id!r}")
        else:
            seen.add(op_id)


def check_meta(meta: Source, problems: Problems) -> None:
    data = meta.data.get("data") if isinstance(meta.data, dict) else None
    if not isinstance(data, dict) or not data:
        problems.error(meta.rel, "expected the /objects/meta envelope with a non-empty `data` map")
        return
    for type_id, entry in data.items():
        if not str(type_id).isdigit() or not isinstance(entry, dict) or "fields" not in entry:
            problems.error(meta.rel, f"type {type_id!r}: expected {{name, fields}} keyed by id")


def iter_operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) for every operation, in document order."""
    found: list[tuple[str, str, dict[str, Any]]] = []
    for path, item in (spec.get("paths") or {}).items():
        for method in HTTP_METHODS:
            if isinstance(item, dict) and isinstance(item.get(method), dict):
                found.append((path, method, item[method]))
    return found
