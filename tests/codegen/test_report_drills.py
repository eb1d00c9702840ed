"""Drills of real API changes: each kind of change to the project's own inputs is named by the
regeneration report, with the tools it affects, and a reworded description is no change.

Every test copies the parsed ``openapi/`` inputs of this repository in memory (the real files
are never touched), applies one change the way an API update would, and compares the report of
the edited inputs against the unedited ones with the functions ``make generate`` prints from:
``report.api_report_lines`` for the API and the meta snapshot, ``report.diff_catalogs`` for the
tool schemas.  Targets are chosen from the inputs by what they are (an operation a tool uses, an
optional query parameter, an integer body field, ...), never by a hard-coded name, so the drills
keep working when the spec grows; the expected tools come from a scan of ``tools.yaml`` written
here, independent of the report's own lookup.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from codegen import api_summary, model, parse, report
from codegen.problems import Problems
from codegen.render import listed_schemas

ROOT = Path(__file__).resolve().parents[2]
DRILL = "drill_new"  # the name every drill gives to what it adds


@dataclass(slots=True)
class Edit:
    """The three inputs, deep copies a drill may change freely."""

    spec: dict[str, Any]
    meta: dict[str, Any]  # the ``data`` map of the meta snapshot: type id -> {name, fields}
    catalog: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Report:
    """What ``make generate`` would print about a change, split by section."""

    api: list[str]  # API and meta changes, then the affected tools
    tools: list[str]  # tool manifest changes
    problems: Problems  # the model step's findings on the edited inputs

    @property
    def text(self) -> str:
        return "\n".join([*self.api, *self.tools])

    def affected(self) -> dict[str, str]:
        """Tool -> its reasons, from the "Tools affected" section."""
        if "Tools affected by these API changes:" not in self.api:
            return {}
        start = self.api.index("Tools affected by these API changes:") + 1
        rows = (line.strip().partition(": ") for line in self.api[start:])
        return {tool: why for tool, _, why in rows if why}


@pytest.fixture(scope="module")
def real() -> parse.Inputs:
    problems = Problems()
    inputs = parse.load_inputs(ROOT, problems)
    assert not problems.errors, problems.summary()
    return inputs


def _inputs(base: parse.Inputs, edit: Edit) -> parse.Inputs:
    meta = {**base.meta.data, "data": edit.meta}
    return parse.Inputs(
        spec=parse.Source(base.spec.path, base.spec.rel, edit.spec, "drill"),
        meta=parse.Source(base.meta.path, base.meta.rel, meta, "drill"),
        catalog=parse.Source(base.catalog.path, base.catalog.rel, edit.catalog, "drill"),
    )


def _catalog(inputs: parse.Inputs) -> tuple[dict[str, Any], Problems]:
    """``generated/catalog.json`` as render writes it, built in memory."""
    problems = Problems()
    built = model.build_model(inputs, problems)
    tools = [{**t.as_catalog_entry(), "listed": listed_schemas(t)} for t in built.tools]
    return {"access_policy": built.access_policy, "tools": tools}, problems


def _copy(base: parse.Inputs) -> Edit:
    return Edit(
        spec=copy.deepcopy(base.spec.data),
        meta=copy.deepcopy(base.meta.data["data"]),
        catalog=copy.deepcopy(base.catalog.data),
    )


def _report(
    base: parse.Inputs,
    change: Callable[[Edit], None],
    prepare: Callable[[Edit], None] | None = None,
) -> Report:
    """The report of ``change``; ``prepare`` first edits both sides alike (a drill that needs
    something the real spec does not have yet)."""
    if prepare is not None:
        before = _copy(base)
        prepare(before)
        base = _inputs(base, before)
    edit = _copy(base)
    change(edit)
    edited = _inputs(base, edit)
    api = report.api_report_lines(
        api_summary.api_summary(base),
        api_summary.api_summary(edited),
        edited.catalog.data,
        model.access_policy_of(edited),
    )
    old_catalog, old_problems = _catalog(base)
    assert not old_problems.errors, old_problems.summary()
    new_catalog, problems = _catalog(edited)
    tools = [] if problems.errors else report.diff_catalogs(old_catalog, new_catalog)
    return Report(api=api, tools=tools, problems=problems)


# --- finding drill targets in the real inputs ----------------------------------------------------


def _users(catalog: dict[str, Any], op_id: str) -> set[str]:
    """The tools of ``tools.yaml`` that name ``op_id`` in ``operations`` or their binding."""
    found: set[str] = set()
    for tool in catalog.get("tools") or []:
        binding = tool.get("binding") or {}
        if op_id in (tool.get("operations") or []) or binding.get("operation") == op_id:
            found.add(tool["name"])
    return found


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(operationId, "METHOD /path", operation) in document order."""
    for path, method, op in parse.iter_operations(spec):
        yield op["operationId"], f"{method.upper()} {path}", op


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    """The object a local ``$ref`` points at (the same dict, so editing it edits the spec)."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        target: Any = spec
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def _used_operation(edit: Edit, wanted: Callable[[dict[str, Any]], bool]) -> tuple[str, str]:
    """The first operation some tool uses for which ``wanted`` holds: (id, "METHOD /path")."""
    for op_id, where, op in _operations(edit.spec):
        if _users(edit.catalog, op_id) and wanted(op):
            return op_id, where
    raise AssertionError("the spec has no operation for this drill")


def _operation(spec: dict[str, Any], op_id: str) -> dict[str, Any]:
    return next(op for found, _, op in _operations(spec) if found == op_id)


def _query_params(spec: dict[str, Any], op: dict[str, Any]) -> list[dict[str, Any]]:
    """The operation's own query parameters, resolved (path-level ones are shared, left out)."""
    params = [_resolve(spec, p) for p in op.get("parameters") or []]
    return [p for p in params if p.get("in") == "query"]


def _inline_param(edit: Edit, op_id: str, param_name: str, **changes: Any) -> dict[str, Any]:
    """Replace the operation's parameter ``param_name`` by an edited inline copy (a shared component
    stays as it is for the other operations); the copy before the edit is returned."""
    op = _operation(edit.spec, op_id)
    for index, raw in enumerate(op["parameters"]):
        param = _resolve(edit.spec, raw)
        if param.get("name") == param_name and param.get("in") == "query":
            op["parameters"][index] = {**copy.deepcopy(param), **changes}
            return param
    raise AssertionError(f"{op_id} has no query parameter {param_name}")


def _body_schema(spec: dict[str, Any], op: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON request body schema of ``op`` when it lists properties, else ``None``."""
    body = _resolve(spec, op.get("requestBody"))
    content = (body or {}).get("content") or {}
    media = content.get("application/json") or {}
    schema = _resolve(spec, media.get("schema"))
    return schema if isinstance(schema, dict) and schema.get("properties") else None


def _assert_affects(result: Report, tools: set[str], reason: str) -> None:
    affected = result.affected()
    assert tools, "the drill should pick something a tool uses"
    for tool in sorted(tools):
        assert reason in affected.get(tool, ""), (tool, result.text)


def _assert_line(result: Report, prefix: str, *parts: str) -> str:
    """The one report line starting with ``prefix`` that holds every part."""
    lines = [
        line.strip()
        for line in result.api
        if line.strip().startswith(prefix) and all(p in line for p in parts)
    ]
    assert len(lines) == 1, (prefix, parts, result.text)
    return lines[0]


# --- operations ----------------------------------------------------------------------------------


def test_an_added_operation_is_named_and_affects_no_tool(real):
    def change(edit: Edit) -> None:
        edit.spec["paths"]["/drill"] = {
            "get": {
                "operationId": DRILL,
                "summary": "A drill",
                "responses": {"200": {"description": "OK"}},
            }
        }

    result = _report(real, change)
    _assert_line(result, f"+ operation added: {DRILL} (GET /drill)")
    assert result.affected() == {}
    assert "Tools affected by these API changes:\n  none" in result.text


def test_a_removed_operation_names_every_tool_that_uses_it(real):
    edit = Edit(real.spec.data, real.meta.data["data"], real.catalog.data)
    op_id, where = _used_operation(edit, lambda op: True)
    users = _users(real.catalog.data, op_id)

    def change(edit: Edit) -> None:
        method, _, path = where.partition(" ")
        del edit.spec["paths"][path][method.lower()]

    result = _report(real, change)
    _assert_line(result, f"- operation removed: {op_id} ({where})")
    _assert_affects(result, users, f"operation {op_id} removed")
    # and generation itself fails, naming each tool
    failing = {item.where for item in result.problems.errors}
    assert {f"tools.yaml: {tool}" for tool in users} <= failing, result.problems.summary()


# --- parameters ----------------------------------------------------------------------------------


def _param_target(real: parse.Inputs, optional: bool = False) -> tuple[str, str, dict[str, Any]]:
    """An operation a tool uses and one of its own query parameters (optional ones if asked)."""
    spec = real.spec.data

    def wanted(op: dict[str, Any]) -> bool:
        return any(not (optional and p.get("required")) for p in _query_params(spec, op))

    edit = Edit(spec, real.meta.data["data"], real.catalog.data)
    op_id, where = _used_operation(edit, wanted)
    params = _query_params(spec, _operation(spec, op_id))
    param = next(p for p in params if not (optional and p.get("required")))
    return op_id, where, param


def test_a_renamed_parameter_is_reported_as_a_rename(real):
    op_id, where, param = _param_target(real)
    name = param["name"]
    result = _report(real, lambda edit: _inline_param(edit, op_id, name, name=DRILL))
    kind = api_summary.api_summary(real)["operations"][op_id]["params"][f"query:{name}"]
    own = [line.strip() for line in result.api if line.strip().startswith(f"~ operation {op_id} (")]
    assert own == [
        f"~ operation {op_id} ({where}): query parameter {name} renamed to {DRILL} ({kind})"
    ]
    _assert_affects(result, _users(real.catalog.data, op_id), f"operation {op_id} changed")


def test_an_added_parameter_is_named_with_its_type(real):
    op_id, where, _ = _param_target(real)

    def change(edit: Edit) -> None:
        extra = {"name": DRILL, "in": "query", "schema": {"type": "string"}}
        _operation(edit.spec, op_id)["parameters"].append(extra)

    result = _report(real, change)
    _assert_line(
        result, f"~ operation {op_id} ({where}):", f"query parameter {DRILL} added (string)"
    )
    _assert_affects(result, _users(real.catalog.data, op_id), f"operation {op_id} changed")


def test_a_removed_parameter_is_named(real):
    op_id, where, param = _param_target(real)

    def change(edit: Edit) -> None:
        op = _operation(edit.spec, op_id)
        op["parameters"] = [
            raw
            for raw in op["parameters"]
            if _resolve(edit.spec, raw).get("name") != param["name"]
            or _resolve(edit.spec, raw).get("in") != "query"
        ]

    result = _report(real, change)
    _assert_line(
        result, f"~ operation {op_id} ({where}):", f"query parameter {param['name']} removed (was "
    )
    _assert_affects(result, _users(real.catalog.data, op_id), f"operation {op_id} changed")


def test_a_parameter_that_becomes_required_is_named(real):
    op_id, where, param = _param_target(real, optional=True)
    name = param["name"]
    result = _report(real, lambda edit: _inline_param(edit, op_id, name, required=True))
    _assert_line(result, f"~ operation {op_id} ({where}):", f"query parameter {name} now required")
    _assert_affects(result, _users(real.catalog.data, op_id), f"operation {op_id} changed")


def test_a_parameter_whose_type_changes_is_named(real):
    op_id, where, param = _param_target(real)
    name = param["name"]
    new_type = "boolean" if param.get("schema", {}).get("type") != "boolean" else "string"
    result = _report(real, lambda edit: _inline_param(edit, op_id, name, schema={"type": new_type}))
    _assert_line(
        result, f"~ operation {op_id} ({where}):", f"query parameter {name} type ", f"-> {new_type}"
    )


def test_an_array_parameter_whose_item_type_changes_is_named(real):
    """A parameter's inner structure counts like a body field's: ``ids[]`` integer -> string."""
    op_id, where, _ = _param_target(real)

    def add(items: str) -> Callable[[Edit], None]:
        def change(edit: Edit) -> None:
            param = {
                "name": DRILL,
                "in": "query",
                "schema": {"type": "array", "items": {"type": items}},
            }
            _operation(edit.spec, op_id)["parameters"].append(param)

        return change

    result = _report(
        real,
        lambda edit: _inline_param(
            edit, op_id, DRILL, schema={"type": "array", "items": {"type": "string"}}
        ),
        prepare=add("integer"),
    )
    own = [line.strip() for line in result.api if line.strip().startswith(f"~ operation {op_id} (")]
    assert own == [
        f"~ operation {op_id} ({where}): query parameter {DRILL}[] type integer -> string"
    ]
    _assert_affects(result, _users(real.catalog.data, op_id), f"operation {op_id} changed")


# --- request bodies ------------------------------------------------------------------------------


def _body_target(real: parse.Inputs) -> tuple[str, str]:
    edit = Edit(real.spec.data, real.meta.data["data"], real.catalog.data)
    return _used_operation(edit, lambda op: _body_schema(real.spec.data, op) is not None)


def _ops_sharing_body(spec: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    """Every operation whose JSON body is this very schema object (a shared component)."""
    return {op_id for op_id, _, op in _operations(spec) if _body_schema(spec, op) is schema}


def test_an_added_body_field_is_named(real):
    op_id, where = _body_target(real)

    def change(edit: Edit) -> None:
        schema = _body_schema(edit.spec, _operation(edit.spec, op_id))
        assert schema is not None
        schema["properties"][DRILL] = {"type": "string"}

    result = _report(real, change)
    _assert_line(result, f"~ operation {op_id} ({where}):", f"body field {DRILL} added (string)")
    _assert_affects(result, _users(real.catalog.data, op_id), f"operation {op_id} changed")


def test_a_removed_body_field_is_named(real):
    op_id, where = _body_target(real)
    schema = _body_schema(real.spec.data, _operation(real.spec.data, op_id))
    assert schema is not None
    gone = sorted(schema["properties"])[0]

    def change(edit: Edit) -> None:
        body = _body_schema(edit.spec, _operation(edit.spec, op_id))
        assert body is not None
        del body["properties"][gone]
        if gone in (body.get("required") or []):
            body["required"] = [name for name in body["required"] if name != gone]

    result = _report(real, change)
    _assert_line(result, f"~ operation {op_id} ({where}):", f"body field {gone} removed (was ")
    _assert_affects(result, _users(real.catalog.data, op_id), f"operation {op_id} changed")


def test_a_body_field_whose_type_changes_is_named(real):
    """The drill of issue #15 that nothing caught: an integer body field becomes a string."""
    spec = real.spec.data
    edit = Edit(spec, real.meta.data["data"], real.catalog.data)

    def integer_field(op: dict[str, Any]) -> bool:
        schema = _body_schema(spec, op)
        props = (schema or {}).get("properties") or {}
        return any(_resolve(spec, p).get("type") == "integer" for p in props.values())

    op_id, where = _used_operation(edit, integer_field)
    schema = _body_schema(spec, _operation(spec, op_id))
    assert schema is not None
    name = next(
        n for n, p in schema["properties"].items() if _resolve(spec, p).get("type") == "integer"
    )
    shared = _ops_sharing_body(spec, schema)

    def change(edit: Edit) -> None:
        body = _body_schema(edit.spec, _operation(edit.spec, op_id))
        assert body is not None
        body["properties"][name] = {"type": "string"}

    result = _report(real, change)
    line = _assert_line(result, f"~ operation {op_id} ({where}):", f"body field {name} type ")
    assert line.endswith("-> string"), line
    users = set().union(*(_users(real.catalog.data, op) for op in shared))
    for other in shared:
        _assert_line(result, f"~ operation {other} (", f"body field {name} type ")
    _assert_affects(result, users, "changed")


# --- responses -----------------------------------------------------------------------------------


def _shared_responses(op: dict[str, Any]) -> dict[str, str]:
    """status -> the shared response name an operation's response refers to."""
    found: dict[str, str] = {}
    for status, raw in (op.get("responses") or {}).items():
        if isinstance(raw, dict) and isinstance(raw.get("$ref"), str):
            found[str(status)] = raw["$ref"].rsplit("/", 1)[-1]
    return found


def test_a_response_that_changes_type_is_named(real):
    """An operation answering with another shared response type (say a list for a record)."""
    spec = real.spec.data
    edit = Edit(spec, real.meta.data["data"], real.catalog.data)
    op_id, where = _used_operation(edit, lambda op: "200" in _shared_responses(op))
    old = _shared_responses(_operation(spec, op_id))["200"]
    summary = api_summary.api_summary(real)["responses"]
    new = next(name for name in sorted(summary) if name != old and summary[name] != summary[old])

    def change(edit: Edit) -> None:
        op = _operation(edit.spec, op_id)
        op["responses"]["200"] = {"$ref": f"#/components/responses/{new}"}

    result = _report(real, change)
    _assert_line(result, f"~ operation {op_id} ({where}):", f"response 200: ref {old} -> ref {new}")
    _assert_affects(result, _users(real.catalog.data, op_id), f"operation {op_id} changed")


def test_a_shared_response_whose_schema_changes_names_its_operations_and_tools(real):
    """A shared response (the envelope many operations answer with) now carries another schema:
    its fields' changes are named once, and every tool of every operation using it is affected."""
    spec = real.spec.data
    summary = api_summary.api_summary(real)["responses"]
    users_of: dict[str, set[str]] = {}
    for op_id, _, op in _operations(spec):
        for name in _shared_responses(op).values():
            users_of.setdefault(name, set()).update(_users(real.catalog.data, op_id))
    name = next(n for n in sorted(summary) if users_of.get(n) and summary[n])
    other = next(n for n in sorted(summary) if summary[n] and summary[n] != summary[name])

    def change(edit: Edit) -> None:
        responses = edit.spec["components"]["responses"]
        responses[name]["content"] = copy.deepcopy(_resolve(edit.spec, responses[other])["content"])

    result = _report(real, change)
    assert any(line.strip().startswith(f"~ shared response {name}: ") for line in result.api), (
        result.text
    )
    _assert_affects(result, users_of[name], f"(shared response {name})")


# --- the meta snapshot ---------------------------------------------------------------------------


def _policy_type(real: parse.Inputs) -> tuple[str, dict[str, Any]]:
    """A standard object type of the snapshot that the access policy lets tools reach."""
    policy = model.access_policy_of(real)
    meta = real.meta.data["data"]
    type_id = next(
        t for t, row in policy["types"].items() if t in meta and row["tools"] and meta[t]["fields"]
    )
    return type_id, policy["types"][type_id]


def _type_tools(row: dict[str, Any], known: set[str]) -> set[str]:
    generic = {t for m in row["methods"] for t in report.GENERIC_TOOLS.get(m, ())}
    return set(row["tools"]) | (generic & known)


def _known_tools(real: parse.Inputs) -> set[str]:
    return {tool for tools in report.tool_usage(real.catalog.data).values() for tool in tools}


def test_an_added_object_type_is_named_with_the_custom_object_tools(real):
    meta = real.meta.data["data"]
    new_id = str(max(int(t) for t in meta) + 1)
    assert int(new_id) >= report.CUSTOM_OBJECT_IDS

    def change(edit: Edit) -> None:
        edit.meta[new_id] = {"name": "Drill", "fields": {"f9001": {"alias": "X", "type": "text"}}}

    result = _report(real, change)
    _assert_line(result, f"+ object type added: {new_id} (Drill)")
    custom = model.access_policy_of(real)["custom"]
    _assert_affects(
        result, _type_tools(custom, _known_tools(real)), f"object type {new_id} (Drill) added"
    )


def test_a_removed_object_type_is_named_with_its_tools(real):
    type_id, row = _policy_type(real)
    name = real.meta.data["data"][type_id]["name"]
    result = _report(real, lambda edit: edit.meta.pop(type_id))
    _assert_line(result, f"- object type removed: {type_id} ({name})")
    _assert_affects(
        result, _type_tools(row, _known_tools(real)), f"object type {type_id} ({name}) removed"
    )


def _field_drill(real: parse.Inputs, change: Callable[[dict[str, Any]], None], *parts: str) -> None:
    """Apply ``change`` to the fields of a policy type; the report names it and the tools."""
    type_id, row = _policy_type(real)
    name = real.meta.data["data"][type_id]["name"]
    result = _report(real, lambda edit: change(edit.meta[type_id]["fields"]))
    _assert_line(result, f"~ object type {type_id} ({name}):", *parts)
    _assert_affects(
        result, _type_tools(row, _known_tools(real)), f"object type {type_id} ({name}) changed"
    )


def test_an_added_meta_field_is_named(real):
    def change(fields: dict[str, Any]) -> None:
        fields["f9001"] = {"alias": "Drill", "type": "numeric", "required": "0"}

    _field_drill(real, change, "field f9001 added (numeric)")


def test_a_removed_meta_field_is_named(real):
    type_id, _ = _policy_type(real)
    gone = sorted(real.meta.data["data"][type_id]["fields"])[0]
    _field_drill(real, lambda fields: fields.pop(gone), f"field {gone} removed (was ")


def test_a_meta_field_whose_type_changes_is_named(real):
    type_id, _ = _policy_type(real)
    fields = real.meta.data["data"][type_id]["fields"]
    name = next(n for n in sorted(fields) if fields[n].get("type") != "timestamp")

    def change(fields: dict[str, Any]) -> None:
        fields[name] = {**fields[name], "type": "timestamp"}
        fields[name].pop("options", None)

    _field_drill(real, change, f"field {name} type ", "-> timestamp")


# --- tool schemas --------------------------------------------------------------------------------


def _tool_changes(result: Report, tool: str) -> list[str]:
    """The details of the one ``~ changed <tool>:`` line of the tool manifest section."""
    (line,) = [line for line in result.tools if line.startswith(f"~ changed {tool}: ")]
    return line.removeprefix(f"~ changed {tool}: ").split("; ")


def _first_tool(catalog: dict[str, Any]) -> dict[str, Any]:
    return next(t for t in catalog["tools"] if (t.get("input") or {}).get("properties"))


def test_a_tool_input_property_change_is_named_in_both_schemas(real):
    tool = _first_tool(real.catalog.data)["name"]

    def change(edit: Edit) -> None:
        _first_tool(edit.catalog)["input"]["properties"][DRILL] = {"type": "string"}

    result = _report(real, change)
    assert result.api == []  # the API did not change
    assert _tool_changes(result, tool) == [
        f"input property added: {DRILL}",
        f"listed input property added: {DRILL}",
    ]


def test_a_tool_output_property_change_is_named(real):
    """A key every result now has: in the full output schema and in the listed one (which shows
    only the keys every result has, so an optional key would change only the full schema)."""

    def read_tool(tool: dict[str, Any]) -> bool:
        return tool.get("class") == "R" and bool((tool.get("output") or {}).get("properties"))

    name = next(t["name"] for t in real.catalog.data["tools"] if read_tool(t))

    def change(edit: Edit) -> None:
        output = next(t for t in edit.catalog["tools"] if t["name"] == name)["output"]
        output["properties"][DRILL] = {"type": "string"}
        output["required"] = [*(output.get("required") or []), DRILL]

    result = _report(real, change)
    changes = _tool_changes(result, name)
    assert f"output property added: {DRILL}" in changes
    assert f"listed output property added: {DRILL}" in changes


# --- nothing changed -----------------------------------------------------------------------------


def _reword(node: Any) -> int:
    """Append a word to every ``summary`` and ``description`` text; how many were changed."""
    count = 0
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("summary", "description") and isinstance(value, str):
                node[key] = value + " Reworded."
                count += 1
            else:
                count += _reword(value)
    elif isinstance(node, list):
        count += sum(_reword(item) for item in node)
    return count


def test_a_reworded_description_is_no_change(real):
    reworded: list[int] = []
    result = _report(real, lambda edit: reworded.append(_reword(edit.spec)))
    assert reworded[0] > 100  # every operation, parameter and response was reworded
    assert result.api == [] and result.tools == [], result.text


def test_unchanged_inputs_are_no_change(real):
    result = _report(real, lambda edit: None)
    assert result.api == [] and result.tools == [] and not result.problems.errors
