"""``python -m codegen`` (``make generate``): parse → model → render, then report.

    python -m codegen            regenerate generated/ and docs/tools.md, then report what changed
                                 against the committed generated/ (see ``report``): API changes,
                                 the tools they affect, tool manifest changes, files rewritten
    python -m codegen --check    regenerate into a temporary directory and fail (exit 1), naming
                                 the files, when generated/ or docs/tools.md differ

Deterministic and offline: the same inputs give byte-identical output.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import api_summary, model, operations, parse, render, report, typecheck
from .problems import GenerationFailed, Problems

ROOT = Path(__file__).resolve().parent.parent
DOCS = "docs/tools.md"
_SHOWN_FILES = 20  # the report lists this many rewritten files, then counts the rest


def generate_into(root: Path, out_dir: Path, docs_path: Path) -> Problems:
    """Run every step, writing ``out_dir`` (fresh) and ``docs_path``; raise on errors."""
    problems = Problems()
    inputs = parse.load_inputs(root, problems)
    generate_from(inputs, root, out_dir, docs_path, problems)
    return problems


def generate_from(
    inputs: parse.Inputs, root: Path, out_dir: Path, docs_path: Path, problems: Problems
) -> None:
    """The steps after parsing (``problems`` holds the parse step's findings)."""
    if problems.errors:
        raise GenerationFailed(problems)
    built = model.build_model(inputs, problems)
    if problems.errors:
        raise GenerationFailed(problems)
    records, types = operations.build_operations(inputs, problems)
    if problems.errors:
        raise GenerationFailed(problems)
    out_dir.mkdir(parents=True, exist_ok=True)
    overrides = render.find_overrides(root / "overrides")
    api = api_summary.api_summary(inputs)
    bodies = {name: types.named[name] for name in types.order}
    render.render_all(built, records, bodies, inputs, out_dir, docs_path, overrides, api)
    render.format_python([out_dir])
    manifest = {
        "generator": "ontraport-mcp codegen",
        "inputs": {src.rel: src.sha for src in (inputs.spec, inputs.meta, inputs.catalog)},
        "generators": _generator_versions(),
        "tools": len(built.tools),
        "operations": len(records),
        "object_types": len((inputs.meta.data or {}).get("data") or {}),
    }
    (out_dir / "MANIFEST.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    if problems.errors:
        raise GenerationFailed(problems)


def api_report(root: Path, inputs: parse.Inputs) -> list[str]:
    """The report's first two sections: API changes against the committed ``api.json``, and
    the tools they affect.  Needs only the parsed inputs, so it is printed on failure too."""
    return report.api_report_lines(
        report.committed_json(root, report.API),
        api_summary.api_summary(inputs),
        inputs.catalog.data,
        model.access_policy_of(inputs),
    )


def overrides_broken_by(root: Path, out_dir: Path) -> list[str]:
    """Type errors the new ``generated/`` causes in ``overrides/`` or the runtime (mypy, see
    ``typecheck``), each with the tools of the override file it is in; empty when none.  A
    root without ``setup.py`` (a copy of the inputs alone) has no code to check: said, not hidden."""
    if not (root / "setup.py").exists():
        print(f"type check of the code that calls the API skipped: no setup.py in {root}")
        return []
    errors = [
        line
        for line in typecheck.check(root, generated=out_dir, only=("overrides/", "src/"))
        if typecheck.ERROR_AT.match(line)
    ]
    if not errors:
        return []
    tools_of: dict[str, list[str]] = {}
    for tool, where in render.find_overrides(root / "overrides").items():
        tools_of.setdefault(where, []).append(tool)
    lines = ["The regenerated API breaks code that calls it (fix the code or the spec):"]
    for line in errors:
        match = typecheck.ERROR_AT.match(line)
        assert match is not None
        tools = tools_of.get(match["file"])
        lines.append(f"  {line}" + (f"  [tools: {', '.join(sorted(tools))}]" if tools else ""))
    return lines


def _generator_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in ("black",)}


def _differences(expected: Path, actual: Path) -> list[str]:
    """Relative paths that differ between two trees (added, removed or changed)."""
    diffs: list[str] = []

    def walk(cmp: filecmp.dircmp[str], prefix: str) -> None:
        for name in cmp.left_only:
            diffs.append(f"{prefix}{name} (would be created)")
        for name in cmp.right_only:
            if name != "__pycache__":
                diffs.append(f"{prefix}{name} (should not exist)")
        for name in cmp.common_files:
            if (Path(cmp.left) / name).read_bytes() != (Path(cmp.right) / name).read_bytes():
                diffs.append(f"{prefix}{name} (differs)")
        for name, sub in cmp.subdirs.items():
            if name != "__pycache__":
                walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(expected, actual, ignore=["__pycache__"]), "generated/")
    return sorted(diffs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail when generated/ is stale")
    parser.add_argument("--root", type=Path, default=ROOT, help="project root (default: this repo)")
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="codegen-") as tmp:
        out_dir = Path(tmp) / "generated"
        docs_path = Path(tmp) / "tools.md"
        problems = Problems()
        inputs = parse.load_inputs(root, problems)
        api_lines = [] if problems.errors else api_report(root, inputs)
        try:
            generate_from(inputs, root, out_dir, docs_path, problems)
        except GenerationFailed as failed:
            print(failed.problems.summary(), file=sys.stderr)
            print("\n".join(api_lines))
            print("make generate: failed, nothing was written", file=sys.stderr)
            return 2
        # writing only (``--check`` compares; ``make typecheck`` checks the committed tree)
        broken = [] if args.check else overrides_broken_by(root, out_dir)
        if broken:
            print("\n".join(broken), file=sys.stderr)
            print("\n".join(api_lines))
            print("make generate: failed, nothing was written", file=sys.stderr)
            return 2
        new_catalog = json.loads((out_dir / "catalog.json").read_text())
        changes = report.diff_catalogs(report.committed_catalog(root), new_catalog)
        catalog_lines = ["Tool manifest changes against the committed catalog:"]
        catalog_lines += [f"  {line}" for line in changes]
        changed = api_lines + (catalog_lines if changes else [])
        files = _differences(out_dir, root / "generated")
        docs = root / DOCS
        if not docs.exists() or docs.read_bytes() != docs_path.read_bytes():
            files.append(f"{DOCS} (differs)")
        if args.check:
            if files:
                print("generated/ is stale; run `make generate` and commit. Differences:")
                print("\n".join(f"  {line}" for line in files))
                print("\n".join(changed))
                return 1
            print(f"generated/ is up to date ({time.perf_counter() - started:.1f} s)")
            return 0
        target = root / "generated"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(out_dir, target)
        (root / DOCS).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(docs_path, root / DOCS)
    if problems.items:
        print(problems.summary())
    print("\n".join(changed) if changed else "no change (API, object types and tools)")
    print(f"Files rewritten: {len(files)}")
    for line in files[:_SHOWN_FILES]:
        print(f"  {line}")
    if len(files) > _SHOWN_FILES:
        print(f"  ... and {len(files) - _SHOWN_FILES} more")
    print(f"make generate: done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
