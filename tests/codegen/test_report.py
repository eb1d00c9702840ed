"""The regeneration report names API changes (operations, parameters, body and response fields,
object types and their fields) and the tools they affect; a one-line spec edit rewrites only a
handful of generated files.

Each test copies the fixture project (its inputs, and its expected output as the committed
``generated/``) into ``tmp_path``, edits one input the way an API change would, and runs
``python -m codegen --root`` in-process.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from codegen.__main__ import main

FIXTURE = Path(__file__).parent / "fixtures" / "mini_project"


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE / "openapi", root / "openapi")
    shutil.copytree(FIXTURE / "overrides", root / "overrides")
    shutil.copytree(FIXTURE / "expected" / "generated", root / "generated")
    (root / "docs").mkdir()
    shutil.copyfile(FIXTURE / "expected" / "tools.md", root / "docs" / "tools.md")
    return root


def _edit_spec(root: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = root / "openapi" / "ontraport.yaml"
    spec = yaml.safe_load(path.read_text())
    change(spec)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))


def _edit_meta(root: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = root / "openapi" / "objects_meta.json"
    meta = json.loads(path.read_text())
    change(meta["data"])
    path.write_text(json.dumps(meta, indent=1))


def _rename_query_parameter(root: Path) -> None:
    def change(spec: dict[str, Any]) -> None:
        spec["paths"]["/object"]["get"]["parameters"][1]["name"] = "record_id"

    _edit_spec(root, change)


def _retype_body_field(root: Path) -> None:
    def change(spec: dict[str, Any]) -> None:
        spec["components"]["schemas"]["UpdateBody"]["properties"]["id"] = {"type": "string"}

    _edit_spec(root, change)


def _add_meta_field(root: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["10000"]["fields"]["f1605"] = {"alias": "Grade", "type": "numeric", "required": "0"}

    _edit_meta(root, change)


def _add_object_type(root: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["10001"] = {"name": "Course", "fields": {"f1701": {"alias": "Title", "type": "text"}}}

    _edit_meta(root, change)


DRILLS: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "rename a query parameter": (
        _rename_query_parameter,
        [
            "~ operation get_object (GET /object): query parameter id renamed to record_id"
            " (integer (required))",
            "get_record: operation get_object changed",
        ],
    ),
    "change a body field from integer to string": (
        _retype_body_field,
        ["~ operation update_object (PUT /objects): body field id type integer -> string"],
    ),
    "add a meta field": (
        _add_meta_field,
        [
            "~ object type 10000 (Student): field f1605 added (numeric)",
            "get_record: object type 10000 (Student) changed",
        ],
    ),
    "add an object type": (
        _add_object_type,
        ["+ object type added: 10001 (Course)", "get_record: object type 10001 (Course) added"],
    ),
}


@pytest.mark.parametrize("drill", sorted(DRILLS))
def test_the_report_names_each_api_change(tmp_path, capsys, drill):
    root = _project(tmp_path)
    edit, expected = DRILLS[drill]
    edit(root)
    assert main(["--root", str(root)]) == 0
    out = capsys.readouterr().out
    for line in expected:
        assert f"  {line}\n" in out, out
    assert "no change" not in out


def test_a_removed_operation_names_the_tools_that_use_it(tmp_path, capsys):
    """The catalog still names it, so generation fails; the report says why and who uses it."""
    root = _project(tmp_path)

    def change(spec: dict[str, Any]) -> None:
        del spec["paths"]["/object"]["delete"]

    _edit_spec(root, change)
    assert main(["--root", str(root)]) == 2
    captured = capsys.readouterr()
    assert "  - operation removed: delete_object (DELETE /object)\n" in captured.out
    assert "  delete_record: operation delete_object removed\n" in captured.out
    assert "unknown operationId 'delete_object'" in captured.err


def test_unchanged_inputs_report_no_change(tmp_path, capsys):
    root = _project(tmp_path)
    assert main(["--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "no change (API, object types and tools)" in out
    assert "Files rewritten: 0" in out


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_a_one_line_description_edit_rewrites_only_a_handful_of_files(tmp_path, capsys):
    root = _project(tmp_path)
    before = _tree(root / "generated")
    path = root / "openapi" / "ontraport.yaml"
    text = path.read_text()
    assert text.count("summary: One record\n") == 1
    path.write_text(text.replace("summary: One record\n", "summary: One record, edited\n"))
    assert main(["--root", str(root)]) == 0
    after = _tree(root / "generated")
    rewritten = sorted(name for name in after if before.get(name) != after[name])
    # the typed API (the method's docstring) and the manifest's input hash; nothing else
    assert rewritten == ["MANIFEST.json", "api.py"]
    assert "no change (API, object types and tools)" in capsys.readouterr().out
