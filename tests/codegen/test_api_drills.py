"""Drills of real API changes on a scratch copy of the project: ``make generate`` refuses a spec
change that breaks the code calling the API, naming the file, the line and the tools, and its
report names the change.  Nothing is written to ``generated/`` when it refuses.

One scratch copy serves every drill (the spec is restored between them), so mypy's cache makes
the later checks incremental.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from codegen.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
COPIED = ("setup.py", "pyproject.toml", "openapi", "overrides", "generated", "src/ontraport_mcp")
Edit = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("drills")
    for name in COPIED:
        source, target = ROOT / name, root / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    yield root


def _drill(root: Path, edit: Edit, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    spec_path = root / "openapi" / "ontraport.yaml"
    original = spec_path.read_text()
    before = (root / "generated" / "api.py").read_bytes()
    spec = yaml.safe_load(original)
    edit(spec)
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    try:
        code = main(["--root", str(root)])
        out = capsys.readouterr()
    finally:
        spec_path.write_text(original)
    if code != 0:  # refused: nothing written
        assert (root / "generated" / "api.py").read_bytes() == before
    return code, out.out + out.err


def _error_lines(text: str, file: str) -> list[str]:
    return [
        line for line in text.splitlines() if re.search(rf"{re.escape(file)}:\d+: error:", line)
    ]


def test_renaming_a_parameter_an_override_uses_fails_at_the_override(scratch, capsys):
    def rename(spec: dict[str, Any]) -> None:
        spec["components"]["parameters"]["ListFields"]["name"] = "fieldList"

    code, text = _drill(scratch, rename, capsys)
    assert code == 2
    errors = _error_lines(text, "overrides/subscribers.py")
    assert errors and all('"list_fields"' in line for line in errors), text
    assert any("tools: " in line and "get_subscribers" in line for line in errors), text
    assert "listFields" in text and "fieldList" in text  # the report names the change
    assert "make generate: failed, nothing was written" in text


def test_removing_an_operation_fails_naming_the_tools_that_use_it(scratch, capsys):
    def remove(spec: dict[str, Any]) -> None:
        for item in spec["paths"].values():
            for method, op in list(item.items()):
                if isinstance(op, dict) and op.get("operationId") == "get_landing_page_hosted_url":
                    del item[method]

    code, text = _drill(scratch, remove, capsys)
    assert code == 2
    assert "get_landing_page_hosted_url" in text
    assert "get_landing_page_url" in text  # the tool that used it


def test_changing_a_body_fields_type_fails_type_checking(scratch, capsys):
    def retype(spec: dict[str, Any]) -> None:
        fields = spec["components"]["schemas"]["TaskComplete"]["properties"]
        fields["object_type_id"] = {"type": "string"}

    code, text = _drill(scratch, retype, capsys)
    assert code == 2
    errors = _error_lines(text, "overrides/tasks.py")
    assert errors and any("object_type_id" in line for line in errors), text
    assert any("complete_task" in line for line in errors), text
    assert "object_type_id" in text and "integer" in text and "string" in text


def test_a_compatible_change_regenerates_and_is_reported(scratch, capsys):
    def add_field(spec: dict[str, Any]) -> None:
        fields = spec["components"]["schemas"]["TaskComplete"]["properties"]
        fields["note"] = {"type": "string", "description": "A new optional field."}

    code, text = _drill(scratch, add_field, capsys)
    assert code == 0, text
    assert "note" in text and "complete_task" in text
    assert '"note": str' in (scratch / "generated" / "api.py").read_text()
