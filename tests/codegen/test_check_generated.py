"""`make check-generated` catches a stale generated/ and the report names the changed tool."""

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _copy_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for folder in ("openapi", "overrides", "generated", "docs"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_edited_description_makes_check_fail_and_names_the_tool(tmp_path):
    root = _copy_project(tmp_path)
    catalog = root / "openapi" / "tools.yaml"
    data = yaml.safe_load(catalog.read_text())
    tool = next(t for t in data["tools"] if t["name"] == "count_objects")
    tool["description"] += " Edited."
    catalog.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    proc = subprocess.run(
        [sys.executable, "-m", "codegen", "--check", "--root", str(root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=280,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "generated/catalog.json (differs)" in proc.stdout
    assert "generated/tools.py (differs)" in proc.stdout
    assert "~ changed count_objects: description changed" in proc.stdout


def test_a_change_only_tools_list_shows_is_reported():
    """A ``$listed`` edit leaves the full schemas alone; the report still names it."""
    import copy
    import json

    from codegen.report import diff_catalogs

    old = json.loads((ROOT / "generated" / "catalog.json").read_text())
    new = copy.deepcopy(old)
    tool = next(t for t in new["tools"] if t["name"] == "create_invoice")
    tool["listed"]["inputSchema"]["properties"]["offer"]["description"] = "Edited."
    assert diff_catalogs(old, new) == [
        "~ changed create_invoice: listed input property changed: offer"
    ]
    assert diff_catalogs(old, old) == []
