"""Step 3a — the typed client and the pydantic models, made by the two upstream generators.

* openapi-python-client → ``client/`` (an async/sync httpx client, one module per operation);
* datamodel-code-generator → ``models/api.py`` (the spec's schemas) and ``models/objects.py``
  (one record model per object type of the meta snapshot).

Both run as subprocesses of the current interpreter, offline.  After generation the client's
operation modules are read back (``ast``) to build the operation table the server uses, so the
keyword names always match what the client generator produced.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ontraport_mcp.toolspec import Operation

from .problems import Problems

OPC_CONFIG = "project_name_override: client\npackage_name_override: client\npost_hooks: []\n"


def _run(args: list[str], where: str, problems: Problems) -> bool:
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        problems.error(where, (proc.stderr or proc.stdout).strip()[-2000:])
        return False
    for line in (proc.stdout + proc.stderr).splitlines():
        if (
            "warning" in line.lower()
            and "FutureWarning" not in line
            and "warn_deprecated" not in line
        ):
            problems.warning(where, line.strip())
    return True


def generate_client(spec_path: Path, out_dir: Path, problems: Problems) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "opc.yaml"
        config.write_text(OPC_CONFIG)
        target = Path(tmp) / "client"
        ok = _run(
            [
                sys.executable,
                "-m",
                "openapi_python_client",
                "generate",
                "--path",
                str(spec_path),
                "--output-path",
                str(target),
                "--meta",
                "none",
                "--config",
                str(config),
            ],
            "openapi-python-client",
            problems,
        )
        if ok:
            shutil.copytree(target, out_dir / "client")


def generate_models(
    spec_path: Path, object_schema: dict[str, Any], out_dir: Path, problems: Problems
) -> None:
    models = out_dir / "models"
    models.mkdir(parents=True, exist_ok=True)
    (models / "__init__.py").write_text('"""Pydantic models made by datamodel-code-generator."""\n')
    common = [
        sys.executable,
        "-m",
        "datamodel_code_generator",
        "--output-model-type",
        "pydantic_v2.BaseModel",
        "--disable-timestamp",
        "--target-python-version",
        "3.11",
        "--use-annotated",
        "--use-field-description",
        "--use-schema-description",
        "--formatters",
        "black",
    ]
    _run(
        [
            *common,
            "--input",
            str(spec_path),
            "--input-file-type",
            "openapi",
            "--output",
            str(models / "api.py"),
        ],
        "datamodel-codegen (spec)",
        problems,
    )
    with tempfile.TemporaryDirectory() as tmp:
        schema_path = Path(tmp) / "objects.json"
        schema_path.write_text(json.dumps(object_schema, indent=1, sort_keys=True))
        _run(
            [
                *common,
                "--input",
                str(schema_path),
                "--input-file-type",
                "jsonschema",
                "--output",
                str(models / "objects.py"),
                "--class-name",
                "ObjectTypes",
                "--use-title-as-name",
            ],
            "datamodel-codegen (meta)",
            problems,
        )


def read_operations(
    client_dir: Path, spec_ops: dict[str, tuple[str, str]], problems: Problems
) -> list[Operation]:
    """Build the operation table from the generated client's ``_get_kwargs`` functions."""
    found: list[Operation] = []
    api_dir = client_dir / "api"
    for module_path in sorted(api_dir.glob("*/*.py")):
        if module_path.name == "__init__.py":
            continue
        op_id = module_path.stem
        if op_id not in spec_ops:
            problems.warning(str(module_path.name), "client module without a matching operationId")
            continue
        method, path = spec_ops[op_id]
        tree = ast.parse(module_path.read_text())
        query, body_model, content_types, enums = _inspect_get_kwargs(tree)
        found.append(
            Operation(
                operation_id=op_id,
                method=method,
                path=path,
                module=f"{module_path.parent.name}.{op_id}",
                query=query,
                body_model=body_model,
                content_types=content_types,
                enums=enums,
                idempotent=method == "GET",
            )
        )
    missing = sorted(set(spec_ops) - {op.operation_id for op in found})
    for op_id in missing:
        problems.error("openapi-python-client", f"no client function for {op_id!r}")
    return sorted(found, key=lambda o: o.operation_id)


def _annotation_names(node: ast.expr | None) -> list[str]:
    """Class names in an annotation such as ``SortDirection | Unset`` (``Unset`` excluded)."""
    if node is None:
        return []
    names = [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]
    return [
        n for n in names if n not in ("Unset", "None", "str", "int", "float", "bool", "list", "Any")
    ]


def _inspect_get_kwargs(
    tree: ast.Module,
) -> tuple[dict[str, str], str | None, tuple[str, ...], dict[str, str]]:
    func = next(
        (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_get_kwargs"), None
    )
    if func is None:
        return {}, None, (), {}
    keywords = {a.arg for a in func.args.kwonlyargs}
    annotations = {a.arg: _annotation_names(a.annotation) for a in func.args.kwonlyargs}
    query: dict[str, str] = {}
    body_model: str | None = None
    content_types: list[str] = []
    for node in ast.walk(func):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if (
                isinstance(target, ast.Subscript)
                and isinstance(target.value, ast.Name)
                and isinstance(target.slice, ast.Constant)
            ):
                key = str(target.slice.value)
                if target.value.id == "params":
                    query[key] = _source_keyword(func, node.value, keywords) or key
                elif target.value.id == "headers" and key == "Content-Type":
                    if isinstance(node.value, ast.Constant):
                        content_types.append(str(node.value.value))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "isinstance"
            and len(node.args) == 2
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id == "body"
            and isinstance(node.args[1], ast.Name)
            and node.args[1].id != "Unset"  # `if not isinstance(body, Unset)`: not a model
        ):
            body_model = body_model or node.args[1].id
    if body_model is None and annotations.get("body"):
        body_model = annotations["body"][0]
    # query parameters typed as generated enums must be passed as enum members
    enums = {api: annotations[kw][0] for api, kw in query.items() if annotations.get(kw)}
    return query, body_model, tuple(dict.fromkeys(content_types)), enums


def _source_keyword(func: ast.FunctionDef, value: ast.expr, keywords: set[str]) -> str | None:
    """Follow ``params["x"] = json_x`` back to the keyword argument it came from."""
    if isinstance(value, ast.Name):
        if value.id in keywords:
            return value.id
        for node in ast.walk(func):
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == value.id for t in targets):
                    for name in ast.walk(node):
                        if isinstance(name, ast.Name) and name.id in keywords:
                            return name.id
    return None
